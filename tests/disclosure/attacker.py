"""An independent privacy attacker on published releases.

It knows everything a release publishes (and everything earlier releases published) and derives,
for every withheld count, the smallest and the largest value consistent with all of it. It is a
test tool for the project's disclosure control and is written WITHOUT looking at the protector
(nothing under orchestration/disclosure/ or dbt_project/models/disclosure/ is imported or read)
and without reading the warehouse: its inputs are the release folders and the documentation
(docs/privacy.md, LIESMICH.txt) only.

Model, per Stichtag (see `attack`):

* Atoms: the finest cells of the public geography, the intersections of the finest nested level
  (Stadtviertel) with the non-nested Sozialräume, taken from the published GeoJSON polygons. For
  a Stichtag whose Gebietsstand has no published geometry (before a recut), the units under the
  lowest unchanged ancestor of every changed unit may lie in every Sozialraum that meets that
  ancestor (a relaxation: never wrong, only weaker).
* Unknowns: the count of every measure in every atom, integer and >= 0 (the migration balance
  may be negative).
* Every published count is an equation (sum over the atoms of its area); a published balance
  (rule `derived` in the catalogue) is an equation over its parts.
* A withheld count is >= `withheld_at_least` (docs: "never 0", "zeros are always published").
  Releases made before zeros were always published withheld zero numerators on small populations;
  `small_population_zero=True` lets numerators withheld for `small_population` be 0 again.
* Exact relations between measures per atom (RELATIONS below, each with its justification); each
  one is first tested on every area where all its counts are published and dropped if violated.
* Stock-flow identities (STOCK_FLOW below), used only where they hold exactly on every fully
  published area.
* Lagged measures (residents one / five years before, on the Baublöcke of the Stichtag) equal the
  residents of the earlier Stichtag for areas whose extent did not change in between.
* Earlier releases: all their published counts are known as well.

Bounds are computed by linear programming (HiGHS via scipy) per Stichtag and per connected group
of related measures; where an LP optimum is fractional a MILP gives the integer-exact bound.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from orchestration.warehouse import extension_path
from tests.helpers import read_parquet

NESTED_ORDER = ("gemeinde", "stadtbezirk", "stadtteil", "stadtviertel", "baublock")
NON_NESTED = "sozialraum"
COLUMNS = ["stichtag", "level", "area_id", "measure", "kind", "low", "high", "width", "lp_low", "lp_high", "note"]

# ---------------------------------------------------------------------------------------------
# Relations between measures that hold in every atom. Each is `sum(coef * measure) (sense) 0`.
# Derived from the measure names and the definitions in the published indicator catalogue
# (numerator_de / denominator_de / definition_de); the age limits are the ones the definitions
# state ("unter 15", "von 15 bis 64", "ab 65", "unter 20", "von 20 bis unter 65", ...).
# ---------------------------------------------------------------------------------------------
AGE_BANDS = (
    "residents_age_00_02",
    "residents_age_03_05",
    "residents_age_06_09",
    "residents_age_10_14",
    "residents_age_15_17",
    "residents_age_18_24",
    "residents_age_25_44",
    "residents_age_45_64",
    "residents_age_65_79",
    "residents_age_80_plus",
)
HOUSEHOLD_SIZES = (
    "households_size_1",
    "households_size_2",
    "households_size_3",
    "households_size_4",
    "households_size_5_plus",
)


@dataclass(frozen=True)
class Relation:
    name: str
    coefs: dict[str, float]
    sense: str  # "==" or "<="  (sum(coef * x) sense 0)
    why: str


def _eq(name, pos, neg, why):
    coefs = {m: 1.0 for m in pos}
    for m in neg:
        coefs[m] = coefs.get(m, 0.0) - 1.0
    return Relation(name, coefs, "==", why)


def _le(name, small, large, why):
    """sum(small) <= sum(large)."""
    coefs = {m: 1.0 for m in small}
    for m in large:
        coefs[m] = coefs.get(m, 0.0) - 1.0
    return Relation(name, coefs, "<=", why)


RELATIONS: tuple[Relation, ...] = (
    _eq(
        "age bands partition residents",
        AGE_BANDS,
        ["residents"],
        "the ten bands 0-2, 3-5, 6-9, 10-14, 15-17, 18-24, 25-44, 45-64, 65-79, 80+ cover every age once",
    ),
    _eq("under 15 = bands 0-14", AGE_BANDS[:4], ["residents_under_15"], "0-2 + 3-5 + 6-9 + 10-14 = under 15"),
    _eq(
        "under 18 = under 15 + 15-17",
        ["residents_under_15", "residents_age_15_17"],
        ["residents_minor"],
        "Einwohner unter 18 = unter 15 + 15 bis 17",
    ),
    _eq(
        "15 to 64 = bands 15-64",
        AGE_BANDS[4:8],
        ["residents_working_age"],
        "Einwohner von 15 bis 64 = 15-17 + 18-24 + 25-44 + 45-64",
    ),
    _eq("65 and over = bands 65-79 + 80+", AGE_BANDS[8:], ["residents_senior"], "ab 65 = 65-79 + ab 80"),
    _eq(
        "quotient old = 65 and over",
        ["residents_quotient_old"],
        ["residents_senior"],
        "Altenquotient numerator (ab 65) and share_65_plus numerator (ab 65) count the same persons",
    ),
    _eq(
        "quotient bands partition residents",
        ["residents_quotient_young", "residents_quotient_working", "residents_quotient_old"],
        ["residents"],
        "unter 20 + 20 bis unter 65 + ab 65 = all residents",
    ),
    _eq(
        "below SGB II age = residents - 65 and over",
        ["residents_below_sgb2_age", "residents_senior"],
        ["residents"],
        "unter 65 + ab 65 = all residents",
    ),
    _le("under 18 <= under 20", ["residents_minor"], ["residents_quotient_young"], "unter 18 is part of unter 20"),
    _le(
        "under 20 <= under 18 + 18-24",
        ["residents_quotient_young"],
        ["residents_minor", "residents_age_18_24"],
        "18 and 19 year-olds are part of the band 18-24",
    ),
    _le("65-79 <= 60-79", ["residents_age_65_79"], ["residents_60_79"], "65-79 is part of 60-79"),
    _le(
        "60-79 <= 45-64 + 65-79",
        ["residents_60_79"],
        ["residents_age_45_64", "residents_age_65_79"],
        "60-64 is part of 45-64",
    ),
    _le("foreign nationals <= residents", ["foreign_nationals"], ["residents"], "a subset of the residents"),
    _le("migration background <= residents", ["migration_background"], ["residents"], "a subset of the residents"),
    _le(
        "10 years at address <= 5 years at address",
        ["residents_10y_at_address"],
        ["residents_5y_at_address"],
        "who has lived 10 years at an address has lived there 5 years",
    ),
    _le("5 years at address <= residents", ["residents_5y_at_address"], ["residents"], "a subset of the residents"),
    _eq(
        "household sizes partition households",
        HOUSEHOLD_SIZES,
        ["households"],
        "sizes 1, 2, 3, 4, 5+ cover every household once",
    ),
    _le("households with children <= households", ["households_with_children"], ["households"], "a subset"),
    _le(
        "single parents <= households with children",
        ["single_parent_households"],
        ["households_with_children"],
        "Alleinerziehende: households with exactly one adult and children, a part of households with children",
    ),
    _le(
        "SGB II long-term <= SGB II recipients",
        ["sgb2_long_term_recipients"],
        ["sgb2_recipients"],
        "a duration subgroup of the same Jobcenter recipients",
    ),
    _le(
        "Sozialgeld under 15 <= Sozialgeld",
        ["sgb2_non_employable_under_15"],
        ["sgb2_non_employable"],
        "an age subgroup of the non-employable",
    ),
    _le(
        "Sozialgeld <= SGB II recipients",
        ["sgb2_non_employable"],
        ["sgb2_recipients"],
        "non-employable beneficiaries are persons in Bedarfsgemeinschaften",
    ),
    _le("GSiAe 65+ <= GSiAe", ["sgb12_gsiae_senior_recipients"], ["sgb12_gsiae_recipients"], "an age subgroup"),
    _eq(
        "unemployed = SGB II + SGB III",
        ["unemployed_sgb2", "unemployed_sgb3"],
        ["unemployed"],
        "Arbeitslose insgesamt (SGB II und SGB III): the two Rechtskreise partition the unemployed",
    ),
    _le("long-term unemployed <= unemployed", ["long_term_unemployed"], ["unemployed"], "a duration subgroup"),
    _le(
        "low earners <= employees",
        ["low_earners"],
        ["employees_svb"],
        "SV-Beschäftigte with low pay are SV-Beschäftigte",
    ),
    *(
        _le(f"{m} <= SEU examined", [m], ["seu_examined"], "findings among the children examined")
        for m in (
            "seu_language_support",
            "seu_overweight",
            "seu_motor_findings",
            "seu_non_german_language",
            "seu_booklet_presented",
        )
    ),
    _le(
        "booklet incomplete <= booklet presented",
        ["seu_booklet_incomplete"],
        ["seu_booklet_presented"],
        "incomplete check-ups are counted among the children whose booklet was presented",
    ),
    _le(
        "Gymnasium transitions <= school transitions",
        ["gymnasium_transitions"],
        ["school_transitions"],
        "transitions to a Gymnasium are transitions to a secondary school",
    ),
)

# Deliberately NOT used: relations across sources (Wohngeld households <= register households,
# Sozialgeld under 15 <= residents under 15, day care <= children of the age): two departments'
# extracts assigned to Baublöcke by address need not agree record by record. Also not used:
# households with children <= households minus one-person households (a household of one minor
# would break it).

# Stock-flow identities. Per atom (scope "atom") or only for the area named (scope "gemeinde").
STOCK_FLOW: tuple[tuple[Relation, str], ...] = (
    (
        _eq(
            "residents(t) - residents(t-1) = births - deaths + migration balance",
            ["residents", "deaths"],
            ["residents_1y_before", "births", "migration_balance"],
            "demographic balancing equation; the migration balance counts moves across the area's border",
        ),
        "atom",
    ),
    (
        _eq(
            "migration balance = city moves in - city moves out (Gemeinde)",
            ["migration_balance", "city_moves_out"],
            ["city_moves_in"],
            "for the whole city every move across its border is a move into or out of the city",
        ),
        "gemeinde",
    ),
)

# Lagged measures: the same per-Baublock count of an earlier Stichtag, on the Baublöcke of the
# Stichtag (catalogue: "Einwohner des Vorjahres (Gebietsstand des Stichtags)").
LAGS = {"residents_1y_before": ("residents", 1), "residents_5y_before": ("residents", 5)}
# Counts that may be negative.
SIGNED_MEASURES = {"migration_balance"}


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------
@dataclass
class AttackResult:
    cells: pd.DataFrame  # withheld counts: stichtag, level, area_id, measure, low, high, width, lp_low, lp_high, note
    balances: pd.DataFrame  # withheld balances (not cells; same columns)
    min_count: int
    protection_width: int
    lps: int
    milps: int
    seconds: float
    relations_used: list[str] = field(default_factory=list)
    relations_dropped: list[str] = field(default_factory=list)
    identities: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def cells_attacked(self) -> int:
        return len(self.cells)

    @property
    def below_min_count(self) -> int:
        """Withheld counts proven to be below the minimum count (high < min_count)."""
        return int((self.cells["high"] < self.min_count).sum())

    @property
    def narrower_than_width(self) -> int:
        return int((self.cells["width"] < self.protection_width).sum())

    @property
    def exact(self) -> int:
        return int((self.cells["width"] == 0).sum())

    @property
    def narrowest_width(self) -> float:
        return float(self.cells["width"].min()) if len(self.cells) else math.inf

    def summary(self) -> dict:
        return {
            "cells_attacked": self.cells_attacked,
            "below_min_count": self.below_min_count,
            "narrower_than_width": self.narrower_than_width,
            "exact": self.exact,
            "narrowest_width": self.narrowest_width,
            "balances_attacked": len(self.balances),
            "balances_narrower_than_width": int((self.balances["width"] < self.protection_width).sum()),
            "lps": self.lps,
            "milps": self.milps,
            "seconds": round(self.seconds, 2),
            "relations_used": len(self.relations_used),
            "relations_dropped": self.relations_dropped,
            "identities": self.identities,
            "notes": self.notes,
        }

    def worst(self, n: int = 20) -> pd.DataFrame:
        return self.cells.sort_values(["width", "high", "stichtag", "level", "area_id"]).head(n)


# ---------------------------------------------------------------------------------------------
# Reading releases
# ---------------------------------------------------------------------------------------------
@dataclass
class _Release:
    path: Path
    gebietsstand: pd.Timestamp
    values: pd.DataFrame
    areas: pd.DataFrame
    catalogue: pd.DataFrame
    geo: dict[str, list[tuple[str, str]]]  # level -> [(area_id, geometry json)]


def _load_release(path: Path) -> _Release:
    path = Path(path)
    values = read_parquet(path / "data" / "indicator_values.parquet")
    areas = read_parquet(path / "data" / "areas.parquet")
    catalogue = read_parquet(path / "data" / "indicator_catalogue.parquet")
    values["stichtag"] = pd.to_datetime(values["stichtag"])
    areas["valid_from"] = pd.to_datetime(areas["valid_from"])
    areas["valid_to"] = pd.to_datetime(areas["valid_to"])
    gebietsstand = None
    manifest = path / "manifest.json"
    if manifest.exists():
        stichtag = json.loads(manifest.read_text(encoding="utf-8")).get("stichtag")
        if stichtag:
            gebietsstand = pd.Timestamp(stichtag)
    if gebietsstand is None:
        gebietsstand = values["stichtag"].max()
    geo = {}
    for file in sorted((path / "geo").glob("*.geojson")):
        features = json.loads(file.read_text(encoding="utf-8"))["features"]
        geo[file.stem] = [(f["properties"]["area_id"], json.dumps(f["geometry"])) for f in features]
    return _Release(path, gebietsstand, values, areas, catalogue, geo)


# ---------------------------------------------------------------------------------------------
# Geography: atoms per Stichtag
# ---------------------------------------------------------------------------------------------
def _valid(areas: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    return areas[(areas["valid_from"] <= at) & (areas["valid_to"].isna() | (areas["valid_to"] >= at))]


def _area_rows(areas: pd.DataFrame, at: pd.Timestamp) -> set[tuple]:
    """The Gebietsstand at `at`: one tuple (level, id, parent level, parent id, valid_from) per unit."""
    v = _valid(areas, at)
    return set(
        zip(
            v["level"],
            v["area_id"],
            v["parent_level"].fillna(""),
            v["parent_id"].fillna(""),
            v["valid_from"],
            strict=True,
        )
    )


class _Geometry:
    """Intersections of polygons (by level) from one release's GeoJSON, in a metric CRS."""

    def __init__(self, release: _Release, erosion_m: float, min_area_m2: float):
        self.con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        self.con.execute(f"load '{extension_path('spatial')}'")
        rows = [(lvl, a, g) for lvl, feats in release.geo.items() for a, g in feats]
        self.con.execute("create table raw_geo (level varchar, area_id varchar, g varchar)")
        if rows:
            self.con.executemany("insert into raw_geo values (?, ?, ?)", rows)
        self.con.execute(
            """create table geo as select level, area_id, ST_MakeValid(ST_Transform(
                   ST_GeomFromGeoJSON(g), 'EPSG:4326', 'EPSG:3035', always_xy := true)) as geom
               from raw_geo"""
        )
        self.erosion_m = erosion_m
        self.min_area_m2 = min_area_m2
        self.ids = {lvl: {a for a, _ in feats} for lvl, feats in release.geo.items()}
        self._cache: dict[tuple[str, str], set[tuple[str, str]]] = {}

    def meets(self, level_a: str, level_b: str) -> set[tuple[str, str]]:
        """Pairs (a, b) whose polygons share more than a sliver: intersection area above
        min_area_m2 and still non-empty after eroding it by erosion_m (slivers from rounding the
        coordinates are thinner than that; a Baublock is not)."""
        key = (level_a, level_b)
        if key not in self._cache:
            rows = self.con.execute(
                """with pairs as (
                       select a.area_id as a, b.area_id as b, ST_Intersection(a.geom, b.geom) as i
                       from geo a join geo b on a.level = $la and b.level = $lb and ST_Intersects(a.geom, b.geom)
                   )
                   select a, b from pairs
                   where ST_Area(i) > $min_area and not ST_IsEmpty(ST_Buffer(i, -$erosion))""",
                {"la": level_a, "lb": level_b, "min_area": self.min_area_m2, "erosion": self.erosion_m},
            ).fetchall()
            self._cache[key] = {(a, b) for a, b in rows}
        return self._cache[key]

    def close(self):
        self.con.close()


