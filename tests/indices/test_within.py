"""The status and dynamics index of a Kreis: over all its areas and within each Gemeinde (issue 18,
`also_within` in the Kennzahlenkatalog). Synthetic Städte as real frames shaped like the inputs of
the dbt models (fct_indicator_values_current, dim_block_membership, pub_indicator_series, pub_areas):
the Kreis-wide index is compute_mss on the union of the Städte's areas, the index within each Gemeinde
is compute_mss on that Gemeinde's areas alone, an area across a Gemeinde border keeps its row with a
reason, and a single Gemeinde gets no second index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from orchestration.catalogue import CatalogueError, default_path, load
from orchestration.indices.marts import status_dynamics
from orchestration.indices.mss import MssConfig, compute_mss
from orchestration.indices.public import index_catalogue_public, public_status_dynamics
from orchestration.indices.within import (
    crosses_reason,
    expand,
    expand_from_memberships,
    not_indexable_reason,
    unit_assignment,
    within_id,
)
from orchestration.settings import Settings, read_project_vars

STATUS = ["unemployed_per_100", "sgb2_quote", "sozialgeld_quote"]
POPULATION = "residents"
DAYS = [pd.Timestamp("2022-12-31"), pd.Timestamp("2024-12-31")]
TODAY = DAYS[-1]
INDEX = "soziale_stadtentwicklung"
WITHIN = within_id(INDEX, "gemeinde")
MSS = {"min_population": 300, "exclude": [], "status_bounds": [-1.0, 1.0, 1.5], "dynamics_bounds": [-1.0, 1.0]}


def index_catalogue(also_within: str | None = "gemeinde") -> pd.DataFrame:
    """The seed index_catalogue's one status/dynamics row, as catalogue/render.py writes it."""
    config = {**MSS, "population": POPULATION, "status": STATUS, "dynamics_years": 2}
    if also_within:
        config["also_within"] = also_within
    return pd.DataFrame(
        [
            {
                "index_id": INDEX,
                "kind": "status_dynamics",
                "name_de": "Index Soziale Stadtentwicklung",
                "description_de": "Verfahren des Berliner Monitorings.",
                "levels": "stadtviertel,sozialraum",
                "config": json.dumps(config, ensure_ascii=False, sort_keys=True),
            }
        ]
    )


class Kreis:
    """Städte of `sizes` Stadtviertel each (two Baublöcke per Viertel), Gemeinde codes G1, G2 …;
    Sozialräume of two Viertel each, the first one of the second Stadt across the border (its
    Viertel: the last of the first Stadt and the first of the second). Seeded values."""

    def __init__(self, sizes: list[int], seed: int = 7, small: tuple[str, ...] = ()):
        rng = np.random.default_rng(seed)
        rows = []
        viertel = []
        for g, size in enumerate(sizes, start=1):
            viertel += [(f"G{g}", f"SV{g}{k:02d}") for k in range(1, size + 1)]
        self.gemeinde_of = dict((v, g) for g, v in viertel)
        blocks = [(f"{v}B{b}", g, v) for g, v in viertel for b in (1, 2)]
        # Sozialräume: consecutive pairs of Viertel over the whole Kreis, west to east
        order = [v for _, v in viertel]
        self.sozialraum_of = {v: f"SR{i // 2 + 1:02d}" for i, v in enumerate(order)}
        firsts = [next(v for g2, v in viertel if g2 == g) for g in sorted(set(self.gemeinde_of.values()))]
        for first in firsts[1:]:  # move each Stadt's first Viertel into its western neighbour's last Sozialraum
            before = order[order.index(first) - 1]
            if self.sozialraum_of[before] != self.sozialraum_of[first]:
                self.sozialraum_of[first] = self.sozialraum_of[before]
        members = []
        for block, g, v in blocks:
            members += [
                {"block_id": block, "level": "stadtviertel", "area_id": v, "is_nested": True},
                {"block_id": block, "level": "gemeinde", "area_id": g, "is_nested": True},
                {"block_id": block, "level": "kreis", "area_id": "K", "is_nested": True},
                {"block_id": block, "level": "sozialraum", "area_id": self.sozialraum_of[v], "is_nested": False},
            ]
        self.memberships = pd.DataFrame(members).assign(valid_from=pd.Timestamp("2000-01-01"), valid_to=pd.NaT)
        levels = {"stadtviertel": list(self.gemeinde_of), "sozialraum": sorted(set(self.sozialraum_of.values()))}
        for level, areas in levels.items():
            for area in areas:
                base = rng.uniform(2, 20, len(STATUS))
                for day in DAYS:
                    residents = 150.0 if area in small else float(rng.integers(400, 5000))
                    values = base + (rng.normal(0, 1.5, len(STATUS)) if day == TODAY else 0)
                    rows.append((POPULATION, level, area, day, residents))
                    rows += [(i, level, area, day, float(round(x, 4))) for i, x in zip(STATUS, values, strict=True)]
        self.values = pd.DataFrame(rows, columns=["indicator_id", "level", "area_id", "stichtag", "value"])

    def frame(self, level: str, day=TODAY, areas=None) -> pd.DataFrame:
        """compute_mss's input for `level` at `day` (with the dynamics over two years)."""
        wide = self.values[self.values.level == level].pivot_table(
            index=["stichtag", "area_id"], columns="indicator_id", values="value"
        )
        now, then = wide.xs(day, level="stichtag"), wide.xs(day - pd.DateOffset(years=2), level="stichtag")
        frame = pd.DataFrame({"area_id": now.index, "population": now[POPULATION].to_numpy()})
        for column in STATUS:
            frame[column] = now[column].to_numpy()
            frame[f"d_{column}"] = (now[column] - then[column]).to_numpy()
        if areas is not None:
            frame = frame[frame.area_id.isin(areas)].reset_index(drop=True)
        return frame

    def mss(self, level: str, areas=None) -> pd.DataFrame:
        config = MssConfig.from_mapping({**MSS, "status": STATUS, "dynamics": [f"d_{c}" for c in STATUS]})
        frame = self.frame(level, areas=areas)
        return compute_mss(frame, config, "area_id", "population").set_index("id")


