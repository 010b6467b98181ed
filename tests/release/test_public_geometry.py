"""The published unit polygons (geo/<level>.geojson): clean areas, never the Baublöcke they are made
of. Checked on the test city's release against the Baublock polygons of its warehouse."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from orchestration.release import find_release
from orchestration.warehouse import extension_path
from tests.helpers import settings_for

CRS = "EPSG:25832"
# a published part "is" a Baublock when it differs from one by less than this area (m²) after the
# round trip to WGS84 and back; a Baublock of the test city covers 7,000–20,000 m²
NEAR_BLOCK_M2 = 50.0
# neighbouring units may touch along a sliver at most
MAX_OVERLAP_M2 = 1.0


@pytest.fixture(scope="module")
def geo(released_city):
    """An in-memory DuckDB with the release's unit polygons (`units`, back in EPSG:25832), their parts,
    the warehouse's Baublöcke (`blocks`) and their memberships at the Stichtag (`members`)."""
    settings = settings_for(released_city)
    release = find_release(settings.releases_dir, "latest")
    manifest = release.manifest()
    stichtag = date.fromisoformat(manifest["stichtag"])
    con = duckdb.connect()
    con.execute(f"load '{extension_path('spatial')}'")
    con.execute(f"attach '{settings.warehouse_path}' as wh (read_only)")
    con.execute("create table units (level varchar, area_id varchar, geometry_type varchar, geom geometry)")
    for level in manifest["geo"]:
        data = json.loads((release.path / "geo" / f"{level}.geojson").read_text(encoding="utf-8"))
        for feature in data["features"]:
            # the unit and its values (tests/release/test_gis.py checks the values)
            assert {"level", "area_id", "area_name", "stichtag"} <= set(feature["properties"])
            con.execute(
                f"""insert into units select $level, $area_id, $type,
                    ST_Transform(ST_GeomFromGeoJSON($geometry), 'EPSG:4326', '{CRS}', always_xy := true)""",
                {
                    "level": level,
                    "area_id": feature["properties"]["area_id"],
                    "type": feature["geometry"]["type"],
                    "geometry": json.dumps(feature["geometry"]),
                },
            )
    con.execute("create table parts as select level, area_id, unnest(ST_Dump(geom)).geom as geom from units")
    # every ring of every part as a polygon of its own (a hole must not be a Baublock either)
    con.execute(
        """create table rings as
           select level, area_id, ST_MakePolygon(unnest(ST_Dump(ST_Boundary(geom))).geom) as geom from parts"""
    )
    con.execute(
        "create table blocks as select block_code, ST_GeomFromGeoJSON(geometry_geojson) as geom "
        "from wh.raw.geo_block_polygons"
    )
    # the memberships at the Stichtag from the delivered periods (not from the model the export reads)
    con.execute(
        """create table members as select m.level, m.area_id, m.block_id from wh.marts.dim_block_membership as m
            where m.level in (select distinct level from units)
                and m.valid_from <= $day and (m.valid_to is null or m.valid_to >= $day)""",
        {"day": stichtag},
    )
    yield con, manifest
    con.close()


def _area_of_sym_difference(a: str, b: str) -> str:
    return f"ST_Area({a}) + ST_Area({b}) - 2 * ST_Area(ST_Intersection({a}, {b}))"


def test_every_public_geometry_is_valid_and_a_unit_is_one_polygon(geo):
    con, manifest = geo
    rows = con.execute(
        """select level, count(*), bool_and(ST_IsValid(geom)), bool_and(not ST_IsEmpty(geom)),
               min(ST_NumGeometries(geom)), max(ST_NumGeometries(geom)), list(distinct geometry_type)
           from units group by level order by level"""
    ).fetchall()
    assert {r[0] for r in rows} == set(manifest["geo"])
    for level, units, valid, non_empty, fewest, most, types in rows:
        assert units == manifest["geo"][level]["features"]
        assert valid and non_empty, level
        assert set(types) <= {"Polygon", "MultiPolygon"}, (level, types)
        # the test city's units are contiguous: each is one Polygon (was: one part per Baublock)
        assert (fewest, most) == (1, 1), (level, fewest, most)
        assert types == ["Polygon"], (level, types)
    # the closing distance is recorded with the files
    distances = {g["gap_closing_m"] for g in manifest["geo"].values()}
    assert len(distances) == 1 and 5 <= distances.pop() <= 30