@dataclass
class _Atoms:
    n: int
    membership: pd.DataFrame  # level, area_id, atom
    unstable: set[tuple[str, str]]  # (level, area_id) whose extent is not known to equal the geometry's
    relaxed: bool


def _parents(valid: pd.DataFrame) -> dict[tuple[str, str], tuple[str, str] | None]:
    out = {}
    cols = (valid["level"], valid["area_id"], valid["parent_level"], valid["parent_id"])
    for lvl, a, pl, pid in zip(*cols, strict=True):
        out[(lvl, a)] = (pl, pid) if isinstance(pl, str) and isinstance(pid, str) else None
    return out


def _unstable_roots(rows_a: set[tuple], rows_b: set[tuple]) -> tuple[set, set]:
    """Nested units whose extent may differ between two Gebietsstände (a and b), and the lowest
    unchanged ancestors ('roots', None = the whole city) under which they lie. A unit whose row
    (level, id, parent, valid_from) is the same in both and which lies under no root is assumed
    to have the same extent (Baublöcke that move between units change the units' rows)."""
    parent = {}
    for rows in (rows_b, rows_a):  # a's parents win
        for lvl, a, pl, pid, _ in rows:
            parent[(lvl, a)] = (pl, pid) if pl and pid else None
    changed = {(r[0], r[1]) for r in rows_a ^ rows_b if r[0] != NON_NESTED}
    roots = set()
    for key in changed:
        node = parent.get(key)
        while node is not None and node in changed:
            node = parent.get(node)
        roots.add(node)
    if None in roots:
        roots = {None}
    unstable = set()
    for lvl, a, *_ in rows_a:
        if lvl == NON_NESTED:
            continue
        node = parent.get((lvl, a))
        while node is not None:
            if node in roots:
                unstable.add((lvl, a))
                break
            node = parent.get(node)
        else:
            if None in roots:
                unstable.add((lvl, a))
    return roots, unstable


