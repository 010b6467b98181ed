"""The DuckDB warehouse file: opening it the same way everywhere.

Extensions are never downloaded: they ship as PyPI packages pinned to the DuckDB version and are
loaded from site-packages by path (see ../shared/docs/stack.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

# Extensions loaded on request only: loading spatial costs ~0.2 s per connection, and nothing
# needs it yet. (CSV encodings are handled in Python, XLSX by calamine.)
EXTENSIONS: tuple[str, ...] = ()


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


def load_extensions(con: duckdb.DuckDBPyConnection, names: tuple[str, ...] = EXTENSIONS) -> None:
    for name in names:
        con.execute(f"load '{extension_path(name)}'")


def connect(path: Path | str, read_only: bool = False, extensions: tuple[str, ...] = EXTENSIONS):
    """Open the warehouse (or any DuckDB file) with downloads switched off and our extensions loaded."""
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        str(path),
        read_only=read_only,
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    load_extensions(con, extensions)
    return con


def valid_at(alias: str, at: str) -> str:
    """SQL: the row `alias` is valid at `at` (Gebietsstand; valid_to inclusive, null = still valid).
    The Python twin of the dbt macro `valid_at`, for SQL written outside dbt (gates, releases);
    written with coalesce, not OR, for the same reason: OR turns hash joins into nested loops."""
    return f"({alias}.valid_from <= {at} and coalesce({alias}.valid_to, date '9999-12-31') >= {at})"
