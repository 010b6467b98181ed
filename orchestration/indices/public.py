"""The indices as a release publishes them (dbt Python models int_public_index_status_dynamics and
int_public_index_composite, published through pub_index_*).

Privacy by construction: the published indices are computed from the published harmonised series
(pub_indicator_series) and from nothing else. Every input is a value that disclosure control let
out; a withheld value is missing to the index exactly as it is missing to a reader. What the
release publishes about an index is therefore a function of what it publishes anyway, and so it
cannot tell anything about a protected count that the published values do not (and the disclosure
audit shows that they do not). The internal marts (fct_index_*) are computed from the true values
and may differ where a value is withheld: there the area is not indexed (MSS) or its dimension is
reweighted (composite), as the index configuration says for missing values, and the mean and
standard deviation are those of the areas with published values. `estimated_inputs` names the
inputs that were missing because disclosure control withheld them.

Anyone can recompute the published indices from the release alone (indicator_series and
index_catalogue); the release audit does exactly that before anything is published.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..warehouse import scratch, sql_string
from .marts import composite, specs, status_dynamics, uncertainty

STATUS_COLUMNS = [
    "index_id", "level", "area_id", "area_name", "gebietsstand", "stichtag", "population", "indexed", "reason",
    "estimated_inputs", "status_z", "status_class", "dynamics_z", "dynamics_class", "dynamics_years", "index_group",
]  # fmt: skip
COMPOSITE_COLUMNS = [
    "index_id", "level", "area_id", "area_name", "gebietsstand", "stichtag", "component", "component_name", "value",
    "rank", "indexed", "reason", "missing_indicators", "estimated_inputs", "median_rank", "rank_p05", "rank_p95",
    "draws",
]  # fmt: skip
INPUT_COLUMNS = [
    "indicator_id", "level", "area_id", "stichtag", "value", "numerator", "denominator", "is_suppressed", "area_name",
    "gebietsstand",
]  # fmt: skip


def _inputs(series: pd.DataFrame) -> pd.DataFrame:
    out = series[INPUT_COLUMNS].copy()
    out["stichtag"] = pd.to_datetime(out["stichtag"])
    out["is_suppressed"] = out["is_suppressed"].fillna(False).astype(bool)
    out["estimate"] = out["is_suppressed"]
    return out


def _absent_rows(inputs: pd.DataFrame, areas: pd.DataFrame, needed: dict[str, set[str]]) -> pd.DataFrame:
    """Rows for the index inputs that the release does not publish at an index's level at all (the
    catalogue publishes the indicator only on coarser units): to be estimated like withheld ones."""
    days = pd.DataFrame({"stichtag": sorted(inputs["stichtag"].unique())})
    names = areas[["level", "area_id", "area_name"]].drop_duplicates(["level", "area_id"])
    gebietsstand = inputs["gebietsstand"].max()
    frames = []
    for level, indicators in sorted(needed.items()):
        units = names[names["level"] == level]
        for indicator in sorted(indicators):
            if ((inputs["level"] == level) & (inputs["indicator_id"] == indicator)).any():
                continue
            frames.append(units.merge(days, how="cross").assign(indicator_id=indicator))
    if not frames:
        return inputs.iloc[0:0]
    rows = pd.concat(frames, ignore_index=True)
    rows["gebietsstand"] = gebietsstand
    rows["is_suppressed"] = False
    rows["estimate"] = True
    for column in ("value", "numerator", "denominator"):
        rows[column] = float("nan")
    return rows[inputs.columns]


def ancestors(areas: pd.DataFrame, top_level: str) -> pd.DataFrame:
    """(level, area_id) -> every enclosing unit (anc_level, anc_id, depth 1 = parent), from the parent
    links of the public areas valid today; a unit without parent (a non-nested level such as the
    Sozialraum) lies in the one unit of `top_level` (the Gemeinde)."""
    links = areas[["level", "area_id", "parent_level", "parent_id"]].drop_duplicates(["level", "area_id"])
    tops = areas.loc[areas["level"] == top_level, "area_id"].unique()
    rows = []
    frontier = links.rename(columns={"parent_level": "anc_level", "parent_id": "anc_id"}).assign(depth=1)
    orphans = frontier[frontier["anc_level"].isna() & (frontier["level"] != top_level)]
    if len(tops) == 1 and not orphans.empty:
        rows.append(
            orphans.assign(anc_level=top_level, anc_id=tops[0])[["level", "area_id", "anc_level", "anc_id", "depth"]]
        )
    frontier = frontier[frontier["anc_level"].notna()]
    while not frontier.empty:
        rows.append(frontier[["level", "area_id", "anc_level", "anc_id", "depth"]])
        up = frontier.merge(
            links.rename(
                columns={"level": "anc_level", "area_id": "anc_id", "parent_level": "up_level", "parent_id": "up_id"}
            ),
            on=["anc_level", "anc_id"],
        )
        up = up[up["up_level"].notna()]
        frontier = up.assign(anc_level=up["up_level"], anc_id=up["up_id"], depth=up["depth"] + 1)[
            ["level", "area_id", "anc_level", "anc_id", "depth"]
        ]
    if not rows:
        return pd.DataFrame(columns=["level", "area_id", "anc_level", "anc_id", "depth"])
    return pd.concat(rows, ignore_index=True)


def _estimate_counts(counts: pd.DataFrame, weights: pd.DataFrame, anc: pd.DataFrame) -> pd.DataFrame:
    """Estimated counts for the units whose count is withheld (count NaN), per (measure, stichtag):
    the nearest enclosing unit with a published count, less the published counts of the units of
    the same level inside it, shared in proportion to `weight` among the withheld ones (equally
    where no weight is published). Returns level, area_id, stichtag, measure, estimate."""
    key = ["measure", "stichtag"]
    held = counts[counts["count"].isna()][["level", "area_id", *key]]
    if held.empty:
        return pd.DataFrame(columns=["level", "area_id", *key, "estimate"])
    published = counts[counts["count"].notna()]
    # the nearest enclosing unit whose count is published
    cand = held.merge(anc, on=["level", "area_id"]).merge(
        published.rename(columns={"level": "anc_level", "area_id": "anc_id", "count": "anc_count"}),
        on=["anc_level", "anc_id", *key],
    )
    cand = cand.sort_values("depth").drop_duplicates(["level", "area_id", *key])
    # every unit of the level inside that enclosing unit
    inside = anc[["level", "area_id", "anc_level", "anc_id"]].merge(
        cand[["level", "anc_level", "anc_id", *key, "anc_count"]].drop_duplicates(), on=["level", "anc_level", "anc_id"]
    )
    inside = inside.merge(counts, on=["level", "area_id", *key], how="left").merge(
        weights, on=["level", "area_id", "stichtag"], how="left"
    )
    group = ["level", "anc_level", "anc_id", *key]
    known = inside.groupby(group, dropna=False)["count"].sum(min_count=0).rename("known")
    open_ = inside[inside["count"].isna()].copy()
    open_["weight"] = open_["weight"].fillna(0.0)
    totals = (
        open_.groupby(group, dropna=False)["weight"]
        .agg(["sum", "size"])
        .rename(columns={"sum": "weights", "size": "units"})
    )
    open_ = open_.join(known, on=group).join(totals, on=group)
    residual = (open_["anc_count"] - open_["known"].fillna(0.0)).clip(lower=0.0)
    share = (open_["weight"] / open_["weights"]).where(open_["weights"] > 0, 1.0 / open_["units"])
    open_["estimate"] = residual * share
    return open_[["level", "area_id", *key, "estimate"]].drop_duplicates(["level", "area_id", *key])


def impute_withheld(
    series: pd.DataFrame, catalogue: pd.DataFrame, areas: pd.DataFrame, population: str, top_level: str
) -> pd.DataFrame:
    """The series with every withheld value replaced by its estimate from published values (see the
    module docstring). Rows whose value is withheld get the estimated value and stay marked
    is_suppressed, so that the index can name them. Set-based over all units and Stichtage."""
    out = series.copy()
    if not out["estimate"].any():
        return out
    cat = catalogue.set_index("indicator_id")
    anc = ancestors(areas, top_level)
    weights = out.loc[out["indicator_id"] == population, ["level", "area_id", "stichtag", "numerator"]].rename(
        columns={"numerator": "weight"}
    )
    weights["weight"] = weights["weight"].astype(float)
    parts = []
    for side in ("numerator", "denominator"):
        frame = out[["indicator_id", "level", "area_id", "stichtag", side]].rename(
            columns={"indicator_id": "measure", side: "count"}
        )
        frame["count"] = frame["count"].astype(float)
        estimate = _estimate_counts(frame, weights, anc)
        parts.append(estimate.rename(columns={"measure": "indicator_id", "estimate": f"{side}_estimate"}))
    key = ["indicator_id", "level", "area_id", "stichtag"]
    held = out[out["estimate"]].merge(parts[0], on=key, how="left").merge(parts[1], on=key, how="left")
    numerator = held["numerator"].astype(float).fillna(held["numerator_estimate"])
    denominator = held["denominator"].astype(float).fillna(held["denominator_estimate"])
    factor = held["indicator_id"].map(cat["factor"].astype(float))
    has_denominator = held["indicator_id"].map(cat["denominator_measure"].notna())
    value = (numerator * factor / denominator.where(denominator > 0)).where(has_denominator, numerator * factor)
    held["value"] = value.to_numpy()
    out = out.set_index(key)
    out.loc[held.set_index(key).index, "value"] = held.set_index(key)["value"]
    return out.reset_index()[series.columns]


def _names(series: pd.DataFrame) -> pd.DataFrame:
    """Name and Gebietsstand per unit of today's Gebietsstand (the same at every Stichtag)."""
    return (
        series[["level", "area_id", "area_name", "gebietsstand"]]
        .drop_duplicates(["level", "area_id"])
        .reset_index(drop=True)
    )


