"""Races and leftovers (issue 15, class 9): the demo city is generated under the run lock, and a run
whose process is gone is shown (and recorded) as aborted, never "running" for good.

Fast: no city is built; the runs table is written by the pipeline's own recorder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from orchestration import pipeline
from orchestration.cli import app
from orchestration.locking import RunInProgress, run_lock
from orchestration.pipeline import RUNS_TABLE, RunSummary, _record_run, run_pipeline
from orchestration.provenance import process_start, run_is_alive
from tests.helpers import settings_for

runner = CliRunner()


class _Stop(Exception):
    pass


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _runs(settings) -> dict[str, tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute(f"select run_id, status, message, pid, host from {RUNS_TABLE}").fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def _set_process(settings, run_id: str, pid: int | None, host: str | None, start: int | None) -> None:
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute(
            f"update {RUNS_TABLE} set pid = ?, host = ?, process_start = ? where run_id = ?",
            [pid, host, start, run_id],
        )
    finally:
        con.close()


def test_the_demo_city_is_generated_only_while_the_run_holds_the_lock(tmp_path):
    settings = settings_for(tmp_path)
    seen = []

    def generate_demo(raw_dir):
        # a second run (another process, another open file) could not take the lock now
        with pytest.raises(RunInProgress), run_lock(settings.warehouse_path, purpose="second first run"):
            pass
        seen.append(raw_dir)
        raise _Stop

    with pytest.raises(_Stop):
        run_pipeline(settings, demo=generate_demo)
    assert seen == [settings.raw_dir]
    # the run was recorded before the generator started, and its failure after
    assert [r[0] for r in _runs(settings).values()] == ["failed"]


def test_a_second_first_run_never_writes_into_raw_while_the_first_holds_the_lock(tmp_path):
    settings = settings_for(tmp_path)
    with run_lock(settings.warehouse_path, purpose="pipeline run"):
        for args in (["run"], ["demo-data", "--residents", "1500"]):
            result = runner.invoke(app, args, env=settings.env())
            assert result.exit_code == 3, (args, result.output)
            assert "holds the warehouse" in result.output
            assert not settings.raw_dir.exists() or not any(settings.raw_dir.rglob("*")), args
    # with extracts present, demo-data refuses to overwrite them (checked under the lock too)
    (settings.raw_dir / "einwohner").mkdir(parents=True)
    (settings.raw_dir / "einwohner" / "EWR_Bestand_20241231.csv").write_text("x\n")
    result = runner.invoke(app, ["demo-data", "--residents", "1500"], env=settings.env())
    assert result.exit_code == 1 and "already holds extracts" in result.output


def test_a_run_with_extracts_present_generates_nothing(tmp_path, monkeypatch):
    settings = settings_for(tmp_path)
    (settings.raw_dir / "wohngeld").mkdir(parents=True)
    (settings.raw_dir / "wohngeld" / "Wohngeld_20241231.csv").write_text("x\n")
    monkeypatch.setattr(pipeline, "run_ingest", lambda *a, **k: (_ for _ in ()).throw(_Stop()))
    with pytest.raises(_Stop):
        run_pipeline(settings, demo=lambda raw_dir: pytest.fail("demo generated over real extracts"))


def test_liveness_of_a_recorded_process():
    host = socket.gethostname()
    me = os.getpid()
    assert run_is_alive(me, host, process_start(me)) is True
    assert run_is_alive(_dead_pid(), host, None) is False
    # the pid is alive but belongs to a process started at another time: reused, the run is gone
    if process_start(me) is not None:
        assert run_is_alive(me, host, process_start(me) - 1) is False
    # another host, or a run recorded before runs carried their pid: cannot be told
    assert run_is_alive(me, host + "-elsewhere", None) is None
    assert run_is_alive(None, None, None) is None


def _started(settings, run_id: str, at: datetime) -> RunSummary:
    summary = RunSummary(run_id=run_id, started_at=at)
    _record_run(settings, summary)
    return summary


def test_status_shows_a_killed_run_as_aborted_not_running(tmp_path):
    settings = settings_for(tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    _started(settings, "killedrun001", datetime(2025, 1, 2, 3, 4, 5))
    assert _runs(settings)["killedrun001"][0] == "running"
    assert _runs(settings)["killedrun001"][2] == os.getpid()  # pid and host are recorded at the start

    dead = _dead_pid()
    _set_process(settings, "killedrun001", dead, socket.gethostname(), None)
    result = runner.invoke(app, ["status"], env=settings.env())
    assert result.exit_code == 0, result.output
    assert "killedrun001: aborted" in result.output and f"pid {dead}" in result.output
    assert "running" not in result.output

    # a pid the system gave to another process since: still aborted
    me = os.getpid()
    if process_start(me) is not None:
        _set_process(settings, "killedrun001", me, socket.gethostname(), process_start(me) + 1)
        assert "killedrun001: aborted" in runner.invoke(app, ["status"], env=settings.env()).output

    # a run that is really going (this very process) stays running
    _set_process(settings, "killedrun001", me, socket.gethostname(), process_start(me))
    assert "killedrun001: running" in runner.invoke(app, ["status"], env=settings.env()).output

    # started on another machine: said so, not guessed
    _set_process(settings, "killedrun001", 4242, "other-host.example", None)
    out = runner.invoke(app, ["status"], env=settings.env()).output
    assert "killedrun001: running" in out and "cannot be checked from here" in out


def test_the_next_run_records_a_killed_run_as_aborted(tmp_path):
    settings = settings_for(tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    _started(settings, "killedrun001", datetime(2025, 1, 2, 3, 4, 5))
    finished = _started(settings, "finished0001", datetime(2025, 1, 2, 4, 0, 0))
    assert _runs(settings)["killedrun001"][0] == "aborted"
    finished.status = "succeeded"
    _record_run(settings, finished)
    _started(settings, "newrun000001", datetime(2025, 1, 3, 0, 0, 0))
    runs = _runs(settings)
    assert runs["killedrun001"][0] == "aborted" and "noticed by run finished0001" in runs["killedrun001"][1]
    assert runs["finished0001"][0] == "succeeded"  # a finished run is never touched
    assert runs["newrun000001"][0] == "running"


def test_a_dagster_step_killed_while_it_works_is_aborted_not_running(tmp_path):
    """A Dagster run's row names the process of the step that works (holding the run lock) and no
    process between steps: a step killed while it works is shown and recorded as aborted like a
    killed CLI run; a run between its steps is left to Dagster."""
    settings = settings_for(tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    step = {"started_at": datetime(2025, 1, 2, 3, 4, 5), "stichtag": "2024-12-31"}
    pipeline.record_dagster_step(settings, "dagsterrun01", "ingest", status="running", working=True, **step)
    assert _runs(settings)["dagsterrun01"][:3:2] == ("running", os.getpid())
    pipeline.record_dagster_step(settings, "dagsterrun01", "ingest", status="running", seconds=1.0, **step)
    assert _runs(settings)["dagsterrun01"][:3:2] == ("running", None)  # between its steps
    out = runner.invoke(app, ["status"], env=settings.env()).output
    assert "dagsterrun01: running" in out and "Dagster" in out, out
    cli = _started(settings, "clirun000001", datetime(2025, 1, 1))
    assert _runs(settings)["dagsterrun01"][0] == "running"  # a CLI run leaves a run between steps alone
    cli.status = "succeeded"
    _record_run(settings, cli)

    # the dbt step starts and its process is killed (OOM) while it works
    pipeline.record_dagster_step(settings, "dagsterrun01", "dbt", status="running", working=True, **step)
    dead = _dead_pid()
    _set_process(settings, "dagsterrun01", dead, socket.gethostname(), None)
    out = runner.invoke(app, ["status"], env=settings.env()).output
    assert "dagsterrun01: aborted" in out and f"pid {dead}" in out, out
    # the next run (a CLI run, or a step of another Dagster run) records it, with the process
    pipeline.record_dagster_step(settings, "dagsterrun02", "ingest", status="running", working=True, **step)
    status, message, pid, _host = _runs(settings)["dagsterrun01"]
    assert (status, pid) == ("aborted", None)
    assert f"Dagster step (pid {dead}" in message and "noticed by run dagsterrun02" in message, message
    assert _runs(settings)["clirun000001"][0] == "succeeded"


def test_a_demo_generation_killed_halfway_is_redone_not_left_half(tmp_path):
    from orchestration.pipeline import GENERATING_MARKER, needs_demo

    settings = settings_for(tmp_path)
    assert needs_demo(settings)  # nothing there yet
    (settings.raw_dir / "einwohner").mkdir(parents=True)
    (settings.raw_dir / "einwohner" / "EWR_Bestand_20191231.csv").write_text("Personen_ID;Geburtsjahr\n")
    (settings.raw_dir / GENERATING_MARKER).write_text("")  # the generator was killed here
    assert needs_demo(settings)
    (settings.raw_dir / GENERATING_MARKER).unlink()  # a finished generation, or real extracts
    assert not needs_demo(settings)


def test_how_a_dagster_step_that_raises_ends_in_the_run_log():
    """A failure is 'failed' with its text; a busy warehouse is a retry (still 'running') until
    Dagster has no retry left; a terminated run's step is 'aborted'."""
    import dagster as dg

    from orchestration.defs.runs import _ending

    assert _ending(ValueError("1 extract(s) broke their contract"), final=False) == (
        "failed",
        "1 extract(s) broke their contract",
    )
    busy = duckdb.IOException('IO Error: Could not set lock on file "w.duckdb"')
    assert _ending(busy, final=False) == ("running", "")
    assert _ending(RunInProgress("another run"), final=False) == ("running", "")
    status, message = _ending(busy, final=True)
    assert status == "failed" and message.startswith("gave up after 3 retries: IO Error: Could not set lock")
    assert _ending(dg.DagsterExecutionInterruptedError(), final=False) == (
        "aborted",
        "aborted: the step was interrupted (DagsterExecutionInterruptedError)",
    )


