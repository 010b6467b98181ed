"""The Dagster code location: raw extracts → dbt (staging → intermediate → marts → public) →
quality gates (blocking asset checks) → release; a sensor on raw/ and a weekly schedule.

The sensor and the schedule (both off until an operator turns them on) launch `warehouse_job`,
which ingests, builds and gates but does not publish; `publish_job` (the release only) is
launched by hand. SOZIALMONITOR_DAGSTER_PUBLISH=1 puts the release into `warehouse_job`.

A Kreis (sources that each Stadt delivers for itself, docs/kreis.md) has a third job,
`delivery_job`: one Stadt's files of one Stichtag (partitions Stichtag × Gemeinde), after which
the sensor `kreis_after_delivery` launches `warehouse_job` for that Stichtag (defs/sensors.py).
Dagster runs one partitions definition per run, so `warehouse_job` leaves those sources to
`delivery_job`; a backfill of every asset (the UI's "Materialize all") loads and builds
everything."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from .defs.dbt.assets import build_dbt_assets
from .defs.ingest.assets import build_raw_assets
from .defs.partitions import DELIVERY_PARTITIONS, STICHTAG_PARTITIONS
from .defs.quality.checks import quality_gates
from .defs.release.assets import RELEASE_KEY, build_release_asset
from .defs.resources import WarehouseResource
from .defs.sensors import DELIVERY_JOB, WAREHOUSE_JOB, build_kreis_sensor, build_schedule, build_sensor
from .release.public_models import read_manifest
from .settings import Settings, dagster_publishes


def build_definitions(settings: Settings | None = None, publish: bool | None = None) -> dg.Definitions:
    """The code location. `publish` (default: `dagster_publishes()`) decides whether
    `warehouse_job`, the job of the sensor and the schedule, includes the release."""
    settings = settings or Settings.from_env()
    publish = dagster_publishes() if publish is None else publish
    raw_assets = build_raw_assets(settings, STICHTAG_PARTITIONS)
    project, dbt_assets_def = build_dbt_assets(settings)
    release = build_release_asset(read_manifest(project.manifest_path.parent))
    deliveries = [a.key for a in raw_assets if a.partitions_def == DELIVERY_PARTITIONS]
    everything = dg.AssetSelection.all() - dg.AssetSelection.assets(*deliveries)
    warehouse_job = dg.define_asset_job(
        WAREHOUSE_JOB,
        selection=everything if publish else everything - dg.AssetSelection.assets(RELEASE_KEY),
        description=(
            "Everything for one Stichtag: load its extracts (and the reference data), build and test "
            "the whole dbt project and run the quality gates"
            + (
                ", then publish the Stichtag's release (SOZIALMONITOR_DAGSTER_PUBLISH is on). "
                if publish
                else ". It does not publish: that is `publish_job`, launched by an operator. "
            )
            + "Launch a backfill over all partitions for a full rebuild."
            + (" The files each Stadt delivers for itself are delivery_job's." if deliveries else "")
        ),
    )
    delivery_job = (
        dg.define_asset_job(
            DELIVERY_JOB,
            selection=dg.AssetSelection.assets(*deliveries),
            description=(
                "One Stadt's own files of one Stichtag (partition Stichtag × Gemeinde): its register, "
                "its Wohngeld, … and nothing of another Stadt. When it succeeds, the sensor "
                "kreis_after_delivery builds the Stichtag for the whole Kreis (warehouse_job)."
            ),
        )
        if deliveries
        else None
    )
    publish_job = dg.define_asset_job(
        "publish_job",
        selection=dg.AssetSelection.assets(RELEASE_KEY),
        description=(
            "Publish the release of one Stichtag from the warehouse as it is (after `warehouse_job`): "
            "the quality gates run again on exactly what is published and refuse on a blocking "
            "failure. Launched by hand: publishing is an operator's decision."
        ),
    )
    return dg.Definitions(
        # Every step of a run in the run's own process, one after another (the pool `duckdb` lets
        # one step at a time at the warehouse anyway), as `sozialmonitor run` does. Dagster's default
        # executor started a process per step, and each loaded this code location again (about 6 s
        # of CPU: Dagster, dbt's manifest, the contracts) to load a file in a tenth of that: the 15
        # raw extracts of one Stichtag of the test city took 132 s instead of 12 s. On DuckDB the
        # dbt build still runs in a child process (dagster-dbt), the lineage docs too. A step that
        # dies takes the run's process with it: orchestration/dagster.yaml's run monitoring frees
        # the pool slot it held.
        executor=dg.in_process_executor,
        assets=[*raw_assets, dbt_assets_def, release],
        asset_checks=[quality_gates],
        jobs=[warehouse_job, publish_job, *([delivery_job] if delivery_job else [])],
        sensors=[
            build_sensor([warehouse_job, *([delivery_job] if delivery_job else [])], Settings.from_env),
            *([build_kreis_sensor(delivery_job, warehouse_job)] if delivery_job else []),
        ],
        schedules=[build_schedule(warehouse_job)],
        resources={
            "warehouse": WarehouseResource(),
            "dbt": DbtCliResource(
                project_dir=project,
                profiles_dir=str(settings.dbt_project_dir),
                # the dbt of this environment, also when .venv/bin is not on PATH, keeping its saved
                # parse across warehouse files as `sozialmonitor run` does (dbt_runner.dbt_main)
                dbt_executable=str(Path(sys.executable).parent / "sozialmonitor-dbt"),
            ),
        },
    )


defs = build_definitions()