def _estimated_inputs(series: pd.DataFrame, frame: pd.DataFrame, indicators: dict[str, list[str]], years: int | None):
    """Per row of `frame` (index_id, level, area_id, stichtag): the inputs of its index that were
    estimated (withheld, or not published at the level), at the Stichtag or (dynamics) `years`
    before, comma-separated."""
    held = series.loc[series["estimate"], ["indicator_id", "level", "area_id", "stichtag"]]
    if held.empty or frame.empty:
        return pd.Series([""] * len(frame), index=frame.index, dtype="string")
    keyed = frame[["index_id", "level", "area_id", "stichtag"]].reset_index()
    rows = []
    for index_id, ids in indicators.items():
        part = keyed[keyed["index_id"] == index_id]
        wanted = held[held["indicator_id"].isin(ids)]
        rows.append(part.merge(wanted, on=["level", "area_id", "stichtag"]))
        if years:
            earlier = wanted.assign(stichtag=wanted["stichtag"] + pd.DateOffset(years=years))
            rows.append(part.merge(earlier, on=["level", "area_id", "stichtag"]))
    found = pd.concat(rows, ignore_index=True)
    if found.empty:
        return pd.Series([""] * len(frame), index=frame.index, dtype="string")
    listed = found.groupby("index")["indicator_id"].agg(lambda s: ",".join(sorted(set(s))))
    return listed.reindex(frame.index).fillna("").astype("string")