def _build_atoms(areas: pd.DataFrame, at: pd.Timestamp, geometries: list[tuple[_Release, _Geometry]]) -> _Atoms:
    valid = _valid(areas, at)
    parents = _parents(valid)
    rows_t = _area_rows(areas, at)
    nested = valid[valid["level"] != NON_NESTED]
    has_child = {p for p in parents.values() if p is not None and p[0] != NON_NESTED}
    leaves = [(lvl, a) for lvl, a in zip(nested["level"], nested["area_id"], strict=True) if (lvl, a) not in has_child]
    srs = sorted(valid.loc[valid["level"] == NON_NESTED, "area_id"])

    # the geometry whose Gebietsstand matches best (identical rows, else the latest)
    best = None
    for rel, geo in geometries:
        rows_g = _area_rows(rel.areas, rel.gebietsstand)
        if rows_g == rows_t:
            best = (rel, geo, set(), set())
            break
    relaxed = best is None
    if best is None:
        rel, geo = max(geometries, key=lambda p: p[0].gebietsstand)
        rows_g = _area_rows(rel.areas, rel.gebietsstand)
        roots, unstable = _unstable_roots(rows_t, rows_g)
        if {(r[0], r[1]) for r in rows_t if r[0] == NON_NESTED} != {(r[0], r[1]) for r in rows_g if r[0] == NON_NESTED}:
            roots, unstable = {None}, {(lvl, a) for lvl, a in leaves}
        best = (rel, geo, roots, unstable)
    rel, geo, roots, unstable = best

    pairs: list[tuple[tuple[str, str], str]] = []
    for leaf in leaves:
        # the lowest root above the leaf, if the leaf is unstable
        if leaf in unstable:
            node = parents.get(leaf)
            while node is not None and node not in roots:
                node = parents.get(node)
            met = [] if node is None else sorted(b for a, b in geo.meets(node[0], NON_NESTED) if a == node[1])
            cand = met or srs
        else:
            cand = sorted(b for a, b in geo.meets(leaf[0], NON_NESTED) if a == leaf[1])
            if not cand:  # a unit without polygon or without an overlap: allow every Sozialraum
                cand = srs
        pairs.extend((leaf, sr) for sr in cand)

    rows = []
    for i, (leaf, sr) in enumerate(pairs):
        node = leaf
        while node is not None:
            rows.append((node[0], node[1], i))
            node = parents.get(node)
        rows.append((NON_NESTED, sr, i))
    membership = pd.DataFrame(rows, columns=["level", "area_id", "atom"]).drop_duplicates()
    return _Atoms(len(pairs), membership, unstable, relaxed)


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------
def _parse_parts(text) -> dict[str, float] | None:
    if not isinstance(text, str) or not text.strip():
        return None
    out = {}
    for item in text.split(","):
        m, c = item.split(":")
        out[m.strip()] = float(c)
    return out


