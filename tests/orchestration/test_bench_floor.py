"""The benchmark's floor (orchestration/benchmark/floor.sql): the ten indicators of the catalogue
hand-written as one DuckDB statement over the raw tables, against which `make bench` times the
pipeline and whose values it checks against the marts (`compare_with_marts`). A floor that computes
something else makes the bench's ratio meaningless, and a comparison that misses a row hides it:
both are checked here on the test city, and on the Musterkreis in tests/kreis."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.benchmark.run_one import compare_with_marts, floor_sql

FLOOR_INDICATORS = 10
CITY_LEVELS = {"baublock", "stadtviertel", "stadtteil", "stadtbezirk", "gemeinde", "sozialraum"}


def floor_against_marts(warehouse) -> tuple[dict[str, int], dict[str, int]]:
    """The floor's rows per level and its comparison with the marts of `warehouse` (read only)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute(floor_sql(con))
        levels = dict(con.execute("select level, count(*) from floor_result group by level").fetchall())
        return levels, compare_with_marts(con)
    finally:
        con.close()


def test_the_floor_equals_the_marts_of_the_test_city(built_city):
    levels, result = floor_against_marts(built_city.warehouse_path)
    assert set(levels) == CITY_LEVELS
    assert result == {"values_compared": sum(levels.values()) * FLOOR_INDICATORS, "values_differing": 0}


@pytest.mark.parametrize(
    ("change", "differing"),
    [
        # one value off by a millionth: beyond the tolerance (1e-9, relative)
        ("update floor_result set share_foreign = share_foreign * (1 + 1e-6) where {row}", 1),
        # a value the floor does not know where the marts have one
        ("update floor_result set share_foreign = null where {row}", 1),
        # a unit the floor misses: each of its ten values is the marts' alone
        ("delete from floor_result where {row}", FLOOR_INDICATORS),
        # a unit the marts do not have
        ("insert into floor_result select level, 'XX' || area_id, stichtag, * exclude (level, area_id, stichtag) "
         "from floor_result where {row}", FLOOR_INDICATORS),
        # a unit the floor has twice, with the same values: each copy differs
        ("insert into floor_result select * from floor_result where {row}", 2 * FLOOR_INDICATORS),
    ],
)  # fmt: skip
def test_the_comparison_finds_a_value_or_a_row_that_differs(built_city, change, differing):
    con = duckdb.connect(str(built_city.warehouse_path), read_only=True)
    try:
        con.execute(floor_sql(con))
        level, area, stichtag = con.execute(
            "select level, area_id, stichtag from floor_result where level = 'stadtteil' and share_foreign > 0 "
            "order by area_id, stichtag limit 1"
        ).fetchone()
        row = f"level = '{level}' and area_id = '{area}' and stichtag = date '{stichtag}'"
        con.execute(change.format(row=row))
        assert compare_with_marts(con)["values_differing"] == differing
    finally:
        con.close()
