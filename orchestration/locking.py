"""One pipeline run at a time per warehouse.

DuckDB allows one writer per file (../shared/docs/stack.md). A second run started while one is
going must not fail halfway with a lock error from deep inside dbt: it is refused up front with a
message that names the run holding the lock. The lock is an OS file lock (fcntl), so it is freed
when the holding process dies, even by SIGKILL.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from .errors import SozialmonitorError
from .warehouse import private_dir


class RunInProgress(SozialmonitorError):
    exit_code = 3  # the message says what to do: wait, or --wait SECONDS


@contextmanager
def run_lock(warehouse_path: Path, purpose: str = "pipeline run", wait: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's run lock. `wait` > 0: wait up to that many seconds for it first."""
    lock_path = warehouse_path.with_name(warehouse_path.name + ".lock")
    private_dir(lock_path.parent)  # the warehouse's folder: microdata, owner only
    fh = lock_path.open("a+")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(0.2)
                continue
        waited = f" after waiting {wait:.0f} s" if wait else ""
        fh.seek(0)
        holder = fh.read().strip() or "{}"
        fh.close()
        try:
            info = json.loads(holder)
        except json.JSONDecodeError:
            info = {}
        raise RunInProgress(
            f"another {info.get('purpose', 'run')} holds the warehouse {warehouse_path} "
            f"(pid {info.get('pid', '?')}, started {info.get('started', '?')}){waited}. Wait for it to finish "
            "(or pass --wait SECONDS); nothing was changed by this attempt."
        ) from None
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(
            json.dumps(
                {"pid": os.getpid(), "purpose": purpose, "started": datetime.now().isoformat(timespec="seconds")}
            )
        )
        fh.flush()
        yield
    finally:
        fh.seek(0)
        fh.truncate()
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()
