"""What starts runs: a sensor on raw/ and a schedule for the regular run.

The sensor looks at the files in raw/ that a contract claims. A new or changed file (size or
modification time differ from the last tick) starts a run of `warehouse_job` (ingest, build, gates;
no release unless SOZIALMONITOR_DAGSTER_PUBLISH is on, see definitions.py) for its Stichtag; a
changed reference file (addresses, areas, polygons) starts one for the newest Stichtag. A Stichtag
seen for the first time becomes a partition. Files are not hashed here: that would read every
extract every tick; the loader hashes them and skips what it already has.
"""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from ..ingest.contracts import load_contracts
from ..ingest.loader import discover
from ..settings import Settings
from .partitions import STICHTAG_PARTITIONS

SENSOR_INTERVAL = 30


def _fingerprints(settings: Settings) -> dict[str, tuple[str, str | None]]:
    """raw/-relative path → ("size:mtime_ns", Stichtag or None) for every claimed file."""
    extracts, _ = discover(settings, load_contracts(settings.contracts_dir, settings.project_vars))
    out = {}
    for e in extracts:
        st = e.path.lstat()  # a broken link or a folder is a change too: the run reports it
        rel = e.path.relative_to(settings.raw_dir).as_posix()
        # A file refused by its name (no date, a future Stichtag) never becomes a partition; it
        # starts a run of the newest Stichtag, whose ingest refuses and reports it.
        day = e.stichtag.isoformat() if e.stichtag and e.problem is None else None
        out[rel] = (f"{st.st_size}:{st.st_mtime_ns}", day)
    return out


def evaluate_raw_dir(
    settings: Settings, cursor: str | None, known_partitions: set[str]
) -> tuple[list[dg.RunRequest], list[str], str]:
    """(run requests, new partitions, new cursor): the sensor's logic without Dagster's context."""
    previous = json.loads(cursor) if cursor else {}
    current = _fingerprints(settings)
    changed = sorted(p for p, (fp, _) in current.items() if previous.get(p) != fp)
    stichtage = sorted({day for _, day in current.values() if day})
    new_partitions = [d for d in stichtage if d not in known_partitions]
    days: dict[str, list[str]] = {}
    for path in changed:
        day = current[path][1] or (stichtage[-1] if stichtage else None)
        if day:
            days.setdefault(day, []).append(path)
    requests = []
    for day, paths in sorted(days.items()):
        digest = hashlib.sha256("\n".join(f"{p}={current[p][0]}" for p in sorted(paths)).encode()).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                partition_key=day,
                run_key=f"{day}:{digest}",
                tags={"sozialmonitor/trigger": "raw-sensor", "sozialmonitor/files": ",".join(paths)[:1000]},
            )
        )
    new_cursor = json.dumps({p: fp for p, (fp, _) in sorted(current.items())}, sort_keys=True)
    return requests, new_partitions, new_cursor


def build_sensor(job, settings_factory) -> dg.SensorDefinition:
    @dg.sensor(
        name="raw_extracts",
        job=job,
        minimum_interval_seconds=SENSOR_INTERVAL,
        # Off until an operator turns it on (Dagster UI → Automation, or `dagster sensor start`):
        # a development instance must not ingest and publish by itself.
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="A new or changed extract in raw/ starts a run for its Stichtag (off by default).",
    )
    def raw_extracts(context: dg.SensorEvaluationContext):
        settings = settings_factory()
        known = set(context.instance.get_dynamic_partitions(STICHTAG_PARTITIONS.name))
        requests, new_partitions, cursor = evaluate_raw_dir(settings, context.cursor, known)
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[STICHTAG_PARTITIONS.build_add_request(new_partitions)]
            if new_partitions
            else [],
            cursor=cursor,
            skip_reason=None if requests else "no new or changed extract in raw/",
        )

    return raw_extracts


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
