"""The GIS files of a release: the unit polygons of every public level with the values of the newest
Stichtag, once as GeoJSON per level (WGS84, geo/<level>.geojson) and once as one GeoPackage with a
layer per level in the source CRS (geo/sozialmonitor.gpkg).

Both formats come from one computation of the unit geometries (`unit_geometries`) and one table of
attributes (`unit_attributes`), so they cannot disagree.

Attributes of a unit (GeoPackage column = GeoJSON property):
  level, area_id, area_name, stichtag        the unit and the Stichtag of the values
  <indicator_id>                             the value as published in indicator_values (a number);
                                             NULL / null where it is withheld or does not exist, never 0
  <indicator_id>_zeichen                     NULL where a value is given, else the sign of official
                                             statistics saying why not (SIGNS)
  status_class, dynamics_class, index_group  the Sozialindex classes (index_status_dynamics), and
  gesamt_value, gesamt_rank                  the composite index (index_composite, component 'gesamt'),
                                             where the release has these tables and the level is indexed;
                                             with more than one index per level: <index_id>_<column>
A GIS user filters and colours on the numeric column and labels withheld units with the sign column;
one sign column per indicator (instead of one flags list per unit) keeps both side by side in the
attribute table. Flags that do not withhold a value (estimated, perturbed, input_suppressed) stay in
indicator_values.

The GeoPackage is byte-deterministic: GDAL (via DuckDB spatial) writes each layer into a file of its
own; the layers are merged into one SQLite file, the time stamps GDAL writes (gpkg_contents.last_change)
are set to the Stichtag, and the file is rebuilt with VACUUM, so the same inputs give the same bytes in
any folder at any time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from ..ingest.checks import lit
from ..ingest.loader import sha256_file
from ..warehouse import extension_path, sql_string
from .store import keep_memo_entry

LOG = logging.getLogger(__name__)
GEOPACKAGE = "sozialmonitor.gpkg"
# Why a value is not given (Zeichenerklärung of official statistics; the same signs as the tables)
SIGNS = {
    "disclosure": "\u2022",  # • Zahlenwert unbekannt oder geheim zu halten
    "small_population": "/",  # / keine Angabe, da Zahlenwert nicht sicher genug
    "denominator_zero": "x",  # x Tabellenfach gesperrt, weil Aussage nicht sinnvoll
    "missing": ".",  # . Zahlenwert unbekannt (source not delivered, or no value for the unit)
}
INDEX_COLUMNS = {
    "index_status_dynamics": ("status_class", "dynamics_class", "index_group"),
    "index_composite": ("gesamt_value", "gesamt_rank"),
}

# Published unit polygons are never the Baublöcke they are made of. Baublöcke lie apart, separated
# by streets; a plain union of a unit's blocks is a MultiPolygon of every block outline. The blocks are
# therefore closed morphologically (buffered out by a distance that bridges the streets, unioned,
# buffered back in by the same distance, both with mitred joins so that corners stay corners): a unit
# whose blocks are contiguous becomes one Polygon whose outline follows its outer block edges, with
# the streets between its blocks filled. The street between two units is not between two blocks of
# either, so closing leaves it empty: neighbouring units do not grow into each other.
GAP_QUANTILE = 0.95  # of each Baublock's distance to its nearest neighbour: the width of a wide street
GAP_SEARCH_M = 100.0  # neighbours further apart (across a park, a river) do not count as a street
GRID_M = 1.0  # coordinates are snapped to this grid (metres) before they are reprojected
# a closed unit (before the 1 m grid) smaller than its Baublöcke by more than this share collapsed:
# closing only adds area; the slack allows for Baublöcke that overlap a little
COLLAPSE_SLACK = 0.001

# The dbt models the export reads (in the warehouse attached as `wh`): the Baublock polygons, and
# which Baublöcke form each public unit on every Gebietsstand (the SQL of validity lives in dbt).
BLOCK_GEOMETRY = "wh.marts.dim_block_geometry"
UNIT_BLOCKS = "wh.marts.dim_public_unit_blocks"


def _grid_cells(source: str, key: str, cell: float, margin: float = 0.0) -> str:
    """SQL: (`key`, cx, cy) for every cell of a grid of `cell` metres that the bounding box of a row
    of `source` (its columns x0, y0, x1, y1), widened by `margin`, meets. Two rows that share a cell
    are candidates for a spatial test: an equi-join, linear in the rows, where testing every pair
    would be quadratic."""
    return f"""select b.{key}, cx.range as cx, cy.range as cy
                from {source} as b,
                    range(floor((b.x0 - {margin}) / {cell})::bigint,
                        floor((b.x1 + {margin}) / {cell})::bigint + 1) as cx,
                    range(floor((b.y0 - {margin}) / {cell})::bigint,
                        floor((b.y1 + {margin}) / {cell})::bigint + 1) as cy"""


def gap_closing_distance(con, configured: float | None = None) -> float:
    """The buffer distance (metres) of the closing: the var `geometry_gap_closing_m` if set, otherwise
    derived from the data. A Baublock's nearest neighbour lies across its narrowest street; the 95th
    percentile of these distances, rounded up to a whole metre, is the width of a wide street
    (blocks next to a park or a river, with no neighbour within 100 m, do not count). Buffering by it
    bridges every gap up to twice that width: streets that widen along their length, and crossings
    (the mitred buffers of the four corner blocks meet). Musterstadt's streets are 14 m ± 5 m wide:
    nearest-neighbour distances 9.1–14.5 m, 95th percentile 12.9 m, so 13 m, which closes gaps of up
    to 26 m (the widest gap between neighbouring blocks, diagonally across a crossing, is 25.9 m)."""
    if configured is not None:
        return float(configured)
    search, cell = GAP_SEARCH_M, 2 * GAP_SEARCH_M
    # candidate neighbours through a grid of `cell` metres (_grid_cells)
    row = con.execute(
        f"""with blocks as (
                select block_code, geom,
                    ST_XMin(geom) as x0, ST_YMin(geom) as y0, ST_XMax(geom) as x1, ST_YMax(geom) as y1
                from (select block_id as block_code, ST_GeomFromGeoJSON(geometry_geojson) as geom from {BLOCK_GEOMETRY})
            ),
            reach as ({_grid_cells("blocks", "block_code", cell, search)}),
            cover as ({_grid_cells("blocks", "block_code", cell)}),
            candidates as (
                select distinct r.block_code as a, c.block_code as b
                from reach as r inner join cover as c on c.cx = r.cx and c.cy = r.cy and c.block_code <> r.block_code
            ),
            nearest as (
                select p.a, min(ST_Distance(ga.geom, gb.geom)) as distance
                from candidates as p
                inner join blocks as ga on ga.block_code = p.a
                inner join blocks as gb on gb.block_code = p.b
                where ST_DWithin(ga.geom, gb.geom, {search})
                group by p.a
            )
            select quantile_cont(distance, {GAP_QUANTILE}) from nearest"""
    ).fetchone()
    width = row[0] if row and row[0] is not None else 0.0
    return float(max(1, math.ceil(round(width, 6))))


# Unit geometries of earlier releases, by the digest of everything they are computed from (see
# `GeometryMemo`): a release of a new Stichtag on an unchanged Gebietsstand reuses them.
MEMO_FOLDER = "unit_geometry"
MEMO_KEEP = 8  # entries kept (most recently used first): a few Gebietsstände and code versions


class GeometryMemo:
    """The unit geometries of published releases, kept in `folder` as Parquet (the polygons as WKB,
    exact to the bit) under the SHA-256 of everything they are computed from: each unit's members
    and their Baublock polygons as stored, the statement (closing distance included) and the
    versions of DuckDB and its spatial extension. A later release with the same digest reads them
    instead of dissolving the Baublöcke again; anything else is computed. A computed entry is held
    in memory and written by `keep()` once its release is published, so a refused release leaves no
    file; deleting the folder is always safe."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.hit = False
        self._pending: tuple[Path, Any] | None = None

    def path(self, con, members: str, statement: str, parameters: dict[str, Any]) -> Path:
        (inputs,) = con.execute(
            f"""with {members}
                select sha256(coalesce(string_agg(
                    to_json([m.level, m.area_id, m.area_name, m.block_id, p.geometry_geojson]), chr(10)
                    order by m.level, m.area_id, m.block_id, p.geometry_geojson), ''))
                from members as m left join {BLOCK_GEOMETRY} as p on p.block_id = m.block_id""",
            parameters,
        ).fetchone()
        (spatial,) = con.execute(
            "select coalesce(max(extension_version), '') from duckdb_extensions() where extension_name = 'spatial'"
        ).fetchone()
        key = [inputs, statement, duckdb.__version__, spatial, sorted(parameters["levels"])]
        return self.folder / MEMO_FOLDER / f"{hashlib.sha256(json.dumps(key).encode()).hexdigest()}.parquet"

    def load(self, con, path: Path) -> bool:
        """`unit_geometry` from the entry `path`, if there is one (and it reads)."""
        if not path.is_file():
            return False
        try:
            con.execute(
                "create or replace temp table unit_geometry as select level, area_id, area_name, "
                f"ST_GeomFromWKB(wkb) as geom from read_parquet({lit(str(path))}) order by level, area_id"
            )
        except duckdb.Error:  # unreadable (a disk fault, a hand-edited file): computed again, and replaced
            return False
        self.hit = True
        self._pending = (path, None)  # used: kept when the folder is pruned
        return True

    def hold(self, con, path: Path) -> None:
        """The computed `unit_geometry`, to be kept as `path` once the release is published."""
        self._pending = (
            path,
            con.execute(
                "select level, area_id, area_name, ST_AsWKB(geom) as wkb from unit_geometry order by level, area_id"
            ).to_arrow_table(),
        )

    def keep(self) -> None:
        """Write the held entry, or mark a used one as recently used; keep the `MEMO_KEEP` most
        recent (store.keep_memo_entry)."""
        if self._pending is None:
            return
        path, table = self._pending
        self._pending = None

        def write(aside: Path) -> None:
            import pyarrow.parquet as pq

            pq.write_table(table, aside)

        keep_memo_entry(path, None if table is None else write, MEMO_KEEP)


