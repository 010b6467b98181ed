"""The harmonised series and the indices in the release: what they publish, that they pass the same
disclosure control as the Stichtag tables, that the indices are computed from published values
only, and that the audit refuses a release where either would give something away."""

from __future__ import annotations

import re
import shutil
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.indices.public import impute_withheld
from orchestration.release import find_release
from orchestration.release.build import make_writable
from orchestration.release.disclosure_audit import audit_release
from orchestration.warehouse import connect
from tests.helpers import read_parquet

KEY = ["indicator_id", "level", "area_id", "stichtag"]


def _release(settings):
    return find_release(settings.releases_dir, "latest").path


def _warehouse(settings, sql: str) -> pd.DataFrame:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def _changed_units(settings) -> pd.DataFrame:
    """Units of today's Gebietsstand that are cells of their own (a recut changed them)."""
    return _warehouse(
        settings,
        "select distinct stichtag, split_part(level, '@', 1) as level, area_id from "
        "disclosure.disclosure_area_atoms where level like '%@%'",
    )


def test_the_series_shows_every_stichtag_on_todays_boundaries(built_city):
    path = _release(built_city)
    series = read_parquet(path / "data" / "indicator_series.parquet")
    values = read_parquet(path / "data" / "indicator_values.parquet")
    areas = read_parquet(path / "data" / "areas.parquet")
    assert series["gebietsstand"].nunique() == 1
    gebietsstand = pd.Timestamp(series["gebietsstand"].iloc[0])

    # every unit of today's Gebietsstand at every Stichtag, for every indicator it is shown at
    end = pd.to_datetime(areas["valid_to"]).fillna(pd.Timestamp("9999-12-31"))
    today = areas[(pd.to_datetime(areas["valid_from"]) <= gebietsstand) & (end >= gebietsstand)]
    stadtviertel = set(today.loc[today["level"] == "stadtviertel", "area_id"])
    residents = series[(series["indicator_id"] == "residents") & (series["level"] == "stadtviertel")]
    assert residents.groupby("stichtag")["area_id"].apply(set).map(lambda s: s == stadtviertel).all()
    assert residents["stichtag"].nunique() == values["stichtag"].nunique() == 6

    # a recut happened: some units of today did not exist (or had other Baublöcke) before it
    changed = _changed_units(built_city)
    assert not changed.empty and (pd.to_datetime(changed["stichtag"]) < gebietsstand).all()

    # where a unit did not change, the series is exactly the Stichtag's table (same cell)
    both = series.merge(values, on=KEY, suffixes=("", "_v"))
    changed_keys = set(zip(changed["level"], changed["area_id"], pd.to_datetime(changed["stichtag"]), strict=True))
    same_cell = ~pd.Series(
        [
            (lv, a, pd.Timestamp(d)) in changed_keys
            for lv, a, d in zip(both["level"], both["area_id"], both["stichtag"], strict=True)
        ],
        index=both.index,
    )
    unchanged = both[same_cell]
    assert len(unchanged) > 0.9 * len(values)
    for column in ("numerator", "denominator", "is_suppressed"):
        a, b = unchanged[column], unchanged[f"{column}_v"]
        assert ((a == b) | (a.isna() & b.isna())).all(), column

    # a changed unit shows its true counts on today's boundaries where they are published
    internal = _warehouse(
        built_city,
        "select indicator_id, level, area_id, stichtag, numerator as true_numerator "
        "from marts.fct_indicator_values_current",
    )
    internal["stichtag"] = pd.to_datetime(internal["stichtag"])
    moved = series.merge(
        changed.assign(stichtag=pd.to_datetime(changed["stichtag"])), on=["level", "area_id", "stichtag"]
    )
    moved = moved.merge(internal, on=KEY)
    shown = moved[moved["numerator"].notna()]
    assert len(shown) > 0
    # counts exactly; a fractional sum (dwellings or living space spread over Baublöcke by residents)
    # is published as a whole number
    true = shown["true_numerator"].astype(float)
    gap = (shown["numerator"].astype(float) - true).abs()
    whole = true == true.round()
    assert whole.sum() > 0 and (gap[whole] == 0).all(), shown[whole & (gap > 0)][KEY + ["numerator", "true_numerator"]]
    assert (gap[~whole] <= 0.5).all()
    # ... and the Stichtag table never had these units at these Stichtage under the same id, or had them
    # with other Baublöcke: the series is new information, which is why its cells are audited
    assert moved["is_suppressed"].any() or len(shown) == len(moved)


