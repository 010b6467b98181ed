"""The Dagster code location: raw extracts → dbt (staging → intermediate → marts → public) →
quality gates (blocking asset checks) → release; a sensor on raw/ and a weekly schedule."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from .defs.dbt.assets import build_dbt_assets
from .defs.ingest.assets import build_raw_assets
from .defs.partitions import STICHTAG_PARTITIONS
from .defs.quality.checks import quality_gates
from .defs.release.assets import release
from .defs.resources import WarehouseResource
from .defs.sensors import build_schedule, build_sensor
from .settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    raw_assets = build_raw_assets(settings, STICHTAG_PARTITIONS)
    project, dbt_assets_def = build_dbt_assets(settings)
    warehouse_job = dg.define_asset_job(
        "warehouse_job",
        selection=dg.AssetSelection.all(),
        partitions_def=STICHTAG_PARTITIONS,
        description=(
            "Everything for one Stichtag: load its extracts (and the reference data), build and test "
            "the whole dbt project, run the quality gates and publish the Stichtag's release. "
            "Launch a backfill over all partitions for a full rebuild."
        ),
    )
    return dg.Definitions(
        assets=[*raw_assets, dbt_assets_def, release],
        asset_checks=[quality_gates],
        jobs=[warehouse_job],
        sensors=[build_sensor(warehouse_job, Settings.from_env)],
        schedules=[build_schedule(warehouse_job)],
        resources={
            "warehouse": WarehouseResource(),
            "dbt": DbtCliResource(
                project_dir=project,
                profiles_dir=str(settings.dbt_project_dir),
                # the dbt of this environment, also when .venv/bin is not on PATH
                dbt_executable=str(Path(sys.executable).parent / "dbt"),
            ),
        },
    )


defs = build_definitions()