def computed(kreis: Kreis, catalogue: pd.DataFrame | None = None) -> pd.DataFrame:
    catalogue = index_catalogue() if catalogue is None else catalogue
    expanded = expand_from_memberships(catalogue, kreis.memberships, TODAY)
    return status_dynamics(kreis.values, expanded)


def rows(out: pd.DataFrame, index_id: str, level: str) -> pd.DataFrame:
    day = out[(out.index_id == index_id) & (out.level == level) & (pd.to_datetime(out.stichtag) == TODAY)]
    return day.set_index("area_id")


def assert_same_index(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """The index rows equal compute_mss's result exactly (z rounded to 6 decimals, as the marts are)."""
    got = got.loc[expected.index]
    assert list(got["indexed"]) == list(expected["indexed"])
    assert list(got["reason"]) == list(expected["reason"])
    for column in ("status_class", "dynamics_class"):
        assert list(got[column]) == list(expected[column]), column
    for column in ("status_z", "dynamics_z"):
        assert np.array_equal(got[column].to_numpy(), expected[column].round(6).to_numpy(), equal_nan=True), column


def test_the_kreis_wide_index_is_the_index_of_the_union_and_the_within_index_that_of_each_stadt():
    kreis = Kreis([9, 7, 6], small=("SV105",))
    out = computed(kreis)
    assert set(out.index_id) == {INDEX, WITHIN}
    for level in ("stadtviertel", "sozialraum"):
        assert_same_index(rows(out, INDEX, level), kreis.mss(level))
    within = rows(out, WITHIN, "stadtviertel")
    assert set(within.index) == set(kreis.gemeinde_of)
    for gemeinde in ("G1", "G2", "G3"):
        areas = [v for v, g in kreis.gemeinde_of.items() if g == gemeinde]
        expected = kreis.mss("stadtviertel", areas)
        assert_same_index(within, expected)
        # standardised within the Stadt: mean 0 and sd 1 over its indexed areas
        z = within.loc[expected.index[expected.indexed], "status_z"]
        assert z.mean() == pytest.approx(0, abs=1e-5) and z.std(ddof=0) == pytest.approx(1, abs=1e-5)
    assert within.loc["SV105", "reason"] == "population_below_minimum"
    # the classes differ somewhere: the Städte are not standardised together
    assert (within["status_z"] != rows(out, INDEX, "stadtviertel").loc[within.index, "status_z"]).any()


def test_an_area_across_a_gemeinde_border_keeps_its_row_with_the_reason():
    kreis = Kreis([8, 8, 6])
    out = computed(kreis)
    within = rows(out, WITHIN, "sozialraum")
    across = {s for v, s in kreis.sozialraum_of.items() if len({kreis.gemeinde_of[w] for w, t in
              kreis.sozialraum_of.items() if t == s}) > 1}  # fmt: skip
    assert len(across) == 2
    assert set(within.index) == set(kreis.sozialraum_of.values())  # every Sozialraum keeps its row
    assert (within.loc[sorted(across), "reason"] == crosses_reason("gemeinde")).all()
    assert not within.loc[sorted(across), "indexed"].any()
    assert within.loc[sorted(across), ["status_class", "dynamics_class"]].eq("").all().all()
    assert within.loc[sorted(across), "status_z"].isna().all()
    # the others are indexed within their Gemeinde; across the Kreis, the border ones are indexed as usual
    inside = within.drop(index=sorted(across))
    assert inside["indexed"].all()
    assert rows(out, INDEX, "sozialraum").loc[sorted(across), "indexed"].all()
    g1 = [s for s in inside.index if {kreis.gemeinde_of[v] for v, t in kreis.sozialraum_of.items() if t == s} == {"G1"}]
    assert_same_index(within, kreis.mss("sozialraum", g1))


def test_a_single_gemeinde_gets_no_second_index_and_the_same_rows_as_without_the_key():
    kreis = Kreis([10])
    expanded = expand_from_memberships(index_catalogue(), kreis.memberships, TODAY)
    assert list(expanded.index_id) == [INDEX]
    pd.testing.assert_frame_equal(expanded, index_catalogue(also_within=None))  # config string included
    pd.testing.assert_frame_equal(computed(kreis), status_dynamics(kreis.values, index_catalogue(also_within=None)))


def test_a_gemeinde_that_cannot_be_indexed_alone_keeps_its_areas_with_a_reason():
    kreis = Kreis([8, 2], small=("SV202",))  # the second Stadt: one indexable Viertel, sd 0
    within = rows(computed(kreis), WITHIN, "stadtviertel")
    assert within.loc["SV201", "reason"] == not_indexable_reason("gemeinde")
    assert within.loc["SV202", "reason"] == "population_below_minimum"  # its own reason first
    assert within.loc[["SV201", "SV202"], "status_class"].eq("").all()
    assert_same_index(within, kreis.mss("stadtviertel", [v for v, g in kreis.gemeinde_of.items() if g == "G1"]))


def test_the_unit_assignment_follows_the_baubloecke_on_todays_gebietsstand():
    kreis = Kreis([4, 4])
    memberships = kreis.memberships.copy()
    # SV101 belonged to G2 until 2020 (an old Gebietsstand): today's counts
    old = memberships[(memberships.area_id == "G1") & memberships.block_id.str.startswith("SV101")]
    memberships.loc[old.index, "valid_from"] = pd.Timestamp("2021-01-01")
    memberships = pd.concat([memberships, old.assign(area_id="G2", valid_to=pd.Timestamp("2020-12-31"))])
    got = unit_assignment(memberships, ["stadtviertel", "sozialraum"], "gemeinde", TODAY).set_index("area_id")
    assert got.loc["SV101", "unit_id"] == "G1" and got.loc["SV204", "unit_id"] == "G2"
    assert got.loc["SR02", "unit_id"] is None  # SV104 (G1) and SV201 (G2)
    then = unit_assignment(memberships, ["stadtviertel"], "gemeinde", "2019-12-31").set_index("area_id")
    assert then.loc["SV101", "unit_id"] == "G2"


# ------------------------------------------------------------------------------------------ public side


def published_inputs(kreis: Kreis) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """pub_indicator_series (nothing withheld), pub_areas and pub_indicator_catalogue of the Kreis."""
    series = kreis.values.assign(
        numerator=kreis.values["value"],
        denominator=np.where(kreis.values.indicator_id == POPULATION, np.nan, 100.0),
        is_suppressed=False,
        area_name=kreis.values["area_id"],
        gebietsstand=pd.Timestamp("2000-01-01").date(),
        stichtag=kreis.values["stichtag"].dt.date,
    )
    units = [("kreis", "K", None, None, True)]
    units += [("gemeinde", g, "kreis", "K", True) for g in sorted(set(kreis.gemeinde_of.values()))]
    units += [("stadtviertel", v, "gemeinde", g, True) for v, g in kreis.gemeinde_of.items()]
    units += [("sozialraum", s, "kreis", "K", False) for s in sorted(set(kreis.sozialraum_of.values()))]
    areas = pd.DataFrame(units, columns=["level", "area_id", "parent_level", "parent_id", "is_nested"]).assign(
        level_rank=1, area_name=lambda f: f["area_id"], valid_from=pd.Timestamp("2000-01-01").date(), valid_to=None
    )
    catalogue = pd.DataFrame(
        {"indicator_id": [POPULATION, *STATUS], "factor": [1.0] + [100.0] * len(STATUS),
         "denominator_measure": [None] + ["base"] * len(STATUS)}
    )  # fmt: skip
    return series, areas, catalogue


def test_the_published_within_index_is_recomputed_from_the_published_catalogue_alone():
    kreis = Kreis([9, 7, 6])
    published = index_catalogue_public(expand_from_memberships(index_catalogue(), kreis.memberships, TODAY))
    assert list(published.index_id) == [INDEX, WITHIN]
    main, within = published.set_index("index_id").loc[INDEX], published.set_index("index_id").loc[WITHIN]
    assert "also_within" not in json.loads(main["config"])
    assert main["name_de"].endswith("über alle Gebiete gemeinsam standardisiert")
    assert within["name_de"] == "Index Soziale Stadtentwicklung – je Gemeinde standardisiert"
    assert crosses_reason("gemeinde") in within["description_de"]
    config = json.loads(within["config"])
    assert config["within"] == "gemeinde"
    assert config["units"]["stadtviertel"]["SV201"] == "G2"
    assert config["units"]["sozialraum"][kreis.sozialraum_of["SV201"]] is None
    series, areas, catalogue = published_inputs(kreis)
    out = public_status_dynamics(series, published, catalogue, areas)
    marts = status_dynamics(kreis.values, expand_from_memberships(index_catalogue(), kreis.memberships, TODAY))
    for index_id in (INDEX, WITHIN):
        for level in ("stadtviertel", "sozialraum"):
            got = rows(out.assign(stichtag=pd.to_datetime(out.stichtag)), index_id, level)
            want = rows(marts, index_id, level)
            assert len(want) > 0 and sorted(got.index) == sorted(want.index), (index_id, level)
            got = got.loc[want.index]
            assert list(got["indexed"]) == list(want["indexed"])
            assert np.array_equal(got["status_z"], want["status_z"], equal_nan=True)
            assert list(got["reason"].fillna("")) == list(want["reason"])
            assert list(got["index_group"].dropna()) == list(
                (want["status_class"] + "/" + want["dynamics_class"])[want["indexed"]]
            )


def test_a_single_city_publishes_the_catalogue_and_index_it_published_before():
    kreis = Kreis([10])
    series, areas, catalogue = published_inputs(kreis)
    expanded = expand_from_memberships(index_catalogue(), kreis.memberships, TODAY)
    pd.testing.assert_frame_equal(
        index_catalogue_public(expanded), index_catalogue_public(index_catalogue(also_within=None))
    )
    pd.testing.assert_frame_equal(
        public_status_dynamics(series, index_catalogue_public(expanded), catalogue, areas),
        public_status_dynamics(series, index_catalogue(also_within=None), catalogue, areas),
    )


def test_expand_without_units_only_removes_the_key():
    got = expand(index_catalogue(), None)
    pd.testing.assert_frame_equal(got, index_catalogue(also_within=None))


# ------------------------------------------------------------------------------------------ catalogue

SETTINGS = Settings.from_env()
KREIS_NESTED = ["stadtviertel", "stadtteil", "stadtbezirk", "gemeinde", "kreis"]


def _catalogue(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load(default_path(SETTINGS.dbt_project_dir).read_text(encoding="utf-8"))
    edit(raw["indices"])
    path = tmp_path / "kennzahlenkatalog.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _load(path: Path, nested: list[str]):
    levels = ["baublock", *nested, "sozialraum"]
    return load(path, SETTINGS.contracts_dir, levels, nested_levels=nested)


def test_the_shipped_catalogue_asks_for_the_index_within_each_gemeinde():
    project = read_project_vars(SETTINGS.dbt_project_dir)
    path = default_path(SETTINGS.dbt_project_dir)
    shipped = load(path, SETTINGS.contracts_dir, project.levels, nested_levels=project.nested_levels)
    assert shipped.indices[INDEX].also_within == "gemeinde"
    assert shipped.indices[INDEX].seed_config["also_within"] == "gemeinde"
    assert "also_within" not in shipped.indices[INDEX].config
    _load(path, KREIS_NESTED)  # valid for a Kreis too


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda i: i[INDEX].update(also_within="stadtviertel"), "'stadtviertel' is one of the index's levels"),
        (
            lambda i: i[INDEX].update(also_within="sozialraum", levels=["stadtviertel"]),
            "'sozialraum' is not a nested level",
        ),
        (lambda i: i[INDEX].update(also_within="landkreis"), "'landkreis' is not a nested level"),
        (
            lambda i: i[INDEX].update(also_within="stadtteil", levels=["stadtviertel", "stadtbezirk"]),
            "'stadtteil' is not above the index's level 'stadtbezirk'",
        ),
        (
            lambda i: i["kinder_teilhabe"].update(also_within="gemeinde"),
            "index 'kinder_teilhabe', field 'also_within': only a status_dynamics index",
        ),
        (lambda i: i[INDEX].update(also_within=["gemeinde"]), "also_within"),
        (lambda i: i.update({WITHIN: dict(i[INDEX])}), f"its index {WITHIN!r} is defined in the catalogue too"),
    ],
)
def test_the_catalogue_refuses_a_wrong_also_within(tmp_path, edit, message):
    path = _catalogue(tmp_path, edit)
    with pytest.raises(CatalogueError) as info:
        _load(path, KREIS_NESTED)
    assert str(path) in str(info.value) and message in str(info.value), str(info.value)
