"""A run of `sozialmonitor run` shown in Dagster (called by the CLI's `run` after the pipeline).

When a CLI run has succeeded and a Dagster instance is configured (DAGSTER_HOME set, as `make dev`
sets it), the assets the run built are reported to that instance as runless materialisations:
the raw sources (one per loaded or confirmed file, for its Stichtag partition), the dbt assets
(after a full `dbt build`, which built all of them) and the release of the Stichtag with the same
metadata the Dagster `release` asset records. The Dagster UI then shows what `make run` made
instead of "Never materialized".

With no DAGSTER_HOME nothing is attempted. Reporting never fails the run: the run is done and
recorded before it; a problem here is logged as a warning.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pipeline import RunSummary
    from .settings import Settings

log = logging.getLogger(__name__)

TRIGGER_TAG = "sozialmonitor/trigger"


def dagster_configured() -> bool:
    return bool(os.environ.get("DAGSTER_HOME", "").strip())


def report_cli_run(settings: Settings, summary: RunSummary, full_build: bool = True) -> int | None:
    """Report the run's materialisations to the instance of DAGSTER_HOME; how many, or None when no
    instance is configured or reporting failed (logged)."""
    if not dagster_configured():
        return None
    try:
        return _report(settings, summary, full_build)
    except Exception as exc:  # the run has succeeded; Dagster's view of it is secondary
        log.warning(
            "The run %s succeeded but could not be reported to Dagster (DAGSTER_HOME=%s): %s",
            summary.run_id,
            os.environ.get("DAGSTER_HOME"),
            exc,
        )
        return None


def cli_materializations(settings: Settings, summary: RunSummary, full_build: bool = True) -> list:
    """The AssetMaterializations that describe a succeeded CLI run."""
    import dagster as dg

    from .defs.ingest.assets import load_metadata, raw_asset_key
    from .defs.release.assets import RELEASE_KEY, release_metadata

    tags = {TRIGGER_TAG: "cli", "sozialmonitor/run_id": summary.run_id}
    events = []
    for result in summary.ingest.results if summary.ingest else []:
        if result.status == "rejected":
            continue
        contract = result.extract.contract
        partition = None
        if contract.period == "stichtag" and result.extract.stichtag:
            partition = result.extract.stichtag.isoformat()
        events.append(
            dg.AssetMaterialization(
                asset_key=raw_asset_key(contract.source),
                partition=partition,
                metadata=load_metadata(result),
                tags=tags,
            )
        )
    if full_build:
        from .defs.dbt.assets import build_dbt_assets

        _, dbt_assets_def = build_dbt_assets(settings)
        for key in sorted(dbt_assets_def.keys, key=lambda k: k.to_user_string()):
            events.append(
                dg.AssetMaterialization(
                    asset_key=key, metadata={"run": summary.run_id, "by": "sozialmonitor run"}, tags=tags
                )
            )
    if summary.release is not None:
        events.append(
            dg.AssetMaterialization(
                asset_key=RELEASE_KEY,
                partition=summary.release.release.stichtag.isoformat(),
                metadata=release_metadata(summary.release),
                tags=tags,
            )
        )
    return events


def _report(settings: Settings, summary: RunSummary, full_build: bool) -> int:
    import dagster as dg

    from .defs.partitions import STICHTAG_PARTITIONS

    events = cli_materializations(settings, summary, full_build)
    with dg.DagsterInstance.get() as instance:
        # the Stichtage the run built become partitions, as the raw/ sensor would add them
        days = sorted({e.partition for e in events if e.partition})
        known = set(instance.get_dynamic_partitions(STICHTAG_PARTITIONS.name))
        if missing := [d for d in days if d not in known]:
            instance.add_dynamic_partitions(STICHTAG_PARTITIONS.name, missing)
        for event in events:
            instance.report_runless_asset_event(event)
    return len(events)
