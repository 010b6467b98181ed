"""The GIS files of the test city's release: geo/sozialmonitor.gpkg (a layer per public level, source
CRS) and geo/<level>.geojson (WGS84), both with the values of the newest Stichtag. Read back as a GIS
user would: the GeoPackage through GDAL (DuckDB spatial, ST_Read), the GeoJSON as JSON."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.release import find_release
from orchestration.release.gis import GEOPACKAGE, MEMO_FOLDER, SIGNS, GeometryMemo, unit_geometries, write_gis
from orchestration.warehouse import extension_path

CRS_CODE = "25832"
WITHHELD_SIGNS = {SIGNS["disclosure"], SIGNS["small_population"]}


@pytest.fixture(scope="module")
def release(built_city):
    release = find_release(built_city.releases_dir, "latest")
    return release, release.manifest()


@pytest.fixture(scope="module")
def gis(release):
    """An in-memory DuckDB with the release's public tables (`rel`) and every GeoPackage layer as a
    table `gpkg_<level>` (attributes, geometry as `geom`)."""
    rel, manifest = release
    con = duckdb.connect()
    con.execute(f"load '{extension_path('spatial')}'")
    con.execute(f"attach '{rel.path / 'sozialmonitor.duckdb'}' as rel (read_only)")
    path = rel.path / "geo" / GEOPACKAGE
    for level in manifest["geo"]:
        con.execute(f"create table gpkg_{level} as select * from ST_Read('{path}', layer = '{level}')")
    yield con, manifest, path
    con.close()


def _layer_frame(con, level: str):
    return con.execute(f"select * exclude (geom) from gpkg_{level} order by area_id").df()


def test_geopackage_has_a_layer_per_public_level_in_the_source_crs(gis, built_city):
    con, manifest, path = gis
    meta = con.execute(f"select layers from ST_Read_Meta('{path}')").fetchone()[0]
    layers = {layer["name"]: layer for layer in meta}
    public_levels = set(manifest["rules"]["dbt_vars"]["public_levels"])
    assert set(layers) == public_levels == set(manifest["geo"])
    assert manifest["geopackage"]["path"] == f"geo/{GEOPACKAGE}"
    assert manifest["geopackage"]["crs"] == f"EPSG:{CRS_CODE}"
    for name, layer in layers.items():
        (field,) = layer["geometry_fields"]
        assert field["crs"]["auth_name"] == "EPSG" and field["crs"]["auth_code"] == CRS_CODE, name
        assert field["type"] == "Polygon", name
        assert layer["feature_count"] == manifest["geopackage"]["layers"][name] == manifest["geo"][name]["features"]
    # a well-formed SQLite/GeoPackage file: application id 'GPKG', intact, every layer registered
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert db.execute("pragma application_id").fetchone()[0] == 0x47504B47
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        contents = dict(db.execute("select table_name, last_change from gpkg_contents").fetchall())
        assert set(contents) == public_levels
        # time stamps are the Stichtag, not the time of writing
        assert set(contents.values()) == {f"{manifest['stichtag']}T00:00:00.000Z"}
        counts = dict(db.execute("select table_name, feature_count from gpkg_ogr_contents").fetchall())
        assert counts == manifest["geopackage"]["layers"]
        for level in public_levels:  # the spatial index of every layer holds every feature
            assert db.execute(f'select count(*) from "rtree_{level}_geom"').fetchone()[0] == counts[level]
    finally:
        db.close()


def test_every_unit_is_one_valid_polygon_in_the_source_crs(gis, built_city):
    con, manifest, _ = gis
    for level in manifest["geo"]:
        units, polygons, valid, single, x_min = con.execute(
            f"""select count(*), count(*) filter (where ST_GeometryType(geom) = 'POLYGON'),
                   count(*) filter (where ST_IsValid(geom) and not ST_IsEmpty(geom)),
                   count(*) filter (where ST_NumGeometries(geom) = 1), min(ST_XMin(geom))
                from gpkg_{level}"""
        ).fetchone()
        assert units > 0 and units == polygons == valid == single, level
        assert x_min > 100_000  # metres of UTM, not degrees
        # the same areas as the GeoJSON, which is the same geometry reprojected to WGS84
        areas = con.execute(f"select area_id, ST_Area(geom) from gpkg_{level}").fetchall()
        release_dir = find_release(built_city.releases_dir, "latest").path
        data = json.loads((release_dir / "geo" / f"{level}.geojson").read_text(encoding="utf-8"))
        geojson = dict(
            con.execute(
                """select $id, ST_Area(ST_Transform(ST_GeomFromGeoJSON($g), 'EPSG:4326', 'EPSG:25832',
                       always_xy := true))""",
                {"id": f["properties"]["area_id"], "g": json.dumps(f["geometry"])},
            ).fetchone()
            for f in data["features"]
        )
        assert set(geojson) == {a for a, _ in areas}
        for area_id, area in areas:
            assert math.isclose(area, geojson[area_id], rel_tol=1e-3), (level, area_id)


def test_attributes_are_the_published_values_of_the_newest_stichtag(gis):
    con, manifest, _ = gis
    latest = con.execute("select max(stichtag) from rel.indicator_values").fetchone()[0]
    assert latest == date.fromisoformat(manifest["stichtag"])
    withheld_seen = 0
    for level in manifest["geo"]:
        frame = _layer_frame(con, level)
        names = dict(con.execute("select area_id, area_name from rel.areas where level = ?", [level]).fetchall())
        assert set(frame["level"]) == {level}
        assert all(names[a] == n for a, n in zip(frame["area_id"], frame["area_name"], strict=True))
        assert {str(d)[:10] for d in frame["stichtag"]} == {latest.isoformat()}
        published = con.execute(
            "select indicator_id, area_id, value, suppression_reason, flags from rel.indicator_values "
            "where level = ? and stichtag = ?",
            [level, latest],
        ).fetchall()
        assert published
        indicators = {r[0] for r in published}
        value_columns = {c for c in frame.columns if f"{c}_zeichen" in frame.columns}
        assert value_columns == indicators
        by_area = frame.set_index("area_id")
        for indicator, area_id, value, reason, flags in published:
            got = by_area.at[area_id, indicator]
            sign = by_area.at[area_id, f"{indicator}_zeichen"]
            if value is None:
                # withheld: NULL (never 0) and the sign that says why
                assert pd.isna(got), (level, indicator, area_id, got)
                expected = {"disclosure": SIGNS["disclosure"], "small_population": SIGNS["small_population"]}.get(
                    reason, SIGNS["denominator_zero"] if "denominator_zero" in (flags or "") else SIGNS["missing"]
                )
                assert sign == expected, (level, indicator, area_id, sign)
                withheld_seen += reason is not None
            else:
                assert got == value, (level, indicator, area_id, got, value)
                assert pd.isna(sign), (level, indicator, area_id, sign)
    assert withheld_seen > 0  # the test city withholds values: the check above ran on some


def test_geojson_carries_the_same_attributes(gis, built_city):
    con, manifest, _ = gis
    release = find_release(built_city.releases_dir, "latest")
    for level in manifest["geo"]:
        frame = _layer_frame(con, level).drop(columns=["fid"], errors="ignore")
        data = json.loads((release.path / "geo" / f"{level}.geojson").read_text(encoding="utf-8"))
        features = {f["properties"]["area_id"]: f["properties"] for f in data["features"]}
        assert list(features) == sorted(features) == list(frame["area_id"])
        for row in frame.to_dict(orient="records"):
            props = features[row["area_id"]]
            assert list(props) == list(row), level  # same columns in the same order
            for key, got in props.items():
                want = row[key]
                if key == "stichtag":
                    assert got == str(want)[:10]
                elif want is None or (isinstance(want, float) and math.isnan(want)):
                    assert got is None, (level, row["area_id"], key)
                else:
                    assert got == want and type(got) is type(want), (level, row["area_id"], key, got, want)
            # values are JSON numbers, signs are text
            for key, got in props.items():
                if key.endswith("_zeichen") and got is not None:
                    assert got in SIGNS.values() and props[key.removesuffix("_zeichen")] is None


def _copy_release_tables(con, release_path: Path, only: tuple[str, ...] | None = None, detach: bool = True) -> None:
    """The release DuckDB's tables (all of them, or `only` these) into `con`'s main schema; the
    release stays attached as `rel` unless `detach`."""
    con.execute(f"attach '{release_path / 'sozialmonitor.duckdb'}' as rel (read_only)")
    tables = only or [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'rel' and schema_name = 'main'"
        ).fetchall()
    ]
    for table in tables:
        con.execute(f"create table main.{table} as select * from rel.main.{table}")
    if detach:
        con.execute("detach rel")


def _rebuild(
    release_path: Path, warehouse: Path, out: Path, levels: list[str], crs: str, gap: float | None,
    memo: GeometryMemo | None = None,
):  # fmt: skip
    out.mkdir(parents=True)
    con = duckdb.connect(str(out / "scratch.duckdb"))
    try:
        con.execute(f"attach '{warehouse}' as wh (read_only)")
        # the tables of the release as publish() had them (the index tables included: their classes
        # are joined onto the layers)
        _copy_release_tables(con, release_path)
        stichtag = con.execute("select max(stichtag) from main.indicator_values").fetchone()[0]
        return write_gis(con, stichtag, levels, crs, out, gap_closing_m=gap, memo=memo)
    finally:
        con.close()


def test_two_writes_are_byte_identical(release, built_city, tmp_path):
    rel, manifest = release
    levels = list(manifest["geo"])
    crs = manifest["geopackage"]["crs"]
    gap = manifest["geopackage"]["gap_closing_m"]
    first = _rebuild(rel.path, built_city.warehouse_path, tmp_path / "a" / "deeper", levels, crs, gap)
    time.sleep(1.1)  # GDAL's time stamps would differ
    second = _rebuild(rel.path, built_city.warehouse_path, tmp_path / "b", levels, crs, gap)
    a = (tmp_path / "a" / "deeper" / "geo" / GEOPACKAGE).read_bytes()
    b = (tmp_path / "b" / "geo" / GEOPACKAGE).read_bytes()
    assert a == b
    assert first[1]["sha256"] == second[1]["sha256"] == manifest["geopackage"]["sha256"]
    assert a == (rel.path / "geo" / GEOPACKAGE).read_bytes()  # the published file is this file
    for level in levels:
        assert first[0][level]["sha256"] == second[0][level]["sha256"] == manifest["geo"][level]["sha256"]
    # no work files are left behind
    assert sorted(p.name for p in (tmp_path / "b" / "geo").iterdir()) == sorted(
        [GEOPACKAGE] + [f"{level}.geojson" for level in levels]
    )


def test_an_earlier_releases_unit_geometries_are_reused_and_give_the_same_bytes(release, built_city, tmp_path):
    rel, manifest = release
    levels, crs = list(manifest["geo"]), manifest["geopackage"]["crs"]
    gap = manifest["geopackage"]["gap_closing_m"]
    files = lambda written: ({k: v["sha256"] for k, v in written[0].items()}, written[1]["sha256"])  # noqa: E731
    published = ({k: v["sha256"] for k, v in manifest["geo"].items()}, manifest["geopackage"]["sha256"])
    memo = GeometryMemo(tmp_path / "memo")
    computed = _rebuild(rel.path, built_city.warehouse_path, tmp_path / "a", levels, crs, gap, memo)
    assert not memo.hit and not (tmp_path / "memo").exists()  # held until its release is published
    memo.keep()
    [entry] = (tmp_path / "memo" / MEMO_FOLDER).iterdir()

    again = GeometryMemo(tmp_path / "memo")
    reused = _rebuild(rel.path, built_city.warehouse_path, tmp_path / "b", levels, crs, gap, again)
    assert again.hit
    assert files(reused) == files(computed) == published

    # another closing distance is another statement: computed, and kept beside
    wider = GeometryMemo(tmp_path / "memo")
    _rebuild(rel.path, built_city.warehouse_path, tmp_path / "c", levels, crs, gap + 2, wider)
    assert not wider.hit
    wider.keep()
    assert len(list((tmp_path / "memo" / MEMO_FOLDER).iterdir())) == 2

    # an entry that does not read is computed again, and replaced by a good one
    entry.write_bytes(b"PAR1 not really")
    broken = GeometryMemo(tmp_path / "memo")
    recomputed = _rebuild(rel.path, built_city.warehouse_path, tmp_path / "d", levels, crs, gap, broken)
    assert not broken.hit and files(recomputed) == published
    broken.keep()
    healed = GeometryMemo(tmp_path / "memo")
    assert files(_rebuild(rel.path, built_city.warehouse_path, tmp_path / "e", levels, crs, gap, healed)) == published
    assert healed.hit


def test_the_geometry_memo_is_keyed_by_every_member_and_baublock_polygon(tmp_path):
    con = duckdb.connect()
    con.execute(f"load '{extension_path('spatial')}'")
    con.execute("attach ':memory:' as wh")
    con.execute("create schema wh.marts")
    con.execute(
        "create table wh.marts.dim_public_unit_blocks as select * from (values "
        "('stadtteil', '01', 'Altstadt', 'B1', date '2019-12-31'), "
        "('stadtteil', '01', 'Altstadt', 'B2', date '2019-12-31')"
        ") as t (level, area_id, area_name, block_id, gebietsstand)"
    )

    def square(x: int) -> str:
        ring = [[x, 0], [x + 100, 0], [x + 100, 100], [x, 100], [x, 0]]
        return json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":"))

    con.execute(
        f"create table wh.marts.dim_block_geometry as select * from (values ('B1', '{square(0)}'), "
        f"('B2', '{square(110)}')) as t (block_id, geometry_geojson)"
    )
    day = date(2024, 12, 31)

    def entry() -> set[str]:
        memo = GeometryMemo(tmp_path)
        unit_geometries(con, day, ["stadtteil"], 10.0, memo)
        memo.keep()
        return {p.name for p in (tmp_path / MEMO_FOLDER).iterdir()}

    first = entry()
    (area,) = con.execute("select ST_Area(geom) from unit_geometry").fetchone()
    assert area == pytest.approx(210 * 100)  # the street between the two blocks is closed
    assert entry() == first  # the same inputs: the same entry
    con.execute(f"update wh.marts.dim_block_geometry set geometry_geojson = '{square(111)}' where block_id = 'B2'")
    moved = entry()
    assert len(moved) == 2  # a Baublock moved by a metre: another entry
    con.execute("update wh.marts.dim_public_unit_blocks set area_name = 'Altstadt-Nord'")
    assert len(entry()) == 3  # a unit renamed
    con.execute("update wh.marts.dim_public_unit_blocks set gebietsstand = date '2025-12-31' where block_id = 'B2'")
    assert len(entry()) == 4  # a Baublock no longer a member on the Stichtag's Gebietsstand
    (area,) = con.execute("select ST_Area(geom) from unit_geometry").fetchone()
    assert area == pytest.approx(100 * 100)
    con.close()


def blocks_warehouse(units: dict[str, list[list[list[float]]]]) -> duckdb.DuckDBPyConnection:
    """A release connection with `wh.marts` holding one Stadtteil per entry of `units`, made of the
    given Baublock rings (metres)."""
    con = duckdb.connect()
    con.execute(f"load '{extension_path('spatial')}'")
    con.execute("set threads = 1")
    con.execute("attach ':memory:' as wh")
    con.execute("create schema wh.marts")
    members, shapes = [], []
    for area_id, rings in units.items():
        for n, ring in enumerate(rings):
            block = f"{area_id}-{n}"
            members.append(f"('stadtteil', '{area_id}', 'Teil {area_id}', '{block}', date '2019-12-31')")
            polygon = json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":"))
            shapes.append(f"('{block}', '{polygon}')")
    con.execute(
        "create table wh.marts.dim_public_unit_blocks as select * from (values "
        + ", ".join(members)
        + ") as t (level, area_id, area_name, block_id, gebietsstand)"
    )
    con.execute(
        "create table wh.marts.dim_block_geometry as select * from (values "
        + ", ".join(shapes)
        + ") as t (block_id, geometry_geojson)"
    )
    return con


def closed_as_a_whole(con, area_id: str, gap: float) -> tuple[float, float]:
    """(area, symmetric difference to `unit_geometry`'s polygon) of the unit closed the plain way:
    its Baublöcke unioned, buffered out and back in, snapped and made valid."""
    b = f"{gap}, 8, 'CAP_ROUND', 'JOIN_MITRE', 5.0"
    return con.execute(
        f"""with whole as (
                select ST_CollectionExtract(ST_MakeValid(ST_ReducePrecision(ST_Buffer(ST_Buffer(ST_Union_Agg(
                    ST_GeomFromGeoJSON(p.geometry_geojson) order by m.block_id), {b}), -{b}), 1)), 3) as geom
                from wh.marts.dim_public_unit_blocks as m
                inner join wh.marts.dim_block_geometry as p using (block_id)
                where m.area_id = ?
            )
            select ST_Area(w.geom), ST_Area(ST_SymDifference(w.geom, u.geom))
            from whole as w, unit_geometry as u where u.area_id = ?""",
        [area_id, area_id],
    ).fetchone()


def square_ring(x: float, y: float, side: float) -> list[list[float]]:
    return [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]


def test_separate_baublocke_buffered_one_by_one_give_the_units_closing():
    """Baublöcke apart from each other: the union of their buffers, buffered back in, is the closing
    of their union (what the release computed before, at a quarter of the cost at Berlin size)."""
    grid = {
        "01": [square_ring(x, y, 80 + (x + y) % 17) for x in range(0, 500, 110) for y in range(0, 300, 105)],
        "02": [square_ring(x, y, 60) for x in range(700, 1000, 74) for y in range(0, 200, 71)],
    }
    con = blocks_warehouse(grid)
    unit_geometries(con, date(2024, 12, 31), ["stadtteil"], 13.0)
    for area_id in grid:
        area, differing = closed_as_a_whole(con, area_id, 13.0)
        assert differing <= 1e-6 * area, area_id
        (parts,) = con.execute(
            "select ST_NumGeometries(geom) from unit_geometry where area_id = ?", [area_id]
        ).fetchone()
        assert parts == 1, area_id  # the streets between its blocks closed
    con.close()


def test_touching_baublocke_are_closed_as_a_whole_and_a_collapse_is_published_as_the_blocks(caplog):
    """Baublöcke that touch (three triangles meeting in a corner) keep the spikes of their inner
    corners when each is buffered alone, and the closing of their union then came out empty: such a
    unit is closed as a whole. A unit whose closing is smaller than its blocks (a sliver 1 mm wide
    vanishes) is published as the union of its blocks, and named in the log."""
    fan = [
        [[0, 0], [72.85618256890763, 55.213065562790526], [77.25076373466904, 80.35885692444536], [0, 0]],
        [[0, 0], [73.43111496025489, 76.38552909536361], [51.566081831869155, 102.043505485911], [0, 0]],
        [[0, 0], [32.7860957616253, 64.88001461156863], [-50.257493307254705, 105.5687790762135], [0, 0]],
    ]
    sliver = [[[1000, 0], [1600, 0], [1600, 0.001], [1000, 0.001], [1000, 0]]]
    apart = [square_ring(2000, 0, 100), square_ring(2120, 0, 100)]
    con = blocks_warehouse({"fan": fan, "sliver": sliver, "apart": apart})
    unit_geometries(con, date(2024, 12, 31), ["stadtteil"], 13.0)
    areas = dict(con.execute("select area_id, ST_Area(geom) from unit_geometry").fetchall())
    assert set(areas) == {"fan", "sliver", "apart"}
    whole, differing = closed_as_a_whole(con, "fan", 13.0)
    assert differing == 0 and areas["fan"] == whole > 5900  # the blocks' own area: 5,932.8 m²
    assert areas["apart"] == pytest.approx(220 * 100)  # the street between them closed
    assert "1 unit polygon(s) collapsed" in caplog.text and "stadtteil sliver" in caplog.text
    assert "stadtteil fan" not in caplog.text
    assert set(con.execute("select column_name from (describe unit_geometry)").fetchall()) == {
        ("level",),
        ("area_id",),
        ("area_name",),
        ("geom",),
    }
    con.close()


def test_index_classes_are_joined_where_the_release_has_them(release, built_city, tmp_path):
    """The index tables (index_status_dynamics, index_composite) are joined onto the levels they
    cover; built here in the published schema from the test city's own areas."""
    rel, manifest = release
    out = tmp_path / "indexed"
    out.mkdir()
    con = duckdb.connect(str(out / "scratch.duckdb"))
    try:
        con.execute(f"attach '{built_city.warehouse_path}' as wh (read_only)")
        # the values and areas of the release; the index tables are made up below
        _copy_release_tables(con, rel.path, only=("indicator_values", "areas"), detach=False)
        stichtag = date.fromisoformat(manifest["stichtag"])
        # two Stichtage: only the newest may be joined
        con.execute(
            """create table main.index_status_dynamics as
               select 'sozialindex' as index_id, level, area_id, area_name, s.stichtag,
                   case when s.stichtag = $day then ['hoch', 'mittel', 'niedrig'][1 + row_number() over
                       (partition by level, s.stichtag order by area_id) % 3] else 'sehr niedrig' end as status_class,
                   'stabil' as dynamics_class,
                   case when s.stichtag = $day then 'mittel/stabil' end as index_group
               from (select level, area_id, min(area_name) as area_name from rel.main.areas
                     where level = 'stadtviertel' group by all),
                   (select unnest([$day, $day - interval 1 year])::date as stichtag) as s""",
            {"day": stichtag},
        )
        con.execute(
            """create table main.index_composite as
               select 'sozialindex' as index_id, level, area_id, area_name, $day as stichtag, c.component,
                   row_number() over (partition by c.component order by area_id desc) * 0.5 as value,
                   row_number() over (partition by c.component order by area_id) as rank
               from (select level, area_id, min(area_name) as area_name from rel.main.areas
                     where level = 'stadtteil' group by all),
                   (select unnest(['gesamt', 'bildung']) as component) as c""",
            {"day": stichtag},
        )
        levels = list(manifest["geo"])
        con.execute("detach rel")
        write_gis(con, stichtag, levels, manifest["geopackage"]["crs"], out)
        expected_status = dict(
            con.execute(
                "select area_id, status_class from main.index_status_dynamics where stichtag = ?", [stichtag]
            ).fetchall()
        )
        expected_rank = dict(
            con.execute("select area_id, rank from main.index_composite where component = 'gesamt'").fetchall()
        )
        con.execute(f"load '{extension_path('spatial')}'")
        path = out / "geo" / GEOPACKAGE
        columns = {
            level: {r[0] for r in con.execute(f"describe from ST_Read('{path}', layer = '{level}')").fetchall()}
            for level in levels
        }
        viertel = dict(
            con.execute(f"select area_id, status_class from ST_Read('{path}', layer = 'stadtviertel')").fetchall()
        )
        teil = dict(con.execute(f"select area_id, gesamt_rank from ST_Read('{path}', layer = 'stadtteil')").fetchall())
    finally:
        con.close()
    assert {"status_class", "dynamics_class", "index_group"} <= columns["stadtviertel"]
    assert {"gesamt_value", "gesamt_rank"} <= columns["stadtteil"]
    assert not {"status_class", "gesamt_rank"} & columns["gemeinde"]
    assert viertel and viertel == {a: expected_status[a] for a in viertel}
    assert "sehr niedrig" not in viertel.values()  # the older Stichtag's class
    assert teil and teil == {a: expected_rank[a] for a in teil}
    data = json.loads((out / "geo" / "stadtteil.geojson").read_text(encoding="utf-8"))
    assert {f["properties"]["area_id"]: f["properties"]["gesamt_rank"] for f in data["features"]} == teil
