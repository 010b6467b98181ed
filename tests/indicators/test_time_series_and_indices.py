"""Time series on today's boundaries (the demo city's recut Stadtviertel) and the index marts,
both checked against hand recomputations from the generator's microdata."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from .test_recompute_from_microdata import housing, ratio, residents_at

STICHTAGE = [date(y, 12, 31) for y in range(2019, 2025)]


def query(settings, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def current(built_city) -> pd.DataFrame:
    frame = query(built_city, "select * from marts.fct_indicator_values_current")
    frame["stichtag"] = pd.to_datetime(frame["stichtag"]).dt.date
    return frame


@pytest.fixture(scope="module")
def recut(city_truth):
    b = city_truth.blocks
    changed = b[b.stadtviertel_code_before != b.stadtviertel_code_after]
    assert not changed.empty
    new_codes = sorted(set(changed.stadtviertel_code_after))
    old_codes = sorted(set(changed.stadtviertel_code_before))
    return b, new_codes, old_codes


def test_recut_stadtviertel_has_a_continuous_series_on_todays_boundaries(current, recut, city_truth):
    blocks, new_codes, old_codes = recut
    viertel = current[current.level == "stadtviertel"]
    assert set(old_codes) - set(new_codes), "the recut must retire at least one code"
    # today's units only: the retired codes are gone, the new ones exist at every Stichtag
    assert not viertel.area_id.isin(set(old_codes) - set(new_codes)).any()
    for code in new_codes:
        series = viertel[(viertel.area_id == code) & (viertel.indicator_id == "residents")].set_index("stichtag")
        assert sorted(series.index) == STICHTAGE, code
        members = set(blocks.loc[blocks.stadtviertel_code_after == code, "block_code"])
        for day in STICHTAGE:
            # addresses re-aggregate exactly: the residents of today's Baublöcke of the Viertel
            assert series.loc[day, "value"] == len(residents_at(city_truth, members, day)), (code, day)
            assert "estimated" not in str(series.loc[day, "flags"])


def test_crosswalked_housing_is_estimated_before_the_recut_and_equals_the_hand_crosswalk(current, recut, city_truth):
    blocks, new_codes, _ = recut
    viertel = current[(current.level == "stadtviertel") & (current.indicator_id == "living_space_per_person")]
    estimated_somewhere = False
    for code in new_codes:
        members = set(blocks.loc[blocks.stadtviertel_code_after == code, "block_code"])
        for day in STICHTAGE:
            row = viertel[(viertel.area_id == code) & (viertel.stichtag == day)].iloc[0]
            expected = ratio(housing(city_truth, members, day, "living_space_m2"),
                             len(residents_at(city_truth, members, day)), 1.0)  # fmt: skip
            assert row["value"] == pytest.approx(expected, rel=1e-9), (code, day)
            flagged = "estimated" in str(row["flags"])
            if day >= date(2022, 12, 31):
                assert not flagged, (code, day)  # delivered on today's units: exact
            estimated_somewhere |= flagged
    assert estimated_somewhere, "a recut Viertel cuts an old one before 2022: its housing must be flagged"


def test_unchanged_areas_are_the_same_on_both_gebietsstaende(current, built_city, recut):
    _, new_codes, old_codes = recut
    historical = query(
        built_city, "select indicator_id, level, area_id, stichtag, value from marts.fct_indicator_values"
    )  # noqa: E501
    historical["stichtag"] = pd.to_datetime(historical["stichtag"]).dt.date
    keys = ["indicator_id", "level", "area_id", "stichtag"]
    both = current[keys + ["value"]].merge(historical, on=keys, suffixes=("_current", "_then"))
    stable = both[~both.area_id.isin(set(new_codes) | set(old_codes)) & both.level.isin(["stadtteil", "gemeinde"])]
    assert len(stable) > 1000
    assert np.allclose(stable.value_current, stable.value_then, equal_nan=True, rtol=1e-12)


def test_status_dynamics_index_equals_a_hand_recomputation(built_city):
    marts = query(built_city, "select * from marts.fct_index_status_dynamics where level = 'stadtviertel'")
    values = query(
        built_city,
        "select area_id, stichtag, indicator_id, value from marts.fct_indicator_values_current "
        "where level = 'stadtviertel' and indicator_id in ('residents', 'unemployed_per_100', "
        "'long_term_unemployed_per_100', 'sgb2_quote', 'sozialgeld_quote')",
    ).pivot_table(index=["stichtag", "area_id"], columns="indicator_id", values="value")
    status = ["unemployed_per_100", "long_term_unemployed_per_100", "sgb2_quote", "sozialgeld_quote"]
    day, before = pd.Timestamp("2024-12-31"), pd.Timestamp("2022-12-31")
    now = values.xs(day, level="stichtag")
    then = values.xs(before, level="stichtag").reindex(now.index)
    indexed = now.residents >= 300

    def z(frame):
        frame = frame[indexed]
        scores = ((frame - frame.mean()) / frame.std(ddof=0)).sum(axis=1)
        return (scores - scores.mean()) / scores.std(ddof=0)

    status_z = z(now[status])
    dynamics_z = z(now[status] - then[status])
    got = marts[pd.to_datetime(marts.stichtag) == day].set_index("area_id")
    assert set(got.index) == set(now.index)
    assert not got.loc[now.index[~indexed], "indexed"].any()
    assert got.loc[now.index[indexed], "indexed"].all()
    assert got.loc[status_z.index, "status_z"].to_numpy() == pytest.approx(status_z.to_numpy(), abs=1e-6)
    assert got.loc[dynamics_z.index, "dynamics_z"].to_numpy() == pytest.approx(dynamics_z.to_numpy(), abs=1e-6)
    expected_status = np.select([status_z < -1, status_z <= 1, status_z <= 1.5], ["hoch", "mittel", "niedrig"],
                                "sehr niedrig")  # fmt: skip
    assert list(got.loc[status_z.index, "status_class"]) == list(expected_status)
    assert set(got.loc[status_z.index, "dynamics_class"]) <= {"positiv", "stabil", "negativ"}
    # the first two Stichtage have no Stichtag two years earlier: status only
    first = marts[pd.to_datetime(marts.stichtag) == pd.Timestamp("2019-12-31")]
    assert (first.dynamics_class == "").all() and (first.status_class[first.indexed] != "").all()


def test_child_index_and_its_uncertainty_are_consistent(built_city):
    index = query(built_city, "select * from marts.fct_index_composite where stichtag = '2024-12-31'")
    bands = query(built_city, "select * from marts.fct_index_rank_uncertainty where stichtag = '2024-12-31'")
    for level in ("stadtteil", "sozialraum"):
        overall = index[(index.level == level) & (index.component == "gesamt")].set_index("area_id")
        dims = index[(index.level == level) & (index.component != "gesamt")]
        assert set(dims.component) == {"wirtschaft", "integration", "gesundheit", "bildung", "wohnen"}
        ranked = overall[overall.indexed].sort_values("value", ascending=False)
        assert len(ranked) >= 5
        # rank 1 = highest need; ranks follow the index value
        assert list(ranked["rank"]) == sorted(ranked["rank"])
        assert ranked["rank"].iloc[0] == 1
        # arithmetic aggregation with equal dimension weights: the index is the mean of the dimensions
        wide = dims[dims.indexed].pivot_table(index="area_id", columns="component", values="value")
        assert wide.mean(axis=1).reindex(ranked.index).to_numpy() == pytest.approx(ranked.value.to_numpy(), abs=1e-5)
        band = bands[bands.level == level].set_index("area_id")
        assert set(band.index) == set(ranked.index)
        assert (band.rank_p05 <= band.median_rank).all() and (band.median_rank <= band.rank_p95).all()
        assert (band.draws == 1000).all()
        assert (band.nominal_rank == ranked["rank"].reindex(band.index)).all()