def unit_geometries(
    con, stichtag: date, levels: list[str], gap_closing_m: float | None = None, memo: GeometryMemo | None = None
) -> float:
    """The temporary table `unit_geometry` (level, area_id, area_name, geom): every public unit on the
    Gebietsstand of the Stichtag, its Baublöcke dissolved into a clean area (closed over the streets
    between them, see `gap_closing_distance`), snapped to a 1 m grid, made valid, in the source CRS.
    Returns the closing distance.

    A unit whose Baublöcke lie apart (none touches or overlaps another Baublock) is closed from its
    blocks buffered out one by one: the buffer of a union of separate polygons is the union of their
    buffers (GEOS buffers a MultiPolygon part by part and unions the parts), so the unit's buffered
    blocks are unioned and buffered back in. The blocks are then buffered once for every level, not
    once per level within each unit's MultiPolygon, and the union merges a few thousand overlapping
    polygons: at Berlin size (39,060 Baublöcke, five levels) 5.6 s instead of 22.2 s, the areas
    within the 1 m grid of the old ones. A unit with a Baublock that touches another is closed as a
    whole (its blocks unioned first, then buffered out and back in), as mitred buffers of touching
    blocks would keep the spikes of their inner corners (three triangles meeting in a corner even
    came out empty). A unit whose closed polygon came out empty or smaller than its blocks (before
    the grid) is published as the plain union of its blocks instead, and logged. The dissolving
    runs on one thread for a fixed order and gives the same polygons for every Stichtag of a
    Gebietsstand: with a `memo`, an earlier release's polygons are read where all their inputs are
    the same (`GeometryMemo`)."""
    distance = gap_closing_distance(con, gap_closing_m)
    buffer = "'CAP_ROUND', 'JOIN_MITRE', 5.0"  # num_triangles, cap style, join style, mitre limit
    cell = 250.0  # metres: the grid that finds Baublöcke whose bounding boxes meet
    members = f"""members as (
                select m.level, m.area_id, m.area_name, m.block_id from {UNIT_BLOCKS} as m
                where m.level in (select unnest($levels::varchar[]))
                    and m.gebietsstand = (select max(gebietsstand) from {UNIT_BLOCKS} where gebietsstand <= $day)
            )"""
    snapped = f"ST_CollectionExtract(ST_MakeValid(ST_ReducePrecision({{}}, {GRID_M})), 3)"
    statement = f"""create or replace temp table unit_geometry as
            with {members},
            names as (
                select distinct level, area_id, area_name from members
            ),
            shapes as materialized (
                select p.block_id, ST_GeomFromGeoJSON(p.geometry_geojson) as geom,
                    ST_XMin(geom) as x0, ST_YMin(geom) as y0, ST_XMax(geom) as x1, ST_YMax(geom) as y1
                from {BLOCK_GEOMETRY} as p where p.block_id in (select block_id from members)
            ),
            cells as ({_grid_cells("shapes", "block_id", cell)}),
            touching as materialized (
                select distinct p.a as block_id
                from (
                    select distinct a.block_id as a, b.block_id as b
                    from cells as a inner join cells as b on b.cx = a.cx and b.cy = a.cy and b.block_id <> a.block_id
                ) as p
                inner join shapes as ga on ga.block_id = p.a
                inner join shapes as gb on gb.block_id = p.b
                where ga.x0 <= gb.x1 and gb.x0 <= ga.x1 and ga.y0 <= gb.y1 and gb.y0 <= ga.y1
                    and ST_Intersects(ga.geom, gb.geom)
            ),
            whole as materialized (
                select distinct m.level, m.area_id from members as m
                where m.block_id in (select block_id from touching)
            ),
            dilated as materialized (
                select s.block_id, ST_Buffer(s.geom, {distance}, 8, {buffer}) as geom
                from shapes as s where s.block_id not in (select block_id from touching)
            ),
            closed as materialized (
                select m.level, m.area_id,
                    ST_Buffer(ST_Union_Agg(d.geom order by m.block_id), -{distance}, 8, {buffer}) as geom
                from members as m inner join dilated as d on d.block_id = m.block_id
                where not exists (select 1 from whole as w where w.level = m.level and w.area_id = m.area_id)
                group by m.level, m.area_id
                union all
                select m.level, m.area_id,
                    ST_Buffer(ST_Buffer(ST_Union_Agg(s.geom order by m.block_id), {distance}, 8, {buffer}),
                        -{distance}, 8, {buffer}) as geom
                from members as m inner join shapes as s on s.block_id = m.block_id
                where exists (select 1 from whole as w where w.level = m.level and w.area_id = m.area_id)
                group by m.level, m.area_id
            ),
            final as materialized (
                select c.level, c.area_id, {snapped.format("c.geom")} as geom from closed as c
            ),
            blocks_area as (
                select m.level, m.area_id, sum(ST_Area(s.geom)) as area
                from members as m inner join shapes as s on s.block_id = m.block_id
                group by m.level, m.area_id
            ),
            collapsed as materialized (
                select c.level, c.area_id from closed as c inner join blocks_area as b using (level, area_id)
                where ST_IsEmpty(c.geom) or ST_Area(c.geom) < {1 - COLLAPSE_SLACK} * b.area
            ),
            plain as (
                select m.level, m.area_id, {snapped.format("ST_Union_Agg(s.geom order by m.block_id)")} as geom
                from members as m inner join shapes as s on s.block_id = m.block_id
                where exists (select 1 from collapsed as c where c.level = m.level and c.area_id = m.area_id)
                group by m.level, m.area_id
            ),
            chosen as (
                select f.level, f.area_id, f.geom, false as plain from final as f
                where not exists (select 1 from collapsed as c where c.level = f.level and c.area_id = f.area_id)
                union all
                select level, area_id, geom, true as plain from plain
            )
            select c.level, c.area_id, n.area_name, c.geom, c.plain
            from chosen as c left join names as n using (level, area_id)
            order by c.level, c.area_id"""
    parameters = {"levels": levels, "day": stichtag}

    def compute() -> None:
        con.execute(statement, parameters)
        plain = con.execute("select level, area_id from unit_geometry where plain order by all").fetchall()
        if plain:
            LOG.warning(
                "%d unit polygon(s) collapsed when closed over the streets (%s) and are published as the "
                "union of their Baublöcke; a smaller var geometry_gap_closing_m (now %s m) may close them",
                len(plain), ", ".join(f"{level} {area_id}" for level, area_id in plain[:10]), distance,
            )  # fmt: skip
        con.execute("alter table unit_geometry drop column plain")

    if memo is None:
        compute()
        return distance
    entry = memo.path(con, members, statement, parameters)
    if not memo.load(con, entry):
        compute()
        memo.hold(con, entry)
    return distance


