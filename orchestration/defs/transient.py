"""Retries for transient failures only.

A broken extract, a failing dbt test or a blocking quality gate fails for good: retrying would
fail the same way and hide the message. Only a warehouse that is busy (another run holds the run
lock, or DuckDB's file lock) is worth waiting for; those are turned into `RetryRequested`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from ..locking import RunInProgress

MAX_RETRIES = 3
SECONDS_TO_WAIT = 30
LOCK_WAIT = 60.0  # seconds a step waits for the run lock before it asks Dagster for a retry


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, RunInProgress):
        return True
    text = str(exc)
    return isinstance(exc, duckdb.IOException | dg.Failure | RuntimeError) and (
        "Could not set lock on file" in text or "Conflicting lock is held" in text
    )


@contextmanager
def retry_when_busy() -> Iterator[None]:
    try:
        yield
    except dg.RetryRequested:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=SECONDS_TO_WAIT) from exc
        raise
