"""A Dagster run in the run log (ops.pipeline_runs), like a run of `sozialmonitor run`.

Design: every step that does work (a raw extract, the dbt build, the quality gates, the release)
writes the row of its run itself, holding the run lock it holds for its work anyway:

- the first step of a run makes the row: run_id = the first 12 characters of the Dagster run id,
  trigger 'dagster', status 'running', the Stichtag of the partition;
- each step adds its seconds to its stage (ingest, dbt, gates, release) and what it knows (files
  loaded / unchanged, the gate outcome, the release);
- a step that fails marks the run 'failed' with its message (a blocking quality gate that fails
  too: Dagster fails that step after it reported); the step that finds every other planned step
  of its run succeeded marks the run 'succeeded'.

Why not a run status sensor or hooks: a sensor runs only under the daemon and only when it is on,
so a run started with the daemon off (or `execute_in_process`) would stay 'running'; job hooks do
not apply to runs the UI launches from the asset graph (Dagster's implicit asset job). The steps
run in every case. A transient failure (the warehouse busy) is retried by Dagster and not recorded
as a failure; a run whose retries all fail stays 'running' in the log (Dagster shows it failed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import dagster as dg

from ..locking import run_lock
from ..pipeline import record_dagster_step
from ..settings import Settings
from .transient import LOCK_WAIT, is_transient, retry_when_busy


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


def ends_the_run(context) -> bool:
    """Every other step planned for this run has succeeded: this one is the last."""
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
    return set(plan.step_keys_to_execute) - done <= {_step_key(context)}


@contextmanager
def recorded_step(context, settings: Settings, stage: str, purpose: str) -> Iterator[StepOutcome]:
    """Hold the run lock for the step's work and record the step in the run log (module doc)."""
    op = _op_context(context)
    run_id = op.run_id[:12]
    stichtag = op.partition_key if op.has_partition_key else None
    outcome = StepOutcome()
    with retry_when_busy(), run_lock(settings.warehouse_path, purpose=purpose, wait=LOCK_WAIT):
        started = _run_started(context)
        record_dagster_step(settings, run_id, stage, started_at=started, status="running", stichtag=stichtag)
        start = time.perf_counter()
        try:
            yield outcome
        except Exception as exc:
            if not isinstance(exc, dg.RetryRequested) and not is_transient(exc):
                record_dagster_step(
                    settings,
                    run_id,
                    stage,
                    started_at=started,
                    status="failed",
                    seconds=time.perf_counter() - start,
                    message=str(exc) or type(exc).__name__,
                    files=outcome.files,
                )
            raise
        status = "failed" if outcome.failure else "succeeded" if ends_the_run(context) else "running"
        record_dagster_step(
            settings,
            run_id,
            stage,
            started_at=started,
            status=status,
            seconds=time.perf_counter() - start,
            message=outcome.failure,
            files=outcome.files,
            gates_outcome=outcome.gates_outcome,
            release=outcome.release,
        )
