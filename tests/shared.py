"""Session data built once per test run and shared by every pytest-xdist worker.

`make test` runs two workers; each used to build the session cities for itself, so every
whole-city build (about two minutes) happened twice. pytest-xdist's documented recipe
(https://pytest-xdist.readthedocs.io, "Making session-scoped fixtures execute only once") is
followed here: the folder above each worker's base temp folder is common to the run, and a file
lock decides who builds.

- The first worker to ask builds the data in `<run temp>/<name>`, then writes `<name>.done`.
- The others wait on the lock and then use that folder as it is (they must not change it: a
  test that changes a city takes a copy, see `released_copy` and `city_copy`).
- A build that raises writes `<name>.failed` with the error; every worker that asks after it
  fails at once with that error, instead of hanging or using a half-built folder.
- A worker killed while building holds the lock no longer (an OS file lock, fcntl, freed when the
  process dies); the next worker finds no marker, removes the half-built folder and builds it.
- Serial runs (`-n 0`, or no xdist) use the run's own temp folder: the same code, never contended.

Each `.done` marker records who built the data and how long it took; `build_log` lists them (the
terminal summary of tests/conftest.py prints it: one line per shared build, so a second build of
the same city would show).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest


class SharedBuildFailed(RuntimeError):
    """The shared build failed (in this worker or in another one)."""


def worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temp folder common to every worker of this run (the run's own temp folder if serial)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def shared_build(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """The folder `root/<name>`, made by `build(folder)` once for all processes that ask with the same
    `root` (the fixtures pass `run_root`: once per test run; see the module doc)."""
    folder, done, failed = root / name, root / f"{name}.done", root / f"{name}.failed"
    with (root / f"{name}.lock").open("a+") as lock:
        waited = time.perf_counter()
        fcntl.flock(lock, fcntl.LOCK_EX)  # released on close, or when this process dies
        waited = time.perf_counter() - waited
        try:
            if failed.exists():
                raise SharedBuildFailed(f"the shared build {name!r} failed earlier in this run:\n{failed.read_text()}")
            if done.exists():
                _note(done, {"event": "reused", "worker": worker(), "waited_s": round(waited, 1)})
                return folder
            if folder.exists():  # a worker died while building it
                shutil.rmtree(folder)
            folder.mkdir()
            start = time.perf_counter()
            try:
                build(folder)
            except Exception as exc:
                failed.write_text(f"worker {worker()}: {''.join(traceback.format_exception(exc))}", encoding="utf-8")
                raise
            _note(done, {"event": "built", "worker": worker(), "seconds": round(time.perf_counter() - start, 1)})
            return folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _note(marker: Path, entry: dict) -> None:
    with marker.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def build_log(root: Path) -> dict[str, list[dict]]:
    """Every shared build under `root` and who reused it: {name: [entries]}."""
    return {
        p.name.removesuffix(".done"): [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]
        for p in sorted(root.glob("*.done"))
    }