def areas_today(areas: pd.DataFrame, current_date) -> pd.DataFrame:
    """The public units valid at `current_date` (today's Gebietsstand)."""
    day = pd.Timestamp(current_date)
    start = pd.to_datetime(areas["valid_from"])
    end = pd.to_datetime(areas["valid_to"]).fillna(pd.Timestamp("9999-12-31"))
    return areas[(start <= day) & (end >= day)].reset_index(drop=True)


def top_level(areas: pd.DataFrame) -> str:
    """The nested level without a parent: the Gemeinde."""
    tops = areas.loc[areas["is_nested"].astype(bool) & areas["parent_level"].isna(), "level"].unique()
    if len(tops) != 1:
        raise ValueError(f"the public areas need exactly one top level, not {sorted(tops)}")
    return str(tops[0])


def _estimated(series, index_catalogue, catalogue, areas, kind) -> pd.DataFrame:
    """The index inputs, withheld values estimated; `areas`: every public unit (pub_areas), of which
    those of the series' Gebietsstand are used."""
    inputs = _inputs(series)
    if inputs.empty:
        return inputs
    areas = areas_today(areas, pd.to_datetime(inputs["gebietsstand"]).max())
    top = top_level(areas)
    needed: dict[str, set[str]] = {}
    for spec in specs(index_catalogue, kind):
        ids = set(spec.get("status", [])) | {i["id"] for d in spec.get("dimensions", []) for i in d["indicators"]}
        for level in spec["levels"]:
            needed.setdefault(level, set()).update(ids)
    absent = _absent_rows(inputs, areas, needed)
    if not absent.empty:
        inputs = pd.concat([inputs, absent], ignore_index=True)
    populations = {s.get("population") for s in specs(index_catalogue, kind)} - {None}
    for population in sorted(populations):
        inputs = impute_withheld(inputs, catalogue, areas, population, top)
    return inputs


