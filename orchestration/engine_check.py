"""The same dbt project on Apache Spark, checked against the DuckDB warehouse (issue 19,
docs/deployment.md): `sozialmonitor engine-check`.

The warehouse's last DuckDB build is the reference. Spark builds the whole project from the
warehouse's sources (orchestration/spark_build.py: the lake, every data and unit test on Spark),
its relations are served in a DuckDB file of the check's own over Spark's Parquet files, and every
model and seed is compared with the warehouse's: the same columns (by name), the same rows,
counts and texts exactly, floating point to 1e-9.

So an operator can prove a Spark deployment equal before moving to it. Nothing here writes to the
DuckDB warehouse: the lake, Spark's tables, dbt's target folder for Spark and the served file all
live in the lake. The test suite runs the same comparison after whole pipeline runs on Spark
(tests/engines/test_spark_dagster.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import spark_build
from .errors import SozialmonitorError
from .ingest.loader import LATEST_LOAD_FIRST, LOG_TABLE, latest_load_order
from .pipeline import prepare_dbt
from .settings import Settings
from .warehouse import connect, table_exists


class WarehouseOfAnEarlierVersion(SozialmonitorError):
    """The check reads the warehouse and never writes it; Spark would build from sources that an
    earlier version's load log lacks a column of."""

    exit_code = 2
    headline = "Engine check refused, nothing was built:"
    hint = (
        "Run `sozialmonitor ingest` once (it brings the load log up to date; nothing is built or published), "
        "then check again."
    )


TOLERANCE = 1e-9
SERVED_FILE = "served.duckdb"


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


def compare_warehouses(reference: Path, other: Path, relations: list[tuple[str, str]]) -> EngineCheck:
    """Every relation (name, schema.alias) of `relations` read from the DuckDB files `reference` and
    `other` and compared (`compare`). A relation whose two sides hold the same rows with the same
    column types, value for value, is settled in DuckDB (`identical`); only the others are read into
    Python and compared within the tolerance, which names what differs."""
    result = EngineCheck()
    left, right = connect(reference, read_only=True), connect(other, read_only=True)
    try:
        for name, relation in relations:
            result.rows[name] = left.execute(f"select count(*) from {relation}").fetchone()[0]
            if identical(left, right, relation):
                continue
            duck = left.execute(f"select * from {relation}").df()
            result.differences += compare(duck, right.execute(f"select * from {relation}").df(), name)
    finally:
        left.close()
        right.close()
    return result


def identical(left, right, relation: str) -> bool:
    """Whether `relation` holds exactly the same rows (as a multiset, in any order) with the same
    column names and types in the connections `left` and `right`. Set-based: the right side is
    handed to the left connection as Arrow and each side's `except all` of the other is counted.
    Exact equality implies equality within the tolerance, so False only sends the relation on to
    `compare`."""
    columns = _columns(left, relation)
    if sorted(columns) != sorted(_columns(right, relation)):
        return False
    names = ", ".join('"' + column.replace('"', '""') + '"' for column, _ in columns)
    left.register("_engine_check_other", right.execute(f"select {names} from {relation}").to_arrow_table())
    try:
        ours, theirs = f"select {names} from {relation}", "select * from _engine_check_other"
        extra = left.execute(
            f"select (select count(*) from ({ours} except all {theirs}))"
            f" + (select count(*) from ({theirs} except all {ours}))"
        ).fetchone()[0]
    finally:
        left.unregister("_engine_check_other")
    return extra == 0


def _columns(con, relation: str) -> list[tuple[str, str]]:
    return [(str(row[0]), str(row[1])) for row in con.execute(f"describe {relation}").fetchall()]


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame in a form both engines' frames share: numbers as float (nullable), dates and times as
    naive datetime64[us], bytes as bytes, text as object; rows in a canonical order."""
    columns = {}
    for column in frame.columns:
        values = frame[column].reset_index(drop=True)
        kind = values.dtype
        if pd.api.types.is_bool_dtype(kind):
            columns[column] = values.astype("object").where(values.notna(), None)
        elif pd.api.types.is_numeric_dtype(kind):
            columns[column] = values.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(kind):
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            columns[column] = values.astype("datetime64[us]")
        else:
            columns[column] = values.map(_plain).astype("object")
    # built at once: a column at a time fragments a wide frame
    out = pd.DataFrame(columns, index=range(len(frame)))
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
    _require_current_load_log(settings)
    on_spark = settings.with_paths(lake_dir=lake)
    prepare_dbt(on_spark, released_cells=False)  # the generated files; the warehouse is not written
    served_file = lake / SERVED_FILE
    started = time.perf_counter()
    try:
        spark_build.build(on_spark, catalog="in-memory", purpose="engine-check")  # nothing builds on the check's tables
        built = time.perf_counter()
        served_file.unlink(missing_ok=True)
        served = spark_build.serve(on_spark, into=served_file)
    finally:
        spark_build.stop_spark()
    compared = time.perf_counter()
    result = compare_warehouses(settings.warehouse_path, served_file, served)
    result.seconds = {
        "spark build": built - started,
        "serving": compared - built,
        "comparison": time.perf_counter() - compared,
    }
    return result


def _require_current_load_log(settings: Settings) -> None:
    """Refuse a warehouse whose load log has no load numbers (an earlier version's, not loaded or
    built since): the record-count gate orders the loads by them (ingest/loader.py LATEST_LOAD_FIRST)."""
    con = connect(settings.warehouse_path, read_only=True)
    try:
        current = not table_exists(con, LOG_TABLE) or latest_load_order(con, LOG_TABLE) == LATEST_LOAD_FIRST
    finally:
        con.close()
    if not current:
        raise WarehouseOfAnEarlierVersion(
            f"the load log of {settings.warehouse_path} was written by an earlier version and has no load numbers"
        )
