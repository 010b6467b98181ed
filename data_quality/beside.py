"""The quality gates in a process of their own, beside the release's first steps.

A release's export, atlas data and disclosure audit only read the warehouse, as the gates do, and
none of them needs the gates' report; publish() (orchestration.release.build) waits for it before
anything may write to the warehouse or be published, and a blocking gate still stops the release
before any other refusal. The gates are Great Expectations' Python, most of it holding Python's
global lock: on a thread beside the export they slowed it from 2 to 7-10 s on the 20k test city, so
they run in a child process (`python -m data_quality.beside`), which on two cores costs little more
than the longer of the two sides. The child reads the warehouse read-only, writes the full report
as JSON into a private folder beside the warehouse, and dies with the process that started it
(Linux: a killed pipeline leaves no reader holding the warehouse that its rerun must open for
writing). The folder is named after that process; the next gates on the same warehouse remove the
folders of processes that no longer run (a killed run cannot remove its own).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from orchestration.errors import SozialmonitorError
from orchestration.provenance import Beside, die_with_parent, held_until_go, process_start, run_is_alive
from orchestration.settings import Settings
from orchestration.warehouse import (
    MEMORY_LIMIT_SETTING,
    connect,
    memory_limit,
    memory_limit_bytes,
    share_of_memory_limit,
)

from .gates import GateReport, prepare_gates, run_gates

REPORT_FILE = "gates.json"
# the child's folder beside the warehouse: FOLDER_PREFIX, the pid and the start time (clock ticks
# since boot, 0 where not known) of the process that started it, a dash
FOLDER_PREFIX = ".gates-"
# the share of SOZIALMONITOR_MEMORY_LIMIT the gates' process gets beside the release
GATES_MEMORY_SHARE = 0.25


class GatesDidNotRun(SozialmonitorError):
    exit_code = 5
    headline = "The quality gates could not run:"
    hint = "Nothing was released. `sozialmonitor gates` runs them on their own and shows the error in full."


class GatesBeside:
    """The gates on the warehouse of `settings`, started in a child process; call the object to wait
    for their report (again and again: the same report). `seconds`: the child's wall-clock time,
    start-up included unless it was held (then from `start()`). The gates' configuration comes from
    the environment as in this process (SOZIALMONITOR_GATES_CONFIG), read when the gates run.

    `held`: the child imports Great Expectations (3-4 s of CPU) and then waits; `start()` (or the
    first call, whose wait lets it go) lets it run the gates, and `seconds` count from there. The
    pipeline starts it so before dbt's build, which holds Python's lock on one core and leaves the
    other mostly idle, and lets it go once the build is done: it must not open the warehouse while
    dbt writes to it."""

    def __init__(self, settings: Settings, held: bool = False):
        self._report: GateReport | None = None
        self._error: GatesDidNotRun | None = None
        self._child: Beside | None = None
        if not settings.warehouse_path.is_file():  # nothing to check, and no folder beside it to write into
            self._error = GatesDidNotRun(f"the warehouse {settings.warehouse_path} does not exist")
            return
        beside = settings.warehouse_path.parent
        remove_leftovers(beside)
        owner = f"{os.getpid()}-{process_start(os.getpid()) or 0}"
        self._folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{owner}-", dir=beside))  # owner only
        levels = ",".join(settings.project_vars.public_levels)
        # a quarter of DuckDB's memory limit: the release beside it may use the whole (at Berlin size
        # the gates' queries took 2.6 GB with the whole limit, 1.0 GB with a quarter, in about the
        # same time; their frames are ordered, so the report does not depend on it)
        # (a query that needs more runs again with the whole limit: gates.suite_frame)
        environment = {**os.environ, MEMORY_LIMIT_SETTING: share_of_memory_limit(GATES_MEMORY_SHARE)}
        try:
            self._child = Beside(
                __name__,
                [str(settings.warehouse_path), levels, str(self._folder), str(os.getpid()), memory_limit()]
                + (["--held"] if held else []),
                environment,
                stderr=self._folder / "stderr.txt",
                held=held,
            )
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise

    @property
    def seconds(self) -> float:
        """The child's wall-clock time, start-up included unless held (0 until waited for)."""
        return self._child.seconds if self._child is not None else 0.0

    @property
    def running(self) -> bool:
        """Whether the gates' process still runs (then calling the object would wait for it)."""
        return self._child is not None and self._child.running

    def start(self) -> None:
        """Let a held child run the gates (once; a child not held runs them from the start)."""
        if self._child is not None:
            self._child.go()

    def __call__(self) -> GateReport:
        if self._report is None and self._error is None and self._child is not None:
            try:
                code, error = self._child.wait()
                if code == 0 and (self._folder / REPORT_FILE).is_file():
                    data = json.loads((self._folder / REPORT_FILE).read_text(encoding="utf-8"))
                    self._report = GateReport.from_dict(data)
                elif code == 0:  # a held child whose stdin closed before its go: it checked nothing
                    self._error = GatesDidNotRun(f"the gates' process ended without a report:\n{error}")
                else:
                    self._error = GatesDidNotRun(f"the gates' process ended with code {code}:\n{error}")
            finally:
                shutil.rmtree(self._folder, ignore_errors=True)
        if self._error is not None:
            raise self._error
        assert self._report is not None
        return self._report

    def stop(self) -> None:
        """End the child if it still runs (the caller failed before it waited): it holds the
        warehouse open, and the caller's next step may have to write to it."""
        if self._child is not None:  # Beside.stop leaves a child that ended as it is
            self._child.stop()
            shutil.rmtree(self._folder, ignore_errors=True)


