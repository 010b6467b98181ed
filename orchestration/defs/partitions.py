"""Stichtag partitions: one per reporting date found in raw/ (the demo's six when raw/ is empty)."""

from __future__ import annotations

import dagster as dg

from ..ingest.contracts import load_contracts
from ..ingest.loader import discover
from ..settings import Settings

DEMO_STICHTAGE = ("2019-12-31", "2020-12-31", "2021-12-31", "2022-12-31", "2023-12-31", "2024-12-31")


def stichtag_keys(settings: Settings) -> list[str]:
    extracts, _ = discover(settings, load_contracts(settings.contracts_dir))
    found = sorted({e.stichtag.isoformat() for e in extracts if e.stichtag})
    return found or list(DEMO_STICHTAGE)


def stichtag_partitions(settings: Settings) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(stichtag_keys(settings))
