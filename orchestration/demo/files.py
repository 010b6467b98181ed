"""Shared helpers of the extract writers: German numbers and dates, CSV files in a department's
encoding and line ends (pandas for small files, DuckDB for the big register files).

Workbooks are written with `xlsx.save_reproducibly`.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd


def german_decimal(values: np.ndarray | pd.Series, thousands: bool) -> np.ndarray:
    """1234.5 → '1.234,50' (or '1234,50' without thousands separator), vectorised; below one million."""
    cents = np.rint(np.asarray(values, dtype=float) * 100).astype(np.int64)
    if (cents < 0).any() or (cents >= 100_000_000_000).any():
        raise ValueError("german_decimal expects amounts from 0 to below one million (or coordinates)")
    units, fraction = np.divmod(cents, 100)
    whole = units.astype(str)
    if thousands:
        high, low = np.divmod(units, 1000)
        if (high >= 1000).any():
            raise ValueError("german_decimal with thousands separator expects amounts below one million")
        grouped = np.char.add(np.char.add(high.astype(str), "."), np.char.zfill(low.astype(str), 3))
        whole = np.where(high > 0, grouped, whole)
    return np.char.add(np.char.add(whole, ","), np.char.zfill(fraction.astype(str), 2)).astype(object)


def german_date(values: pd.Series) -> pd.Series:
    return pd.Series(values).dt.strftime("%d.%m.%Y")


def german_number(value: float, decimals: int) -> str:
    """12345.5 → '12.345,50' (thousands point, decimal comma), any size."""
    return f"{value:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def write_csv(path: Path, frame: pd.DataFrame, encoding: str, newline: str, sep: str = ";") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = frame.to_csv(sep=sep, index=False, lineterminator=newline, na_rep="")
    path.write_bytes(text.encode(encoding))
    return path


def copy_csv(con: duckdb.DuckDBPyConnection, path: Path, query: str, encoding: str) -> Path:
    """Write a query result with DuckDB (fast), then CRLF line ends and the target encoding."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    target = tmp.as_posix().replace("'", "''")
    con.execute(f"COPY ({query}) TO '{target}' (FORMAT csv, HEADER true, DELIMITER ';')")
    data = tmp.read_bytes().replace(b"\n", b"\r\n")
    if not data.isascii():
        data = data.decode("utf-8").encode(encoding)
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def list_literal(values: list[str] | np.ndarray) -> str:
    """A SQL list of string literals, for DuckDB's 1-based list indexing."""
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"