def hold_before_build(settings: Settings) -> bool:
    """Whether `sozialmonitor run` starts the gates' process held before dbt's build (GatesBeside,
    `held`): only while the warehouse is smaller than the gates' share of DuckDB's memory limit. A
    held process keeps about 300 MB of Python while dbt builds, for the 3-4 s of importing it takes
    off the release. A small city's build stays far below the limit, and its run's peak is the
    release's, where the gates' process runs anyway; at 1,000,000 residents (a 1 GB warehouse, the
    build at the limit) holding it raised the run's peak from 1.8 to 2.0-2.2 GB for about a second
    (docs/performance.md), so a warehouse that size starts it when the release does."""
    try:
        size = settings.warehouse_path.stat().st_size
    except OSError:
        return False
    return size < memory_limit_bytes() * GATES_MEMORY_SHARE


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove the gates' folders in `folder` whose process no longer runs (a run killed while its
    gates ran), and return them. Those of running processes stay: they may be waiting for theirs.
    A folder names its process by pid and start time (orchestration.provenance, as the run records
    do), so a pid the system gave to a later process does not keep it."""
    removed = []
    for path in folder.glob(f"{FOLDER_PREFIX}*-*-*"):
        pid, started = path.name[len(FOLDER_PREFIX) :].split("-")[:2]
        ours = pid.isdigit() and started.isdigit()
        if ours and run_is_alive(int(pid), socket.gethostname(), int(started) or None) is False:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _without_spark() -> None:
    """Great Expectations imports pyspark wherever it is installed (`make spark`), for a Spark data
    source the gates never use: they check pandas frames read from the DuckDB warehouse, also when
    dbt built on Spark (its relations are served to the warehouse). Marked absent in this process
    before Great Expectations is imported, it is not loaded: 0.4-0.8 s less of every release's
    gates, and none of pyspark's warnings about the pandas version in the release's output."""
    if "pyspark" not in sys.modules:
        sys.modules["pyspark"] = None  # type: ignore[assignment]  # `import pyspark` raises ImportError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("levels", help="the public levels, comma-separated")
    parser.add_argument("folder", type=Path, help="where gates.json is written")
    parser.add_argument("parent", type=int, help="the process this one dies with")
    parser.add_argument("memory_when_short", help="DuckDB's memory limit for a query that needs more than the share")
    parser.add_argument("--held", action="store_true", help="import first, then wait for the parent's go (stdin)")
    args = parser.parse_args(argv)
    die_with_parent(args.parent)
    _without_spark()
    if args.held:
        prepare_gates()
        if not held_until_go():
            return  # the parent stopped before the gates: nothing to check, nothing written
    con = connect(args.warehouse, read_only=True, extensions=())
    try:
        levels = [level for level in args.levels.split(",") if level]
        report = run_gates(con, levels=levels, memory_when_short=args.memory_when_short)
    finally:
        con.close()
    part = args.folder / f"{REPORT_FILE}.part"
    part.write_text(json.dumps(report.to_dict(), ensure_ascii=False, default=str), encoding="utf-8")
    part.replace(args.folder / REPORT_FILE)


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - one line for the parent's message; `sozialmonitor gates` shows all
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