def public_status_dynamics(
    series: pd.DataFrame, index_catalogue: pd.DataFrame, catalogue: pd.DataFrame, areas: pd.DataFrame
) -> pd.DataFrame:
    """The status and dynamics index from the published series (`areas`: the public units, for the
    estimates of withheld values)."""
    inputs = _estimated(series, index_catalogue, catalogue, areas, "status_dynamics")
    out = status_dynamics(inputs, index_catalogue)
    if out.empty:
        return pd.DataFrame(columns=STATUS_COLUMNS)
    out["stichtag"] = pd.to_datetime(out["stichtag"])
    config = specs(index_catalogue, "status_dynamics")
    indicators = {s["index_id"]: [*s["status"], s["population"]] for s in config}
    years = {s["index_id"]: int(s.get("dynamics_years", 2)) for s in config}
    parts = []
    for index_id, frame in out.groupby("index_id", sort=True):
        frame = frame.copy()
        frame["estimated_inputs"] = _estimated_inputs(inputs, frame, {index_id: indicators[index_id]}, years[index_id])
        parts.append(frame)
    out = pd.concat(parts).sort_index()
    both = out["indexed"] & (out["status_class"] != "") & (out["dynamics_class"] != "")
    out["index_group"] = (out["status_class"] + "/" + out["dynamics_class"]).where(both)
    out = out.merge(_names(inputs), on=["level", "area_id"], how="left")
    out["stichtag"] = out["stichtag"].dt.date
    out["dynamics_years"] = out["dynamics_years"].astype("Int64")
    for column in ("status_class", "dynamics_class", "reason", "estimated_inputs"):
        out[column] = out[column].replace("", None)
    return out[STATUS_COLUMNS].sort_values(["index_id", "level", "stichtag", "area_id"]).reset_index(drop=True)


