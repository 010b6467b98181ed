"""The engines the dbt project runs on (issue 19, docs/deployment.md): DuckDB, the default, one file
on one machine; and Apache Spark (dbt-spark), for a Land's platform.

What differs between them lives in three places only:
- SQL: dbt's cross-database macros, and `adapter.dispatch` macros for what dbt lacks
  (dbt_project/macros/engines/).
- Where the raw tables are: DuckDB holds them in its file; Spark reads the lake, one Parquet folder
  per table, one file per delivery (`sync_lake`: written at ingest when the engine is Spark, and
  brought up to date before each Spark build; registered as tables by the dbt hook
  `register_lake_sources`).
- The dbt Python models: they read their inputs as pandas frames (`pandas_frame`) whatever the
  engine hands them, and dbt-spark runs them in this process's Spark session
  (`enable_session_python_models`: its own submission methods all need Databricks).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SozialmonitorError
from .warehouse import private_dir, sql_string

# the schemas of the warehouse that dbt reads as sources
SOURCE_SCHEMAS = ("raw", "ops")
# tables of those schemas that no model reads and that grow with the data: never copied to the lake
# (the DuckDB pattern's proofs, orchestration/disclosure/pattern.py, which only the release reads)
NOT_FOR_THE_LAKE = frozenset({"ops.disclosure_pattern_proofs", "ops.disclosure_pattern_proof_tables"})

# The file that makes a folder a lake (`claim_lake`): which warehouse it belongs to, where the lake
# was when it was claimed, and whether it is the pipeline's lake or an engine check's.
LAKE_MARKER = ".sozialmonitor-lake.json"
LAKE_PURPOSES = ("pipeline", "engine-check")
# the engine check's own lake by default: a folder in the pipeline's (`sozialmonitor engine-check`)
ENGINE_CHECK_LAKE = "engine-check"
# what a lake of this project holds at its top (a lake from before the marker is recognised by
# them): the source tables, the Spark build's folders, the served Parquet, the pattern memo, the
# engine check's own lake and file, Derby's log; and what a new file system brings along
LAKE_ENTRIES = frozenset(
    {"raw", "ops", "spark-warehouse", "metastore_db", "metastore", "dbt_target", "served", "memo",
     ENGINE_CHECK_LAKE, "served.duckdb", "served.duckdb.wal", "served.duckdb.tmp", "derby.log", "lost+found",
     ".snapshot"}
)  # fmt: skip
# the folders of a lake whose every entry is a table's folder that sync_lake wrote (COLUMNS_FILE)
TABLE_FOLDERS = ("raw", "ops")


class LakeRefused(SozialmonitorError):
    """The lake's folder is not a lake of this warehouse: nothing in it was touched."""

    exit_code = 2
    headline = "Run stopped: the lake's folder is not this warehouse's lake."
    hint = (
        "Nothing was loaded, built or removed. A lake belongs to one warehouse: give each warehouse "
        "(a copy, another Kreis) and each engine check a folder of its own (SOZIALMONITOR_LAKE, "
        '`engine-check --lake`; docs/deployment.md, "The lake").'
    )


def _foreign_entries(lake: Path) -> list[str]:
    """What a folder without a marker holds that a lake of this project does not: entries at its top
    other than LAKE_ENTRIES (and leftovers of a marker's writing), and in raw/ and ops/ anything
    but the table folders sync_lake writes (each with its COLUMNS_FILE): a folder of deliveries
    named raw/ is no lake's."""
    foreign = [
        entry.name
        for entry in lake.iterdir()
        if entry.name not in LAKE_ENTRIES and not entry.name.startswith(LAKE_MARKER)
    ]
    for name in TABLE_FOLDERS:
        folder = lake / name
        if folder.is_dir():
            foreign += [
                f"{name}/{entry.name}"
                for entry in folder.iterdir()
                if not (entry.is_dir() and (entry / COLUMNS_FILE).is_file()) and not entry.name.startswith(".")
            ]
    return sorted(foreign)


def _read_marker(lake: Path) -> dict[str, Any] | None:
    """The lake's marker, None when it has none; LakeRefused when it is not one this project wrote."""
    marker = lake / LAKE_MARKER
    if marker.is_symlink() or (marker.exists() and not marker.is_file()):
        raise LakeRefused(f"{marker} is not a lake marker this project wrote (not a file)")
    if not marker.is_file():
        return None
    try:
        noted = json.loads(marker.read_text(encoding="utf-8"))
    except ValueError:
        noted = None
    if not isinstance(noted, dict) or not all(isinstance(noted.get(k), str) for k in ("warehouse", "purpose")):
        raise LakeRefused(f"{marker} is not a lake marker this project wrote; remove it only if {lake} is a lake")
    return noted


