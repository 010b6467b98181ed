"""The pipeline as plain functions: ingest extracts, then build the dbt project.

Dagster assets (orchestration/defs/) and the CLI (`sozialmonitor run`) call these same functions,
so a run triggered by hand and one triggered by the operator console do the same thing.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from .ingest import IngestReport, ingest
from .locking import run_lock
from .settings import Settings
from .warehouse import connect

RUNS_TABLE = "ops.pipeline_runs"


class DbtFailed(Exception):
    pass


@dataclass
class RunSummary:
    run_id: str
    started_at: datetime
    timings: dict[str, float] = field(default_factory=dict)
    ingest: IngestReport | None = None
    stichtage: list[date] = field(default_factory=list)
    status: str = "running"


@contextmanager
def timed(summary: RunSummary, stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        summary.timings[stage] = summary.timings.get(stage, 0.0) + time.perf_counter() - start


def has_extracts(settings: Settings) -> bool:
    if not settings.raw_dir.is_dir():
        return False
    return any(
        p.is_file() and not p.name.startswith(".") and p.name != "README.md" for p in settings.raw_dir.rglob("*")
    )


def git_commit(project_dir: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def _record_run(settings: Settings, summary: RunSummary, message: str = "") -> None:
    con = connect(settings.warehouse_path, extensions=())
    try:
        con.execute("create schema if not exists ops")
        con.execute(
            f"""create table if not exists {RUNS_TABLE} (
                run_id varchar primary key, started_at timestamp, finished_at timestamp, status varchar,
                stichtage varchar, files_loaded integer, files_unchanged integer, files_rejected integer,
                seconds_ingest double, seconds_dbt double, git_commit varchar, message varchar)"""
        )
        report = summary.ingest
        con.execute(f"delete from {RUNS_TABLE} where run_id = ?", [summary.run_id])
        con.execute(
            f"insert into {RUNS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                summary.run_id,
                summary.started_at,
                None if summary.status == "running" else datetime.now(),
                summary.status,
                ",".join(d.isoformat() for d in summary.stichtage),
                sum(r.status == "loaded" for r in report.results) if report else None,
                sum(r.status == "unchanged" for r in report.results) if report else None,
                len(report.rejected) if report else None,
                summary.timings.get("ingest"),
                summary.timings.get("dbt"),
                git_commit(settings.project_dir),
                message[:4000],
            ],
        )
    finally:
        con.close()


def run_ingest(settings: Settings, progress=None, **kwargs) -> IngestReport:
    con = connect(settings.warehouse_path)
    try:
        return ingest(settings, con, progress=progress, **kwargs)
    finally:
        con.close()


def dbt_args(settings: Settings, command: list[str]) -> list[str]:
    return [
        *command,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(settings.dbt_target_dir),
    ]


def run_dbt(settings: Settings, command: list[str], on_event: Callable | None = None):
    """dbt in this process (no interpreter start-up), pointed at this run's warehouse."""
    from dbt.cli.main import dbtRunner

    os.environ.update(settings.env())
    runner = dbtRunner(callbacks=[on_event] if on_event else [])
    try:
        result = runner.invoke(dbt_args(settings, command))
    finally:
        _release_dbt_duckdb()
    if not result.success:
        failed = []
        res = result.result
        for node in getattr(res, "results", None) or []:
            if str(node.status) in ("error", "fail"):
                failed.append(f"  - {node.node.unique_id}: {node.message}")
        detail = "\n".join(failed) or str(result.exception or "see dbt's output above")
        raise DbtFailed(f"dbt {' '.join(command)} failed:\n{detail}")
    return result


def _release_dbt_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB database open in the process after dbt returns; close it so that
    this process (and others) can open the warehouse file again with our own settings."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a pinned dependency
        return
    env = getattr(DuckDBConnectionManager, "_ENV", None)
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def run_pipeline(
    settings: Settings,
    progress=None,
    force_reload: bool = False,
    dbt_command: list[str] | None = None,
) -> RunSummary:
    """Ingest every extract in raw/, then build and test the dbt project. One run at a time."""
    summary = RunSummary(run_id=uuid.uuid4().hex[:12], started_at=datetime.now())
    with run_lock(settings.warehouse_path):
        _record_run(settings, summary)
        try:
            with timed(summary, "ingest"):
                summary.ingest = run_ingest(settings, progress=progress, force=force_reload)
            summary.stichtage = summary.ingest.stichtage
            with timed(summary, "dbt"):
                run_dbt(settings, dbt_command or ["build"])
        except Exception as exc:
            summary.status = "failed"
            summary.ingest = summary.ingest or getattr(exc, "report", None)
            _record_run(settings, summary, message=str(exc))
            raise
        summary.status = "succeeded"
        _record_run(settings, summary)
    return summary