def _cells(release: _Release, priority: int) -> pd.DataFrame:
    """Long table of counts: one row per (indicator row, numerator|denominator)."""
    cat = release.catalogue.set_index("indicator_id")
    v = release.values.merge(
        cat[["numerator_measure", "denominator_measure", "disclosure_rule"]], left_on="indicator_id", right_index=True
    )
    num = pd.DataFrame(
        {
            "stichtag": v["stichtag"],
            "level": v["level"],
            "area_id": v["area_id"],
            "measure": v["numerator_measure"],
            "value": v["numerator"].astype("Float64"),
            "rule": v["disclosure_rule"],
            "role": "numerator",
            "small_population": (v["suppression_reason"] == "small_population") & v["numerator"].isna(),
        }
    )
    den = pd.DataFrame(
        {
            "stichtag": v["stichtag"],
            "level": v["level"],
            "area_id": v["area_id"],
            "measure": v["denominator_measure"],
            "value": v["denominator"].astype("Float64"),
            "rule": "count",
            "role": "denominator",
            "small_population": False,
        }
    )
    den = den[den["measure"].notna()]
    out = pd.concat([num, den], ignore_index=True)
    out["priority"] = priority
    return out


# ---------------------------------------------------------------------------------------------
# Solving
# ---------------------------------------------------------------------------------------------
try:  # scipy's bundled HiGHS bindings: one model per group, re-solved warm for every objective
    from scipy.optimize._highspy import _core as _highs
except ImportError:  # pragma: no cover - older or newer scipy: plain linprog
    _highs = None


