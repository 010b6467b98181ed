"""What starts runs: a sensor on raw/, a sensor that builds a Kreis after a Stadt's delivery, and a
schedule for the regular run.

The raw/ sensor looks at the files in raw/ that a contract claims. A new or changed file (size or
modification time differ from the last tick) starts a run of `warehouse_job` (ingest, build, gates;
no release unless SOZIALMONITOR_DAGSTER_PUBLISH is on, see definitions.py) for its Stichtag; a
changed reference file (addresses, areas, polygons) starts one for the newest Stichtag. A Stichtag
seen for the first time becomes a partition. Files are not hashed here: that would read every
extract every tick; the loader hashes them and skips what it already has.

In a Kreis, a file that one Stadt delivers for itself (a source `delivered_per: gemeinde` with a
Stichtag: its register, its Wohngeld, …) starts a run of `delivery_job` for its partition
Stichtag × Gemeinde instead, which loads that Stadt's files of that Stichtag and nothing else; its
Gemeinde, seen for the first time, becomes a partition too. When such a run succeeds, the sensor
`kreis_after_delivery` starts `warehouse_job` for the Stichtag: the Kreis-wide files, the build
(incremental: only that Stichtag), the gates. A Stichtag with a Stadt's delivery among its changed
files gets its `warehouse_job` run that way only, after the delivery is in, not a second one
racing it.
"""

from __future__ import annotations

import hashlib
import json
from typing import NamedTuple

import dagster as dg

from ..ingest.contracts import load_contracts
from ..ingest.loader import discover
from ..settings import Settings
from .ingest.assets import raw_asset_key
from .partitions import GEMEINDE, GEMEINDE_PARTITIONS, STICHTAG, STICHTAG_PARTITIONS, delivery_key, is_delivery

SENSOR_INTERVAL = 30
WAREHOUSE_JOB = "warehouse_job"
DELIVERY_JOB = "delivery_job"


class FileState(NamedTuple):
    fingerprint: str  # "size:mtime_ns"
    stichtag: str | None
    # only for a Stadt's own delivery of a Stichtag (`delivery_job`'s partitions), with its source
    gemeinde: str | None
    source: str


def _fingerprints(settings: Settings) -> dict[str, FileState]:
    """raw/-relative path → its state, for every claimed file."""
    extracts, _ = discover(settings, load_contracts(settings.contracts_dir, settings.project_vars))
    out = {}
    for e in extracts:
        st = e.path.lstat()  # a broken link or a folder is a change too: the run reports it
        rel = e.path.relative_to(settings.raw_dir).as_posix()
        # A file refused by its name (no date, a future Stichtag) never becomes a partition; it
        # starts a run of the newest Stichtag, whose ingest refuses and reports it.
        day = e.stichtag.isoformat() if e.stichtag and e.problem is None else None
        gemeinde = e.gemeinde if day and e.gemeinde and is_delivery(e.contract) else None
        out[rel] = FileState(f"{st.st_size}:{st.st_mtime_ns}", day, gemeinde, e.source)
    return out


def _request(job: str, partition, paths: list[str], current: dict[str, FileState], **extra) -> dg.RunRequest:
    digest = hashlib.sha256("\n".join(f"{p}={current[p].fingerprint}" for p in sorted(paths)).encode()).hexdigest()
    return dg.RunRequest(
        job_name=job,
        partition_key=partition,
        run_key=f"{partition}:{digest[:16]}",
        tags={"sozialmonitor/trigger": "raw-sensor", "sozialmonitor/files": ",".join(paths)[:1000]},
        **extra,
    )


def evaluate_raw_dir(
    settings: Settings, cursor: str | None, known_partitions: set[str], known_gemeinden: set[str] = frozenset()
) -> tuple[list[dg.RunRequest], dict[str, list[str]], str]:
    """(run requests, new partitions {"stichtag": […], "gemeinde": […]}, new cursor): the sensor's
    logic without Dagster's context. `known_partitions`: the Stichtage known, `known_gemeinden`
    the Gemeinden."""
    previous = json.loads(cursor) if cursor else {}
    current = _fingerprints(settings)
    changed = sorted(p for p, state in current.items() if previous.get(p) != state.fingerprint)
    stichtage = sorted({state.stichtag for state in current.values() if state.stichtag})
    gemeinden = sorted({state.gemeinde for state in current.values() if state.gemeinde})
    new_partitions = {
        STICHTAG: [d for d in stichtage if d not in known_partitions],
        GEMEINDE: [g for g in gemeinden if g not in known_gemeinden],
    }
    days: dict[str, list[str]] = {}
    deliveries: dict[tuple[str, str], list[str]] = {}
    for path in changed:
        _, day, gemeinde, _ = current[path]
        if gemeinde:
            deliveries.setdefault((day, gemeinde), []).append(path)
            continue
        day = day or (stichtage[-1] if stichtage else None)
        if day:
            days.setdefault(day, []).append(path)
    # a delivery run loads the sources of the Stadt's changed files, not every source it delivers
    requests = [
        _request(
            DELIVERY_JOB,
            delivery_key(day, gemeinde),
            paths,
            current,
            asset_selection=sorted({raw_asset_key(current[p].source) for p in paths}, key=str),
        )
        for (day, gemeinde), paths in sorted(deliveries.items())
    ]
    # a Stichtag with a Stadt's delivery among its changes is built after that delivery (module doc)
    delivered = {day for day, _ in deliveries}
    requests += [
        _request(WAREHOUSE_JOB, day, paths, current) for day, paths in sorted(days.items()) if day not in delivered
    ]
    new_cursor = json.dumps({p: state.fingerprint for p, state in sorted(current.items())}, sort_keys=True)
    return requests, new_partitions, new_cursor


