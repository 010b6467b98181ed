"""What earlier releases published, as cells, for the secondary suppression (stay consistent with
them) and the audit (an attacker holds them all). Read from the releases' own Parquet files, so it
is what was really published, superseded versions included."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import duckdb
import numpy as np
import pandas as pd

from ..warehouse import scratch, sql_string

TABLE = "ops.released_cells"
COLUMNS = ["release_id", "stichtag", "level", "area_id", "measure", "value", "suppressed"]
_DDL = f"""create table if not exists {TABLE} (
    release_id varchar, stichtag date, level varchar, area_id varchar, measure varchar,
    value double, suppressed boolean)"""


class PublishedRelease(Protocol):
    """What this module needs of a release (release.store.Release has it)."""

    id: str
    path: Path


def release_cells(con: duckdb.DuckDBPyConnection, release_dir: Path, release_id: str) -> pd.DataFrame:
    """The counts one release published: numerators and denominators of its indicator rows, those of
    the Stichtag tables (indicator_values) and of the harmonised series on today's Gebietsstand
    (indicator_series, if the release has it). A series row is keyed by `<level>@<gebietsstand>`,
    the key of a unit that a recut changed; where the unit did not change, the disclosure cells
    know it under its plain level (see `align_to_cells`). A cell that the files show twice with
    different values is kept twice, so that a check can see the contradiction."""
    data = release_dir / "data"
    values = data / "indicator_values.parquet"
    series = data / "indicator_series.parquet"
    catalogue = data / "indicator_catalogue.parquet"
    if not values.exists() or not catalogue.exists():
        return pd.DataFrame(columns=COLUMNS)
    rows = (
        f"select stichtag, level, area_id, indicator_id, numerator, denominator from read_parquet({sql_string(values)})"
    )
    if series.exists():
        rows += (
            " union all select stichtag, level || '@' || strftime(cast(gebietsstand as date), '%Y-%m-%d'), area_id,"
            " indicator_id,"
            f" numerator, denominator from read_parquet({sql_string(series)})"
        )
    return con.execute(
        f"""
        with v as ({rows}),
        c as (select * from read_parquet({sql_string(catalogue)})),
        cells as (
            select v.stichtag, v.level, v.area_id, c.numerator_measure as measure,
                cast(v.numerator as double) as value
            from v inner join c on c.indicator_id = v.indicator_id
            union all
            select v.stichtag, v.level, v.area_id, c.denominator_measure,
                cast(v.denominator as double)
            from v inner join c on c.indicator_id = v.indicator_id
            where c.denominator_measure is not null
        )
        select distinct ? as release_id, stichtag, level, area_id, measure,
            value, value is null as suppressed
        from cells
        order by all
        """,
        [release_id],
    ).df()[COLUMNS]


def align_to_cells(released: pd.DataFrame, cell_keys: pd.DataFrame) -> pd.DataFrame:
    """Released cells keyed as the disclosure pattern keys them: a series cell `<level>@<date>` that
    is no cell of its own (its unit did not change) is the plain `<level>` cell. Rows that then
    describe one cell twice are kept (both values), so that a contradiction between the Stichtag
    tables and the series shows. The lookup is a join in DuckDB (hundreds of thousands of cells at
    a million residents; a Python set of their keys took seconds)."""
    if released.empty:
        return released
    key = ["stichtag", "level", "area_id", "measure"]
    con = scratch()
    try:
        con.register("released_keys", released[key].assign(row_=np.arange(len(released), dtype=np.int64)))
        con.register("cell_keys", cell_keys[key])
        # a row's position and its plain level, for every series cell the pattern does not know
        plain = con.execute(
            """select r.row_, split_part(r.level, '@', 1) as level
            from released_keys as r
            where contains(r.level, '@') and not exists (
                select 1 from cell_keys as k
                where k.stichtag is not distinct from r.stichtag and k.level is not distinct from r.level
                    and k.area_id is not distinct from r.area_id and k.measure is not distinct from r.measure)
            order by r.row_"""
        ).fetchnumpy()
    finally:
        con.close()
    out = released.copy()
    if len(plain["row_"]):
        out.iloc[plain["row_"], out.columns.get_loc("level")] = plain["level"]
    return out.drop_duplicates([*key, "value", "suppressed", "release_id"]).reset_index(drop=True)


def all_released_cells(releases: Iterable[PublishedRelease], exclude: str | None = None) -> pd.DataFrame:
    """The cells of every release in `releases` (the caller lists them: release.store.list_releases)."""
    con = scratch()
    try:
        frames = [release_cells(con, r.path, r.id) for r in releases if r.id != exclude]
    finally:
        con.close()
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)


def refresh(con: duckdb.DuckDBPyConnection, releases: Iterable[PublishedRelease]) -> int:
    """Replace ops.released_cells with the cells of every release in `releases`."""
    frame = all_released_cells(releases)
    con.execute("create schema if not exists ops")
    con.execute(_DDL)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {TABLE}")
        if not frame.empty:
            con.register("_released_cells", frame)
            con.execute(f"insert into {TABLE} select {', '.join(COLUMNS)} from _released_cells")
            con.unregister("_released_cells")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return len(frame)