class _Model:
    """min / max of c @ x subject to a_eq x = b_eq, a_ub x <= b_ub, lb <= x <= ub."""

    def __init__(self, solver: _Solver, a_eq, b_eq, a_ub, b_ub, lb, ub):
        self.solver = solver
        self.a_eq, self.b_eq, self.a_ub, self.b_ub, self.lb, self.ub = a_eq, b_eq, a_ub, b_ub, lb, ub
        self.nv = len(lb)
        self.highs = None
        if _highs is not None and solver.warm:
            mats = [m for m in (a_eq, a_ub) if m is not None]
            a = sparse.vstack(mats).tocsc() if mats else sparse.csc_matrix((0, self.nv))
            n_ub = len(b_ub) if a_ub is not None else 0
            lhs = np.concatenate([b_eq if a_eq is not None else [], np.full(n_ub, -np.inf)])
            rhs = np.concatenate([b_eq if a_eq is not None else [], b_ub if a_ub is not None else []])
            lp = _highs.HighsLp()
            lp.num_col_ = self.nv
            lp.num_row_ = a.shape[0]
            lp.a_matrix_.num_col_ = self.nv
            lp.a_matrix_.num_row_ = a.shape[0]
            lp.a_matrix_.format_ = _highs.MatrixFormat.kColwise
            lp.a_matrix_.start_ = a.indptr.astype(np.int32)
            lp.a_matrix_.index_ = a.indices.astype(np.int32)
            lp.a_matrix_.value_ = a.data.astype(float)
            lp.col_cost_ = np.zeros(self.nv)
            lp.col_lower_ = lb.astype(float)
            lp.col_upper_ = ub.astype(float)
            lp.row_lower_ = lhs.astype(float)
            lp.row_upper_ = rhs.astype(float)
            h = _highs._Highs()
            h.setOptionValue("output_flag", False)
            # primal simplex: a new objective leaves the last optimal basis primal feasible, so each
            # re-solve starts from a feasible vertex (the default, dual simplex, took 4.5x as long on
            # the test city's latest two Stichtage for the same optima)
            h.setOptionValue("simplex_strategy", 4)
            if h.passModel(lp) == _highs.HighsStatus.kOk:
                self.highs = h
                self.cols = np.arange(self.nv, dtype=np.int32)

    def _optimum(self, c) -> float | None:
        """min c @ x: a number, -inf (unbounded), nan (infeasible) or None (no answer)."""
        self.solver.lps += 1
        if self.highs is not None:
            self.highs.changeColsCost(self.nv, self.cols, c.astype(float))
            self.highs.run()
            st = self.highs.getModelStatus()
            if st == _highs.HighsModelStatus.kOptimal:
                return float(self.highs.getInfo().objective_function_value)
            if st == _highs.HighsModelStatus.kUnbounded:
                return -math.inf
            if st == _highs.HighsModelStatus.kInfeasible:
                return math.nan
            # anything else: solve it afresh below
        r = linprog(
            c,
            A_ub=self.a_ub,
            b_ub=self.b_ub,
            A_eq=self.a_eq,
            b_eq=self.b_eq,
            bounds=np.column_stack([self.lb, self.ub]),
            method="highs",
        )
        if r.status == 0:
            return float(r.fun)
        if r.status == 3:
            return -math.inf
        if r.status == 2:
            return math.nan
        return None

    def bounds(self, c) -> tuple[float, float, float, float, str]:
        """Integer-exact min and max of c @ x and the LP values: (low, high, lp_low, lp_high, note)."""
        lo = self._optimum(c)
        hi = self._optimum(-c)
        if (lo is not None and math.isnan(lo)) or (hi is not None and math.isnan(hi)):
            return (math.nan, math.nan, math.nan, math.nan, "infeasible")
        lp_low = lo if lo is not None else -math.inf
        lp_high = -hi if hi is not None else math.inf
        low = math.ceil(lp_low - 1e-6) if math.isfinite(lp_low) else lp_low
        high = math.floor(lp_high + 1e-6) if math.isfinite(lp_high) else lp_high
        note = ""
        for which, val in (("low", lp_low), ("high", lp_high)):
            if not math.isfinite(val) or abs(val - round(val)) < 1e-6:
                continue
            best, msg = self.solver.milp(c if which == "low" else -c, self)
            if msg:
                note = msg
            if best is None:
                continue
            if which == "low":
                low = max(low, math.ceil(best - 1e-6))
            else:
                high = min(high, math.floor(-best + 1e-6))
        return (low, high, lp_low, lp_high, note)


class _Solver:
    def __init__(self, milp_time_limit: float, warm: bool = True):
        self.lps = 0
        self.milps = 0
        self.milp_time_limit = milp_time_limit
        self.warm = warm

    def model(self, a_eq, b_eq, a_ub, b_ub, lb, ub) -> _Model:
        return _Model(self, a_eq, b_eq, a_ub, b_ub, lb, ub)

    def milp(self, c, m: _Model) -> tuple[float | None, str]:
        """A valid lower bound of min c @ x over integer x (optimum, or the dual bound at the time limit)."""
        cons = []
        if m.a_eq is not None:
            cons.append(LinearConstraint(m.a_eq, m.b_eq, m.b_eq))
        if m.a_ub is not None:
            cons.append(LinearConstraint(m.a_ub, -np.inf, m.b_ub))
        self.milps += 1
        r = milp(
            c,
            integrality=np.ones(m.nv),
            bounds=Bounds(m.lb, m.ub),
            constraints=cons,
            options={"time_limit": self.milp_time_limit},
        )
        if r.status == 0 and r.fun is not None:
            return float(r.fun), ""
        bound = getattr(r, "mip_dual_bound", None)
        if bound is not None and np.isfinite(bound):
            return float(bound), "milp time limit"
        return None, "milp failed"


class _UnionFind:
    def __init__(self):
        self.p = {}

    def find(self, x):
        self.p.setdefault(x, x)
        while self.p[x] != x:
            self.p[x] = self.p[self.p[x]]
            x = self.p[x]
        return x

    def union(self, a, b):
        self.p[self.find(a)] = self.find(b)


# ---------------------------------------------------------------------------------------------
# Testing relations on the published counts
# ---------------------------------------------------------------------------------------------
def _test_relation(known: pd.DataFrame, rel: Relation, levels: tuple[str, ...] | None = None) -> dict:
    """known: pivot (stichtag, level, area_id) x measure of published counts."""
    cols = list(rel.coefs)
    if not set(cols) <= set(known.columns):
        return {"tested": 0, "violations": 0}
    sub = known[cols].dropna()
    if levels is not None:
        sub = sub[sub.index.get_level_values("level").isin(levels)]
    if sub.empty:
        return {"tested": 0, "violations": 0}
    lhs = sum(sub[m].astype(float) * c for m, c in rel.coefs.items())
    bad = (lhs.abs() > 1e-9) if rel.sense == "==" else (lhs > 1e-9)
    out = {"tested": int(len(sub)), "violations": int(bad.sum())}
    if bad.any():
        out["example"] = [str(x) for x in sub[bad].index[0]]
    return out


