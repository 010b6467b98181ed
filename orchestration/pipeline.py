"""The pipeline as plain functions: ingest extracts, build the dbt project, run the quality gates,
publish the release.

Dagster assets (orchestration/defs/) and the CLI (`sozialmonitor run`) call these same functions,
so a run triggered by hand and one triggered by the operator console do the same thing.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from data_quality import GateFailed
from data_quality.beside import GatesBeside, hold_before_build

from . import dbt_runner, spark_build
from .build_plan import BuildPlan, adopt_release, built_on, plan_build, record_build, record_unplanned_build
from .catalogue import generate as generate_catalogue_files
from .disclosure.history import refresh
from .faults import armed, checkpoint
from .ingest import IngestReport, ingest
from .ingest.loader import LOG_TABLE, migrate_load_log
from .locking import run_lock
from .provenance import git_commit, process_start
from .release import (
    PublishResult,
    clean_stale_builds,
    list_releases,
    publish,
    release_signing_key,
    released_inputs,
    update_latest,
)
from .settings import Settings
from .timing import release_unused_memory, timed
from .warehouse import connect, table_exists
from .yaml_text import load_yaml

RUNS_TABLE = "ops.pipeline_runs"
# Left in raw/ by a demo generation that has not finished (orchestration/demo/extracts.py writes it
# first and removes it last; the pipeline does not import the generator, a development package).
GENERATING_MARKER = ".demo-generating"


@dataclass
class RunSummary:
    run_id: str
    started_at: datetime
    timings: dict[str, float] = field(default_factory=dict)
    ingest: IngestReport | None = None
    stichtage: list[date] = field(default_factory=list)
    status: str = "running"
    gates: object | None = None  # data_quality.GateReport
    release: object | None = None  # release.PublishResult
    build: BuildPlan | None = None  # what dbt rebuilt and why


def has_extracts(settings: Settings) -> bool:
    if not settings.raw_dir.is_dir():
        return False
    return any(
        p.is_file() and not p.name.startswith(".") and p.name != "README.md" for p in settings.raw_dir.rglob("*")
    )


def _mark_abandoned_runs(con, current: str) -> int:
    """Runs still `running` while this run holds the lock cannot be going: the lock is an OS lock
    freed when its process dies, so their process was killed (SIGKILL, OOM, power loss).

    A Dagster run is not one process and does not hold the lock between its steps: its row carries
    a pid only while one of its steps works, holding the lock (`record_dagster_step`). A Dagster
    row with a pid seen under the lock is a step whose process died; one without is between steps,
    and whether it is still going is for Dagster to tell."""
    rows = con.execute(
        f"select run_id, pid, host, trigger from {RUNS_TABLE} where status = 'running' and run_id <> ? "
        "and (coalesce(trigger, 'cli') <> 'dagster' or pid is not null)",
        [current],
    ).fetchall()
    for run_id, pid, host, trigger in rows:
        who = f"pid {pid} on {host}" if pid is not None else "its process"
        if trigger == "dagster":
            who = f"the process of its Dagster step ({who})"
        con.execute(
            f"update {RUNS_TABLE} set status = 'aborted', finished_at = ?, pid = null, message = ? where run_id = ?",
            [
                datetime.now(),
                f"aborted: {who} ended without finishing the run (killed?); noticed by run {current}",
                run_id,
            ],
        )
    return len(rows)


def run_log_columns(con) -> set[str]:
    """The columns the run log has (a warehouse of an earlier version lacks the later ones)."""
    return {
        row[0]
        for row in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'ops' and table_name = 'pipeline_runs'"
        ).fetchall()
    }


def ensure_runs_table(con) -> None:
    """The run log, with the columns added since it was first made."""
    con.execute("create schema if not exists ops")
    con.execute(
        f"""create table if not exists {RUNS_TABLE} (
            run_id varchar primary key, started_at timestamp, finished_at timestamp, status varchar,
            stichtage varchar, files_loaded integer, files_unchanged integer, files_rejected integer,
            seconds_ingest double, seconds_dbt double, git_commit varchar, message varchar)"""
    )
    have = run_log_columns(con)
    for column, kind in (
        ("seconds_gates", "double"),
        ("seconds_release", "double"),
        ("gates_outcome", "varchar"),
        ("release_id", "varchar"),
        ("release_created", "boolean"),
        ("pid", "integer"),
        ("host", "varchar"),
        ("process_start", "bigint"),
        # who ran it: 'cli' (run_pipeline) or 'dagster' (a Dagster run; run_id = its first 12 chars)
        ("trigger", "varchar"),
        # what the dbt build rebuilt and why (its row in ops.dbt_builds: dbt_build_id)
        ("dbt_build_id", "varchar"),
        ("dbt_rebuilt", "varchar"),
    ):
        if column not in have:  # each step of a Dagster run records itself: no DDL when nothing is missing
            con.execute(f"alter table {RUNS_TABLE} add column if not exists {column} {kind}")


def _record_run(settings: Settings, summary: RunSummary, message: str = "") -> None:
    con = connect(settings.warehouse_path, extensions=())
    try:
        ensure_runs_table(con)
        if summary.status == "running":  # the start of a run, under the run lock
            _mark_abandoned_runs(con, summary.run_id)
        report = summary.ingest
        con.execute(f"delete from {RUNS_TABLE} where run_id = ?", [summary.run_id])
        release = summary.release
        con.execute(
            f"""insert into {RUNS_TABLE} (run_id, started_at, finished_at, status, stichtage, files_loaded,
                files_unchanged, files_rejected, seconds_ingest, seconds_dbt, git_commit, message,
                seconds_gates, seconds_release, gates_outcome, release_id, release_created, pid, host,
                process_start, trigger, dbt_build_id, dbt_rebuilt)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'cli', ?, ?)""",
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
                summary.timings.get("gates"),
                summary.timings.get("release"),
                summary.gates.outcome if summary.gates is not None else None,
                release.release.id if release is not None else None,
                release.created if release is not None else None,
                os.getpid(),
                socket.gethostname(),
                process_start(os.getpid()),
                summary.build.build_id if summary.build is not None else None,
                summary.build.describe() if summary.build is not None else None,
            ],
        )
    finally:
        con.close()


STEP_COLUMNS = {
    "ingest": "seconds_ingest",
    "dbt": "seconds_dbt",
    "gates": "seconds_gates",
    "release": "seconds_release",
}


DAGSTER_STEPS_TABLE = "ops.dagster_steps"


def mark_dagster_step_done(settings: Settings, run_id: str, step_key: str) -> set[str]:
    """Record that step `step_key` of Dagster run `run_id` has done its work, and return every step
    of the run recorded so. Call it holding the run lock: Dagster writes its own STEP_SUCCESS event
    only after the step has let go of the lock, so the next step of the run could miss it and leave
    the run 'running' for good; this record the next step always sees."""
    con = connect(settings.warehouse_path, extensions=())
    try:
        con.execute("create schema if not exists ops")
        con.execute(
            f"create table if not exists {DAGSTER_STEPS_TABLE} "
            "(run_id varchar, step_key varchar, finished_at timestamp)"
        )
        con.execute(f"insert into {DAGSTER_STEPS_TABLE} values (?, ?, ?)", [run_id, step_key, datetime.now()])
        # the records of runs that have ended are no longer read: the table holds only running runs
        ensure_runs_table(con)
        con.execute(
            f"delete from {DAGSTER_STEPS_TABLE} where run_id in "
            f"(select run_id from {RUNS_TABLE} where status <> 'running' and run_id <> ?)",
            [run_id],
        )
        rows = con.execute(f"select step_key from {DAGSTER_STEPS_TABLE} where run_id = ?", [run_id]).fetchall()
    finally:
        con.close()
    return {row[0] for row in rows}


def record_dagster_step(
    settings: Settings,
    run_id: str,
    stage: str,
    *,
    started_at: datetime,
    status: str,
    seconds: float | None = None,
    stichtag: str | None = None,
    message: str = "",
    files: tuple[int, int, int] | None = None,
    gates_outcome: str | None = None,
    release: object | None = None,
    working: bool = False,
) -> None:
    """One step of a Dagster run in the run log: the row of run `run_id` (made by its first step)
    gets the step's seconds added to its stage, its files, gate outcome or release, and `status`
    ('running', or 'succeeded'/'failed'/'aborted' from the step that ends the run). Call it holding
    the run lock. Steps of one run never write at the same time: they all hold that lock.

    `working`: the step starts its work. The row then carries this process (pid, host, start) until
    the step records again, so that a step killed while it works is told from a run between its
    steps (`_mark_abandoned_runs`; `sozialmonitor status` shows it aborted), and runs killed before
    are marked aborted now."""
    con = connect(settings.warehouse_path, extensions=())
    try:
        ensure_runs_table(con)
        if working:
            _mark_abandoned_runs(con, run_id)
        exists = con.execute(f"select status from {RUNS_TABLE} where run_id = ?", [run_id]).fetchone()
        if exists is None:
            con.execute(
                f"""insert into {RUNS_TABLE} (run_id, started_at, status, stichtage, git_commit, message,
                    trigger) values (?, ?, 'running', ?, ?, '', 'dagster')""",
                [run_id, started_at, stichtag or "", git_commit(settings.project_dir)],
            )
        elif exists[0] in ("failed", "aborted"):
            status = exists[0]  # a later step (a retry, a check of another asset) does not undo it
        column = STEP_COLUMNS[stage]
        con.execute(
            f"""update {RUNS_TABLE} set {column} = coalesce({column}, 0) + coalesce(?, 0),
                status = ?, finished_at = ?,
                message = case when ? = '' then message else ? end,
                files_loaded = coalesce(files_loaded, 0) + ?, files_unchanged = coalesce(files_unchanged, 0) + ?,
                files_rejected = coalesce(files_rejected, 0) + ?,
                gates_outcome = coalesce(?, gates_outcome),
                release_id = coalesce(?, release_id), release_created = coalesce(?, release_created),
                pid = ?, host = ?, process_start = ?
            where run_id = ?""",
            [
                seconds,
                status,
                None if status == "running" else datetime.now(),
                message,
                message[:4000],
                *(files or (0, 0, 0)),
                gates_outcome,
                release.release.id if release is not None else None,
                release.created if release is not None else None,
                *((os.getpid(), socket.gethostname(), process_start(os.getpid())) if working else (None, None, None)),
                run_id,
            ],
        )
    finally:
        con.close()


def needs_demo(settings: Settings) -> bool:
    """raw/ holds no extracts, or a demo generation was killed before it finished."""
    return not has_extracts(settings) or (settings.raw_dir / GENERATING_MARKER).exists()


def run_ingest(settings: Settings, progress=None, **kwargs) -> IngestReport:
    con = connect(settings.warehouse_path)
    try:
        return ingest(settings, con, progress=progress, **kwargs)
    finally:
        con.close()


def refresh_released_cells(settings: Settings, migrate: bool = False) -> int:
    """Before dbt: what earlier releases published, so the secondary suppression keeps to it. With
    `migrate`, in the same connection: migrate_warehouse."""
    con = connect(settings.warehouse_path)
    try:
        if migrate:
            migrate_warehouse(con)
        return refresh(con, list_releases(settings.releases_dir))
    finally:
        con.close()


# dbt commands that build models: before them the disclosure control needs the published cells
BUILDING_COMMANDS = frozenset({"build", "run", "seed", "snapshot"})


def prepare_dbt(settings: Settings, released_cells: bool = True) -> list[Path]:
    """Everything a dbt invocation needs first, the same for the CLI (`run_dbt`) and the Dagster dbt
    asset (orchestration/defs/dbt/assets.py), so that both build the same thing:

    - the files generated from the catalogue (seeds, measure registry, docs and tests of the
      indicator views, the dbt sources) are rendered again, so a changed catalogue never builds
      with stale files;
    - `released_cells`: what earlier releases published is refreshed in the warehouse, so that the
      secondary suppression keeps to it. Only for commands that build (it writes the warehouse).

    dbt finds this run's warehouse and folders in the environment, set only while it runs
    (dbt_runner.scoped_environment). Returns the generated files that changed. Call it holding the
    run lock when `released_cells`."""
    changed = generate_catalogue_files(settings.dbt_project_dir, settings.contracts_dir, vars_file=settings.vars_file)
    # a saved parse from before a model file was added beside the properties that document it
    # would give the model neither (dbt_runner.drop_stale_parses)
    dbt_runner.drop_stale_parses(settings)
    if released_cells:
        refresh_released_cells(settings, migrate=True)
    return changed


def migrate_warehouse(con) -> None:
    """Before dbt builds: what a model reads of the ingest's own tables and an earlier version's
    warehouse lacks (the load log's numbers, which the record-count gate orders by). A load or a
    planned build does it too; this covers a build of some models, which is not planned."""
    if table_exists(con, LOG_TABLE):
        migrate_load_log(con)


# dbt flags that choose part of the project: such a build is not planned by Stichtag
SELECTING_FLAGS = frozenset(
    {"--select", "-s", "--models", "--model", "-m", "--exclude", "--selector", "--resource-type",
     "--resource-types", "--exclude-resource-type", "--exclude-resource-types", "--empty"}
)  # fmt: skip
# what a planned `run` records for the data tests it did not run: no fingerprint of a test, so the
# next build tests every row (macros/tested_stichtage.sql), not only those it rebuilds
UNTESTED = "untested (dbt run)"


def selects_part(command: list[str]) -> bool:
    """Whether a dbt command builds part of the project only: a selecting flag however spelled
    (`--select x`, `--select=x`, `-sx`, among other short flags `-xs x`)."""
    for token in command:
        if token.split("=", 1)[0] in SELECTING_FLAGS:
            return True
        if token.startswith("-") and not token.startswith("--"):
            for letter in token[1:]:
                if letter in "sm":  # --select, --models
                    return True
                if letter == "t":  # --target: the rest is its value
                    break
    return False


def _given_vars(command: list[str]) -> dict:
    """The vars given to a dbt `command` (dbt reads them as YAML)."""
    if "--vars" not in command:
        return {}
    return load_yaml(command[command.index("--vars") + 1]) or {}


def planned_dbt(
    settings: Settings,
    command: list[str],
    on_event: Callable | None = None,
    run_id: str | None = None,
    full_refresh: bool = False,
    skip_unchanged: bool = False,
    timings: dict[str, float] | None = None,
    select: bool = True,
):
    """dbt in this process, prepared by `prepare_dbt` as the Dagster dbt asset is. A build (or run)
    of the whole project rebuilds only the Stichtage whose inputs changed since the last build
    (orchestration.build_plan), or everything when `full_refresh` or the plan says so; it is
    recorded in ops.dbt_builds. `skip_unchanged`: no dbt at all when the plan finds nothing
    changed since the last build (its tables are those dbt would make). `select`: False builds every
    node in an incremental build too (each on the plan's Stichtage), not only those downstream of
    the new data: Dagster expects an output of every asset. Returns dbt's result (None when
    skipped) and the plan (None for other commands)."""
    building = bool(command) and command[0] in BUILDING_COMMANDS
    prepare_dbt(settings, released_cells=building)
    if not command or command[0] not in ("build", "run"):
        return dbt_runner.run_dbt(settings, command, on_event=on_event), None
    if selects_part(command):
        record_unplanned_build(settings, run_id, f"dbt {' '.join(command)}", dbt_runner.dbt_target_of(command))
        return dbt_runner.run_dbt(settings, command, on_event=on_event), None
    bare = [c for c in command if c != "--full-refresh"]
    asked = full_refresh or "--full-refresh" in command
    spark = settings.checked_engine() == "spark"
    plan = plan_build(settings, _given_vars(bare), full_refresh=asked)
    if plan.unchanged and skip_unchanged:
        return None, plan
    if spark and not plan.full and (stale := spark_build.stale_tables(settings, plan.last_build)):
        plan = plan_build(settings, _given_vars(bare), full_refresh=True, reason=f"on Spark, {stale}")
    if command[0] == "run":  # its rows untested: the next build tests them all
        plan = replace(plan, tests_fingerprint=UNTESTED)
    record_build(
        settings, plan, run_id, "running", dbt_target=spark_build.spark_target() if spark else dbt_runner.DUCKDB_TARGET
    )
    try:
        if spark:
            result = build_on_spark(settings, bare, plan, on_event=on_event, timings=timings, select=select)
        else:
            final = bare + plan.dbt_arguments(command[0], select=select)
            result = dbt_runner.run_dbt(settings, final, on_event=on_event, plan=plan.choices())
    except BaseException:
        record_build(settings, plan, run_id, "failed")
        raise
    record_build(settings, plan, run_id, "succeeded")
    return result, plan


def build_on_spark(
    settings: Settings,
    command: list[str],
    plan: BuildPlan,
    on_event: Callable | None = None,
    timings: dict[str, float] | None = None,
    select: bool = True,
):
    """A whole-project dbt `command` (build or run) on Spark as `plan` says (every Stichtag afresh,
    or the rebuilt ones into the tables of the last build, which the lake keeps), its relations then
    served in the warehouse over Spark's Parquet files and dbt's manifest written for the DuckDB
    side (which the release reads): orchestration/spark_build.py. `timings` gets the seconds of the
    Spark build and of the serving. `select`: as in `planned_dbt`. Returns dbt's result."""
    seconds = timings if timings is not None else {}
    metastore = spark_build.metastore_for(settings, plan.build_id, incremental=not plan.full)
    # the views' rows of the build this one adds to (read now: an incremental build removes the
    # lake's marker until it succeeds); not when today's Gebietsstand moved, which rebuilds every
    # Stichtag of the models on it (no view served by Stichtag reads them today; one added later
    # might, and then its other Stichtage's rows are not those of the last serving)
    previous = spark_build.last_serving(settings) if not plan.full and plan.gebietsstand_kept else None
    rebuilt = spark_build.Rebuilt(plan.stichtage, plan.lag_dependants, previous) if previous else None
    try:
        with timed(seconds, "Spark build (within dbt)"):
            result = spark_build.build(
                settings,
                command + plan.dbt_arguments(command[0], select=select),
                on_event=on_event,
                plan=plan.choices(),
                incremental=not plan.full,
                metastore=metastore,
            )
        with timed(seconds, "serving (within dbt)"):
            spark_build.serve(settings, kept=not plan.full, rebuilt=rebuilt)
        spark_build.mark_built(settings, plan.build_id, metastore)
    finally:
        spark_build.stop_spark()
    dbt_runner.run_dbt(settings, ["parse"])
    return result


def run_dbt(settings: Settings, command: list[str], on_event: Callable | None = None):
    """dbt in this process (`planned_dbt`): every dbt call of the pipeline, the CLI and the tests
    goes through here."""
    return planned_dbt(settings, command, on_event=on_event)[0]


def gate_and_publish(
    settings: Settings,
    stichtag: date | None = None,
    force: bool = False,
    run_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
    gates: GatesBeside | None = None,
) -> PublishResult:
    """The quality gates on the warehouse as it is, and publish() with their report, the gates
    running in a process of their own beside its first steps (data_quality.beside): `sozialmonitor
    run` and `release create`, and Dagster's release asset. Hold the run lock. `timings` gets the
    gates' seconds and the release's (wall-clock, the gates' time within it); the result's
    `seconds` has every step's and the gates'. `gates`: their process, started held by the caller
    (the pipeline, before dbt's build), let go here; the caller stops it if this refuses before."""
    release_signing_key(settings)  # a release that cannot be signed is refused before the gates run
    dbt_target = built_on(settings)  # what the manifest names as the engine: what built the tables
    say = progress or (lambda _msg: None)
    say("quality gates (beside the release's first steps)")
    seconds: dict[str, float] = {}
    if gates is None:
        gates = GatesBeside(settings)
    try:
        gates.start()
        with timed(seconds, "release"):
            result = publish(
                settings, gates, stichtag=stichtag, force=force, run_id=run_id, progress=progress,
                built_on=dbt_target,
            )  # fmt: skip
    except BaseException:
        gates.stop()  # publish() waits for the gates on its own errors; not on those before its first step
        raise
    finally:
        seconds["gates"] = gates.seconds
        if timings is not None:
            timings.update(seconds)
    result.seconds["gates"] = gates.seconds
    if result.created:
        # its cells are the build's own: the next run builds nothing for them
        adopt_release(settings, result.release.id, [r.id for r in list_releases(settings.releases_dir)])
    return result


def _dbt_fault_point(event) -> None:
    """Lets a test kill the run in the middle of dbt (faults.py): after the 10th node finished."""
    if event.info.name == "NodeFinished":
        _dbt_fault_point.count = getattr(_dbt_fault_point, "count", 0) + 1
        if _dbt_fault_point.count == 10:
            checkpoint("dbt:mid-build")


def run_pipeline(
    settings: Settings,
    progress=None,
    force_reload: bool = False,
    dbt_command: list[str] | None = None,
    release: bool = True,
    force_release: bool = False,
    wait: float = 0.0,
    on_stage: Callable[[str], None] | None = None,
    dbt_vars: dict | None = None,
    demo: Callable[[Path], object] | None = None,
    full_refresh: bool = False,
) -> RunSummary:
    """Ingest every extract in raw/, build and test the dbt project, run the quality gates and
    publish the release of the newest Stichtag. One run at a time per warehouse.

    `demo`: writes the demo city into the raw/ folder it is given. When raw/ holds no extracts it is
    called first, under the run lock, so that two first runs never write into raw/ at the same time.
    The front door passes the generator (the CLI: orchestration.demo.generate with its DemoConfig);
    the pipeline does not import it.

    `force_release`: accept changed files for Stichtage already released and publish the result as
    a new version (a correction). Without it such files are refused at ingest.

    dbt rebuilds only the Stichtage whose files changed since the last build, and those that read
    them through lagged measures (orchestration.build_plan; `summary.build` says what and why), and
    is not called when nothing changed since the last build (no file loaded, the same project, the
    same cells of earlier releases); `full_refresh` rebuilds every Stichtag.

    The run is recorded in ops.pipeline_runs (trigger 'cli'); `sozialmonitor run` then reports a
    succeeded run to the Dagster instance of DAGSTER_HOME when one is set
    (orchestration/dagster_report.py, above the pipeline: it knows Dagster's assets)."""
    stage = on_stage or (lambda _name: None)
    if settings.checked_engine() == "spark":
        spark_build.require_spark()  # refused before anything is loaded
    summary = RunSummary(run_id=uuid.uuid4().hex[:12], started_at=datetime.now())
    with run_lock(settings.warehouse_path, wait=wait):
        _record_run(settings, summary)
        gates: GatesBeside | None = None
        try:
            # leftovers of a run that was killed while it built a release
            clean_stale_builds(settings.releases_dir)
            update_latest(settings.releases_dir)
            if demo is not None and needs_demo(settings):
                stage("demo")
                with timed(summary.timings, "demo"):
                    demo(settings.raw_dir)
            released = None if force_release else released_inputs(settings.releases_dir)
            stage("ingest")
            with timed(summary.timings, "ingest"):
                summary.ingest = run_ingest(settings, progress=progress, force=force_reload, released=released)
            release_unused_memory()
            summary.stichtage = summary.ingest.stichtage
            stage("dbt")
            # the gates' process imports Great Expectations beside dbt's build, which holds Python's
            # lock on one core, and holds until the release lets it go (gate_and_publish); where
            # its memory does not add to the run's peak (data_quality.beside.hold_before_build)
            gates = GatesBeside(settings, held=True) if release and hold_before_build(settings) else None
            with timed(summary.timings, "dbt"):
                command = list(dbt_command or ["build"])
                if dbt_vars:
                    command += ["--vars", json.dumps(dbt_vars)]
                _, summary.build = planned_dbt(
                    settings,
                    command,
                    # watching dbt's events makes each of them a message (dbt_runner.lines_only_where_written)
                    on_event=_dbt_fault_point if armed("dbt:mid-build") else None,
                    run_id=summary.run_id,
                    full_refresh=full_refresh,
                    skip_unchanged=True,
                    timings=summary.timings,  # on Spark: its build and the serving, within dbt's
                )
            release_unused_memory()  # what dbt's Python models freed (the disclosure pattern's frames)
            if release:
                stage("release")
                try:
                    summary.release = gate_and_publish(
                        settings,
                        force=force_release,
                        run_id=summary.run_id,
                        progress=stage,
                        timings=summary.timings,
                        gates=gates,
                    )
                except GateFailed as exc:
                    summary.gates = exc.report
                    raise
                summary.gates = summary.release.gates_report
        except Exception as exc:
            summary.status = "failed"
            summary.ingest = summary.ingest or getattr(exc, "report", None)
            _record_run(settings, summary, message=str(exc))
            raise
        finally:
            if gates is not None:  # held and never let go (the run stopped before the release): ended
                gates.stop()
        summary.status = "succeeded"
        _record_run(settings, summary)
    return summary
