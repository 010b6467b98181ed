"""The whole pipeline on Apache Spark (issue 19), through both front doors, equal to the DuckDB build.

With SOZIALMONITOR_ENGINE=spark the test city's first five Stichtage are built by Dagster: the
sensor's job builds the whole dbt project on Spark through `sozialmonitor run`'s own dbt step, in
the step's process (orchestration/defs/dbt/assets.py), reports every model as materialized and
every dbt test as a check, and gates it. Then the newest Stichtag is delivered and the CLI
(`run_pipeline`, as `sozialmonitor run`) adds it to the same warehouse and lake by an incremental
Spark build (the new Stichtag alone, into the tables the first build left there), and publishes.
The release equals the built city's DuckDB release of all six Stichtage byte for byte, and every
model and seed Spark has equals the DuckDB build value by value: counts and texts exactly, numbers
to 1e-9 (orchestration/engine_check.py). Spark's sources go to the lake one file per delivery, its
relations are served to the gates and the release over its Parquet files (orchestration/spark_build.py).

Both the test city's DuckDB build and the Spark builds solve the disclosure pattern themselves (each
engine keeps a memo of its own: a table of the warehouse, a folder of the lake), so equal patterns
also show that the pattern depends on its inputs only.

Two Spark builds, the fewest that show both front doors and an incremental build: the suite pays
about half a second per dbt node on Spark whatever the city's size, and each build took 100–190 s
of the suite's slowest test. A Stichtag taken back out (`unload`) and rebuilt without rows on Spark,
its partitions dropped by the same pre-hook as every incremental model's
(`drop_rebuilt_partitions`), is built through Spark Connect in tests/engines/test_spark_connect.py."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from data_quality import SUITE_NAMES
from orchestration.disclosure.pattern import LAKE_MEMO_FOLDER, LakeMemo, _lake_path_exists
from orchestration.engine_check import compare_warehouses
from orchestration.pipeline import run_dbt, run_ingest, run_pipeline
from orchestration.release.store import list_releases
from orchestration.settings import PUBLISH_SETTING
from orchestration.spark_build import built_relations, served_folder, stichtag_scopes, stop_spark
from tests.helpers import partition_files_but, settings_for, warehouse_frame

pytest.importorskip("pyspark", reason="make spark installs dbt-spark and pyspark (make test does)")

LATEST = date(2024, 12, 31)


def _partition_files(table_folder: Path) -> dict[str, int]:
    """The Parquet files of a Spark table partitioned by Stichtag, but the newest Stichtag's: path → inode."""
    return partition_files_but(table_folder, LATEST)


def _served_partitions(settings, views: tuple[str, ...]) -> dict[str, int]:
    """The Parquet files of the last serving's `views` (schema/name), by Stichtag: path → inode."""
    served = served_folder(settings)
    return {
        str(f.relative_to(served)): f.stat().st_ino
        for view in views
        for f in (served / view).glob("stichtag=*/*.parquet")
    }


def _dagster_builds_on_spark(settings) -> tuple[str, str]:
    """The sensor's job on the loaded extracts, for the newest Stichtag: Dagster's run id and the
    partition. Checks what Dagster reports: every dbt asset materialized (so nothing downstream,
    the gates and the release, is skipped), dbt's tests and the gates as checks."""
    run_dbt(settings, ["parse", "--quiet"])  # the DuckDB side's manifest: the assets Dagster knows
    from orchestration.definitions import build_definitions

    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    sensor = defs.resolve_sensor_def("raw_extracts")
    tick = sensor(dg.build_sensor_context(instance=instance, cursor=None, definitions=defs))
    for request in tick.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    newest = tick.run_requests[-1]  # the extracts are loaded already: one run builds all
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
    return result.run_id[:12], newest.partition_key