def _has_table(con, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'main' and table_name = ?",
            [name],
        ).fetchone()[0]
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _index_columns(con, table: str, level: str, stichtag: date) -> tuple[str, list[str]]:
    """(SQL of a relation keyed by area_id, its column names) for the index classes of `table` at
    `level` on its newest Stichtag up to the release's; ('', []) where the level is not indexed."""
    if not _has_table(con, table):
        return "", []
    ids = [
        r[0]
        for r in con.execute(
            f"select distinct index_id from main.{table} where level = ? and stichtag <= ? order by 1",
            [level, stichtag],
        ).fetchall()
    ]
    if not ids:
        return "", []
    names, selects = [], []
    for index_id in ids:
        prefix = f"{index_id}_" if len(ids) > 1 else ""
        for column in INDEX_COLUMNS[table]:
            source = column
            if table == "index_composite":  # plain types: GDAL takes no DECIMAL wider than 19 digits
                source = {"gesamt_value": "value::double", "gesamt_rank": "rank::bigint"}[column]
            name = prefix + column
            names.append(name)
            selects.append(f"max(case when index_id = {sql_string(index_id)} then {source} end) as {_quote(name)}")
    component = "and component = 'gesamt'" if table == "index_composite" else ""
    sql = f"""select area_id, {", ".join(selects)}
              from main.{table} as t
              where level = '{level}' {component}
                and stichtag = (select max(stichtag) from main.{table} where level = '{level}'
                                and stichtag <= date '{stichtag.isoformat()}')
              group by area_id"""
    return sql, names


