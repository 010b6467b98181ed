"""Seconds per stage: one helper for the pipeline's run summary and the release's steps. Low level:
imports nothing from the project."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    """Add the block's wall-clock seconds to `seconds[stage]`, also when it raises."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - start
