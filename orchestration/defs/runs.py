"""A Dagster run in the run log (ops.pipeline_runs), like a run of `sozialmonitor run`.

Design: every step that does work (a raw extract, the dbt build, the quality gates, the release)
writes the row of its run itself, holding the run lock it holds for its work anyway:

- the first step of a run makes the row: run_id = the first 12 characters of the Dagster run id,
  trigger 'dagster', status 'running', the Stichtag of the partition;
- each step adds its seconds to its stage (ingest, dbt, gates, release) and what it knows (files
  loaded / unchanged, the gate outcome, the release);
- a step that fails marks the run 'failed' with the error's text, as a failed `sozialmonitor run`
  is recorded (a blocking quality gate that fails too: Dagster fails that step after it
  reported); so does a step that asks for a retry (the warehouse busy) when Dagster has no retry
  left, with "gave up after 3 retries: …"; a step interrupted (the run terminated) marks it
  'aborted'. The step that finds every other planned step of its run succeeded marks the run
  'succeeded'. A retry that Dagster will make is not recorded as a failure;
- while a step works, the row names its process (pid, host, start), and names none between steps
  (`pipeline.record_dagster_step`): a step killed while it works (SIGKILL, OOM) leaves its row
  'running' with the pid of a process that is gone, which `sozialmonitor status` shows as aborted
  and the next run (CLI or Dagster step, holding the lock) records as aborted, like a killed CLI
  run. A run killed between its steps stays 'running' without a process; Dagster shows it failed.

Why not a run status sensor or hooks: a sensor runs only under the daemon and only when it is on,
so a run started with the daemon off (or `execute_in_process`) would stay 'running'; job hooks do
not apply to runs the UI launches from the asset graph (Dagster's implicit asset job). The steps
run in every case, and a killed step is told by the process its row names.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime

import dagster as dg

from ..locking import run_lock
from ..pipeline import mark_dagster_step_done, record_dagster_step
from ..settings import Settings
from ..warehouse import kept_open
from .partitions import partition_parts
from .transient import LOCK_WAIT, MAX_RETRIES, is_transient, retry_when_busy

logger = logging.getLogger(__name__)


@dataclass
class StepOutcome:
    """What a step tells the run log besides its time."""

    files: tuple[int, int, int] | None = None  # loaded, unchanged, rejected
    gates_outcome: str | None = None
    release: object | None = None  # release.PublishResult
    failure: str = ""  # the step reports a failure that Dagster raises after it (a blocking gate)


def _op_context(context):
    return getattr(context, "op_execution_context", context)


def _step_key(context) -> str:
    return _op_context(context).get_step_execution_context().step.key


def _run_started(context) -> datetime:
    record = context.instance.get_run_record_by_id(_op_context(context).run_id)
    stamp = record.start_time if record is not None else None
    return datetime.fromtimestamp(stamp) if stamp else datetime.now()


def ends_the_run(context, finished: set[str] | frozenset[str] = frozenset()) -> bool:
    """Every other step planned for this run has succeeded (Dagster's events, or `finished`: the
    steps that recorded their work done, pipeline.mark_dagster_step_done): this one is the last."""
    instance = context.instance
    run_id = _op_context(context).run_id
    run = instance.get_run_by_id(run_id)
    if run is None or run.execution_plan_snapshot_id is None:
        return True  # no plan to compare with (a direct invocation): the step is the run
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    done = {
        r.event_log_entry.step_key
        for r in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS).records
    }
    return set(plan.step_keys_to_execute) - done - set(finished) <= {_step_key(context)}


@contextmanager
def recorded_step(
    context, settings: Settings, stage: str, purpose: str, keep_open: bool = False
) -> Iterator[StepOutcome]:
    """Hold the run lock for the step's work and record the step in the run log (module doc).
    `keep_open`: the warehouse stays open in this process from the step's first record to its last
    (warehouse.kept_open), for a step whose work opens it only as the run log does (a raw extract's
    load: four connections of its own, each of which read the catalog and wrote a checkpoint)."""
    op = _op_context(context)
    run_id = op.run_id[:12]
    stichtag, _ = partition_parts(op)
    outcome = StepOutcome()
    started = _run_started(context)
    start: float | None = None

    def record(status: str, message: str = "", **details) -> None:
        seconds = None if start is None else time.perf_counter() - start
        record_dagster_step(
            settings, run_id, stage, started_at=started, status=status, seconds=seconds, stichtag=stichtag,
            message=message, files=outcome.files, **details,
        )  # fmt: skip

    final = op.retry_number >= MAX_RETRIES  # a retry asked for now is refused: Dagster fails the step
    ended = False
    try:
        with retry_when_busy(), run_lock(settings.warehouse_path, purpose=purpose, wait=LOCK_WAIT), ExitStack() as held:
            if keep_open:
                held.enter_context(kept_open(settings.warehouse_path))
            record_dagster_step(
                settings, run_id, stage, started_at=started, status="running", stichtag=stichtag, working=True
            )
            start = time.perf_counter()
            try:
                yield outcome
            except BaseException as exc:
                ended = True  # recorded here, still holding the lock
                # on a database of its own: the step's error may have been DuckDB's, which leaves
                # the database it was shared on unusable for any connection of this process
                _let_go(held)
                _quietly(record, *_ending(exc, final))
                raise
            finished = set() if outcome.failure else mark_dagster_step_done(settings, op.run_id, _step_key(context))
            status = "failed" if outcome.failure else "succeeded" if ends_the_run(context, finished) else "running"
            record(status, outcome.failure, gates_outcome=outcome.gates_outcome, release=outcome.release)
            ended = True
    except BaseException as exc:
        if not ended:  # the lock was not had (another run) or the run log could not be written
            status, message = _ending(exc, final)
            if status != "running":
                _quietly(record, status, message)
        raise


def _ending(exc: BaseException, final: bool) -> tuple[str, str]:
    """The status and message of the run log that a step ending on `exc` leaves: 'running' for a
    retry that Dagster will make, 'failed' with the error's text (as a failed `sozialmonitor run`
    records it), 'aborted' for a step interrupted (Dagster's DagsterExecutionInterruptedError)."""
    if isinstance(exc, dg.RetryRequested) or is_transient(exc):
        if not final:
            return "running", ""
        cause = exc.__cause__ if isinstance(exc, dg.RetryRequested) and exc.__cause__ is not None else exc
        return "failed", f"gave up after {MAX_RETRIES} retries: {_message(cause)}"
    if isinstance(exc, Exception):
        return "failed", _message(exc)
    return "aborted", f"aborted: the step was interrupted ({_message(exc)})"


def _message(exc: BaseException) -> str:
    """The error's text, or its kind where it has none."""
    return str(exc) or type(exc).__name__


def _let_go(held: ExitStack) -> None:
    """Close what the step held open (warehouse.kept_open); a close that fails is logged, the
    step's own error follows."""
    try:
        held.close()
    except Exception as exc:  # noqa: BLE001 - the step's own error is what Dagster must see
        logger.warning("the warehouse kept open for the step could not be closed: %s", exc)


def _quietly(record, *args) -> None:
    """Record the step's end in the run log as well as can be done: the step's own error is what
    Dagster must see, not one of the run log's (the warehouse may be why the step failed). A row
    this leaves 'running' still names the step's process, and is shown and recorded as aborted
    once that process is gone."""
    try:
        record(*args)
    except Exception as exc:  # logged; the step's own error follows
        logger.warning("the run log could not record the step's end: %s", exc)