def unit_attributes(con, stichtag: date, level: str) -> list[str]:
    """The temporary table `unit_attribute_<level>`: one row per unit of `unit_geometry` at `level`
    with the attributes described in the module doc, in their published order. Returns the names of
    the value and sign columns."""
    day = con.execute(
        "select max(stichtag) from main.indicator_values where level = ? and stichtag <= ?", [level, stichtag]
    ).fetchone()[0]
    ids = [
        r[0]
        for r in con.execute(
            "select distinct indicator_id from main.indicator_values where level = ? and stichtag = ? order by 1",
            [level, day],
        ).fetchall()
    ]
    sign = f"""case when suppression_reason = 'disclosure' then '{SIGNS["disclosure"]}'
                    when suppression_reason = 'small_population' then '{SIGNS["small_population"]}'
                    when list_contains(string_split(flags, ','), 'denominator_zero') then '{SIGNS["denominator_zero"]}'
                    else '{SIGNS["missing"]}' end"""
    pivot, columns = [], []
    for i in ids:
        literal = sql_string(i)
        pivot.append(f"max(case when indicator_id = {literal} then value end) as {_quote(i)}")
        pivot.append(
            f"max(case when indicator_id = {literal} and value is null then {sign} end) as {_quote(i + '_zeichen')}"
        )
        # a unit without a row for the indicator has no value either: '.'
        columns.append(f"v.{_quote(i)}")
        columns.append(
            f"case when v.{_quote(i)} is null then coalesce(v.{_quote(i + '_zeichen')}, '{SIGNS['missing']}') end "
            f"as {_quote(i + '_zeichen')}"
        )
    joins, extra = [], []
    for n, table in enumerate(INDEX_COLUMNS):
        sql, names = _index_columns(con, table, level, stichtag)
        if sql:
            joins.append(f"left join ({sql}) as x{n} using (area_id)")
            extra += [f"x{n}.{_quote(name)}" for name in names]
    values = (
        f"""select area_id, {", ".join(pivot)} from main.indicator_values
            where level = $level and stichtag = $day group by area_id"""
        if ids
        else "select area_id from unit_geometry where false"
    )
    con.execute(
        f"""create or replace temp table {_quote("unit_attribute_" + level)} as
            select g.level, g.area_id, g.area_name, $day::date as stichtag
                {"".join(", " + c for c in columns + extra)}
            from unit_geometry as g
            left join ({values}) as v using (area_id)
            {" ".join(joins)}
            where g.level = $level
            order by g.area_id""",
        {"level": level, "day": day or stichtag},
    )
    return [c for i in ids for c in (i, i + "_zeichen")]


