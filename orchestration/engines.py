"""The engines the dbt project runs on (issue 19, docs/deployment.md): DuckDB, the default, one file
on one machine; and Apache Spark (dbt-spark), for a Land's platform.

What differs between them lives in three places only:
- SQL: dbt's cross-database macros, and `adapter.dispatch` macros for what dbt lacks
  (dbt_project/macros/engines/).
- Where the raw tables are: DuckDB holds them in its file; Spark reads the lake, one Parquet folder
  per table (`export_lake`, registered as tables by the dbt hook `register_lake_sources`).
- The dbt Python models: they read their inputs as pandas frames (`pandas_frame`) whatever the
  engine hands them, and dbt-spark runs them in this process's Spark session
  (`enable_session_python_models`: its own submission methods all need Databricks).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .warehouse import sql_string

# the schemas of the warehouse that dbt reads as sources
SOURCE_SCHEMAS = ("raw", "ops")


def pandas_frame(relation: Any):
    """A dbt Python model's input as a pandas DataFrame: a DuckDB relation (dbt-duckdb) or a Spark
    DataFrame (dbt-spark; in local mode or a Spark Connect client's, which answers every attribute
    with a column, so it is told by its type, not by an attribute)."""
    import duckdb

    if isinstance(relation, duckdb.DuckDBPyRelation):
        return relation.df()
    import pandas as pd
    import pyarrow as pa

    # through Arrow, with the types DuckDB's .df() gives: decimals as floats (Spark keeps
    # `1.0 * count` a decimal), dates and timestamps as naive datetime64[us] (Spark's TIMESTAMP is
    # in the session's time zone, UTC), so that a model computes and looks up by date alike on both
    table = relation.toArrow()
    schema = pa.schema(
        [pa.field(f.name, pa.float64() if pa.types.is_decimal(f.type) else f.type) for f in table.schema]
    )
    frame = table.cast(schema).to_pandas(date_as_object=False)
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        if str(values.dtype).startswith("datetime64"):
            frame[column] = values.astype("datetime64[us]")
    return frame


def export_lake(con, lake: Path, schemas: tuple[str, ...] = SOURCE_SCHEMAS) -> list[Path]:
    """Every table of `schemas` in the DuckDB warehouse open on `con`, as the lake Spark reads: one
    folder per table, `<lake>/<schema>/<table>/part-0.parquet` (a folder, since Spark skips files
    whose names start with "_", as `_load_log` does). A table's folder is replaced whole."""
    written = []
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
        f"and table_schema in ({', '.join('?' for _ in schemas)}) order by 1, 2",
        list(schemas),
    ).fetchall()
    for schema, table in rows:
        folder = lake / schema / table
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        target = folder / "part-0.parquet"
        con.execute(f'copy "{schema}"."{table}" to {sql_string(target)} (format parquet)')
        written.append(target)
    return written


class _SessionPythonJob:
    """dbt-spark's Python model code, run in this process's Spark session (dbt-spark's session
    connection method): the code dbt compiles refers to `spark` and writes its own table."""

    def __init__(self, parsed_model: dict, credentials: Any) -> None:
        self.parsed_model = parsed_model

    # the line of dbt-spark's generated code (macro py_write_table) that calls the model
    CALL = "df = model(dbt, spark)\n"

    def submit(self, compiled_code: str) -> None:
        from pyspark.sql import SparkSession

        if self.CALL not in compiled_code:
            raise RuntimeError(f"dbt-spark's Python model code no longer has the line {self.CALL.strip()!r}")
        # the model's pandas frame goes to Spark through Arrow, which keeps its column types (Spark's
        # own conversion guesses them from the values and fails on nullable text)
        code = compiled_code.replace(self.CALL, "df = _to_spark(spark, model(dbt, spark))\n", 1)
        spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
        name = self.parsed_model.get("original_file_path", "<dbt python model>")
        exec(compile(code, name, "exec"), {"spark": spark, "_to_spark": _to_spark, "__name__": "dbt_python_model"})


def _to_spark(spark, frame):
    """A pandas DataFrame as a Spark DataFrame, through Arrow; anything else as it is."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        return frame
    import pyarrow as pa

    return spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False))


def enable_session_python_models() -> None:
    """Let dbt-spark run the project's Python models in its local session (submission method
    "session", made the default). Idempotent; a no-op without dbt-spark."""
    try:
        from dbt.adapters.spark.impl import SparkAdapter
    except ImportError:
        return
    if getattr(SparkAdapter, "_sozialmonitor_session", False):
        return
    helpers = SparkAdapter.python_submission_helpers.fget

    SparkAdapter.python_submission_helpers = property(lambda self: {**helpers(self), "session": _SessionPythonJob})
    SparkAdapter.default_python_submission_method = property(lambda self: "session")
    SparkAdapter._sozialmonitor_session = True