def build_sensor(jobs: list, settings_factory) -> dg.SensorDefinition:
    """The raw/ sensor for `warehouse_job` (and `delivery_job` in a Kreis: `jobs`)."""

    @dg.sensor(
        name="raw_extracts",
        jobs=jobs,
        minimum_interval_seconds=SENSOR_INTERVAL,
        # Off until an operator turns it on (Dagster UI → Automation, or `dagster sensor start`):
        # a development instance must not ingest and publish by itself.
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="A new or changed extract in raw/ starts a run for its Stichtag (off by default).",
    )
    def raw_extracts(context: dg.SensorEvaluationContext):
        settings = settings_factory()
        instance = context.instance
        requests, new, cursor = evaluate_raw_dir(
            settings,
            context.cursor,
            set(instance.get_dynamic_partitions(STICHTAG_PARTITIONS.name)),
            set(instance.get_dynamic_partitions(GEMEINDE_PARTITIONS.name)),
        )
        added = [
            partitions.build_add_request(new[dimension])
            for dimension, partitions in ((STICHTAG, STICHTAG_PARTITIONS), (GEMEINDE, GEMEINDE_PARTITIONS))
            if new[dimension]
        ]
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=added,
            cursor=cursor,
            skip_reason=None if requests else "no new or changed extract in raw/",
        )

    return raw_extracts


def kreis_level_request(run: dg.DagsterRun, instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    """The `warehouse_job` run that follows a successful `delivery_job` run: the Stichtag of the
    Stadt's delivery, for the whole Kreis. One per delivery run (its run key), unless a run of that
    Stichtag is still waiting to start: it will find this delivery loaded too (the first tick of a
    Kreis loads every Stadt's files of every Stichtag, one delivery run each)."""
    day = run.tags.get(f"dagster/partition/{STICHTAG}")
    if not day:
        return dg.SkipReason(f"run {run.run_id} has no Stichtag partition")
    waiting = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=WAREHOUSE_JOB,
            statuses=[dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED],
            tags={"dagster/partition": day},
        ),
        limit=1,
    )
    if waiting:
        return dg.SkipReason(f"warehouse_job for {day} is waiting to start ({waiting[0].dagster_run.run_id})")
    return dg.RunRequest(
        job_name=WAREHOUSE_JOB,
        partition_key=day,
        run_key=f"{day}:after:{run.run_id}",
        tags={
            "sozialmonitor/trigger": "after-delivery",
            "sozialmonitor/delivery_run": run.run_id,
            "sozialmonitor/gemeinde": run.tags.get(f"dagster/partition/{GEMEINDE}", ""),
        },
    )


def build_kreis_sensor(delivery_job, warehouse_job) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        name="kreis_after_delivery",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[delivery_job],
        request_job=warehouse_job,
        minimum_interval_seconds=SENSOR_INTERVAL,
        # On: it reacts only to a delivery run that succeeded, which an operator or the raw/ sensor
        # (off by default) started; building the Kreis after it is what they asked for. It does not
        # publish unless SOZIALMONITOR_DAGSTER_PUBLISH is on.
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After one Stadt's delivery is loaded (delivery_job), build its Stichtag for the whole Kreis.",
    )
    def kreis_after_delivery(context: dg.RunStatusSensorContext):
        return kreis_level_request(context.dagster_run, context.instance)

    return kreis_after_delivery


def build_schedule(job) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="regular_run",
        job=job,
        cron_schedule="0 6 * * 1",
        execution_timezone="Europe/Berlin",
        default_status=dg.DefaultScheduleStatus.STOPPED,  # off by default, like the sensor
        description=(
            "Mondays 06:00: rebuild and gate the newest Stichtag (off by default). Picks up changes of "
            "code, contracts or thresholds. Publishes only with SOZIALMONITOR_DAGSTER_PUBLISH on, and "
            "then with nothing changed the release stays as it is (no new version)."
        ),
    )
    def regular_run(context: dg.ScheduleEvaluationContext):
        keys = sorted(context.instance.get_dynamic_partitions(STICHTAG_PARTITIONS.name))
        if not keys:
            return dg.SkipReason("no Stichtag known yet: the raw/ sensor adds them when extracts arrive")
        return dg.RunRequest(
            partition_key=keys[-1],
            run_key=None,
            tags={"sozialmonitor/trigger": "schedule"},
        )

    return regular_run