# ---------------------------------------------------------------------------------------------
# The attack
# ---------------------------------------------------------------------------------------------
def attack(
    release_dir: Path | str,
    earlier: tuple[Path | str, ...] | list[Path | str] = (),
    withheld_at_least: int = 1,
    *,
    small_population_zero: bool = False,
    min_count: int = 3,
    protection_width: int = 3,
    use_relations: bool = True,
    use_stock_flow: bool = True,
    use_lags: bool = True,
    stichtage: list | None = None,
    erosion_m: float = 0.5,
    min_area_m2: float = 1.0,
    milp_time_limit: float = 10.0,
    include_balances: bool = True,
    noise_bound: int | None = None,
) -> AttackResult:
    """Bounds for every withheld count of the release at `release_dir`, from everything it and
    the `earlier` releases publish. See the module docstring for the model.

    `noise_bound` (a release under the Cell Key Method, where nothing is withheld): every published
    count is known only to lie within ±noise_bound of the truth (the attacker is assumed to know
    the maximum deviation D). The targets are then the published counts that could hide a count
    below the minimum (published value ≤ min_count + noise_bound); the relations between measures
    are taken from the definitions without testing them on the (noisy) published values, and the
    balances and stock–flow identities are not used."""
    start = time.perf_counter()
    main = _load_release(Path(release_dir))
    others = [_load_release(Path(p)) for p in earlier]
    releases = [*others, main]  # later entries take precedence on conflicting values
    notes: list[str] = []

    catalogue = main.catalogue
    parts_of: dict[str, dict[str, float]] = {}
    for m, rule, parts in zip(
        catalogue["numerator_measure"], catalogue["disclosure_rule"], catalogue["disclosure_parts"], strict=True
    ):
        p = _parse_parts(parts)
        if rule == "derived" and p:
            parts_of[m] = p
    # measures about persons: every measure of a 'count' or 'derived' indicator (numerators,
    # denominators, parts), plus the migration balance (rule 'none' but a count of moves of persons).
    person_measures = set()
    for _, r in catalogue.iterrows():
        if r["disclosure_rule"] in ("count", "derived"):
            for m in (r["numerator_measure"], r["denominator_measure"]):
                if isinstance(m, str):
                    person_measures |= set(parts_of.get(m, {m: 1}))
    person_measures.add("migration_balance")

    # all counts of all releases
    cells = pd.concat([_cells(rel, i) for i, rel in enumerate(releases)], ignore_index=True)
    cells = cells[cells["measure"].isin(person_measures | set(parts_of))]
    key = ["stichtag", "level", "area_id", "measure"]
    known = cells[cells["value"].notna()].sort_values("priority")
    conflicts = known.groupby(key)["value"].nunique()
    if (conflicts > 1).any():
        notes.append(f"{int((conflicts > 1).sum())} counts published with different values; the latest release wins")
    known = known.drop_duplicates(key, keep="last")[[*key, "value"]]
    withheld_main = cells[
        (cells["priority"] == len(releases) - 1)
        & cells["value"].isna()
        & cells["rule"].eq("count")
        & ~cells["measure"].isin(parts_of)
    ]
    withheld_all = cells[cells["value"].isna() & ~cells["measure"].isin(parts_of) & cells["rule"].eq("count")]
    wh = withheld_all.groupby(key, as_index=False)["small_population"].any()
    wh["lb"] = np.where(wh["small_population"] & small_population_zero, 0, withheld_at_least)
    targets = withheld_main[key].drop_duplicates().reset_index(drop=True)
    targets["kind"] = "count"
    if noise_bound is not None:
        shown = cells[
            (cells["priority"] == len(releases) - 1)
            & cells["value"].notna()
            & cells["rule"].eq("count")
            & ~cells["measure"].isin(parts_of)
        ]
        targets = shown[shown["value"] <= min_count + noise_bound][key].drop_duplicates().reset_index(drop=True)
        targets["kind"] = "count"
        known = known[~known["measure"].isin(parts_of)]  # balances of noisy parts add nothing
        include_balances = False
        use_stock_flow = False
    if include_balances:  # withheld balances (rule 'derived'): bounds too, but they are not cells
        bal = cells[(cells["priority"] == len(releases) - 1) & cells["value"].isna() & cells["measure"].isin(parts_of)]
        bal = bal[key].drop_duplicates()
        bal["kind"] = "balance"
        targets = pd.concat([targets, bal], ignore_index=True)

    # published counts as a wide table, for testing relations
    pivot = known.pivot_table(
        index=["stichtag", "level", "area_id"], columns="measure", values="value", aggfunc="first"
    )
    relations_used, relations_dropped = [], []
    relations: list[Relation] = []
    if use_relations:
        for rel in RELATIONS:
            test = {"violations": 0} if noise_bound is not None else _test_relation(pivot, rel)
            if test["violations"]:
                relations_dropped.append(f"{rel.name}: {test}")
            else:
                relations.append(rel)
                relations_used.append(rel.name)
    identities = {}
    atom_identities: dict[pd.Timestamp, list[Relation]] = defaultdict(list)
    area_identities: dict[pd.Timestamp, list[tuple[Relation, str]]] = defaultdict(list)
    all_days = sorted(cells["stichtag"].unique())
    for rel, scope in STOCK_FLOW:
        levels = ("gemeinde",) if scope == "gemeinde" else None
        per_day = {}
        for day in all_days:
            sub = pivot[pivot.index.get_level_values("stichtag") == day]
            per_day[pd.Timestamp(day).date().isoformat()] = _test_relation(sub, rel, levels)
        holds = all(t["violations"] == 0 for t in per_day.values()) and any(t["tested"] for t in per_day.values())
        identities[rel.name] = {"holds": holds, "per_stichtag": per_day}
        if holds and use_stock_flow:
            for day in all_days:
                if per_day[pd.Timestamp(day).date().isoformat()]["tested"]:
                    if scope == "atom":
                        atom_identities[pd.Timestamp(day)].append(rel)
                    else:
                        area_identities[pd.Timestamp(day)].append((rel, scope))

    # geometry per release
    geometries = [(rel, _Geometry(rel, erosion_m, min_area_m2)) for rel in releases if rel.geo]
    if not geometries:
        raise ValueError("no GeoJSON in the release: atoms cannot be derived")
    areas = main.areas
    days = [pd.Timestamp(d) for d in all_days]
    if stichtage is not None:
        wanted = {pd.Timestamp(d) for d in stichtage}
        days = [d for d in days if d in wanted]
    atoms = {d: _build_atoms(areas, d, geometries) for d in sorted({pd.Timestamp(x) for x in all_days})}
    for _, g in geometries:
        g.close()
    for d, a in atoms.items():
        if a.relaxed:
            notes.append(f"{d.date()}: Gebietsstand without published geometry; {len(a.unstable)} units relaxed")

    # lagged measures: a published lag count is a count of the base measure at t-k and vice versa
    lag_ok = {}
    is_stable = _Stability(areas)
    if use_lags:
        extra = []
        for lag, (base, k) in LAGS.items():
            lagged = known[known["measure"] == lag].copy()
            lagged["earlier"] = lagged["stichtag"] - pd.DateOffset(years=k)
            base_k = known[known["measure"] == base]
            pairs = lagged.merge(
                base_k,
                left_on=["earlier", "level", "area_id"],
                right_on=["stichtag", "level", "area_id"],
                suffixes=("", "_base"),
            )
            stable = [is_stable(r.stichtag, r.earlier, r.level, r.area_id) for r in pairs.itertuples()]
            pairs = pairs[np.array(stable, dtype=bool)] if len(pairs) else pairs
            bad = int((pairs["value"] != pairs["value_base"]).sum())
            lag_ok[lag] = {"tested": int(len(pairs)), "violations": bad}
            identities[f"{lag} = {base} {k} year(s) earlier"] = {"holds": bad == 0 and len(pairs) > 0, **lag_ok[lag]}
            if bad or not len(pairs):
                continue
            # transfer both ways for stable areas
            lag_rows = known[known["measure"] == lag]
            for r in lag_rows.itertuples():
                e = r.stichtag - pd.DateOffset(years=k)
                if e in atoms and is_stable(r.stichtag, e, r.level, r.area_id):
                    extra.append((e, r.level, r.area_id, base, r.value))
            for r in base_k.itertuples():
                later = r.stichtag + pd.DateOffset(years=k)
                if later in atoms and is_stable(later, r.stichtag, r.level, r.area_id):
                    extra.append((later, r.level, r.area_id, lag, r.value))
        if extra:
            ex = pd.DataFrame(extra, columns=[*key, "value"])
            ex["value"] = ex["value"].astype("Float64")
            known = pd.concat([known, ex], ignore_index=True).drop_duplicates(key, keep="first")

    solver = _Solver(milp_time_limit)
    results = []
    for day in days:
        day_targets = targets[targets["stichtag"] == day]
        if day_targets.empty:
            continue
        results.append(
            _attack_day(
                day,
                atoms[day],
                known[known["stichtag"] == day],
                wh[wh["stichtag"] == day],
                day_targets,
                parts_of,
                relations,
                atom_identities[day],
                area_identities[day],
                solver,
                notes,
                noise_bound,
            )
        )
    out = pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=COLUMNS)
    out["stichtag"] = pd.to_datetime(out["stichtag"]).dt.date
    out = out[COLUMNS].sort_values(key).reset_index(drop=True)
    return AttackResult(
        cells=out[out["kind"] == "count"].drop(columns="kind").reset_index(drop=True),
        balances=out[out["kind"] == "balance"].drop(columns="kind").reset_index(drop=True),
        min_count=min_count,
        protection_width=protection_width,
        lps=solver.lps,
        milps=solver.milps,
        seconds=time.perf_counter() - start,
        relations_used=relations_used,
        relations_dropped=relations_dropped,
        identities=identities,
        notes=notes,
    )


