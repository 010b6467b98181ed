"""Dagster on Spark (issue 19): with SOZIALMONITOR_ENGINE=spark the sensor's job builds the whole
dbt project on Spark through `sozialmonitor run`'s own dbt step, in the step's process
(orchestration/defs/dbt/assets.py), reports every model as materialized and every dbt test as a
check, gates it, and `publish_job` publishes what the CLI's DuckDB run published, byte for byte.

A module of its own, so that pytest-xdist runs it beside the CLI's Spark test (tests/engines/
test_spark.py) rather than after it."""

from __future__ import annotations

from dataclasses import replace

import dagster as dg
import pytest

from data_quality import SUITE_NAMES
from orchestration.pipeline import run_dbt
from orchestration.release import find_release, verify
from orchestration.release.store import list_releases
from orchestration.settings import PUBLISH_SETTING
from tests.helpers import warehouse_frame

pytest.importorskip("pyspark", reason="make spark installs dbt-spark and pyspark (make test does)")


def test_dagster_builds_on_spark_and_publishes_what_the_cli_published_on_duckdb(
    city_copy, built_city, tmp_path, monkeypatch
):
    settings = replace(city_copy, engine="spark", lake_dir=tmp_path / "lake")
    for key, value in settings.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(PUBLISH_SETTING, raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    run_dbt(settings, ["parse", "--quiet"])  # the DuckDB side's manifest: the assets Dagster knows
    from orchestration.definitions import build_definitions

    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    sensor = defs.get_sensor_def("raw_extracts")
    tick = sensor(dg.build_sensor_context(instance=instance, cursor=None, definitions=defs))
    for request in tick.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    newest = tick.run_requests[-1]  # the extracts are loaded already (city_copy): one run builds all
    job = defs.resolve_job_def(sensor.job_name)
    result = job.execute_in_process(partition_key=newest.partition_key, instance=instance, tags=newest.tags)
    assert result.success

    # every model and seed of the project materialized, reported from dbt's own result events
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    dbt_keys = {
        key.to_user_string() for key in defs.resolve_assets_def(dg.AssetKey(["marts", "fct_indicator_values"])).keys
    }
    assert dbt_keys <= materialized
    assert {
        "staging/stg_register__persons",
        "disclosure/disclosure_pattern",
        "reference/indicator_catalogue",
    } <= dbt_keys
    # dbt's data tests as checks (run on Spark), and the gates' suites
    checks = result.get_asset_check_evaluations()
    dbt_checks = [c for c in checks if c.check_name not in SUITE_NAMES]
    assert len(dbt_checks) > 50 and all(c.passed for c in dbt_checks)
    # a test on a quoted column has another id on Spark (its hash covers the quoting): found by name
    assert {"unique_int_current_gebietsstand__current_date_", "not_null_int_current_gebietsstand__current_date_"} <= {
        c.check_name for c in dbt_checks
    }
    assert {c.check_name for c in checks if c.check_name in SUITE_NAMES} == set(SUITE_NAMES)
    # the build is recorded as the CLI records it: Spark in local mode, every Stichtag
    builds = warehouse_frame(
        settings, "select dbt_target, status, mode, run_id from ops.dbt_builds order by started_at"
    )
    build = tuple(builds.iloc[-1])
    assert build == ("spark", "succeeded", "full", result.run_id[:12])

    publish = defs.resolve_job_def("publish_job").execute_in_process(
        partition_key=newest.partition_key, instance=instance
    )
    assert publish.success
    release = find_release(settings.releases_dir, "latest")
    assert verify(release) == []
    published = release.manifest()
    [reference] = [r for r in list_releases(built_city.releases_dir) if r.stichtag == release.stichtag]
    assert (published["tools"]["engine"], published["tools"]["dbt_target"]) == ("spark", "spark")
    assert published["content_sha256"] == reference.manifest()["content_sha256"]
