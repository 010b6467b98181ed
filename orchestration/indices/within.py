"""A status and dynamics index computed within each unit of a level above its areas (issue 18,
"A Kreis and its Städte"): a Kreis runs one warehouse for several Gemeinden and wants the index both
Kreis-wide (every area standardised together, as for a single city) and within each Gemeinde (the
areas of each Gemeinde standardised on their own).

The catalogue entry names the level: `also_within: gemeinde` (orchestration/catalogue validates it:
a nested level above the index's levels; rendered into the seed index_catalogue as the config key
`also_within`). `expand` turns the seed into the catalogue that is computed and published:

- every index as configured, `also_within` removed from its config (so a single city's index and
  its published catalogue row are exactly what they were without the key);
- where the areas of the index lie in two or more units of that level, a second index
  `<index_id>__innerhalb_<level>` (WITHIN_SUFFIX) with a German label saying so, whose config adds
  `within` (the level) and `units` (level -> area id -> its unit, null where an area lies in no
  single unit). The published catalogue row therefore carries everything a reader needs to recompute
  it from the release. Where the level has a single unit (a single city), no second index is made:
  it would equal the first.

`unit_assignment` derives each area's unit from the Baublock memberships (dim_block_membership) on
today's Gebietsstand: an area whose Baublöcke all lie in the same unit lies in it; one whose Baublöcke
lie in several units (a Sozialraum across a Gemeinde border) lies in none. Set-based (pandas merges and
group-bys), no loop over rows; the Sozialräume are placed the same way as the nested levels, since
their parent links do not name a Gemeinde.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd

ALSO_WITHIN = "also_within"  # seed config: also compute the index within each unit of this level
WITHIN = "within"  # config of the derived index: standardised within each unit of this level
UNITS = "units"  # config of the derived index: level -> {area_id: unit id or None}
WITHIN_SUFFIX = "__innerhalb_"


def within_id(index_id: str, level: str) -> str:
    """The id of the index computed within each unit of `level`."""
    return f"{index_id}{WITHIN_SUFFIX}{level}"


def crosses_reason(level: str) -> str:
    """The reason of an area that lies in no single unit of `level` (not indexed within one)."""
    return f"crosses_{level}_border"


def not_indexable_reason(level: str) -> str:
    """The reason of an area whose unit cannot be indexed on its own (too few indexable areas, or an
    indicator with the same value in every indexable area of the unit)."""
    return f"not_indexable_within_{level}"


def requested(index_catalogue: pd.DataFrame) -> list[str]:
    """The levels the seed's indices ask to be computed within (sorted, empty: none)."""
    found = {json.loads(c).get(ALSO_WITHIN) for c in index_catalogue["config"]}
    return sorted(level for level in found if level)


def unit_assignment(memberships: pd.DataFrame, levels: Iterable[str], within: str, day) -> pd.DataFrame:
    """(level, area_id, unit_id) for every area of `levels` on the Gebietsstand of `day`: the unit of
    level `within` that all its Baublöcke lie in, None where they lie in several (or a Baublock in
    none). `memberships`: dim_block_membership (block_id, level, area_id, valid_from, valid_to)."""
    day = pd.Timestamp(day)
    start = pd.to_datetime(memberships["valid_from"])
    end = pd.to_datetime(memberships["valid_to"])
    valid = memberships[(start <= day) & (end.isna() | (end >= day))]
    areas = valid.loc[valid["level"].isin(list(levels)), ["block_id", "level", "area_id"]]
    units = valid.loc[valid["level"] == within, ["block_id", "area_id"]].rename(columns={"area_id": "unit_id"})
    joined = areas.merge(units.drop_duplicates("block_id"), on="block_id", how="left")
    joined["area_id"] = joined["area_id"].astype(str)
    grouped = joined.groupby(["level", "area_id"], sort=True)["unit_id"].agg(
        distinct=lambda s: s.nunique(dropna=False), unit="first"
    )
    grouped["unit_id"] = grouped["unit"].where((grouped["distinct"] == 1) & grouped["unit"].notna(), None)
    out = grouped.reset_index()[["level", "area_id", "unit_id"]]
    out["unit_id"] = out["unit_id"].astype(object).where(out["unit_id"].notna(), None)
    return out


def _units_config(assignment: pd.DataFrame, levels: list[str]) -> dict[str, dict[str, str | None]]:
    part = assignment[assignment["level"].isin(levels)]
    return {
        level: dict(zip(rows["area_id"].astype(str), rows["unit_id"].astype(object), strict=True))
        for level, rows in part.groupby("level", sort=True)
    }


def _dumped(config: dict) -> str:
    return json.dumps(config, ensure_ascii=False, sort_keys=True)


def expand(index_catalogue: pd.DataFrame, assignments: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The catalogue as computed and published (see the module doc): `also_within` removed from every
    config, and a derived index per index whose areas lie in two or more units of its `also_within`
    level. `assignments`: level -> `unit_assignment(...)` for the levels `requested`; without one no
    derived index is made. Rows without `also_within` are returned exactly as given."""
    if not requested(index_catalogue):
        return index_catalogue
    rows = []
    for row in index_catalogue.to_dict("records"):
        config = json.loads(row["config"])
        level = config.pop(ALSO_WITHIN, None)
        if level is None:
            rows.append(row)
            continue
        rows.append({**row, "config": _dumped(config)})
        assignment = (assignments or {}).get(level)
        if assignment is None:
            continue
        levels = str(row["levels"]).split(",")
        units = _units_config(assignment, levels)
        placed = {u for areas in units.values() for u in areas.values() if u is not None}
        if len(placed) < 2:
            continue  # a single unit: the index within it is the index itself
        name = level.capitalize()
        rows[-1]["name_de"] = f"{row['name_de']} – über alle Gebiete gemeinsam standardisiert"
        rows.append(
            {
                **row,
                "index_id": within_id(row["index_id"], level),
                "name_de": f"{row['name_de']} – je {name} standardisiert",
                "description_de": (
                    f"{row['description_de']} Abweichend davon werden Mittelwert und Standardabweichung hier je "
                    f"{name} für sich gebildet: Jedes Gebiet wird nur mit den Gebieten verglichen, die in derselben "
                    f"Einheit der Ebene {name} liegen. Ein Gebiet, das über eine Grenze dieser Ebene reicht, wird "
                    f"hier nicht indexiert (Grund {crosses_reason(level)})."
                ),
                "config": _dumped({**config, WITHIN: level, UNITS: units}),
            }
        )
    # a derived index follows its index: a catalogue sorted by index_id stays sorted
    return pd.DataFrame(rows, columns=index_catalogue.columns)


def expand_from_memberships(index_catalogue: pd.DataFrame, memberships: pd.DataFrame, day) -> pd.DataFrame:
    """`expand` with the units of every requested level derived from the Baublock memberships on the
    Gebietsstand of `day` (the dbt models fct_index_status_dynamics and int_public_index_catalogue)."""
    levels = sorted({lv for lvs in index_catalogue["levels"] for lv in str(lvs).split(",")})
    assignments = {w: unit_assignment(memberships, levels, w, day) for w in requested(index_catalogue)}
    return expand(index_catalogue, assignments)