class _Stability:
    """Has a unit the same extent at two Stichtage (as far as the areas table tells)?"""

    def __init__(self, areas: pd.DataFrame):
        self.areas = areas
        self._rows: dict = {}
        self._pairs: dict = {}

    def rows(self, t):
        if t not in self._rows:
            self._rows[t] = _area_rows(self.areas, t)
        return self._rows[t]

    def __call__(self, t1, t2, level, area_id) -> bool:
        if level == NON_NESTED:
            return True
        if (t1, t2) not in self._pairs:
            rows1, rows2 = self.rows(t1), self.rows(t2)
            k1 = {(r[0], r[1]): r for r in rows1}
            k2 = {(r[0], r[1]): r for r in rows2}
            same = {k for k, r in k1.items() if k2.get(k) == r}
            if rows1 != rows2:
                same -= _unstable_roots(rows1, rows2)[1]
            self._pairs[(t1, t2)] = same
        return (level, area_id) in self._pairs[(t1, t2)]


def _sum_rows(df, idx, nv, n, memb, parts_of) -> sparse.csr_matrix:
    """Sparse rows (one per row of df: level, area_id, measure) of the sums over the atoms of each
    cell; a balance expands to its parts. Columns: measure index * n + atom."""
    if df.empty:
        return sparse.csr_matrix((0, nv))
    df = df.reset_index(drop=True)
    ex = pd.DataFrame(
        [(i, part, coef) for i, m in enumerate(df["measure"]) for part, coef in parts_of.get(m, {m: 1.0}).items()],
        columns=["row", "part", "coef"],
    )
    ex = ex[ex["part"].isin(idx)]
    ex = ex.merge(df[["level", "area_id"]].reset_index(names="row"), on="row")
    ex = ex.merge(memb, on=["level", "area_id"])
    cols = ex["part"].map(idx).to_numpy() * n + ex["atom"].to_numpy()
    return sparse.csr_matrix((ex["coef"].to_numpy(float), (ex["row"].to_numpy(), cols)), shape=(len(df), nv))


