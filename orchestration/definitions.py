"""The Dagster code location: raw extract assets → dbt assets (staging → intermediate → marts)."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from .defs.dbt.assets import build_dbt_assets
from .defs.ingest.assets import build_raw_assets
from .defs.partitions import stichtag_partitions
from .defs.resources import WarehouseResource
from .settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    partitions = stichtag_partitions(settings)
    raw_assets = build_raw_assets(settings, partitions)
    project, dbt_assets_def = build_dbt_assets(settings)
    warehouse_job = dg.define_asset_job(
        "warehouse_job",
        selection=dg.AssetSelection.all(),
        description=(
            "Everything for one Stichtag: load its extracts (and the reference data), then build and "
            "test the whole dbt project. Launch a backfill over all partitions for a full rebuild."
        ),
    )
    return dg.Definitions(
        assets=[*raw_assets, dbt_assets_def],
        jobs=[warehouse_job],
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
