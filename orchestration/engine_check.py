"""The same dbt project on Apache Spark, checked against the DuckDB warehouse (issue 19,
docs/deployment.md): `sozialmonitor engine-check`.

The warehouse's last DuckDB build is the reference. Its source tables (schemas raw and ops) are
written to a lake as Parquet (`engines.export_lake`); dbt builds the whole project from that lake
with the `spark` target (dbt-spark, Spark in local mode in this process, every data and unit test
included); then every model and seed of the project is read from both engines and compared: the
same columns (by name: Spark puts the partition column of an incremental model last), the same
rows, counts and texts exactly, floating point to 1e-9.

So an operator can prove a Spark deployment equal before moving to it, and the test suite proves
every change portable (tests/engines/test_spark.py). Nothing here writes to the DuckDB warehouse: the
lake, Spark's metastore and tables, and dbt's target folder for Spark all live in `lake`.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import dbt_runner
from .engines import LAKE_SETTING, enable_session_python_models, export_lake, pandas_frame
from .pipeline import prepare_dbt
from .settings import Settings
from .warehouse import connect, private_dir

SPARK_TARGET = "spark"
TOLERANCE = 1e-9


@dataclass
class Difference:
    relation: str
    problem: str


@dataclass
class EngineCheck:
    """What `check_spark` compared: relations with their row counts, and every difference found."""

    rows: dict[str, int] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return not self.differences and bool(self.rows)


def spark_settings(settings: Settings, lake: Path) -> Settings:
    """The settings of the Spark build: dbt's target folder inside the lake (the DuckDB build's
    manifest, which the release reads, stays as it is)."""
    return settings.with_paths(dbt_target_dir=lake / "dbt_target")


def build_on_spark(settings: Settings, lake: Path) -> None:
    """The warehouse's sources written to `lake`, then `dbt build` of the whole project on Spark
    (a fresh metastore and fresh tables: the lake's spark-warehouse is made anew)."""
    for leftover in ("spark-warehouse", "metastore_db", "dbt_target"):
        shutil.rmtree(lake / leftover, ignore_errors=True)
    private_dir(lake)  # the lake holds the raw microdata: owner only, as the warehouse's folder
    con = connect(settings.warehouse_path, read_only=True)
    try:
        export_lake(con, lake)
    finally:
        con.close()
    prepare_dbt(settings, released_cells=False)  # the generated files; the warehouse is not written
    enable_session_python_models()
    # Spark's catalog in memory: the check builds afresh and reads back in this process
    with dbt_runner.scoped_environment({LAKE_SETTING: str(lake), "SOZIALMONITOR_SPARK_CATALOG": "in-memory"}):
        dbt_runner.run_dbt(spark_settings(settings, lake), ["build", "--target", SPARK_TARGET, "--full-refresh"])


def _relations(manifest: dict) -> list[tuple[str, str]]:
    """(name, schema.alias) of every model and seed dbt built."""
    out = []
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed") or node["config"].get("materialized") == "ephemeral":
            continue
        if not node["config"].get("enabled", True):
            continue
        out.append((node["name"], f"{node['schema']}.{node['alias']}"))
    return sorted(out)


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame in a form both engines' frames share: numbers as float (nullable), dates and times as
    naive datetime64[us], bytes as bytes, text as object; rows in a canonical order."""
    out = pd.DataFrame(index=range(len(frame)))
    for column in frame.columns:
        values = frame[column].reset_index(drop=True)
        kind = values.dtype
        if pd.api.types.is_bool_dtype(kind):
            out[column] = values.astype("object").where(values.notna(), None)
        elif pd.api.types.is_numeric_dtype(kind):
            out[column] = values.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(kind):
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            out[column] = values.astype("datetime64[us]")
        else:
            out[column] = values.map(_plain).astype("object")
    if len(out.columns) and len(out):
        keys = pd.DataFrame({c: out[c].map(_sort_key) for c in out.columns})
        order = keys.sort_values(list(keys.columns), kind="mergesort").index
        out = out.loc[order].reset_index(drop=True)
    return out


def _plain(value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sort_key(value) -> str:
    """A text that orders rows the same on both engines (floats rounded far above the tolerance's
    digits, so last-bit differences do not reorder rows)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return "\x00"
    if isinstance(value, float):
        return f"\x01{value:+.6e}"
    return f"\x02{value!s}"


def compare(left: pd.DataFrame, right: pd.DataFrame, relation: str) -> list[Difference]:
    """The differences between DuckDB's frame (`left`) and Spark's (`right`) of one relation."""
    if set(left.columns) != set(right.columns):
        return [Difference(relation, f"columns differ: {list(left.columns)} vs {list(right.columns)}")]
    # by name: Spark puts a table's partition column (stichtag) last
    right = right[list(left.columns)]
    if len(left) != len(right):
        return [Difference(relation, f"{len(left)} rows on DuckDB, {len(right)} on Spark")]
    a, b = _normalised(left), _normalised(right)
    found = []
    for column in a.columns:
        x, y = a[column], b[column]
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            xs, ys = x.to_numpy(), y.to_numpy()
            same = (np.isnan(xs) & np.isnan(ys)) | np.isclose(xs, ys, rtol=TOLERANCE, atol=TOLERANCE)
        elif str(x.dtype) != str(y.dtype):
            found.append(Difference(relation, f"column {column}: type {x.dtype} on DuckDB, {y.dtype} on Spark"))
            continue
        else:
            same = np.array([(p is None and q is None) or p == q for p, q in zip(x, y, strict=True)], dtype=bool)
            same |= (x.isna() & y.isna()).to_numpy()
        if not same.all():
            row = int(np.flatnonzero(~same)[0])
            found.append(
                Difference(
                    relation,
                    f"column {column}: {int((~same).sum())} of {len(x)} values differ "
                    f"(first: {x.iloc[row]!r} on DuckDB, {y.iloc[row]!r} on Spark)",
                )
            )
    return found


def check_spark(settings: Settings, lake: Path) -> EngineCheck:
    """Build the project on Spark from the warehouse's sources and compare every model and seed
    with the DuckDB warehouse (see the module doc)."""
    result = EngineCheck()
    try:
        start = time.perf_counter()
        build_on_spark(settings, lake)
        result.seconds["spark build"] = time.perf_counter() - start
        start = time.perf_counter()
        manifest = json.loads((spark_settings(settings, lake).dbt_target_dir / "manifest.json").read_text("utf-8"))
        from pyspark.sql import SparkSession

        # the session dbt built with (dbt ran its queries in a thread of its own: no session is
        # "active" in this one, but the process has one)
        spark = SparkSession.builder.getOrCreate()
        con = connect(settings.warehouse_path, read_only=True)
        try:
            for name, relation in _relations(manifest):
                duck = con.execute(f"select * from {relation}").df()
                result.rows[name] = len(duck)
                result.differences += compare(duck, pandas_frame(spark.table(relation)), name)
        finally:
            con.close()
        result.seconds["comparison"] = time.perf_counter() - start
    finally:
        _stop_spark()
    return result


def _stop_spark() -> None:
    """The Spark session's memory back, if dbt started one (the JVM itself stays for the process)."""
    try:
        from pyspark import SparkContext
    except ImportError:
        return
    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