def _write_geojson(con, level: str, crs: str, path: Path) -> int:
    rows = con.execute(
        f"""select '{{"type":"Feature","properties":' || to_json(a)::varchar || ',"geometry":'
                || ST_AsGeoJSON(ST_CollectionExtract(ST_MakeValid(ST_ReducePrecision(
                    ST_Transform(g.geom, '{crs}', 'EPSG:4326', always_xy := true), 0.000001)), 3)) || '}}'
            from {_quote("unit_attribute_" + level)} as a
            inner join unit_geometry as g on g.level = a.level and g.area_id = a.area_id
            order by a.area_id"""
    ).fetchall()
    path.write_text(
        '{"type":"FeatureCollection","features":[\n' + ",\n".join(r[0] for r in rows) + "\n]}\n", encoding="utf-8"
    )
    return len(rows)


def _merge_layers(parts: list[Path], target: Path, last_change: str) -> None:
    """One GeoPackage from single-layer GeoPackages written by GDAL: the first is the base, the
    others' layer tables, R-tree indexes and metadata rows are copied into it; then every time stamp
    is set to `last_change` and the file is rebuilt (VACUUM) so that its bytes depend on its content only."""
    shutil.copyfile(parts[0], target)
    db = sqlite3.connect(target)
    try:
        for part in parts[1:]:
            db.execute("attach database ? as src", [str(part)])
            layer = db.execute("select table_name from src.gpkg_contents").fetchone()[0]
            objects = db.execute(
                "select type, name, sql from src.sqlite_master where tbl_name = ? or name like ? order by rowid",
                [layer, f"rtree_{layer}_%"],
            ).fetchall()
            shadow = ("_rowid", "_node", "_parent")  # made by `create virtual table ... using rtree`
            tables = [(n, s) for t, n, s in objects if t == "table" and s and not n.endswith(shadow)]
            for name, sql in tables:
                db.execute(sql)
                db.execute(f"insert into main.{_quote(name)} select * from src.{_quote(name)}")
            for table in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents"):
                db.execute(f"insert into main.{table} select * from src.{table} where table_name = ?", [layer])
            db.execute("insert into main.sqlite_sequence select * from src.sqlite_sequence where name = ?", [layer])
            # the triggers last: they call GDAL's SQL functions, which this connection does not have
            for kind, _name, sql in objects:
                if kind in ("index", "trigger") and sql:
                    db.execute(sql)
            db.commit()
            db.execute("detach database src")
        db.execute("update gpkg_contents set last_change = ?", [last_change])
        db.commit()
        db.execute("vacuum")
    finally:
        db.close()