def test_dagster_step_records_are_kept_only_while_their_run_runs(tmp_path):
    """`mark_dagster_step_done` returns the steps of its own run, and drops the records of runs that
    have ended, so ops.dagster_steps does not grow by one row per step for ever."""
    settings = settings_for(tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    step = {"started_at": datetime(2025, 1, 2, 3, 4, 5), "stichtag": "2024-12-31"}
    for run_id in ("dagsterrun01", "dagsterrun02"):
        pipeline.record_dagster_step(settings, run_id, "ingest", status="running", working=True, **step)
        pipeline.record_dagster_step(settings, run_id, "ingest", status="running", seconds=1.0, **step)
    assert pipeline.mark_dagster_step_done(settings, "dagsterrun01", "raw_assets") == {"raw_assets"}
    assert pipeline.mark_dagster_step_done(settings, "dagsterrun01", "dbt") == {"raw_assets", "dbt"}
    assert pipeline.mark_dagster_step_done(settings, "dagsterrun02", "raw_assets") == {"raw_assets"}
    pipeline.record_dagster_step(settings, "dagsterrun01", "dbt", status="succeeded", seconds=1.0, **step)
    pipeline.record_dagster_step(settings, "dagsterrun03", "ingest", status="running", working=True, **step)
    assert _runs(settings)["dagsterrun02"][0] == "running"  # between its steps
    assert pipeline.mark_dagster_step_done(settings, "dagsterrun03", "raw_assets") == {"raw_assets"}
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        left = con.execute(f"select run_id, count(*) from {pipeline.DAGSTER_STEPS_TABLE} group by all").fetchall()
    finally:
        con.close()
    assert dict(left) == {"dagsterrun02": 1, "dagsterrun03": 1}  # the ended run's two records are gone


def _beside(*args: str, **kw):
    from orchestration.provenance import Beside

    root = str(Path(__file__).parents[2])
    env = {**os.environ, "PYTHONPATH": root}
    return Beside("tests.orchestration.child_stub", [str(os.getpid()), *args], env, **kw)


def test_a_child_beside_reports_its_exit_code_and_the_end_of_its_stderr(tmp_path):
    failing = _beside("20", "3", stderr=tmp_path / "stderr.txt")
    code, tail = failing.wait()
    assert code == 3 and tail.splitlines() == [f"line {i}" for i in range(5, 20)]  # the last 15 lines
    assert failing.wait() == (3, tail) and failing.seconds > 0  # waiting again: the same answer
    assert (tmp_path / "stderr.txt").read_text().count("line") == 20  # the caller's file keeps all
    assert _beside("0", "0").wait() == (0, "")
    failing.stop()  # a child that ended is left as it is


def test_a_child_beside_that_is_stopped_ends_at_once():
    import time

    child = _beside("1", "0", "60")
    started = time.perf_counter()
    child.stop()
    assert time.perf_counter() - started < 10
    code, _ = child.wait()
    assert code == -9  # killed, not finished


def test_a_child_beside_counts_its_own_time_not_the_callers_wait():
    """`seconds` is the child's time until it ended, also when the caller asks later (the release
    makes its documents while the gates' process runs); `running` says whether it still runs."""
    import time

    started = time.perf_counter()
    child = _beside("0", "0", "1")
    assert child.running
    while child.running and time.perf_counter() - started < 60:
        time.sleep(0.05)
    seen_ended = time.perf_counter() - started
    assert not child.running
    time.sleep(2)  # the caller's own work, after the child ended
    assert child.wait() == (0, "")
    # its own second and start-up, not the caller's two seconds after
    assert 1 <= child.seconds <= seen_ended + 0.1


def test_a_held_child_waits_for_its_go_and_counts_its_time_from_there():
    """A child started held (the gates' process, started before dbt's build) does its start-up and
    then waits for `go()`; its `seconds` count from there. Held and never let go, `stop` ends it; a
    child that ended before its go (its start-up failed) is reported by `wait`, and `go` does not
    raise for it."""
    import time

    child = _beside("0", "0", "0.5", "held", held=True)
    time.sleep(1.5)
    assert child.running  # unheld it would have ended after half a second
    let_go = time.perf_counter()
    child.go()
    child.go()  # once: the second does nothing
    assert child.wait() == (0, "") and 0.5 <= child.seconds <= time.perf_counter() - let_go

    never = _beside("0", "0", "0", "held", held=True)
    never.stop()
    assert never.wait()[0] == -9

    ended = _beside("2", "3", held=True)  # does not wait for its go: it ends at once
    while ended.running:
        time.sleep(0.05)
    ended.go()  # into a pipe nobody reads any more
    assert ended.wait() == (3, "line 0\nline 1") and ended.seconds == 0