def test_series_and_indices_pass_the_audit_of_the_release(built_city):
    manifest = find_release(built_city.releases_dir, "latest").manifest()
    audit = manifest["disclosure_audit"]
    assert audit["passed"] is True and audit["withheld_below_width"] == 0
    assert audit["indices_recomputed"]["index_status_dynamics"] > 0
    assert audit["indices_recomputed"]["index_composite"] > 0
    for table in ("indicator_series", "index_status_dynamics", "index_composite", "index_catalogue"):
        assert manifest["public_tables"][table]["rows"] > 0


def _writable_copy(tmp_path, built_city):
    target = tmp_path / "release"
    shutil.copytree(_release(built_city), target)
    make_writable(target)
    return target


def _rewrite(file, frame: pd.DataFrame) -> None:
    """A release's Parquet file replaced by `frame` (a tampered table)."""
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        con.execute(f"copy (select * from frame) to '{file}' (format parquet)")
    finally:
        con.close()


def _audit(built_city, release_dir, tmp_path):
    empty = tmp_path / "no-earlier-releases"
    empty.mkdir(exist_ok=True)
    return audit_release(release_dir, built_city.warehouse_path, empty, date(2024, 12, 31), protection_width=3)


def test_the_audit_refuses_a_series_that_shows_a_withheld_count(tmp_path, built_city):
    release = _writable_copy(tmp_path, built_city)
    assert _audit(built_city, release, tmp_path).passed  # the copy itself is fine

    file = release / "data" / "indicator_series.parquet"
    series = read_parquet(file)
    internal = _warehouse(
        built_city,
        "select indicator_id, level, area_id, stichtag, numerator as true_numerator "
        "from marts.fct_indicator_values_current",
    )
    held = series[series["is_suppressed"] & series["numerator"].isna()].merge(internal, on=KEY)
    changed = _changed_units(built_city).assign(stichtag=lambda f: pd.to_datetime(f["stichtag"]))
    own = held.merge(changed, on=["level", "area_id", "stichtag"])  # a cell only the series shows
    victim = (own if not own.empty else held).iloc[0]
    row = (series[KEY] == victim[KEY]).all(axis=1)
    series.loc[row, "numerator"] = victim["true_numerator"]
    series.loc[row, "is_suppressed"] = False
    _rewrite(file, series)

    report = _audit(built_city, release, tmp_path)
    assert not report.passed
    assert any("withheld by the pattern but published" in p for p in report.problems)


def test_the_audit_refuses_an_index_that_is_not_computed_from_published_values(tmp_path, built_city):
    release = _writable_copy(tmp_path, built_city)
    file = release / "data" / "index_status_dynamics.parquet"
    published = read_parquet(file)
    # the index as the internal mart computes it, from the true values (withheld ones included)
    internal = _warehouse(
        built_city,
        "select index_id, level, area_id, cast(stichtag as date) as stichtag, status_z as true_z "
        "from marts.fct_index_status_dynamics",
    )
    internal["stichtag"] = pd.to_datetime(internal["stichtag"])
    merged = published.merge(internal, on=["index_id", "level", "area_id", "stichtag"], how="left")
    assert merged["estimated_inputs"].notna().any()  # some inputs are withheld in the test city
    tampered = published.copy()
    tampered["status_z"] = merged["true_z"].to_numpy()
    _rewrite(file, tampered)

    report = _audit(built_city, release, tmp_path)
    assert not report.passed
    assert any(p.startswith("index_status_dynamics:") and "status_z" in p for p in report.problems)