def _write_geopackage(con, levels: list[str], crs: str, stichtag: date, path: Path) -> dict[str, int]:
    work = path.parent / ".gpkg-layers"
    work.mkdir()
    try:
        parts, features = [], {}
        for level in levels:
            table = _quote("unit_attribute_" + level)
            kinds = {
                r[0]
                for r in con.execute(
                    "select distinct ST_GeometryType(geom)::varchar from unit_geometry where level = ?", [level]
                ).fetchall()
            }
            multi = kinds != {"POLYGON"}  # a unit of several parts: the whole layer is MultiPolygon
            geom = "ST_Multi(g.geom)" if multi else "g.geom"
            part = work / f"{level}.gpkg"
            con.execute(
                f"""copy (select a.*, {geom} as geom from {table} as a
                          inner join unit_geometry as g on g.level = a.level and g.area_id = a.area_id
                          order by a.area_id)
                    to {sql_string(part)} (format gdal, driver 'GPKG', layer_name '{level}', srs '{crs}',
                                 geometry_type '{"MULTIPOLYGON" if multi else "POLYGON"}')"""
            )
            parts.append(part)
            features[level] = con.execute(f"select count(*) from {table}").fetchone()[0]
        _merge_layers(parts, path, f"{stichtag.isoformat()}T00:00:00.000Z")
    finally:
        shutil.rmtree(work)
    return features


def write_gis(
    con, stichtag: date, levels: list[str], crs: str, out_dir: Path, gap_closing_m: float | None = None,
    memo: GeometryMemo | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """Write geo/<level>.geojson (WGS84) and geo/sozialmonitor.gpkg (source CRS, a layer per level).
    `con` is the release DuckDB with the warehouse attached as `wh` and the public tables in `main`;
    `memo`: the unit geometries of earlier releases (`GeometryMemo`).
    Returns (the GeoJSON files per level, the GeoPackage) for the manifest."""
    con.execute(f"load '{extension_path('spatial')}'")
    con.execute("set threads = 1")  # a fixed union order: the same inputs give the same bytes
    try:
        distance = unit_geometries(con, stichtag, levels, gap_closing_m, memo)
        geo_dir = out_dir / "geo"
        geo_dir.mkdir()
        geojson = {}
        for level in levels:
            unit_attributes(con, stichtag, level)
            path = geo_dir / f"{level}.geojson"
            geojson[level] = {
                "path": path.relative_to(out_dir).as_posix(),
                "features": _write_geojson(con, level, crs, path),
                "sha256": sha256_file(path),
                "gap_closing_m": distance,
            }
        gpkg = geo_dir / GEOPACKAGE
        layers = _write_geopackage(con, levels, crs, stichtag, gpkg)
        geopackage = {
            "path": gpkg.relative_to(out_dir).as_posix(),
            "crs": crs,
            "layers": layers,
            "sha256": sha256_file(gpkg),
            "gap_closing_m": distance,
        }
        for level in levels:
            con.execute(f"drop table if exists {_quote('unit_attribute_' + level)}")
        con.execute("drop table if exists unit_geometry")
    finally:
        con.execute("reset threads")
    return geojson, geopackage