def test_no_published_polygon_is_a_baublock(geo):
    con, _ = geo
    near = con.execute(
        f"""select r.level, r.area_id, b.block_code, {_area_of_sym_difference("r.geom", "b.geom")} as difference
            from rings as r inner join blocks as b on ST_Intersects(r.geom, b.geom)
            where {_area_of_sym_difference("r.geom", "b.geom")} < {NEAR_BLOCK_M2}"""
    ).fetchall()
    assert near == []
    # no part is as small as a single Baublock (the smallest unit holds at least two)
    smallest = con.execute("select min(ST_Area(geom)) from parts").fetchone()[0]
    largest_block = con.execute("select max(ST_Area(geom)) from blocks").fetchone()[0]
    assert smallest > largest_block

    # the check would catch the defect: a unit dissolved without closing is its Baublöcke
    union = con.execute(
        f"""with unit as (
                select ST_Union_Agg(b.geom) as geom
                from members as m inner join blocks as b on b.block_code = m.block_id
                where m.level = 'stadtteil' and m.area_id = (select min(area_id) from members where level = 'stadtteil')
            ),
            parts as (select unnest(ST_Dump(geom)).geom as geom from unit)
            select count(*), count(*) filter (where exists (
                select 1 from blocks as b where ST_Intersects(p.geom, b.geom)
                and {_area_of_sym_difference("p.geom", "b.geom")} < {NEAR_BLOCK_M2}))
            from parts as p"""
    ).fetchone()
    assert union[0] > 1 and union[1] == union[0]


def test_every_baublock_lies_in_its_unit(geo):
    con, _ = geo
    rows = con.execute(
        """select m.level, count(*) as blocks,
               count(*) filter (where u.geom is not null and ST_Contains(u.geom, ST_PointOnSurface(b.geom))) as inside
           from members as m
           inner join blocks as b on b.block_code = m.block_id
           left join units as u on u.level = m.level and u.area_id = m.area_id
           group by m.level order by m.level"""
    ).fetchall()
    assert rows
    for level, blocks, inside in rows:
        assert blocks == inside, (level, blocks - inside)
    # and no Baublock's point lies in a unit it does not belong to
    stray = con.execute(
        """select m.level, m.block_id, u.area_id from members as m
           inner join blocks as b on b.block_code = m.block_id
           inner join units as u on u.level = m.level and u.area_id <> m.area_id
               and ST_Contains(u.geom, ST_PointOnSurface(b.geom))"""
    ).fetchall()
    assert stray == []


def test_neighbouring_units_do_not_overlap(geo):
    con, _ = geo
    overlaps = con.execute(
        """select a.level, a.area_id, b.area_id, ST_Area(ST_Intersection(a.geom, b.geom)) as overlap
           from units as a inner join units as b
               on a.level = b.level and a.area_id < b.area_id and ST_Intersects(a.geom, b.geom)
           order by overlap desc"""
    ).fetchall()
    assert all(o <= MAX_OVERLAP_M2 for *_, o in overlaps), overlaps[:5]
    # the units lie in the city: nothing of a unit outside the Gemeinde's polygon is thicker than a
    # sliver of 2 m (the outline is snapped to a 1 m grid and closed per unit)
    outside = con.execute(
        """select u.level, u.area_id, ST_Area(ST_Difference(u.geom, g.geom)) as outside
           from units as u cross join (select geom from units where level = 'gemeinde') as g
           where u.level <> 'gemeinde' and not ST_IsEmpty(ST_Buffer(ST_Difference(u.geom, g.geom), -1.0))"""
    ).fetchall()
    assert outside == []
