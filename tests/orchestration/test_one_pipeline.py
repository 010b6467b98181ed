"""Dagster and the CLI are one pipeline (issue 16, part 3).

- The raw/ sensor asks for a run of every Stichtag at its first tick, then only for a changed file's;
  a run builds and gates (every suite a check), `publish_job` publishes.
- `make dev` alone never publishes: the sensor and the schedule are off, and their job ingests,
  builds and gates but has no release in it; publishing is `publish_job`.
- The same raw/ built by `sozialmonitor run` (the session's `built_city`) and by Dagster (the
  sensor's runs, then `publish_job`), in two places, gives the same release, byte for byte (the
  determinism check of the whole release), and each run is one row in ops.pipeline_runs (trigger
  'cli' / 'dagster').
- The Dagster dbt asset prepares dbt as the CLI does: a stale catalogue file is rendered again.
- A CLI run reports what it built to the Dagster instance of DAGSTER_HOME; without one, nothing.

One Dagster build of the test city (module fixture `dagster_built`) serves the first four.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from datetime import datetime

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from data_quality import SUITE_NAMES
from orchestration.catalogue import generate as generate_catalogue_files
from orchestration.cli import app
from orchestration.dagster_report import report_cli_run
from orchestration.defs.release.assets import RELEASE_KEY
from orchestration.ingest.loader import sha256_file
from orchestration.pipeline import RUNS_TABLE, RunSummary, run_dbt
from orchestration.release import find_release, list_releases, verify
from orchestration.settings import PUBLISH_SETTING
from tests.helpers import recording_proxy, settings_for

STALE_FILE = "generated/default/seeds/indicator_catalogue.csv"  # generated from the catalogue (catalogue.generate)


def _runs(settings) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(
            f"select run_id, status, trigger, stichtage, seconds_ingest, seconds_dbt, seconds_gates, "
            f"seconds_release, release_id, finished_at from {RUNS_TABLE} order by started_at, run_id"
        ).fetchall()
    finally:
        con.close()


def _public_tables(settings) -> set[str]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute("select table_name from information_schema.tables where table_schema = 'public'")
        return {r[0] for r in rows.fetchall()}
    finally:
        con.close()


def _without_duckdb_file(release) -> dict:
    manifest = release.manifest()
    manifest["outputs"] = [o for o in manifest["outputs"] if o["path"] != "sozialmonitor.duckdb"]
    return manifest


def _selected(defs, job_name: str) -> set[dg.AssetKey]:
    return set(defs.resolve_job_def(job_name).asset_layer.selected_asset_keys)


@pytest.fixture(scope="module")
def dagster_built(tmp_path_factory, city_raw):
    """The test city built by Dagster as `make dev` would: the sensor's first tick, its run
    requests executed in-process, then `publish_job` for the newest Stichtag. The dbt project is a
    private copy whose generated seed was made stale before the run (the catalogue test)."""
    base = tmp_path_factory.mktemp("dagster_built")
    shutil.copytree(city_raw, base / "raw")
    repo_dbt = settings_for(base).dbt_project_dir
    # without the generated files: the parse below renders them into the copy
    shutil.copytree(repo_dbt, base / "dbt_project", ignore=shutil.ignore_patterns("target", "logs", "generated"))
    settings = settings_for(base).with_paths(dbt_project_dir=base / "dbt_project")
    seen: dict = {"seconds": {}}
    # every HTTP client of the build and its children (the dbt child, the gates', the lineage
    # docs') that honours the proxy variables pointed at a proxy that records what reaches it:
    # nothing may go out to the network
    with recording_proxy() as (proxy, reached), pytest.MonkeyPatch.context() as mp:
        for key, value in {**settings.env(), **proxy}.items():
            mp.setenv(key, value)
        mp.delenv(PUBLISH_SETTING, raising=False)
        mp.delenv("DAGSTER_HOME", raising=False)
        run_dbt(settings, ["parse", "--quiet"])
        from orchestration.definitions import build_definitions

        defs = build_definitions(settings)  # as `make dev` loads them: the setting unset
        instance = dg.DagsterInstance.ephemeral()
        sensor = defs.resolve_sensor_def("raw_extracts")
        tick = sensor(dg.build_sensor_context(instance=instance, cursor=None, definitions=defs))
        for request in tick.dynamic_partitions_requests or []:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))

        # the stale file, after the parse: only the Dagster dbt step can render it again
        stale = settings.dbt_project_dir / STALE_FILE
        stale.write_text("indicator_id\nstale\n", encoding="utf-8")
        seen["stale_before"] = generate_catalogue_files(
            settings.dbt_project_dir, settings.contracts_dir, check_only=True
        )

        job = defs.resolve_job_def(sensor.job_name)
        raw_keys = [k for k in _selected(defs, sensor.job_name) if k.path[0] == "raw"]
        results = []
        start = time.perf_counter()
        *older, newest = tick.run_requests
        for request in older:  # the older Stichtage's extracts only (one dbt build, below, for all)
            results.append(
                job.execute_in_process(
                    partition_key=request.partition_key, instance=instance, tags=request.tags, asset_selection=raw_keys
                )
            )
        seen["seconds"]["raw runs of the older Stichtage"] = time.perf_counter() - start
        start = time.perf_counter()
        results.append(job.execute_in_process(partition_key=newest.partition_key, instance=instance, tags=newest.tags))
        seen["seconds"]["the newest Stichtag's run (raw, dbt, gates)"] = time.perf_counter() - start
        seen["releases_after_sensor_runs"] = list_releases(settings.releases_dir)
        seen["releases_dir_after_sensor_runs"] = settings.releases_dir.exists()
        seen["stale_after"] = generate_catalogue_files(
            settings.dbt_project_dir, settings.contracts_dir, check_only=True
        )

        start = time.perf_counter()
        publish = defs.resolve_job_def("publish_job")
        results.append(publish.execute_in_process(partition_key=newest.partition_key, instance=instance))
        seen["seconds"]["publish_job"] = time.perf_counter() - start
        seen["warehouse_setting_after_runs"] = os.environ["SOZIALMONITOR_WAREHOUSE"]
        seen["network"] = list(reached)
    yield settings, defs, tick, results, instance, seen


def test_make_dev_alone_never_publishes(dagster_built):
    settings, defs, tick, results, _, seen = dagster_built
    sensor, schedule = defs.resolve_sensor_def("raw_extracts"), defs.resolve_schedule_def("regular_run")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    for job_name in (sensor.job_name, schedule.job_name):
        selected = _selected(defs, job_name)
        assert RELEASE_KEY not in selected
        assert dg.AssetKey(["marts", "fct_indicator_values"]) in selected  # it does build and gate
    assert _selected(defs, "publish_job") == {RELEASE_KEY}
    # the sensor's first tick asked for a run of every Stichtag; they ran and published nothing
    assert [r.partition_key for r in tick.run_requests] == [f"{y}-12-31" for y in range(2019, 2025)]
    assert all(r.success for r in results[:-1])
    newest_run = {e.asset_key for e in results[-2].get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "fct_indicator_values"]) in newest_run and RELEASE_KEY not in newest_run
    assert seen["releases_after_sensor_runs"] == [] and not seen["releases_dir_after_sensor_runs"]
    # only the operator's publish_job made the release
    assert results[-1].success
    assert find_release(settings.releases_dir, "latest").id == "2024-12-31/v1"
    # and nothing of it went out to the network (dagster-dbt asks dbt's version in its step)
    assert seen["network"] == []


def _tick(defs, instance, cursor):
    """One sensor evaluation as the daemon does it: new partitions are added, then the runs requested."""
    sensor = defs.resolve_sensor_def("raw_extracts")
    result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_the_sensors_runs_go_from_raw_files_to_gates_and_ask_again_only_for_a_changed_file(dagster_built, monkeypatch):
    settings, defs, tick, results, instance, seen = dagster_built
    for key, value in settings.env().items():
        monkeypatch.setenv(key, value)
    # the first tick made every Stichtag in raw/ a partition (and asked for a run of each, above)
    days = [f"{y}-12-31" for y in range(2019, 2025)]
    assert sorted(instance.get_dynamic_partitions("stichtag")) == days
    # the run of the newest Stichtag: raw -> dbt -> gates, every suite a check on its mart
    newest = results[-2]
    materialized = {e.asset_key.to_user_string() for e in newest.get_asset_materialization_events()}
    assert {"raw/register_persons", "raw/geo_addresses", "marts/fct_indicator_values"} <= materialized
    checks = newest.get_asset_check_evaluations()
    assert {c.check_name for c in checks if c.check_name in SUITE_NAMES} == set(SUITE_NAMES)
    assert all(c.passed or c.severity == dg.AssetCheckSeverity.WARN for c in checks)
    # the operator's publish_job: the release alone, and it verifies
    assert {e.asset_key.to_user_string() for e in results[-1].get_asset_materialization_events()} == {"release"}
    release = find_release(settings.releases_dir, "latest")
    assert release.id == "2024-12-31/v1" and verify(release) == []
    assert seen["warehouse_setting_after_runs"] == str(settings.warehouse_path)  # no run moved the warehouse
    # nothing changed since: no run
    assert _tick(defs, instance, tick.cursor).run_requests == []
    # the Jobcenter delivers its 2023 file again: a run for 2023 only
    path = settings.raw_dir / "jobcenter" / "JC_SGB2_Personen_20231231.csv"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    again = _tick(defs, instance, tick.cursor)
    assert [r.partition_key for r in again.run_requests] == ["2023-12-31"]
    assert "jobcenter/JC_SGB2_Personen_20231231.csv" in again.run_requests[0].tags["sozialmonitor/files"]


def test_the_publish_setting_puts_the_release_into_the_sensors_job(dagster_built, monkeypatch):
    settings, *_ = dagster_built
    from orchestration.definitions import build_definitions

    for key, value in settings.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(PUBLISH_SETTING, "1")
    defs = build_definitions(settings)
    assert RELEASE_KEY in _selected(defs, defs.resolve_sensor_def("raw_extracts").job_name)
    assert defs.resolve_sensor_def("raw_extracts").default_status == dg.DefaultSensorStatus.STOPPED


def test_cli_and_dagster_build_the_same_release_and_record_one_run_each(dagster_built, built_city):
    settings, _, _, results, _, seen = dagster_built
    print("Dagster build of the test city:", {k: f"{v:.1f} s" for k, v in seen["seconds"].items()})
    cli = find_release(built_city.releases_dir, "latest")
    dagster = find_release(settings.releases_dir, "latest")
    assert cli.id == dagster.id == "2024-12-31/v1"
    assert dagster.manifest()["content_sha256"] == cli.manifest()["content_sha256"]
    assert {t: v["sha256"] for t, v in dagster.manifest()["public_tables"].items()} == {
        t: v["sha256"] for t, v in cli.manifest()["public_tables"].items()
    }
    assert {k: v["sha256"] for k, v in dagster.manifest()["geo"].items()} == {
        k: v["sha256"] for k, v in cli.manifest()["geo"].items()
    }
    # the same inputs give the same bytes: every file of the two releases, built in two places (and
    # from two copies of the dbt project), the DuckDB file aside. No build time, build folder or
    # orchestrator in any of them (lineage.html, quality/, manifest.json, datapackage.json, ...)
    files = sorted(p.relative_to(cli.path).as_posix() for p in cli.path.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(dagster.path).as_posix() for p in dagster.path.rglob("*") if p.is_file())
    differ = [
        f for f in files if f != "sozialmonitor.duckdb" and sha256_file(cli.path / f) != sha256_file(dagster.path / f)
    ]
    # the manifest lists the checksum of every file, the DuckDB file's too, whose pages are not
    # byte-stable: apart from that one entry, the manifests are the same bytes (and so is the
    # signature whenever the manifest is: Ed25519 is deterministic)
    assert differ in ([], ["manifest.json", "manifest.sig"])
    assert _without_duckdb_file(dagster) == _without_duckdb_file(cli)
    assert _public_tables(settings) == _public_tables(built_city) != set()

    [cli_run] = _runs(built_city)
    assert cli_run[1:3] == ("succeeded", "cli") and cli_run[8] == cli.id
    runs = _runs(settings)
    assert {r[0] for r in runs} == {r.run_id[:12] for r in results}  # one row per Dagster run
    assert {(r[1], r[2]) for r in runs} == {("succeeded", "dagster")}
    assert all(r[9] is not None for r in runs)  # finished
    by_id = {r[0]: r for r in runs}
    build = by_id[results[-2].run_id[:12]]
    assert build[3] == "2024-12-31" and None not in build[4:7]  # seconds of ingest, dbt and gates
    assert build[8] is None
    publish = by_id[results[-1].run_id[:12]]
    assert publish[7] is not None and publish[8] == dagster.id


def test_the_dagster_dbt_asset_renders_the_catalogue_files_again(dagster_built):
    settings, *_, seen = dagster_built
    stale = settings.dbt_project_dir / STALE_FILE
    assert stale in seen["stale_before"]
    assert seen["stale_after"] == []  # rendered again before dbt built the seed
    assert "stale" not in stale.read_text(encoding="utf-8").splitlines()


def test_a_cli_run_is_reported_to_the_dagster_instance_of_dagster_home(released_copy, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # the data engineer's front door, `sozialmonitor run`: nothing new, the release stays v1
    result = CliRunner().invoke(app, ["run"], env={**released_copy.env(), "DAGSTER_HOME": str(home)})
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(released_copy.warehouse_path), read_only=True)
    try:
        run_id, status, release_id, created, gates = con.execute(
            f"select run_id, status, release_id, release_created, gates_outcome from {RUNS_TABLE} "
            "order by started_at desc limit 1"
        ).fetchone()
    finally:
        con.close()
    assert status == "succeeded" and release_id == "2024-12-31/v1" and created is False
    manifest = find_release(released_copy.releases_dir, release_id).manifest()
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(RELEASE_KEY)
        assert event is not None
        materialization = event.asset_materialization
        assert materialization.partition == "2024-12-31"
        metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        assert metadata["release"] == "2024-12-31/v1" and metadata["content_sha256"] == manifest["content_sha256"]
        assert metadata["created"] is False and metadata["gates"] == gates
        assert materialization.tags["sozialmonitor/run_id"] == run_id
        raw = instance.get_latest_materialization_event(dg.AssetKey(["raw", "register_persons"]))
        assert raw is not None and raw.asset_materialization.partition == "2024-12-31"
        dbt = instance.get_latest_materialization_event(dg.AssetKey(["marts", "fct_indicator_values"]))
        assert dbt is not None
        assert "2019-12-31" in instance.get_dynamic_partitions("stichtag")


def test_without_dagster_home_nothing_is_reported_and_a_broken_instance_never_fails_the_run(
    tmp_path, monkeypatch, caplog
):
    import orchestration.dagster_report as report

    settings = settings_for(tmp_path)
    summary = RunSummary(run_id="abc123", started_at=datetime.now(), status="succeeded")
    asked = []
    monkeypatch.setattr(report, "_report", lambda *args: asked.append(args) or 1)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert report_cli_run(settings, summary) is None and asked == []
    monkeypatch.setenv("DAGSTER_HOME", "")
    assert report_cli_run(settings, summary) is None and asked == []

    monkeypatch.undo()
    not_a_folder = tmp_path / "dagster_home"
    not_a_folder.write_text("not a folder")
    monkeypatch.setenv("DAGSTER_HOME", str(not_a_folder))
    with caplog.at_level(logging.WARNING, logger="orchestration.dagster_report"):
        assert report_cli_run(settings, summary, full_build=False) is None
    assert "could not be reported to Dagster" in caplog.text
