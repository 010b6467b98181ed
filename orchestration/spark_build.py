"""The dbt project built on Apache Spark, its results served through DuckDB (issue 19,
docs/deployment.md): `SOZIALMONITOR_ENGINE=spark`.

Ingestion stays as it is (each extract checked and typed by DuckDB, into the warehouse's schema
raw), and each delivery then lands in the lake as a Parquet file of its own (`engines.sync_lake`).
Then:

1. `build`: the lake is brought up to date with the warehouse's source schemas (`engines.sync_lake`:
   what is new is written, what left the warehouse removed, the rest kept) and
   dbt builds the whole project there with the `spark` target (dbt-spark; every data and unit test
   runs on Spark). Spark writes its tables as Parquet under `<lake>/spark-warehouse`.
2. `serve`: every model and seed Spark built is made readable in a DuckDB file, under its schema
   and name, from Parquet files of this serving's own under `<lake>/served/<id>`: a Spark table's
   files are hard-linked there (no byte copied; Spark's next build replaces its files, the links
   keep these), a Spark view's rows are written there by Spark (so nothing is computed again outside
   Spark), and DuckDB gets a view over them. Only the tables of the schema `public` are copied into
   the file: the release publishes tables, never views. Columns keep Spark's types, in the order
   the dbt manifest documents.

The quality gates and the release then read the DuckDB file as they read a DuckDB build, and
publish the same files (tests/engines). In the pipeline the file is the warehouse itself; the
engine check (`sozialmonitor engine-check`) serves into a file of its own in the lake, so that it
never writes the warehouse.

An incremental build (the build plan's rebuilt Stichtage, dbt-spark's insert_overwrite on tables
partitioned by Stichtag: macros/incremental_stichtage.sql) adds to the tables the last build left
in the lake, whose catalog is a Derby metastore there; the lake notes which build those tables are
(`mark_built`), and anything else makes the build full (`stale_tables`).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from . import dbt_runner
from .engines import claim_lake, enable_session_python_models, sync_lake
from .errors import SozialmonitorError
from .settings import LAKE_SETTING, Settings
from .warehouse import connect, sql_string

SPARK_TARGET = "spark"
# a Spark Connect server (a cluster's front door, or a local one): its address, as pyspark reads it
REMOTE_SETTING = "SPARK_REMOTE"
CONNECT_TARGET = "spark_connect"
CATALOG_SETTING = "SOZIALMONITOR_SPARK_CATALOG"
# what a build leaves in the lake besides the sources; made anew by every full build
BUILD_FOLDERS = ("spark-warehouse", "metastore_db", "metastore", "dbt_target")
# which build the tables under spark-warehouse are, in which lake, on which target, with which
# metastore (`mark_built`, `stale_tables`)
BUILT_MARKER = "spark-warehouse/_sozialmonitor_build.json"
# through Spark Connect the catalog is the server's: a table there whose properties say which build
# of which lake its tables are (`mark_built`, `stale_tables`); a server whose catalog forgot it
# (restarted with its catalog in memory) or holds another lake's build gets a full build
SERVER_MARKER = "default.sozialmonitor_build"
# the Derby metastore of a full build and of the incremental builds that add to it: a folder of its
# own per full build (metastore/<build id>), since a JVM that booted a Derby database keeps it
# booted, and a later build in the same process must not find a deleted one of the same name there
METASTORE_SETTING = "SOZIALMONITOR_SPARK_METASTORE"
METASTORE_FOLDER = "metastore"
# the Parquet that a warehouse's views read: one folder per serving (served/<id>), the older ones
# removed once a serving is committed
SERVED_FOLDER = "served"
# the schemas whose tables a serving copies into the DuckDB file; every other relation is a view
# over the lake. The release publishes the tables of `public` and refuses a view there.
COPIED_SCHEMAS = ("public",)
# threads that serve relations from Spark at once (`serve`)
SERVE_THREADS = 2
# the partition folder of rows without a Stichtag, as Spark names it
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# the file `_write_by_stichtag` leaves in a view's folder once its rows are there by Stichtag, with
# the version of that layout: an incremental serving links partitions only from a folder that has
# it (Spark leaves no _SUCCESS there: a write that overwrites partitions dynamically, as dbt-spark
# sets the session for its incremental models, moves only the partition folders into place).
# Spark and DuckDB skip a file whose name starts with an underscore.
BY_STICHTAG_MARKER = "_sozialmonitor_by_stichtag"
BY_STICHTAG_LAYOUT = "1"


@dataclass(frozen=True)
class Rebuilt:
    """What an incremental build rebuilt, so that serving writes again only those rows of a view
    (`serve`): the plan's Stichtage and their lag dependants, and the last serving's folder, whose
    other rows are still the view's."""

    stichtage: tuple[date, ...]
    lag_dependants: tuple[date, ...]
    previous: Path