def claim_lake(lake: Path, warehouse: Path, purpose: str = "pipeline", _again: bool = True) -> Path:
    """The lake's folder, made sure to be this warehouse's lake for `purpose` (LAKE_PURPOSES) before
    anything is written into it or removed from it (its builds and `sync_lake` remove what they
    do not know); returns it.

    A new or empty folder becomes one: readable by its owner only (0700), with its marker. Refused
    (LakeRefused, nothing touched): a lake of the other purpose (the pipeline's lake named as an
    engine check's, or the reverse); a lake, where it was claimed, of another warehouse that is still
    there (a copy of the warehouse file with the same lake: each would build into and remove the
    other's files); a folder without a marker that holds anything a lake does not (a deployment
    folder, a folder of deliveries, a typo). Taken over: a lake whose warehouse was moved away, a
    lake copied or moved with its deployment (it lies elsewhere than where it was claimed), a lake
    from before the marker. Paths are compared resolved (a symlinked spelling is the same
    warehouse). The lake holds raw microdata: whatever its owner set, nobody else may read it (the
    permissions of others are removed from a folder of ours)."""
    if purpose not in LAKE_PURPOSES:
        raise ValueError(f"purpose {purpose!r} is none of {LAKE_PURPOSES}")
    lake = Path(lake).absolute()
    where, owner_now = str(lake.resolve()), str(Path(warehouse).resolve())
    noted = _read_marker(lake)
    if noted is not None:
        if noted["purpose"] != purpose:
            raise LakeRefused(
                f"{lake} is the {noted['purpose']} lake of the warehouse {noted['warehouse']}, "
                f"not a folder for the {purpose}"
            )
        owner = Path(noted["warehouse"])
        if noted["warehouse"] != owner_now and noted.get("lake", where) == where and owner.exists():
            raise LakeRefused(
                f"{lake} is the lake of the warehouse {owner}, which is still there; this run's warehouse is "
                f"{owner_now}. Two warehouses in one lake would build into and remove each other's files."
            )
    elif lake.is_dir() and (foreign := _foreign_entries(lake)):
        shown = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
        raise LakeRefused(
            f"{lake} is no lake of this project (no {LAKE_MARKER}) and holds what a lake does not: {shown}"
        )
    private_dir(lake)
    status = lake.stat()
    if status.st_uid == os.getuid() and status.st_mode & 0o007:
        lake.chmod(stat.S_IMODE(status.st_mode) & ~0o007)
    wanted = {"warehouse": owner_now, "purpose": purpose, "lake": where}
    if noted == wanted:
        return lake
    text = json.dumps(wanted)
    if noted is None:  # a new lake: claimed once, even by two warehouses at the same moment
        try:
            handle = os.open(lake / LAKE_MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another run claimed it just now: checked against that claim (once)
            if not _again:
                raise LakeRefused(f"{lake / LAKE_MARKER} appeared and went while this run claimed {lake}") from None
            return claim_lake(lake, warehouse, purpose, _again=False)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
    else:  # taken over: the new marker replaces the old one whole
        hidden = lake / f"{LAKE_MARKER}.{os.getpid()}.writing"
        hidden.write_text(text, encoding="utf-8")
        os.replace(hidden, lake / LAKE_MARKER)
    return lake


def owned_lake(lake: Path, warehouse: Path, purpose: str = "pipeline") -> bool:
    """Whether `lake` is this warehouse's lake for `purpose` where it lies (its marker says so): a
    command that only tidies a lake (unload) touches no other folder and creates none."""
    try:
        noted = _read_marker(Path(lake))
    except LakeRefused:
        return False
    if noted is None:
        return False
    where = str(Path(lake).resolve())
    return (noted["purpose"], noted["warehouse"], noted.get("lake", where)) == (
        purpose,
        str(Path(warehouse).resolve()),
        where,
    )


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


# the columns that name a raw row's delivery (orchestration/ingest/loader.py): a table that has them
# lands in the lake one Parquet file per delivery
DELIVERY_COLUMNS = ("_source_file", "_source_sha256", "_loaded_at")
# the columns and types of a table's lake folder, beside its Parquet (Spark skips files whose names
# start with "_"): when the table's columns change, its folder is written anew
COLUMNS_FILE = "_columns.json"
WHOLE_TABLE = "part-0.parquet"


@dataclass
class LakeSync:
    """What `sync_lake` did: Parquet files written, kept as they were, and removed."""

    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def delivery_file(source_file: str | None, sha256: str | None, loaded_at: Any) -> str:
    """The name of one delivery's Parquet file in its table's lake folder: the same file, content
    and load give the same name; a reload (a correction, a changed contract) another; a missing
    value (null) another than an empty one."""
    stamp = loaded_at.isoformat() if loaded_at is not None else None
    return hashlib.sha256(json.dumps([source_file, sha256, stamp]).encode()).hexdigest()[:32] + ".parquet"


def sync_lake(con, lake: Path, schemas: tuple[str, ...] = SOURCE_SCHEMAS, tables: set[str] | None = None) -> LakeSync:
    """The tables of `schemas` in the DuckDB warehouse open on `con` (or only those named in
    `tables`, "schema.table"), as the lake Spark reads: one folder per table, `<lake>/<schema>/
    <table>/` (a folder, since Spark skips files whose names start with "_", as `_load_log` does).

    A raw table whose rows name their delivery (DELIVERY_COLUMNS) holds one Parquet file per
    delivery: only a delivery that is not in the lake yet is written, and a file whose delivery
    left the table (unloaded, replaced by a correction) is removed, so that a new Stichtag costs
    its own files, not the whole history. Every other table (the load log, the run's bookkeeping:
    small) is written whole each time, and so is a table without rows (Spark needs one file to
    know its columns). A table whose columns changed is written anew; a folder of a table the
    warehouse no longer has is removed (when all tables are synced). Each file is written under a
    hidden name and renamed, so a reader never sees half a file."""
    done = LakeSync()
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
        f"and table_schema in ({', '.join('?' for _ in schemas)}) order by 1, 2",
        list(schemas),
    ).fetchall()
    rows = [(schema, table) for schema, table in rows if f"{schema}.{table}" not in NOT_FOR_THE_LAKE]
    if tables is None:  # a table that left the warehouse (a contract removed) leaves the lake too
        for schema in schemas:
            known = {table for s, table in rows if s == schema}
            folder = lake / schema
            for left in sorted(folder.iterdir()) if folder.is_dir() else ():
                if left.name in known:
                    continue
                if left.is_dir():
                    shutil.rmtree(left)
                else:
                    left.unlink()
                done.removed.append(left)
    for schema, table in rows:
        if tables is not None and f"{schema}.{table}" not in tables:
            continue
        relation = f'"{schema}"."{table}"'
        columns = con.execute(
            "select column_name, data_type from information_schema.columns where table_schema = ? "
            "and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        signature = json.dumps([list(c) for c in columns])
        folder = lake / schema / table
        marker = folder / COLUMNS_FILE
        if folder.exists() and (not marker.is_file() or marker.read_text(encoding="utf-8") != signature):
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        wanted: dict[str, str] = {}  # file name: its rows
        if set(DELIVERY_COLUMNS) <= {name for name, _ in columns}:
            deliveries = con.execute(
                f"select {', '.join(DELIVERY_COLUMNS)} from {relation} group by all order by all"
            ).fetchall()
            for source_file, sha256, loaded_at in deliveries:
                stamp = None if loaded_at is None else f"cast({sql_string(loaded_at.isoformat())} as timestamp)"
                same = " and ".join(
                    f"{column} is null" if value is None else f"{column} = {value}"
                    for column, value in (
                        ("_source_file", None if source_file is None else sql_string(source_file)),
                        ("_source_sha256", None if sha256 is None else sql_string(sha256)),
                        ("_loaded_at", stamp),
                    )
                )
                wanted[delivery_file(source_file, sha256, loaded_at)] = f"select * from {relation} where {same}"
        whole = not wanted
        if whole:
            wanted[WHOLE_TABLE] = f"select * from {relation}"
        for existing in sorted(folder.iterdir()):
            if existing.name != COLUMNS_FILE and (whole or existing.name not in wanted):
                existing.unlink()
                done.removed.append(existing)
        for name, query in sorted(wanted.items()):
            target = folder / name
            if target.exists():
                done.kept.append(target)
                continue
            hidden = folder / f".{name}.writing"
            con.execute(f"copy ({query}) to {sql_string(hidden)} (format parquet)")
            os.replace(hidden, target)
            done.written.append(target)
        if not marker.is_file():
            marker.write_text(signature, encoding="utf-8")
    return done


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