def test_dagster_builds_on_spark_the_cli_adds_a_stichtag_and_publishes_what_duckdb_published(
    city_raw, tmp_path, monkeypatch, request
):
    settings = replace(settings_for(tmp_path / "city"), engine="spark", lake_dir=tmp_path / "lake")
    # the first five Stichtage delivered; the newest one's files come later
    newest_files = [p for p in city_raw.rglob(f"*{LATEST.year}*") if p.is_file()]
    assert len(newest_files) >= 10
    shutil.copytree(
        city_raw, settings.raw_dir, ignore=lambda _folder, names: [n for n in names if str(LATEST.year) in n]
    )
    for key, value in settings.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(PUBLISH_SETTING, raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    run_ingest(settings)  # each delivery lands in the lake too
    dagster_run, partition = _dagster_builds_on_spark(settings)
    assert partition.startswith(str(LATEST.year - 1)), partition
    table = settings.lake / "spark-warehouse" / "intermediate.db" / "int_households"
    earlier = _partition_files(table)
    assert len({name.split("/")[0] for name in earlier}) == 5
    assert not (table / f"stichtag={LATEST.isoformat()}").exists()

    # the views whose config says which of their rows an incremental build can change (a staging
    # view of the extracts and a wide indicator view: its rebuilt Stichtage and their lag
    # dependants; a gate view: from the earliest rebuilt one on) are served by Stichtag: the next
    # serving writes only those rows and links the others
    views = ("staging/stg_register__persons", "marts/indicators_stadtteil", "gates/gate_plausible_ranges")
    assert stichtag_scopes(settings)["marts.indicators_stadtteil"] == ("rebuilt", True)  # with the lags
    served_before = _served_partitions(settings, views)
    assert {p.split("/")[2] for p in served_before} == {f"stichtag={d}-12-31" for d in range(2019, 2024)}

    # a view that a model removed since left in the warehouse reads an earlier serving's files,
    # which go: the next serving drops the view with them
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        [left] = con.execute("select sql from duckdb_views() where view_name = 'indicators_stadtteil'").fetchone()
        con.execute(left.replace("indicators_stadtteil", "indicators_removed", 1))
    finally:
        con.close()
    stray = served_folder(settings).parent / "notes.txt"  # and a file someone left beside the servings
    stray.write_text("left here")
    assert served_folder(settings) is None

    # and the newest Stichtag delivered: the CLI adds it by an incremental Spark build into the same tables
    for path in newest_files:
        shutil.copy2(path, settings.raw_dir / path.relative_to(city_raw))
    summary = run_pipeline(settings)
    print("run on Spark:", {k: f"{v:.0f} s" for k, v in summary.timings.items()})
    # the sixth Stichtag alone, into the tables the earlier builds left in the lake (its metastore
    # outlives the run): the partitions of the five earlier Stichtage are the same files
    assert not summary.build.full and summary.build.stichtage == (LATEST,), summary.build.describe()
    assert _partition_files(table) == earlier
    assert (table / f"stichtag={LATEST.isoformat()}").is_dir()
    served_after = _served_partitions(settings, views)
    newest = {p for p in served_after if f"stichtag={LATEST.isoformat()}" in p}
    assert {p.split("/")[0] + "/" + p.split("/")[1] for p in newest} == set(views)  # written
    assert {p: served_after[p] for p in served_after if p not in newest} == served_before  # linked
    assert not stray.exists() and served_folder(settings) is not None
    left = warehouse_frame(settings, "select view_name from duckdb_views() where view_name like 'indicators_%'")
    assert "indicators_removed" not in set(left.view_name) and "indicators_stadtteil" in set(left.view_name)
    builds = warehouse_frame(
        settings, "select dbt_target, mode, status, run_id from ops.dbt_builds order by started_at"
    )
    assert [tuple(b) for b in builds.itertuples(index=False)] == [
        ("spark", "full", "succeeded", dagster_run),
        ("spark", "incremental", "succeeded", summary.run_id),
    ]
    assert (
        summary.timings["Spark build (within dbt)"] + summary.timings["serving (within dbt)"] < summary.timings["dbt"]
    )
    # the DuckDB build to compare with, asked for only now: the other worker builds it meanwhile
    # (tests/conftest.py RUN_FIRST)
    built_city = request.getfixturevalue("built_city")
    published = summary.release.release.manifest()
    [reference] = [r for r in list_releases(built_city.releases_dir) if r.stichtag == summary.release.release.stichtag]
    assert published["tools"]["engine"] == "spark" and reference.manifest()["tools"]["engine"] == "duckdb"
    # and the dbt target of profiles.yml each was built on (Spark in local mode here, not through Connect)
    assert published["tools"]["dbt_target"] == "spark" and reference.manifest()["tools"]["dbt_target"] == "local"
    # the public tables, geometries, atlas data and report data, byte for byte
    assert published["content_sha256"] == reference.manifest()["content_sha256"]
    assert {t: v["sha256"] for t, v in published["public_tables"].items()} == {
        t: v["sha256"] for t, v in reference.manifest()["public_tables"].items()
    }
    _every_relation_equals_duckdb(settings, built_city)
    _the_pattern_memo_in_the_lake_is_duckdbs(settings, built_city)


def _the_pattern_memo_in_the_lake_is_duckdbs(settings, built_city) -> None:
    """The disclosure pattern's memo on Spark, a folder of the lake: each build kept the patterns it
    solved in one file of its own (the full build those of the first five Stichtage, the CLI's only
    those it did not find there), and together they hold what the DuckDB build's memo holds, by the
    same fingerprints."""
    files = sorted((settings.lake / LAKE_MEMO_FOLDER).glob("*.parquet"))
    assert len(files) == 2, files
    first, added = (
        dict(duckdb.sql(f"select fingerprint, secondary from read_parquet('{file}')").fetchall()) for file in files
    )
    assert first and added and not first.keys() & added.keys()
    spark_memo = first | added
    duckdb_memo = warehouse_frame(built_city, "select fingerprint, secondary from ops.disclosure_pattern_memo")
    assert len(spark_memo) > 10
    assert spark_memo == {key: list(secondary) for key, secondary in duckdb_memo.itertuples(index=False)}

    # the memo's reading and writing through Spark: what the builds kept is what it reads; a folder
    # without a committed file (a first write killed before its commit) is an empty memo, not an
    # error; and what a flush writes is read back
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
    try:
        assert LakeMemo(spark, str(settings.lake / LAKE_MEMO_FOLDER)).known == spark_memo
        # no memo yet (a first build): asked of Spark's file system first, not read (Spark logged
        # a Java stack trace for the missing folder in every first build)
        missing = settings.lake / "memo" / "not-yet"
        assert _lake_path_exists(spark, str(missing)) is False
        assert _lake_path_exists(spark, str(settings.lake / LAKE_MEMO_FOLDER)) is True
        assert LakeMemo(spark, str(missing)).known == {} and not missing.exists()
        killed = settings.lake / "memo" / "killed"
        (killed / "_temporary" / "0").mkdir(parents=True)
        memo = LakeMemo(spark, str(killed))
        assert memo.known == {} and memo.get("k") is None
        memo.put("k", [3, 1])
        assert memo.flush() == 1 and memo.flush() == 0
        assert LakeMemo(spark, str(killed)).get("k") == [3, 1]
    finally:
        stop_spark()


def _every_relation_equals_duckdb(settings, built_city) -> None:
    """Every model and seed Spark has, value by value, against the DuckDB build; and how the
    warehouse reads them."""
    relations = [(name, f"{schema}.{alias}") for name, schema, alias, _ in built_relations(settings, kept=True)]
    result = compare_warehouses(built_city.warehouse_path, settings.warehouse_path, relations)
    assert [f"{d.relation}: {d.problem}" for d in result.differences] == []
    # every layer was compared, with rows in it: the sources' models up to the public tables
    for name in ("stg_register__persons", "fct_indicator_values", "disclosure_pattern", "pub_indicator_values",
                 "fct_index_composite", "indicator_catalogue"):  # fmt: skip
        assert result.rows.get(name, 0) > 0, name
    assert result.equal
    # the warehouse's views read what Spark wrote of its views (nothing was computed outside Spark)
    # and Spark's tables in place, through this serving's links to their files; only the public
    # tables are copied into the file (a release publishes no view)
    served = served_folder(settings)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        view_sql = dict(con.execute("select schema_name || '.' || view_name, sql from duckdb_views()").fetchall())
        for relation in ("staging.stg_register__persons", "intermediate.int_households"):
            assert str(served / relation.replace(".", "/")) in view_sql[relation], relation
        tables = {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
        copied = {relation for _name, relation in relations if relation.startswith("public.")}
        assert "public.indicator_values" in copied and copied <= tables
        assert not tables & {relation for _name, relation in relations if relation not in copied}
        households = con.execute("select count(*) from intermediate.int_households").fetchone()[0]
    finally:
        con.close()
    assert households > 0
    # the next Spark build replaces Spark's files; the served ones stay what this build made
    shutil.rmtree(settings.lake / "spark-warehouse")
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert con.execute("select count(*) from intermediate.int_households").fetchone()[0] == households
    finally:
        con.close()