class SparkMissing(SozialmonitorError):
    exit_code = 2
    headline = "Spark is not installed here."
    hint = (
        "`make spark` installs dbt-spark and pyspark from the pinned lock file (and Java 17 when missing); "
        "or unset SOZIALMONITOR_ENGINE to build on DuckDB."
    )


def require_spark() -> None:
    """Refuse (SparkMissing) unless dbt-spark and pyspark can be imported."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise SparkMissing(f"The Spark engine needs dbt-spark and pyspark: {exc}.") from None


def spark_target() -> str:
    """The dbt target of a Spark build: Spark in local mode in this process, or a Spark Connect
    client when SPARK_REMOTE names a server."""
    return CONNECT_TARGET if os.environ.get(REMOTE_SETTING) else SPARK_TARGET


def spark_settings(settings: Settings) -> Settings:
    """The settings of the Spark build: dbt's target folder inside the lake (the DuckDB side's
    manifest, which the release reads, is written by `serve`)."""
    return settings.with_paths(dbt_target_dir=settings.lake / "dbt_target")


def build(
    settings: Settings,
    command: list[str] | None = None,
    on_event=None,
    plan: dict[str, Any] | None = None,
    incremental: bool = False,
    catalog: str = "hive",
    metastore: Path | None = None,
    purpose: str = "pipeline",
) -> Any:
    """The lake brought up to date with the warehouse's sources, then `dbt <command>` (default:
    build) on Spark. A full build (the default) starts from a fresh catalog and fresh tables; an
    `incremental` one (the build plan's `plan` choices: the Stichtage it rebuilds) writes into the
    tables the last build left in the lake, which the caller has checked are there
    (`stale_tables`). `catalog`: Spark's catalog, `hive` (a Derby metastore in the lake, at
    `metastore`: `metastore_for`; an incremental build needs it) or `in-memory` (a build that
    nothing builds on, as the engine check's). `purpose`: whose lake it is (`engines.claim_lake`: the
    pipeline's, or an engine check's of its own). Returns dbt's result; the Spark session stays up
    for `serve`."""
    require_spark()
    # this warehouse's lake for `purpose` (else refused, before anything in it is removed); owner only
    lake = claim_lake(settings.lake, settings.warehouse_path, purpose)
    if spark_target() == CONNECT_TARGET:  # the server's tables change now: no build of ours until noted
        _mark_server({"sozialmonitor.build_id": "", "sozialmonitor.lake": f"being built from {lake.resolve()}"})
    if incremental:
        (lake / BUILT_MARKER).unlink(missing_ok=True)  # until it succeeds, the next build is full
    else:
        # the node seconds that order dbt's threads (dbt_runner.NODE_SECONDS) outlive the build folders
        seconds = lake / "dbt_target" / dbt_runner.NODE_SECONDS
        kept = seconds.read_bytes() if seconds.is_file() else None
        for leftover in BUILD_FOLDERS:
            shutil.rmtree(lake / leftover, ignore_errors=True)
        if kept is not None:
            seconds.parent.mkdir(parents=True, exist_ok=True)
            seconds.write_bytes(kept)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        sync_lake(con, lake)
    finally:
        con.close()
    enable_session_python_models()
    arguments = [*(command or ["build"]), "--target", spark_target()]
    if not incremental and "--full-refresh" not in arguments:
        arguments.append("--full-refresh")
    environment = {LAKE_SETTING: str(lake), CATALOG_SETTING: catalog}
    if metastore is not None:
        metastore.parent.mkdir(parents=True, exist_ok=True)
        environment[METASTORE_SETTING] = str(metastore)
    with dbt_runner.scoped_environment(environment):
        return dbt_runner.run_dbt(spark_settings(settings), arguments, on_event=on_event, plan=plan)


def _marker(settings: Settings) -> dict[str, Any] | None:
    try:
        found = json.loads((settings.lake / BUILT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def metastore_for(settings: Settings, build_id: str, incremental: bool) -> Path:
    """The Derby metastore of a build: the one of the build it adds to (its marker names it), or a
    new one for a full build."""
    if incremental:
        return Path((_marker(settings) or {})["metastore"])
    return settings.lake / METASTORE_FOLDER / build_id


def mark_built(settings: Settings, build_id: str, metastore: Path) -> None:
    """Note in the lake that its Spark tables are those of build `build_id` (ops.dbt_builds), built
    and served on this target in this lake with `metastore`, and which serving's folder holds its
    views' rows: the next build may add to them (`stale_tables`, `last_serving`)."""
    served = served_folder(settings)
    marker = settings.lake / BUILT_MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    hidden = marker.with_name(f".{marker.name}.writing")
    noted = {
        "build_id": build_id,
        "lake": str(settings.lake.resolve()),
        "target": spark_target(),
        "metastore": str(metastore),
        "served": served.name if served is not None else None,
    }
    if noted["target"] == CONNECT_TARGET:  # the server's catalog vouches for its tables, then the lake
        _mark_server({"sozialmonitor.build_id": build_id, "sozialmonitor.lake": noted["lake"]})
    hidden.write_text(json.dumps(noted), encoding="utf-8")
    os.replace(hidden, marker)