def _component_names(index_catalogue: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for spec in specs(index_catalogue, "composite"):
        rows.append({"index_id": spec["index_id"], "component": "gesamt", "component_name": "Gesamtindex"})
        for dimension in spec.get("dimensions", []):
            rows.append(
                {
                    "index_id": spec["index_id"],
                    "component": dimension["id"],
                    "component_name": dimension.get("name_de", dimension["id"]),
                }
            )
    return pd.DataFrame(rows, columns=["index_id", "component", "component_name"])


def public_composite(
    series: pd.DataFrame, index_catalogue: pd.DataFrame, catalogue: pd.DataFrame, areas: pd.DataFrame
) -> pd.DataFrame:
    """The composite indices with their dimension sub-indices and, on the overall rows, the rank
    band of the uncertainty analysis (seeded: the same values give the same band)."""
    config = specs(index_catalogue, "composite")
    if not config:
        return pd.DataFrame(columns=COMPOSITE_COLUMNS)
    inputs = _estimated(series, index_catalogue, catalogue, areas, "composite")
    out = composite(inputs, index_catalogue)
    out["stichtag"] = pd.to_datetime(out["stichtag"])
    ranks = uncertainty(inputs, index_catalogue)
    ranks["stichtag"] = pd.to_datetime(ranks["stichtag"])
    ranks["component"] = "gesamt"
    out = out.merge(
        ranks[
            ["index_id", "level", "stichtag", "area_id", "component", "median_rank", "rank_p05", "rank_p95", "draws"]
        ],
        on=["index_id", "level", "stichtag", "area_id", "component"],
        how="left",
    )
    indicators = {
        s["index_id"]: [i["id"] for d in s.get("dimensions", []) for i in d["indicators"]]
        + ([s["population"]] if s.get("population") else [])
        for s in config
    }
    out["estimated_inputs"] = _estimated_inputs(inputs, out, indicators, None)
    out.loc[out["component"] != "gesamt", "estimated_inputs"] = ""
    out = out.merge(_component_names(index_catalogue), on=["index_id", "component"], how="left")
    out = out.merge(_names(inputs), on=["level", "area_id"], how="left")
    out["stichtag"] = out["stichtag"].dt.date
    for column in ("rank", "median_rank", "rank_p05", "rank_p95", "draws"):
        out[column] = out[column].astype("Int64")
    for column in ("reason", "missing_indicators", "estimated_inputs"):
        out[column] = out[column].replace("", None)
    return (
        out[COMPOSITE_COLUMNS]
        .sort_values(["index_id", "level", "stichtag", "area_id", "component"])
        .reset_index(drop=True)
    )


def index_catalogue_public(index_catalogue: pd.DataFrame) -> pd.DataFrame:
    """The index specifications as published: what a reader needs to recompute every index."""
    out = index_catalogue.copy()
    out["config"] = [json.dumps(json.loads(c), sort_keys=True, ensure_ascii=False) for c in out["config"]]
    return out.sort_values("index_id").reset_index(drop=True)


PUBLISHED = {"index_status_dynamics": public_status_dynamics, "index_composite": public_composite}
KEYS = {
    "index_status_dynamics": ["index_id", "level", "stichtag", "area_id"],
    "index_composite": ["index_id", "level", "stichtag", "area_id", "component"],
}


def recompute_from_release(data_dir) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Every published index recomputed from the release's own Parquet files (series, catalogues,
    areas), next to the index as published: (published, recomputed) per table. Used by the release
    audit, and by anyone who wants to check that an index depends on published values only."""

    con = scratch()
    try:

        def read(name: str) -> pd.DataFrame:
            return con.execute(f"select * from read_parquet({sql_string(Path(data_dir) / f'{name}.parquet')})").df()

        index_catalogue = read("index_catalogue")
        series = read("indicator_series")
        catalogue = read("indicator_catalogue")
        areas = read("areas")
        out = {}
        for name, compute in PUBLISHED.items():
            published = read(name)
            recomputed = compute(series, index_catalogue, catalogue, areas)
            # the release stores its tables ordered by all columns: compare in key order
            out[name] = tuple(
                f.assign(stichtag=pd.to_datetime(f["stichtag"])).sort_values(KEYS[name]).reset_index(drop=True)
                for f in (published, recomputed)
            )
        return out
    finally:
        con.close()
