"""Stichtag partitions. They are dynamic: the raw/ sensor adds a partition when the first extract
for a new reporting date arrives, so a new year needs no code change or redeploy."""

from __future__ import annotations

import dagster as dg

from ..ingest.contracts import load_contracts
from ..ingest.loader import discover
from ..settings import Settings

STICHTAG_PARTITIONS = dg.DynamicPartitionsDefinition(name="stichtag")


def stichtag_keys(settings: Settings) -> list[str]:
    """The Stichtage of the extracts in raw/."""
    extracts, _ = discover(settings, load_contracts(settings.contracts_dir, settings.project_vars))
    return sorted({e.stichtag.isoformat() for e in extracts if e.stichtag and e.problem is None})