def _spark_string(text: str) -> str:
    """`text` as a Spark SQL string literal (Spark escapes with a backslash)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _mark_server(properties: dict[str, str]) -> None:
    """Write `properties` onto the Spark Connect server's SERVER_MARKER table (made if missing)."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    spark.sql(f"create table if not exists {SERVER_MARKER} (build_id string) using parquet")
    listed = ", ".join(f"{_spark_string(k)} = {_spark_string(v)}" for k, v in sorted(properties.items()))
    spark.sql(f"alter table {SERVER_MARKER} set tblproperties ({listed})")


def _server_marker() -> dict[str, str] | None:
    """The properties of the Spark Connect server's SERVER_MARKER table; None when it has none."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    if not spark.catalog.tableExists(SERVER_MARKER):
        return None
    return {row[0]: row[1] for row in spark.sql(f"show tblproperties {SERVER_MARKER}").collect()}


def last_serving(settings: Settings) -> Path | None:
    """The folder of the serving of the build the lake's tables are (its marker names it), if it
    is still there: an incremental serving links the rows of its views that did not change from
    there. Read before an incremental build starts, which removes the marker until it succeeds."""
    name = (_marker(settings) or {}).get("served")
    folder = settings.lake / SERVED_FOLDER / name if isinstance(name, str) and name else None
    return folder if folder is not None and folder.is_dir() else None


def stale_tables(settings: Settings, last_build: str | None) -> str | None:
    """Why an incremental Spark build cannot add to the tables in the lake (None: it can): they
    must be those of `last_build`, the warehouse's last build that succeeded, built and served in
    this lake (not a copy or a moved one: the metastore holds absolute paths) on this target, with
    a metastore that is still there (through Spark Connect: whose server's catalog says it holds
    that build of this lake), and not touched since. A new, copied or moved lake, a build that did
    not finish, a build elsewhere in between, or a Connect server that forgot the tables (restarted
    with its catalog in memory) or holds another lake's leave no such tables; then every Stichtag is
    built afresh."""
    noted = _marker(settings)
    if noted is None:
        return f"the lake {settings.lake} holds no Spark tables of a finished build"
    if noted.get("build_id") != last_build:
        return f"the lake's Spark tables are those of build {noted.get('build_id')}, not of the last build {last_build}"
    if noted.get("lake") != str(settings.lake.resolve()):
        return f"the lake's Spark tables were built in {noted.get('lake')}, not in {settings.lake.resolve()}"
    if noted.get("target") != spark_target():
        return f"the lake's Spark tables were built with the target {noted.get('target')}, not {spark_target()}"
    if spark_target() == CONNECT_TARGET:
        server = _server_marker()
        if server is None:
            return f"the Spark Connect server's catalog has no {SERVER_MARKER}: it holds no tables of a build of ours"
        held = (server.get("sozialmonitor.build_id"), server.get("sozialmonitor.lake"))
        if held != (last_build, noted.get("lake")):
            return (
                f"the Spark Connect server's tables are those of build {held[0]} of the lake {held[1]}, "
                f"not of the last build {last_build} of this one"
            )
        return None  # its metastore is the server's
    if not noted.get("metastore") or not Path(noted["metastore"]).is_dir():
        return f"the metastore of the lake's Spark tables ({noted.get('metastore')}) is gone"
    return None


def built_relations(settings: Settings, kept: bool = False) -> list[tuple[str, str, str, list[str]]]:
    """(name, schema, alias, documented columns) of every model and seed the last Spark build made,
    from its manifest: those its run results name as built (all of them after a build of the whole
    project). `kept`: after an incremental build, which selects what depends on the new data, also
    those it did not run (an earlier build made them; the catalog outlives the run), but none that
    failed or was skipped."""
    target = spark_settings(settings).dbt_target_dir
    manifest = json.loads((target / "manifest.json").read_text("utf-8"))
    results = {
        r["unique_id"]: r["status"] for r in json.loads((target / "run_results.json").read_text("utf-8"))["results"]
    }
    out = []
    for unique_id, node in manifest["nodes"].items():
        status = results.get(unique_id, "kept" if kept else None)
        if node["resource_type"] not in ("model", "seed") or status not in ("success", "kept"):
            continue
        if node["config"].get("materialized") == "ephemeral":
            continue
        out.append((node["name"], node["schema"], node["alias"], list(node.get("columns", {}))))
    return sorted(out)


def serve(
    settings: Settings, into: Path | None = None, kept: bool = False, rebuilt: Rebuilt | None = None
) -> list[tuple[str, str]]:
    """Every model and seed of the last Spark build in the DuckDB file `into` (default: the
    warehouse), read from `<lake>/served/<id>`, a folder of this serving's own (the earlier ones are
    removed once it is committed): a table's Parquet files are hard-linked there (copied where the
    file system cannot link), a view's rows are written there by Spark. Each becomes a DuckDB view
    over its files, except the tables of COPIED_SCHEMAS, which DuckDB copies (set-based) into the
    file. So a serving costs what the public tables cost, not what the person-level tables do, and
    the file holds no second copy of the microdata the lake holds. A relation of the same name there
    (of an earlier DuckDB build) is replaced; all in one transaction, so a failure leaves the file
    as it was. Needs the Spark session of `build`. `kept`: after an incremental build, the relations
    it did not run are served too (`built_relations`), from this serving's folder like the others,
    since the earlier servings' folders go. A view whose config `stichtag_tests` says which of its
    rows an incremental build can change (macros/tested_stichtage.sql: those of the rebuilt
    Stichtage, or those from the earliest of them on) is written partitioned by Stichtag; after an
    incremental build (`rebuilt`) only those rows are written, and the partitions of the other
    Stichtage are hard-linked from the last serving. Returns (dbt node name, schema.alias) of
    every relation served."""
    from pyspark.sql import SparkSession

    # the session dbt built with (dbt ran its queries in a thread of its own)
    spark = SparkSession.builder.getOrCreate()
    relations = built_relations(settings, kept)
    scopes = stichtag_scopes(settings)
    views = {
        f"{schema}.{t.name}"
        for schema in sorted({r[1] for r in relations})
        for t in spark.catalog.listTables(schema)
        if t.tableType == "VIEW"
    }
    # a folder of this serving's own: the views of the warehouse as it is read the last one's
    # until this serving is committed (a failed build or serving leaves them working)
    root = settings.lake / SERVED_FOLDER
    folder = root / uuid.uuid4().hex[:12]

    def spark_side(relation: tuple[str, str, str, list[str]]) -> tuple[bool, Path, list[tuple[str, str]], list[str]]:
        """Spark's part of serving one relation: whether DuckDB gets a view (else a copy), the
        Parquet folder it reads (this serving's, unless copied), the columns and the partition
        columns."""
        _, schema, alias, documented = relation
        name = f"{schema}.{alias}"
        frame = spark.table(name)
        columns = _ordered(frame.schema, documented)
        files = folder / schema / alias
        if name in views:
            if name in scopes and "stichtag" in frame.columns:
                _write_by_stichtag(frame, files, f"{schema}/{alias}", *scopes[name], rebuilt)
                return True, files, columns, ["stichtag"]
            frame.write.mode("overwrite").parquet(str(files))
            return True, files, columns, []
        location, partitions = _layout(spark, name)
        if schema in COPIED_SCHEMAS:
            return False, location, columns, partitions
        _link_files(location, files)
        return True, files, columns, partitions

    served: list[tuple[str, str]] = []
    try:
        # Spark's side in SERVE_THREADS threads: each relation is a small job or a catalog call,
        # mostly planning on the driver, which overlaps another's tasks (one thread left a core idle)
        with ThreadPoolExecutor(SERVE_THREADS) as pool:
            prepared = list(pool.map(spark_side, relations))
        con = connect(into or settings.warehouse_path, extensions=())
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        con.execute("begin")
        for (name, schema, alias, _), (is_view, files, columns, partitions) in zip(relations, prepared, strict=True):
            con.execute(f'create schema if not exists "{schema}"')
            _drop(con, schema, alias)
            kind = "view" if is_view else "table"
            con.execute(f'create {kind} "{schema}"."{alias}" as {_select(files, columns, partitions)}')
            served.append((name, f"{schema}.{alias}"))
        _drop_left_views(con, root, {relation for _name, relation in served})
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        con.close()
    for earlier in root.iterdir() if root.is_dir() else ():
        if earlier == folder:
            continue
        if earlier.is_dir() and not earlier.is_symlink():
            shutil.rmtree(earlier, ignore_errors=True)
        else:  # a stray file: with it there, `served_folder` would find no single last serving
            earlier.unlink(missing_ok=True)
    return served


def _drop_left_views(con, root: Path, now: set[str]) -> None:
    """Drop the views of the DuckDB file open on `con` that read a serving's Parquet under `root` but
    are not among the relations served `now` (schema.alias): a model removed or renamed since, whose
    folder goes with the earlier servings. A query then finds no such relation, instead of a view
    over files that are gone."""
    for schema, name, sql in con.execute(
        "select schema_name, view_name, sql from duckdb_views() where not internal"
    ).fetchall():
        if f"{schema}.{name}" not in now and sql_string(f"{root}/")[:-1] in sql:
            con.execute(f'drop view "{schema}"."{name}"')


def stichtag_scopes(settings: Settings) -> dict[str, tuple[str, bool]]:
    """schema.alias → (`stichtag_tests`, whether it has `stichtag_lags`) of every model of the last
    Spark build that says which of its rows an incremental build can change."""
    manifest = json.loads((spark_settings(settings).dbt_target_dir / "manifest.json").read_text("utf-8"))
    return {
        f"{node['schema']}.{node['alias']}": (
            node["config"]["stichtag_tests"],
            bool(node["config"].get("stichtag_lags")),
        )
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("stichtag_tests") in ("rebuilt", "from_earliest")
    }


def _write_by_stichtag(frame, target: Path, relative: str, scope: str, lags: bool, rebuilt: Rebuilt | None) -> None:
    """A view's rows as Parquet partitioned by Stichtag under `target`. After an incremental build
    the last serving's partitions (`relative`: the view's folder there) of the Stichtage it cannot
    have changed are hard-linked (`scope`: it changed those of the rebuilt Stichtage, with their
    lag dependants when the view has lags; or those from the earliest rebuilt Stichtag on): the
    same SQL wrote them from the same rows (the build plan keeps the rows of the other Stichtage
    and the code as they were). Every other row is written."""
    from pyspark.sql import functions as F

    def write(rows) -> None:
        rows.write.mode("overwrite").partitionBy("stichtag").parquet(str(target))
        target.mkdir(parents=True, exist_ok=True)  # no rows: Spark may leave no folder
        for empty in target.glob("*.parquet"):  # every row lies in a partition: a file here has none
            empty.unlink()

    changed = set(rebuilt.stichtage) | (set(rebuilt.lag_dependants) if lags else set()) if rebuilt else set()
    earlier = rebuilt.previous / relative if rebuilt else None
    linked: dict[date, Path] = {}  # the earlier serving's partitions this build cannot have changed
    if changed and earlier is not None and _by_stichtag(earlier):
        first = min(changed)
        for partition in earlier.glob("stichtag=*"):
            value = partition.name.removeprefix("stichtag=")
            if value == NULL_PARTITION:
                continue
            day = date.fromisoformat(value)
            if not (day >= first if scope == "from_earliest" else day in changed):
                linked[day] = partition
    if linked:
        # every other row, those without a Stichtag included, is written
        stichtag = F.col("stichtag")
        write(frame.where(stichtag.isNull() | ~stichtag.isin(sorted(linked))))
        for partition in linked.values():
            _link_files(partition, target / partition.name)
    else:
        write(frame)
    (target / BY_STICHTAG_MARKER).write_text(BY_STICHTAG_LAYOUT, encoding="utf-8")


def _by_stichtag(folder: Path) -> bool:
    """Whether `folder` holds a view's rows as `_write_by_stichtag` writes them, in this layout:
    its marker, written once the rows are all there, and no Parquet file outside a Stichtag's
    partition (a view that an earlier serving wrote whole has its files at the top)."""
    marker = folder / BY_STICHTAG_MARKER
    return (
        marker.is_file()
        and marker.read_text(encoding="utf-8") == BY_STICHTAG_LAYOUT
        and not any(folder.glob("*.parquet"))
    )


def served_folder(settings: Settings) -> Path | None:
    """The folder of the last serving into the lake (its views' Parquet), if there is one."""
    root = settings.lake / SERVED_FOLDER
    found = sorted(root.iterdir()) if root.is_dir() else []
    return found[0] if len(found) == 1 else None


def _layout(spark, relation: str) -> tuple[Path, list[str]]:
    """The folder of Spark's files of the table `relation` and its partition columns, from one
    `describe table extended` (listColumns for the partitions was a second catalog call per table)."""
    location, partitions, section = None, [], ""
    for row in spark.sql(f"describe table extended {relation}").collect():
        name, value = (row[0] or "").strip(), row[1]
        if name == "# col_name":  # the header of a section's rows
            continue
        if name.startswith("# ") or not name:  # a section's title, or the blank row that ends one
            section = name
        elif section == "# Partition Information":
            partitions.append(name)
        elif section == "# Detailed Table Information" and name == "Location":
            location = Path(value.removeprefix("file:"))
    if location is None:
        raise RuntimeError(f"Spark names no location for the table {relation}")
    return location, partitions


def _ordered(schema, documented: list[str]) -> list[tuple[str, str]]:
    """(name, DuckDB type) of Spark's columns, in the order the manifest documents them (a
    contract's order; Spark puts partition columns last), undocumented ones after in Spark's order."""
    fields = {f.name: duckdb_type(f.dataType) for f in schema.fields}
    first = [c for c in documented if c in fields]
    return [(c, fields[c]) for c in first + [c for c in fields if c not in first]]


def duckdb_type(spark_type) -> str:
    """The DuckDB type of a Spark column type."""
    from pyspark.sql import types as t

    simple = {
        t.StringType: "varchar",
        t.LongType: "bigint",
        t.IntegerType: "integer",
        t.ShortType: "smallint",
        t.ByteType: "tinyint",
        t.DoubleType: "double",
        t.FloatType: "float",
        t.BooleanType: "boolean",
        t.DateType: "date",
        t.TimestampType: "timestamp",
        t.TimestampNTZType: "timestamp",
        t.BinaryType: "blob",
    }
    for kind, name in simple.items():
        if isinstance(spark_type, kind):
            return name
    if isinstance(spark_type, t.DecimalType):
        return f"decimal({spark_type.precision},{spark_type.scale})"
    if isinstance(spark_type, t.ArrayType):
        return f"{duckdb_type(spark_type.elementType)}[]"
    raise TypeError(f"no DuckDB type for the Spark type {spark_type.simpleString()}")


def _link_files(source: Path, target: Path) -> None:
    """The Parquet files of the folder `source` (partition folders included), the files `_select`
    reads, hard-linked under `target`; copied where the file system cannot link (another device; a
    lake without links)."""
    for path in sorted(source.rglob("*.parquet")):
        linked = target / path.relative_to(source)
        linked.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, linked)
        except OSError:
            shutil.copy2(path, linked)


