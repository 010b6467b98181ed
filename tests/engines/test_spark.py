"""The dbt project on Apache Spark (issue 19): the parts of a Spark build and of the engine check
that need no whole build (the comparison, the types, the serving's reading of Spark's files, the
refusals). The whole pipeline on Spark, through Dagster and the CLI, and its equality with the
DuckDB build: tests/engines/test_spark_dagster.py."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.engine_check import compare, compare_warehouses, identical
from orchestration.engines import claim_lake
from orchestration.spark_build import _select, duckdb_type
from tests.helpers import settings_for

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


def test_a_warehouse_whose_load_log_has_no_load_numbers_is_refused_unchanged(tmp_path):
    """The check never writes the warehouse; one of an earlier version, whose load log lacks the
    load numbers the record-count gate orders by, is refused before Spark builds anything."""
    settings = settings_for(tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("create schema raw")
    con.execute("create table raw._load_log (source varchar, stichtag date, sha256 varchar, loaded_at timestamp)")
    con.close()
    before = settings.warehouse_path.read_bytes()
    folder = tmp_path / "check"
    result = CliRunner().invoke(app, ["engine-check", "--lake", str(folder)], env=settings.env())
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "Engine check refused" in said and "no load numbers" in said and "sozialmonitor ingest" in said
    assert settings.warehouse_path.read_bytes() == before and not (folder / "spark-warehouse").exists()


def test_the_pipelines_lake_is_refused_as_the_engine_checks_and_left_as_it_was(tmp_path):
    """The check's full build would wipe the Spark tables of the lake it is given and its serving the
    Parquet the warehouse's views read: the pipeline's lake is not a folder for it."""
    settings = settings_for(tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    duckdb.connect(str(settings.warehouse_path)).close()
    claim_lake(settings.lake, settings.warehouse_path)
    (settings.lake / "spark-warehouse" / "marts.db").mkdir(parents=True)
    result = CliRunner().invoke(app, ["engine-check", "--lake", str(settings.lake)], env=settings.env())
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())  # as the terminal's width wrapped it
    assert "is the pipeline lake of the warehouse" in said and "not a folder for the engine-check" in said
    assert (settings.lake / "spark-warehouse" / "marts.db").is_dir()


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


def test_published_values_are_rounded_alike_on_duckdb_and_spark():
    """`published_round` (dbt_project/macros/engines/portable.sql), the rounding of every published
    value, gives the same double on both engines, half away from zero: `round` of a double does not
    (DuckDB rounds the binary value, Spark the shortest decimal that reads back as it: 20781.3 m²
    over 400 residents was published 51.9532 by DuckDB and 51.9533 by Spark)."""
    from decimal import ROUND_HALF_UP, Decimal

    import jinja2
    from pyspark.sql import SparkSession

    from orchestration.settings import Settings
    from orchestration.spark_build import stop_spark

    macros = (Settings.from_env().dbt_project_dir / "macros" / "engines" / "portable.sql").read_text("utf-8")
    rounded = jinja2.Environment(extensions=["jinja2.ext.do"]).from_string(macros).module.published_round
    values = [20781.3 / 400, 12.34565, -1.23455, 0.00005, 2.675, 1.00004999, 99.99995, 0.0, 1e6 / 3, 3_900_000.0]
    expected = [float(Decimal(repr(v)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)) for v in values]
    assert expected[0] == 51.9533
    rows = " union all ".join(f"select {i} as i, cast('{v!r}' as double) as value" for i, v in enumerate(values))
    query = f"select i, {rounded('value', 4)} as r from ({rows}) as t order by i"
    assert [r for _i, r in duckdb.sql(query).fetchall()] == expected
    spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
    try:
        assert [row["r"] for row in spark.sql(query).collect()] == expected
    finally:
        stop_spark()
