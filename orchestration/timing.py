"""Seconds per stage: one helper for the pipeline's run summary and the release's steps. Low level:
imports nothing from the project."""

from __future__ import annotations

import contextlib
import ctypes
import sys
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


def release_unused_memory() -> None:
    """Hand memory that the steps before freed back to the system, so that the next step's peak
    does not stand on it: Arrow's pool (mimalloc, which keeps freed pages for its own reuse: 0.85 GB
    after the disclosure audit of a Kreis of 100 Gemeinden, which Typst's and DuckDB's allocations
    from the C heap never reuse) and, on Linux with glibc, the C heap's free pages (malloc_trim).
    Cheap: a few milliseconds at most; never fails the run."""
    with contextlib.suppress(Exception):  # an optimisation, never a reason to stop
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # not glibc (musl has no malloc_trim)
            ctypes.CDLL(None).malloc_trim(0)
