"""The DuckDB warehouse file: opening it the same way everywhere.

Extensions are never downloaded: they ship as PyPI packages pinned to the DuckDB version and are
loaded from site-packages by path (see ../shared/docs/stack.md)."""

from __future__ import annotations

import importlib.util
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

# Extensions loaded on request only: loading spatial costs ~0.2 s per connection, and nothing
# needs it yet. (CSV encodings are handled in Python, XLSX by calamine.)
EXTENSIONS: tuple[str, ...] = ()

# DuckDB's memory limit for the warehouse, in the CLI, in Dagster and in dbt (profiles.yml reads the
# same variable, with the same default). DuckDB's own default is 80 % of the machine's memory, which
# a big city then takes although the work needs far less: beyond the limit, joins, sorts and
# aggregates spill to `<warehouse>.tmp` beside the file, in the warehouse's private folder.
MEMORY_LIMIT_SETTING = "SOZIALMONITOR_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2GB"
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
_UNITS = {"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def sql_string(text: str | Path) -> str:
    """`text` (a path: its string) as a quoted SQL string literal, for the places where DuckDB takes
    no parameter (ATTACH, COPY … TO, a table function in a view): a quote in a folder's name
    (/srv/Stadt's Daten) is doubled, not the literal's end."""
    return "'" + str(text).replace("'", "''") + "'"


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `table` ("schema.name") is in the warehouse `con` is open on (a table or a view)."""
    [[count]] = con.execute(
        "select count(*) from information_schema.tables where table_schema || '.' || table_name = ?", [table]
    ).fetchall()
    return bool(count)


def memory_limit() -> str:
    """SOZIALMONITOR_MEMORY_LIMIT (e.g. 2GB, 1500MB), checked; the default when unset."""
    value = os.environ.get(MEMORY_LIMIT_SETTING, "").strip() or DEFAULT_MEMORY_LIMIT
    if not _MEMORY.match(value):
        raise ValueError(
            f"{MEMORY_LIMIT_SETTING}={value!r} is not a memory size: write it as DuckDB does, e.g. 2GB or 1500MB"
        )
    return value


def memory_limit_bytes() -> int:
    """memory_limit() in bytes."""
    size = _MEMORY.match(memory_limit())
    assert size is not None  # memory_limit() checked it
    return int(float(size.group(1)) * _UNITS[size.group(2).lower()])


def share_of_memory_limit(fraction: float, at_least_mb: int = 256) -> str:
    """`fraction` of memory_limit() as a DuckDB memory size in MB (not below `at_least_mb`, unless
    the limit itself is): the limit of a process that works beside another on the same warehouse."""
    total_mb = memory_limit_bytes() / 10**6
    return f"{int(max(min(at_least_mb, total_mb), total_mb * fraction))}MB"


def extension_path(name: str) -> Path:
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"DuckDB extension package 'duckdb-extension-{name}' is not installed; run `make` to set up .venv"
        )
    base = Path(next(iter(spec.submodule_search_locations)))
    path = base / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise RuntimeError(f"{path} missing: duckdb-extension-{name} must match duckdb=={duckdb.__version__}")
    return path


@contextmanager
def kept_open(path: Path | str) -> Iterator[None]:
    """Keep the warehouse open in this process while the block runs. DuckDB keeps one database per
    file and process, so each `connect` within the block shares this one instead of reading the
    file's catalog again (35-55 ms for the test city's built warehouse, against under 1 ms), and the
    file is checkpointed once, when the block ends, instead of at each connection's close (about
    50 ms after a write). For work in which nothing opens the file another way: while it is held, a
    read-only or otherwise configured connection of this process (the gates' read-only one,
    dbt-duckdb's) and any other process (the lineage docs', a dbt child) are refused."""
    con = connect(path)
    try:
        yield
    finally:
        con.close()


def load_extensions(con: duckdb.DuckDBPyConnection, names: tuple[str, ...] = EXTENSIONS) -> None:
    for name in names:
        con.execute(f"load '{extension_path(name)}'")


def private_dir(path: Path) -> Path:
    """A folder for microdata: created readable by its owner only (0700). An existing folder is
    left as its owner set it (it may be shared on purpose, or not ours to change)."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:  # made a moment ago by another thread of this run (ingest's loaders)
            return path
        path.chmod(0o700)  # mkdir's mode is reduced by the umask; this is exact
    return path


def scratch() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for work on a release's files and on frames (the audit's cells, the atlas
    model, the indices recomputed, a diff of two releases), held to the same memory limit as the
    warehouse's connections: DuckDB's own default is 80 % of the machine, which a Land's release
    would take beside its other steps. Beyond the limit it spills into a folder of its own in the
    system's temporary directory, which DuckDB makes when it first spills and removes on close (its
    default, `.tmp` in the working directory, may not be writable where a service runs). Never
    downloads or loads an extension by itself (JSON and Parquet are built in)."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"set memory_limit = '{memory_limit()}'")
    spill = Path(tempfile.gettempdir()) / f"sozialmonitor-scratch-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    con.execute(f"set temp_directory = {sql_string(spill)}")
    return con


def connect(path: Path | str, read_only: bool = False, extensions: tuple[str, ...] = EXTENSIONS):
    """Open the warehouse (or any DuckDB file) with downloads switched off and our extensions loaded.
    A new file and a new folder for it are created readable by the owner only: the warehouse holds
    microdata (public copies get their own modes when a release is written)."""
    path = Path(path)
    limit = memory_limit()  # a wrong setting is refused before a file is created
    new = not read_only and not path.exists()
    if not read_only:
        private_dir(path.parent)
    con = duckdb.connect(
        str(path),
        read_only=read_only,
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    # set, not passed as config: dbt-duckdb sets it the same way, and DuckDB refuses a second
    # connection to an open file with a different config
    con.execute(f"set memory_limit = '{limit}'")
    if new and path.exists():
        path.chmod(0o600)
    load_extensions(con, extensions)
    return con
