"""Hard faults: a run killed with SIGKILL at any point, and two runs at once. Real processes,
real signals: `sozialmonitor run` is started as a child and killed at named points (faults.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from orchestration.release import find_release, list_releases, verify
from orchestration.release.store import latest_release
from tests.helpers import settings_for

CLI = str(Path(sys.executable).parent / "sozialmonitor")


def _run(settings, *args: str, kill_at: str | None = None, wait: bool = True):
    env = {**os.environ, **settings.env()}
    env.pop("SOZIALMONITOR_KILL_AT", None)
    if kill_at:
        env["SOZIALMONITOR_KILL_AT"] = kill_at
    proc = subprocess.Popen(
        [CLI, "run", "--no-demo", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if not wait:
        return proc
    out, _ = proc.communicate(timeout=600)
    return proc.returncode, out


def _tmp_leftovers(settings) -> list[Path]:
    if not settings.releases_dir.exists():
        return []
    return [p for p in settings.releases_dir.iterdir() if p.name.startswith(".tmp-")]


def test_a_run_killed_at_any_point_leaves_no_partial_release_and_the_rerun_completes(city_copy, released_city):
    settings = city_copy

    # killed while loading: one file committed, the rest not
    code, out = _run(settings, "--force-reload", kill_at="ingest:after-first-load")
    assert code == -signal.SIGKILL, out
    # killed in the middle of dbt
    code, out = _run(settings, kill_at="dbt:mid-build")
    assert code == -signal.SIGKILL, out
    assert not list_releases(settings.releases_dir)
    # killed with the release complete in its temporary folder: nothing is published
    code, out = _run(settings, kill_at="release:before-rename")
    assert code == -signal.SIGKILL, out
    assert not list_releases(settings.releases_dir) and len(_tmp_leftovers(settings)) == 1
    # killed after the rename, before `latest` was switched: the release is complete
    code, out = _run(settings, kill_at="release:before-latest")
    assert code == -signal.SIGKILL, out
    [release] = list_releases(settings.releases_dir)
    assert verify(release) == [] and latest_release(settings.releases_dir) is None

    # the rerun completes: leftovers gone, latest repaired, no second version, same numbers
    code, out = _run(settings)
    assert code == 0, out
    assert not _tmp_leftovers(settings)
    assert latest_release(settings.releases_dir) == release
    assert [r.id for r in list_releases(settings.releases_dir)] == ["2024-12-31/v1"]
    reference = find_release(settings_for(released_city).releases_dir, "latest").manifest()
    assert release.manifest()["content_sha256"] == reference["content_sha256"]
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        runs = con.execute("select status from ops.pipeline_runs order by started_at").fetchall()
    finally:
        con.close()
    # the killed runs never got to record their end: the next run, holding the lock, recorded them as aborted
    assert [r[0] for r in runs] == ["aborted"] * 4 + ["succeeded"]


def test_two_runs_at_once_one_refused_one_waits_and_nothing_breaks(released_copy):
    settings = released_copy
    lock = settings.warehouse_path.with_name(settings.warehouse_path.name + ".lock")
    first = _run(settings, "--force-reload", wait=False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not lock.exists() or not lock.read_text().strip()):
        time.sleep(0.1)
    assert lock.read_text().strip(), "the first run never took the lock"

    refused, out = _run(settings)
    assert refused == 3, out
    assert "another pipeline run holds the warehouse" in out and "nothing was changed" in out

    waiting = _run(settings, "--wait", "600", wait=False)
    out_first, _ = first.communicate(timeout=600)
    out_waiting, _ = waiting.communicate(timeout=600)
    assert first.returncode == 0, out_first
    assert waiting.returncode == 0, out_waiting
    # the waiting run found nothing changed since the first run's build: no dbt at all
    assert "dbt: nothing to build: nothing loaded since build" in out_waiting, out_waiting
    # both found the release of the same inputs already there: still exactly one, intact
    assert [r.id for r in list_releases(settings.releases_dir)] == ["2024-12-31/v1"]
    assert verify(find_release(settings.releases_dir, "latest")) == []
