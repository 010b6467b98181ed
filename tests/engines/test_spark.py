"""The dbt project on Apache Spark equals the DuckDB build (issue 19): the test city's sources go to
a lake, dbt builds the whole project on Spark in local mode (every data and unit test on Spark
too), and every model and seed is compared with the built city's DuckDB warehouse: the same
columns and rows, counts and texts exactly, numbers to 1e-9 (orchestration/engine_check.py).

Both the test city's DuckDB build and the Spark build solve the disclosure pattern themselves (the
DuckDB build from its memo of the same inputs), so equal patterns also show that the pattern
depends on its inputs only."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.engine_check import check_spark, compare
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


def test_the_command_refuses_without_a_warehouse(tmp_path):
    settings = settings_for(tmp_path)
    result = CliRunner().invoke(app, ["engine-check"], env=settings.env())
    assert result.exit_code == 2
    assert "No warehouse at" in result.output and "run the pipeline first" in result.output
    assert not (tmp_path / "lake").exists()


def test_spark_builds_what_duckdb_built(built_city, tmp_path):
    result = check_spark(built_city, tmp_path / "lake")
    print("engine check:", {k: f"{v:.0f} s" for k, v in result.seconds.items()}, f"{len(result.rows)} relations")
    assert [f"{d.relation}: {d.problem}" for d in result.differences] == []
    # every layer was compared, with rows in it: the sources' models up to the public tables
    for name in ("stg_register__persons", "fct_indicator_values", "disclosure_pattern", "pub_indicator_values",
                 "fct_index_composite", "indicator_catalogue"):  # fmt: skip
        assert result.rows.get(name, 0) > 0, name
    assert result.equal