def test_published_index_is_close_to_the_internal_one(built_city):
    """Estimating withheld inputs from published values keeps the published classes close to those
    of the true values (the internal mart): a figure, not a tautology: a careless rule (dropping
    the areas, or zeros) moves many classes."""
    path = _release(built_city)
    published = read_parquet(path / "data" / "index_status_dynamics.parquet")
    internal = _warehouse(
        built_city,
        "select index_id, level, area_id, cast(stichtag as date) as stichtag, status_class as true_class, "
        "indexed as true_indexed from marts.fct_index_status_dynamics",
    )
    internal["stichtag"] = pd.to_datetime(internal["stichtag"])
    both = published.merge(internal, on=["index_id", "level", "area_id", "stichtag"])
    both = both[both["indexed"] & both["true_indexed"]]
    assert len(both) > 0
    agreement = (both["status_class"] == both["true_class"]).mean()
    assert agreement >= 0.9, agreement
    # every indexed area has a status class; the group is status/dynamics where dynamics exist
    indexed = published[published["indexed"]]
    assert indexed["status_class"].isin(["hoch", "mittel", "niedrig", "sehr niedrig"]).all()
    with_dynamics = indexed[indexed["dynamics_class"].notna()]
    assert (with_dynamics["index_group"] == with_dynamics["status_class"] + "/" + with_dynamics["dynamics_class"]).all()
    assert indexed.loc[indexed["dynamics_class"].isna(), "index_group"].isna().all()

    composite = read_parquet(path / "data" / "index_composite.parquet")
    overall = composite[(composite["component"] == "gesamt") & composite["indexed"]]
    assert len(overall) > 0
    assert (overall["rank_p05"] <= overall["rank"]).all() or (overall["rank_p05"] <= overall["median_rank"]).all()
    assert (overall["rank_p05"] <= overall["rank_p95"]).all()
    assert set(composite["component"]) >= {"gesamt", "wirtschaft", "integration", "gesundheit", "bildung", "wohnen"}


def test_withheld_inputs_are_estimated_from_the_enclosing_published_unit():
    """The rule of orchestration/indices/public.py on a hand-made table: Stadtteil 01 has 10 cases
    in 1,000 residents; its Stadtviertel a (3 of 200) and b (4 of 300) are published, c and d are
    withheld (100 and 400 residents). The residual 3 cases go to c and d by residents: 0.6 and 2.4."""
    rows = []
    for area, level, cases, people in (
        ("01", "stadtteil", 10, 1000), ("a", "stadtviertel", 3, 200), ("b", "stadtviertel", 4, 300),
        ("c", "stadtviertel", None, 100), ("d", "stadtviertel", None, 400),
    ):  # fmt: skip
        day = pd.Timestamp("2024-12-31")
        rate = None if cases is None else cases * 100 / people
        rows.append(("quote", level, area, day, rate, cases, people, cases is None))
        rows.append(("residents", level, area, day, float(people), people, None, False))
    series = pd.DataFrame(
        rows,
        columns=["indicator_id", "level", "area_id", "stichtag", "value", "numerator", "denominator", "is_suppressed"],
    )
    series["estimate"] = series["is_suppressed"]
    catalogue = pd.DataFrame(
        {"indicator_id": ["quote", "residents"], "factor": [100.0, 1.0], "denominator_measure": ["persons", None]}
    )
    areas = pd.DataFrame(
        {
            "level": ["stadtteil", "stadtviertel", "stadtviertel", "stadtviertel", "stadtviertel"],
            "area_id": ["01", "a", "b", "c", "d"],
            "parent_level": [None, "stadtteil", "stadtteil", "stadtteil", "stadtteil"],
            "parent_id": [None, "01", "01", "01", "01"],
        }
    )
    out = impute_withheld(series, catalogue, areas, population="residents", top_level="stadtteil")
    quote = out[out["indicator_id"] == "quote"].set_index("area_id")["value"]
    assert quote["c"] == pytest.approx(0.6 * 100 / 100)
    assert quote["d"] == pytest.approx(2.4 * 100 / 400)
    assert quote["a"] == pytest.approx(1.5) and quote["01"] == pytest.approx(1.0)
    assert not np.isnan(quote).any()


def _readme_queries() -> list[tuple[str, str]]:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("## Questions the release answers", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"\*\*(.+?)\*\*.*?```sql\n(.*?)```", section, flags=re.S)


def test_the_readme_questions_are_answered_by_the_release_alone(built_city):
    queries = _readme_queries()
    assert len(queries) >= 3
    con = duckdb.connect(str(_release(built_city) / "sozialmonitor.duckdb"), read_only=True)
    try:
        for question, sql in queries:
            rows = con.execute(sql).fetchall()
            assert rows, question
    finally:
        con.close()