def _attack_day(
    day,
    atoms: _Atoms,
    known,
    withheld,
    targets,
    parts_of,
    relations,
    atom_ids,
    area_ids,
    solver: _Solver,
    notes,
    noise_bound: int | None = None,
) -> pd.DataFrame:
    n = atoms.n
    memb = atoms.membership
    # measures and their groups
    uf = _UnionFind()
    measures = set()
    for m in pd.concat([known["measure"], withheld["measure"], targets["measure"]]).unique():
        parts = list(parts_of.get(m, {m: 1.0}))
        measures |= set(parts)
        for p in parts[1:]:
            uf.union(parts[0], p)
    per_atom = [r for r in relations if set(r.coefs) & measures] + list(atom_ids)
    area_rel = [(r, s) for r, s in area_ids]
    for r in per_atom + [r for r, _ in area_rel]:
        ms = list(r.coefs)
        measures |= set(ms)
        for p in ms[1:]:
            uf.union(ms[0], p)
    for m in measures:
        uf.find(m)
    groups = defaultdict(list)
    for m in sorted(measures):
        groups[uf.find(m)].append(m)

    def group_of(m):
        return uf.find(next(iter(parts_of.get(m, {m: 1.0}))))

    def in_group(df, g):
        return df[df["measure"].map(group_of) == g]

    out = []
    target_groups = sorted({group_of(m) for m in targets["measure"]})
    for g in target_groups:
        ms = groups[g]
        idx = {m: j for j, m in enumerate(ms)}
        nv = len(ms) * n
        lb = np.zeros(nv)
        ub = np.full(nv, np.inf)
        for m in ms:
            if m in SIGNED_MEASURES:
                lb[idx[m] * n : (idx[m] + 1) * n] = -np.inf

        def rows_of(df, idx=idx, nv=nv):
            return _sum_rows(df, idx, nv, n, memb, parts_of)

        kg = in_group(known, g)
        kg = kg[kg.set_index(["level", "area_id"]).index.isin(memb.set_index(["level", "area_id"]).index)]
        a_eq_cells = rows_of(kg)
        b_eq_cells = kg["value"].to_numpy(float)
        if noise_bound is None:
            eq_blocks, eq_b, ub_blocks, ub_b = [a_eq_cells], [b_eq_cells], [], []
        else:  # |sum of atoms - published| <= noise_bound
            eq_blocks, eq_b = [], []
            ub_blocks = [a_eq_cells, -a_eq_cells]
            ub_b = [b_eq_cells + noise_bound, -(b_eq_cells - noise_bound)]
        # per-atom relations
        for r in per_atom:
            if not set(r.coefs) <= set(ms):
                continue
            rr = np.tile(np.arange(n), len(r.coefs))
            cc = np.concatenate([idx[m] * n + np.arange(n) for m in r.coefs])
            vv = np.repeat(np.array(list(r.coefs.values()), dtype=float), n)
            mat = sparse.csr_matrix((vv, (rr, cc)), shape=(n, nv))
            (eq_blocks if r.sense == "==" else ub_blocks).append(mat)
            (eq_b if r.sense == "==" else ub_b).append(np.zeros(n))
        # area-level identities (the Gemeinde)
        for r, scope in area_rel:
            if not set(r.coefs) <= set(ms):
                continue
            gem = memb[memb["level"] == scope]
            for _area, grp in gem.groupby("area_id"):
                row = np.zeros(nv)
                for m, c in r.coefs.items():
                    row[idx[m] * n + grp["atom"].to_numpy()] = c
                eq_blocks.append(sparse.csr_matrix(row))
                eq_b.append(np.zeros(1))
        # withheld counts: at least their lower bound
        wg = in_group(withheld, g)
        wg = wg[wg["lb"] > 0]
        if len(wg):
            ub_blocks.append(-rows_of(wg))
            ub_b.append(-wg["lb"].to_numpy(float))
        a_eq = sparse.vstack(eq_blocks).tocsr() if eq_blocks else None
        b_eq = np.concatenate(eq_b) if eq_b else None
        a_ub = sparse.vstack(ub_blocks).tocsr() if ub_blocks else None
        b_ub = np.concatenate(ub_b) if ub_b else None
        tg = in_group(targets, g).reset_index(drop=True)
        tg = tg[tg.set_index(["level", "area_id"]).index.isin(memb.set_index(["level", "area_id"]).index)]
        tg = tg.reset_index(drop=True)
        c_rows = rows_of(tg)
        model = solver.model(a_eq, b_eq, a_ub, b_ub, lb, ub)
        for i, t in enumerate(tg.itertuples(index=False)):
            c = c_rows[i].toarray().ravel()
            low, high, lp_low, lp_high, note = model.bounds(c)
            if note == "infeasible":
                notes.append(f"{pd.Timestamp(day).date()} group {g}: infeasible - the model assumes something false")
            out.append((t.stichtag, t.level, t.area_id, t.measure, t.kind, low, high, lp_low, lp_high, note))
    df = pd.DataFrame(out, columns=[*COLUMNS[:5], "low", "high", "lp_low", "lp_high", "note"])
    df["width"] = df["high"] - df["low"]
    return df


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.disclosure.attacker", description=__doc__.split("\n\n")[0])
    parser.add_argument("release_dir", type=Path)
    parser.add_argument("--earlier", type=Path, action="append", default=[], help="an earlier release folder")
    parser.add_argument("--withheld-at-least", type=int, default=1)
    parser.add_argument(
        "--small-population-zeros",
        action="store_true",
        help="numerators withheld for small_population may be 0 (releases from before zeros were always published)",
    )
    parser.add_argument("--worst", type=int, default=25)
    parser.add_argument(
        "--noise-bound", type=int, default=None, help="Cell Key Method release: counts are known to ±this (D)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = attack(
        args.release_dir,
        args.earlier,
        args.withheld_at_least,
        small_population_zero=args.small_population_zeros,
        noise_bound=args.noise_bound,
    )
    if args.json:
        worst = result.worst(args.worst).astype({"stichtag": str})
        print(json.dumps({**result.summary(), "worst": worst.to_dict(orient="records")}, indent=1, default=str))
        return 0
    s = result.summary()
    print(f"cells attacked:                {s['cells_attacked']}")
    print(f"proven below min count {result.min_count}:     {s['below_min_count']}")
    print(f"narrower than width {result.protection_width}:        {s['narrower_than_width']}")
    print(f"pinned exactly:                {s['exact']}")
    print(f"narrowest width:               {s['narrowest_width']}")
    print(f"LPs / MILPs solved:            {s['lps']} / {s['milps']}")
    print(f"seconds:                       {s['seconds']}")
    print(f"relations used: {s['relations_used']}; dropped: {s['relations_dropped'] or 'none'}")
    for name, ident in s["identities"].items():
        print(f"identity {name}: {'holds' if ident['holds'] else 'does NOT hold'}")
    for note in s["notes"]:
        print(f"note: {note}")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(result.worst(args.worst).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