def _select(folder: Path, columns: list[tuple[str, str]], partitions: list[str]) -> str:
    """The DuckDB query of a served relation: Spark's Parquet files in `folder`, each column cast to
    its type; no rows when Spark wrote no file (an empty partitioned table)."""
    listed = ", ".join(
        # a partition's column is read from its folder's name, and Spark names that of nulls so
        f'cast(nullif("{c}", \'{NULL_PARTITION}\') as {kind}) as "{c}"'
        if c in partitions
        else f'cast("{c}" as {kind}) as "{c}"'
        for c, kind in columns
    )
    files = sorted(folder.rglob("*.parquet")) if folder.is_dir() else []
    if not files:
        nulls = ", ".join(f'cast(null as {kind}) as "{c}"' for c, kind in columns)
        return f"select {nulls} where false"
    pattern = sql_string(folder / ("**/*.parquet" if partitions else "*.parquet"))
    hive = ", hive_partitioning = true, hive_types_autocast = false" if partitions else ", hive_partitioning = false"
    return f"select {listed} from read_parquet({pattern}{hive})"


def _drop(con, schema: str, name: str) -> None:
    found = con.execute(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
    ).fetchone()
    if found:
        kind = "view" if found[0] == "VIEW" else "table"
        con.execute(f'drop {kind} "{schema}"."{name}"')


def stop_spark() -> None:
    """The Spark session's memory back, if one was started (the JVM itself stays for the process).
    The session is stopped and forgotten, not only its context: pyspark opens no Spark Connect
    session in a process that still knows a local one."""
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError:
        return
    if SparkSession._instantiatedSession is not None:
        SparkSession._instantiatedSession.stop()  # its context too
    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
