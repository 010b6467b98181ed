"""The composite indices of the Kennzahlenkatalog as marts (called by the dbt Python models
fct_index_status_dynamics, fct_index_composite and fct_index_rank_uncertainty).

Input: the indicator values on today's Gebietsstand (fct_indicator_values_current, long form),
so that the dynamics of an area compare like with like across a boundary change, and the index
specifications of the seed index_catalogue (one row per index: kind, levels, JSON config).
Every configured level and every Stichtag is computed; an area not indexed keeps its row with
the reason.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ..warehouse import sql_string
from .composite import CompositeConfig, compute_composite
from .mss import MssConfig, MssInputError, compute_mss
from .uncertainty import UncertaintyConfig, rank_uncertainty
from .within import UNITS, WITHIN, crosses_reason, not_indexable_reason

MSS_KEYS = ("status", "dynamics_years", "population", "min_population", "exclude", "status_bounds", "dynamics_bounds")


def specs(index_catalogue: pd.DataFrame, kind: str) -> list[dict[str, Any]]:
    out = []
    for row in index_catalogue.sort_values("index_id").itertuples(index=False):
        if row.kind == kind:
            out.append({"index_id": row.index_id, "levels": row.levels.split(","), **json.loads(row.config)})
    return out


def needed_filter(index_catalogue: pd.DataFrame, all_levels: bool = False) -> str:
    """SQL filter on fct_indicator_values_current: only the levels and indicators the indices use
    (every level with `all_levels`)."""
    levels: set[str] = set()
    indicators: set[str] = set()
    for row in index_catalogue.itertuples(index=False):
        levels.update(row.levels.split(","))
        config = json.loads(row.config)
        indicators.update(config.get("status", []))
        if config.get("population"):
            indicators.add(config["population"])
        for dimension in config.get("dimensions", []):
            indicators.update(i["id"] for i in dimension["indicators"])

    def quoted(values: set[str]) -> str:
        return ", ".join(sql_string(v) for v in sorted(values))

    if all_levels:
        return f"indicator_id in ({quoted(indicators)})"
    return f"level in ({quoted(levels)}) and indicator_id in ({quoted(indicators)})"


def needed_indicators(index_catalogue: pd.DataFrame) -> str:
    """SQL filter: the indicators the indices use, at every level (estimates of withheld values
    need the enclosing units)."""
    return needed_filter(index_catalogue, all_levels=True)


def _wide(values: pd.DataFrame, level: str, indicators: list[str]) -> pd.DataFrame:
    """(stichtag, area_id) × indicator for one level."""
    sub = values[(values["level"] == level) & values["indicator_id"].isin(indicators)]
    wide = sub.pivot_table(index=["stichtag", "area_id"], columns="indicator_id", values="value", aggfunc="first")
    for column in indicators:
        if column not in wide.columns:
            wide[column] = np.nan
    return wide[indicators].sort_index()


def status_dynamics(values: pd.DataFrame, index_catalogue: pd.DataFrame) -> pd.DataFrame:
    """Status and dynamics classes (method of Berlin's MSS) per index, level, Stichtag and area.
    Dynamics: the change of each status indicator in percentage points over `dynamics_years`
    (on today's boundaries); a Stichtag without that earlier Stichtag gets the status index only."""
    frames = []
    for spec in specs(index_catalogue, "status_dynamics"):
        status = list(spec["status"])
        population = spec["population"]
        years = int(spec.get("dynamics_years", 2))
        base = {k: spec[k] for k in ("min_population", "exclude", "status_bounds", "dynamics_bounds") if k in spec}
        for level in spec["levels"]:
            wide = _wide(values, level, sorted(set(status) | {population}))
            stichtage = sorted(wide.index.get_level_values("stichtag").unique())
            for day in stichtage:
                now = wide.xs(day, level="stichtag")
                frame = pd.DataFrame({"area_id": now.index.astype(str), "population": now[population].to_numpy()})
                for column in status:
                    frame[column] = now[column].to_numpy()
                earlier = pd.Timestamp(day) - pd.DateOffset(years=years)
                dynamics: list[str] = []
                if earlier in set(pd.to_datetime(stichtage)):
                    before = wide.xs(earlier, level="stichtag").reindex(now.index)
                    for column in status:
                        frame[f"d_{column}"] = (now[column] - before[column]).to_numpy()
                        dynamics.append(f"d_{column}")
                config = MssConfig.from_mapping({**base, "status": status, "dynamics": dynamics})
                result = compute_mss(frame, config, id_column="area_id", population_column="population")
                if spec.get(WITHIN):
                    units = frame["area_id"].map(spec.get(UNITS, {}).get(level, {}))
                    result = _within_units(frame, units, config, result, spec[WITHIN])
                result = _keyed(result, spec["index_id"], level, day)
                result["population"] = frame["population"].to_numpy()
                result["dynamics_years"] = years if dynamics else None
                frames.append(result)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out = out.rename(columns={"id": "area_id"})
    out["status_z"] = out["status_z"].round(6)
    out["dynamics_z"] = out["dynamics_z"].round(6)
    return out[
        ["index_id", "level", "stichtag", "area_id", "population", "indexed", "reason",
         "status_z", "status_class", "dynamics_z", "dynamics_class", "dynamics_years"]
    ]  # fmt: skip


def _within_units(
    frame: pd.DataFrame, units: pd.Series, config: MssConfig, overall: pd.DataFrame, level: str
) -> pd.DataFrame:
    """The index computed within each unit (`units`: per row of `frame`, its unit of `level` or
    None): compute_mss on the areas of each unit on their own (a loop over the units, not the rows).
    An area in no single unit gets the reason crosses_<level>_border; the areas of a unit that cannot
    be indexed on its own (too few indexable areas, a constant indicator) keep the reason they have in
    `overall` (the index over all areas: excluded, too small, a missing value), else they get
    not_indexable_within_<level>. Rows in the order of `frame`."""
    not_indexed = overall.assign(indexed=False, status_z=np.nan, status_class="", dynamics_z=np.nan, dynamics_class="")
    placed = units.notna()
    parts = [not_indexed[~placed].assign(reason=crosses_reason(level))]
    for _, part in frame[placed].groupby(units[placed], sort=True):
        try:
            parts.append(compute_mss(part, config, id_column="area_id", population_column="population"))
        except MssInputError:
            own = not_indexed.loc[part.index]
            parts.append(own.assign(reason=own["reason"].where(own["reason"] != "", not_indexable_reason(level))))
    out = pd.concat([p for p in parts if not p.empty]).reindex(frame.index)
    out["indexed"] = out["indexed"].astype(bool)
    return out


def _keyed(frame: pd.DataFrame, index_id: str, level: str, day) -> pd.DataFrame:
    """The frame with the key columns index_id, level, stichtag in front."""
    frame.insert(0, "stichtag", day)
    frame.insert(0, "level", level)
    frame.insert(0, "index_id", index_id)
    return frame


def _composite_slices(values: pd.DataFrame, index_catalogue: pd.DataFrame):
    """Per composite index, level and Stichtag: (spec, level, Stichtag, config, the indicator
    values with the area id as text index, population or None). Shared by the index and its
    uncertainty analysis, so both see the same areas and values."""
    for spec in specs(index_catalogue, "composite"):
        config = CompositeConfig.from_mapping(
            {k: v for k, v in spec.items() if k not in ("index_id", "levels", "population", "uncertainty")}
        )
        population = spec.get("population")
        indicators = list(config.indicator_ids)
        for level in spec["levels"]:
            wide = _wide(values, level, sorted(set(indicators) | ({population} if population else set())))
            for day in sorted(wide.index.get_level_values("stichtag").unique()):
                now = wide.xs(day, level="stichtag")
                now.index = now.index.astype(str)
                yield spec, level, day, config, now[indicators], (now[population] if population else None)


def composite(values: pd.DataFrame, index_catalogue: pd.DataFrame) -> pd.DataFrame:
    """The composite index and its dimension sub-indices per index, level, Stichtag and area, in
    long form: component 'gesamt' (the index, with its rank) and one row per dimension."""
    frames = []
    for spec, level, day, config, frame, pop in _composite_slices(values, index_catalogue):
        result = compute_composite(frame, config, pop)
        areas = result.areas
        overall = pd.DataFrame(
            {
                "area_id": areas["area_id"].astype(str),
                "component": "gesamt",
                "value": areas["index_value"].astype(float),
                "rank": areas["rank"].astype("Int64"),
                "indexed": areas["indexed"].astype(bool),
                "reason": areas["reason"].astype(str),
                "missing_indicators": areas["missing_indicators"].astype(str),
                "n_indicators_missing": areas["n_missing"].astype(int),
            }
        )
        dims = result.dimensions.merge(areas[["area_id", "indexed", "reason"]], on="area_id")
        dimensions = pd.DataFrame(
            {
                "area_id": dims["area_id"].astype(str),
                "component": dims["dimension_id"].astype(str),
                "value": dims["value"].astype(float),
                "rank": pd.array([pd.NA] * len(dims), dtype="Int64"),
                "indexed": dims["indexed"].astype(bool),
                "reason": dims["reason"].astype(str),
                "missing_indicators": "",
                "n_indicators_missing": dims["n_indicators_missing"].astype(int),
            }
        )
        frames.append(_keyed(pd.concat([overall, dimensions], ignore_index=True), spec["index_id"], level, day))
    out = pd.concat(frames, ignore_index=True)
    out["value"] = out["value"].round(6)
    return out


def uncertainty(values: pd.DataFrame, index_catalogue: pd.DataFrame) -> pd.DataFrame:
    """Each indexed area's rank under many random alternative choices (weights, normalisation,
    aggregation; seeded): nominal and median rank and the 5–95 % band."""
    frames = []
    for spec, level, day, config, frame, pop in _composite_slices(values, index_catalogue):
        uconfig = UncertaintyConfig.from_mapping(spec.get("uncertainty") or {})
        ranks = rank_uncertainty(frame, config, uconfig, pop)
        frames.append(_keyed(ranks, spec["index_id"], level, day))
    out = pd.concat(frames, ignore_index=True)
    out["area_id"] = out["area_id"].astype(str)
    return out
