"""The dbt project on Apache Spark equals the DuckDB build (issue 19): the whole pipeline runs on the
test city with SOZIALMONITOR_ENGINE=spark (its sources go to a lake, dbt builds the project on Spark
in local mode, every data and unit test on Spark too, the relations are served to the gates and the
release over Spark's Parquet files: orchestration/spark_build.py), five Stichtage first, then the
sixth added by an incremental Spark build, and publishes the same content as the built city's
DuckDB run of all six; then every model and seed is compared with the built city's warehouse:
the same columns and rows, counts and texts exactly, numbers to 1e-9 (orchestration/engine_check.py).

Both the test city's DuckDB build and the Spark build solve the disclosure pattern themselves (the
DuckDB build from its memo of the same inputs; Spark has none), so equal patterns also show that the
pattern depends on its inputs only."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.engine_check import compare, compare_warehouses, identical
from orchestration.pipeline import run_pipeline
from orchestration.release.store import list_releases
from orchestration.spark_build import _select, built_relations, duckdb_type, served_folder
from tests.helpers import settings_for, warehouse_frame

pytest.importorskip("pyspark", reason="make spark installs dbt-spark and pyspark (make test does)")


def test_the_comparison_sees_a_changed_value_a_missing_row_and_a_changed_column():
    duck = pd.DataFrame(
        {"area_id": ["01", "02"], "value": [1.0, 2.5], "n": [3, None], "d": pd.to_datetime(["2024-12-31"] * 2)}
    )
    same = duck.iloc[::-1].astype({"n": "float64"})  # other row order, other number type: equal
    assert compare(duck, same, "t") == []
    assert compare(duck, duck.assign(value=[1.0, 2.5 + 1e-12]), "t") == []  # within 1e-9
    [off] = compare(duck, duck.assign(value=[1.0, 2.5001]), "t")
    assert "value" in off.problem and "1 of 2" in off.problem
    [short] = compare(duck, duck.iloc[:1], "t")
    assert "2 rows on DuckDB, 1 on Spark" in short.problem
    [renamed] = compare(duck, duck.rename(columns={"n": "count"}), "t")
    assert "columns differ" in renamed.problem
    [text] = compare(duck, duck.assign(area_id=["01", "03"]), "t")
    assert "area_id" in text.problem


def test_warehouses_equal_row_for_row_are_settled_in_duckdb_and_the_rest_compared_within_the_tolerance(tmp_path):
    def warehouse(name: str, value: str, n_type: str = "integer") -> str:
        path = tmp_path / name / "sozialmonitor.duckdb"
        path.parent.mkdir()
        con = duckdb.connect(str(path))
        con.execute("create schema marts")
        con.execute(f"create table marts.t (area_id varchar, value double, n {n_type})")
        # inserted in another order on each side: the comparison is of multisets
        rows = [("01", "1.0", "3"), ("02", value, "null"), ("02", value, "null")]
        con.execute(
            "insert into marts.t values "
            + ", ".join(f"('{a}', {v}, {n})" for a, v, n in (rows if name == "duck" else rows[::-1]))
        )
        con.close()
        return str(path)

    relations = [("t", "marts.t")]
    reference = warehouse("duck", "2.5")
    con = duckdb.connect(reference, read_only=True)
    twin = duckdb.connect(warehouse("same", "2.5"), read_only=True)
    near = duckdb.connect(warehouse("near", "2.5 + 1e-12"), read_only=True)
    other_type = duckdb.connect(warehouse("wide", "2.5", "bigint"), read_only=True)
    assert identical(con, twin, "marts.t")
    assert not identical(con, near, "marts.t")  # exactly equal only
    assert not identical(con, other_type, "marts.t")  # the same types only
    for other in (twin, near, other_type, con):
        other.close()

    assert compare_warehouses(reference, warehouse("twin", "2.5"), relations).differences == []
    # not identical, but equal within 1e-9 and with numbers of another width: the tolerant comparison decides
    assert compare_warehouses(reference, warehouse("close", "2.5 + 1e-12"), relations).differences == []
    assert compare_warehouses(reference, warehouse("wider", "2.5", "bigint"), relations).differences == []
    [off] = compare_warehouses(reference, warehouse("off", "2.5001"), relations).differences
    assert "column value: 2 of 3 values differ" in off.problem
    result = compare_warehouses(reference, warehouse("off2", "2.5001"), relations)
    assert result.rows == {"t": 3} and not result.equal


def test_the_command_refuses_without_a_warehouse(tmp_path):
    settings = settings_for(tmp_path)
    result = CliRunner().invoke(app, ["engine-check"], env=settings.env())
    assert result.exit_code == 2
    assert "No warehouse at" in result.output and "run the pipeline first" in result.output
    assert not (tmp_path / "lake").exists()


def test_an_unknown_engine_is_refused_before_anything_is_loaded(tmp_path, city_raw):
    settings = settings_for(tmp_path)
    shutil.copytree(city_raw, settings.raw_dir)
    result = CliRunner().invoke(app, ["run"], env={**settings.env(), "SOZIALMONITOR_ENGINE": "oracle"})
    assert result.exit_code == 2, result.output
    assert "SOZIALMONITOR_ENGINE='oracle'" in result.output and "duckdb, spark" in result.output
    assert not settings.warehouse_path.exists()


def test_spark_types_map_to_duckdb_types_and_others_are_refused():
    from pyspark.sql import types as t

    assert duckdb_type(t.StringType()) == "varchar"
    assert duckdb_type(t.DecimalType(38, 1)) == "decimal(38,1)"
    assert duckdb_type(t.ArrayType(t.LongType())) == "bigint[]"
    with pytest.raises(TypeError, match="map<string,int>"):
        duckdb_type(t.MapType(t.StringType(), t.IntegerType()))


LATEST = date(2024, 12, 31)


def _partition_files(table_folder: Path) -> dict[str, int]:
    """The Parquet files of a partitioned Spark table, but those of the newest Stichtag: path → inode."""
    return {
        str(f.relative_to(table_folder)): f.stat().st_ino
        for f in table_folder.glob("stichtag=*/*.parquet")
        if f.parent.name != f"stichtag={LATEST.isoformat()}"
    }


def test_a_run_on_spark_publishes_what_the_run_on_duckdb_published(city_raw, built_city, tmp_path):
    """Five Stichtage built on Spark, then the sixth added by an incremental Spark build: the
    release and every model equal the DuckDB build of all six from scratch."""
    settings = replace(settings_for(tmp_path / "city"), engine="spark", lake_dir=tmp_path / "lake")
    latest = {p for p in city_raw.rglob("*") if p.is_file() and str(LATEST.year) in p.name}
    assert len(latest) >= 10
    shutil.copytree(city_raw, settings.raw_dir, ignore=lambda d, names: [n for n in names if Path(d) / n in latest])
    first = run_pipeline(settings, release=False)
    assert first.build.full and LATEST not in first.stichtage
    persons = settings.lake / "spark-warehouse" / "intermediate.db" / "int_persons_assigned_to_blocks"
    earlier = _partition_files(persons)
    assert len({name.split("/")[0] for name in earlier}) == 5
    for path in latest:
        shutil.copy2(path, settings.raw_dir / path.relative_to(city_raw))

    summary = run_pipeline(settings)
    print("run on Spark:", {k: f"{v:.0f} s" for k, v in summary.timings.items()})
    # the sixth Stichtag alone, into the tables the first build left in the lake (its metastore
    # outlives the run): the partitions of the five earlier Stichtage are the same files
    assert not summary.build.full and summary.build.stichtage == (LATEST,), summary.build.describe()
    assert _partition_files(persons) == earlier
    assert (persons / f"stichtag={LATEST.isoformat()}").is_dir()
    builds = warehouse_frame(settings, "select dbt_target, mode, status from ops.dbt_builds order by started_at")
    assert [tuple(b) for b in builds.itertuples(index=False)] == [
        ("spark", "full", "succeeded"),
        ("spark", "incremental", "succeeded"),
    ]
    assert (
        summary.timings["Spark build (within dbt)"] + summary.timings["serving (within dbt)"] < summary.timings["dbt"]
    )
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
    # and every model and seed Spark built, value by value, against the DuckDB build
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
        for relation in ("staging.stg_register__persons", "intermediate.int_persons_assigned_to_blocks"):
            assert str(served / relation.replace(".", "/")) in view_sql[relation], relation
        tables = {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
        copied = {relation for _name, relation in relations if relation.startswith("public.")}
        assert "public.indicator_values" in copied and copied <= tables
        assert not tables & {relation for _name, relation in relations if relation not in copied}
        persons = con.execute("select count(*) from intermediate.int_persons_assigned_to_blocks").fetchone()[0]
    finally:
        con.close()
    assert persons > 0
    # the next Spark build replaces Spark's files; the served ones stay what this build made
    shutil.rmtree(settings.lake / "spark-warehouse")
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert con.execute("select count(*) from intermediate.int_persons_assigned_to_blocks").fetchone()[0] == persons
    finally:
        con.close()


def test_a_served_relation_reads_spark_parquet_with_its_partitions_and_an_empty_one_has_its_columns(tmp_path):
    con = duckdb.connect()
    try:
        # as Spark writes a table partitioned by Stichtag: stichtag=<date>/part-….parquet, the
        # partition column only in the folder's name
        con.execute(
            f"copy (select * from (values ('01', 1.5, date '2024-12-31'), ('02', null, date '2023-12-31')) "
            f"as t (area_id, value, stichtag)) to '{tmp_path / 'table'}' (format parquet, partition_by (stichtag))"
        )
        columns = [("area_id", "varchar"), ("stichtag", "date"), ("value", "double")]
        rows = con.execute(_select(tmp_path / "table", columns, ["stichtag"]) + " order by 1").fetchall()
        assert rows == [("01", date(2024, 12, 31), 1.5), ("02", date(2023, 12, 31), None)]
        # Spark writes no file for a partitioned table without rows
        empty = con.execute(_select(tmp_path / "nothing", columns, ["stichtag"]))
        assert empty.fetchall() == [] and [d[0] for d in empty.description] == ["area_id", "stichtag", "value"]
    finally:
        con.close()
