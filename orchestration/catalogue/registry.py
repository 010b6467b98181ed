"""The measure registry: what the dbt macros read from the catalogue (generated/<deployment>/macros/catalogue.sql,
macro `catalogue_registry()`): the Baublock measures grouped by model and source, lagged and
combined measures, and the cells disclosure control protects."""

from __future__ import annotations

import re
from typing import Any

from .model import PERSON_KINDS, Catalogue, Indicator, Measure

# `{name}` in a condition stands for the dbt var `name` (the macro catalogue_condition resolves it)
VAR_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_BOUND = r"(\d+|\{[a-z][a-z0-9_]*\})"
_AGE_CONDITION = re.compile(rf"^age (>=|<|<=) {_BOUND}(?: and age (<|<=) {_BOUND})?$")


def registry(cat: Catalogue) -> dict[str, Any]:
    """The measure registry for the dbt macros: Baublock measures grouped by (model, source) in
    catalogue order, lagged measures, combinations and the crosswalked sources."""
    groups: list[dict[str, Any]] = []
    for m in cat.block_measures:
        group = next((g for g in groups if g["model"] == m.model and g["topic"] == m.source), None)
        if group is None:
            group = {"model": m.model, "topic": m.source, "measures": [], "suppressed": {}, "crosswalk": None}
            groups.append(group)
        group["measures"].append(m.id)
        if m.suppressed_cells:
            group["suppressed"][m.id] = f"{m.id}_suppressed_cells"
        if m.crosswalk:
            group["crosswalk"] = m.crosswalk
    lags = [
        {"measure": m.id, "of": m.of, "years": m.lag_years, "topic": cat.measure(m.of).source}
        for m in cat.measures
        if m.role == "lag"
    ]
    combinations = [{"measure": m.id, "terms": m.combination} for m in cat.measures if m.role == "combination"]
    return {
        "groups": groups,
        "lags": lags,
        "combinations": combinations,
        "staging_models": {name: source.staging for name, source in cat.sources.items()},
        # per model, its measures in catalogue order: the models loop over them instead of naming
        # each measure (macro catalogue_counts for the counting models)
        "model_measures": {
            model: [
                {
                    "id": m.id,
                    "source": m.source,
                    "condition": m.condition,
                    "vars": condition_vars(m.condition),
                    "formula": m.formula,
                    "column": m.column or m.id,
                }
                for m in cat.block_measures
                if m.model == model
            ]
            for model in dict.fromkeys(m.model for m in cat.block_measures)
        },
        "ages": {m.id: ages for m in cat.block_measures if (ages := age_interval(m)) is not None},
        "relations": relation_specs(cat),
        "person_measures": cell_measures(cat),
        # sums of these are not whole numbers (areas, crosswalked shares): rounded, so that the
        # order of a parallel sum cannot change a published digit
        "fractional_measures": [m.id for m in cat.measures if m.kind not in PERSON_KINDS or m.crosswalk],
        "cells": cell_specs(cat),
        "small_population": small_population_specs(cat),
        # the formula of every indicator, for macro indicator_values (one scan per indicator, no join)
        "indicators": [
            {
                "id": ind.id,
                "numerator": ind.numerator,
                "denominator": ind.denominator,
                "factor": float(ind.factor),
                "unit": ind.unit,
            }  # fmt: skip
            for ind in cat.indicators
        ],
        "derived_parts": [
            {"indicator": ind.id, "measure": part, "coefficient": coefficient}
            for ind in cat.indicators
            if ind.disclosure.rule == "derived"
            for part, coefficient in (cat.measure(ind.numerator).combination or {}).items()
        ],
    }


def cell_specs(cat: Catalogue) -> list[dict[str, Any]]:
    """Every (measure, level) a release may show as a count, with the largest minimum count of the
    indicators that show it (null: the var disclosure_min_count)."""
    cells = set(cell_measures(cat))
    found: dict[tuple[str, str], list[int]] = {}
    for ind in cat.indicators:
        for measure in _shown_counts(cat, ind):
            if measure in cells:
                for level in ind.levels:
                    minima = found.setdefault((measure, level), [])
                    if ind.disclosure.min_count is not None:
                        minima.append(ind.disclosure.min_count)
    # a minimum of null stands for the var disclosure_min_count; an explicit one may only raise it
    return [{"measure": m, "level": lv, "min_count": max(n) if n else None} for (m, lv), n in sorted(found.items())]


def small_population_specs(cat: Catalogue) -> list[dict[str, Any]]:
    """(numerator, denominator, level, minimum population) of every `count` rate: its numerator
    cell is withheld where the denominator is above 0 and below the minimum."""
    out = []
    for ind in cat.indicators:
        if ind.disclosure.rule != "count" or not ind.denominator:
            continue
        for level in ind.levels:
            out.append(
                {
                    "numerator": ind.numerator,
                    "denominator": ind.denominator,
                    "level": level,
                    "min_population": ind.disclosure.min_population,
                }
            )
    return out


def _shown_counts(cat: Catalogue, ind: Indicator) -> list[str]:
    """The measures an indicator shows as counts: the numerator of a `count` indicator, the parts of
    a `derived` one, and the denominator."""
    shown = []
    if ind.disclosure.rule == "count":
        shown.append(ind.numerator)
    if ind.disclosure.rule == "derived":
        shown.extend(cat.measure(ind.numerator).combination or {})
    if ind.denominator:
        shown.append(ind.denominator)
    return shown


def cell_measures(cat: Catalogue) -> list[str]:
    """The measures that disclosure control treats as cells (and that carry record keys): counts of
    persons, households or events that a release shows (`_shown_counts`)."""
    shown = {m for ind in cat.indicators for m in _shown_counts(cat, ind)}
    return [m.id for m in cat.measures if m.id in shown and m.kind in PERSON_KINDS and m.role != "combination"]


def condition_vars(condition: str | None) -> list[str]:
    """The dbt vars a condition names (`{name}`), each once."""
    return list(dict.fromkeys(VAR_PLACEHOLDER.findall(condition or "")))


def _bound(text: str, add: int = 0) -> dict[str, Any]:
    """An age bound as the macro age_bound reads it: the dbt var (or none) plus a number."""
    if text.startswith("{"):
        return {"var": text[1:-1], "add": add}
    return {"var": None, "add": int(text) + add}


def age_interval(measure: Measure) -> dict[str, Any] | None:
    """A condition that only bounds the age ("age >= {a} and age < {b}", "age < 15", "age >= 60 and
    age <= {m}") as the half-open interval [low, high) of whole years (high none: no upper bound);
    none for any other condition and for none. The relations between such measures are decided by
    comparing their intervals once the vars are known (macro catalogue_relations)."""
    match = _AGE_CONDITION.match(measure.condition or "")
    if match is None:
        return None
    low: dict[str, Any] = {"var": None, "add": 0}
    high: dict[str, Any] | None = None
    pairs = [(match[1], match[2])] + ([(match[3], match[4])] if match[3] else [])
    for i, (op, bound) in enumerate(pairs):
        if op == ">=" and i == 0:
            low = _bound(bound)
        elif op in ("<", "<=") and high is None and (i == 1 or len(pairs) == 1):
            high = _bound(bound, 1 if op == "<=" else 0)
        else:
            return None
    return {"low": low, "high": high}


def relation_specs(cat: Catalogue) -> list[dict[str, Any]]:
    """The relations the measures declare (`within`, `partitions`) for the macro catalogue_relations:
    sum(left) <= sum(right) or sum(left) = sum(right). A relation whose subset side (the measure of
    `within`, the parts of `partitions`) is bounded by age only, and whose other side too (or counts
    every record), is `checked`: it is kept only where the intervals say it holds for the vars' values,
    and a `within` between two measures with the same interval becomes an equation (once, under the id
    of the measure first in the catalogue)."""
    ages = {m.id for m in cat.block_measures if age_interval(m) is not None}
    measures = {m.id: m for m in cat.measures}
    order = {m.id: i for i, m in enumerate(cat.measures)}

    def age_or_all(measure_id: str) -> bool:
        return measure_id in ages or measures[measure_id].condition is None

    out: list[dict[str, Any]] = []
    for m in cat.block_measures:
        for entry in m.within:
            wholes = [entry] if isinstance(entry, str) else list(entry)
            single = wholes[0] if len(wholes) == 1 else None
            reverse = single is not None and any(w == m.id for w in measures[single].within)
            out.append(
                {
                    "id": f"{m.id}_within_{'_and_'.join(wholes)}",
                    "sense": "<=",
                    "left": [m.id],
                    "right": wholes,
                    "checked": m.id in ages and all(age_or_all(w) for w in wholes),
                    "equal_id": f"{m.id}_is_{single}" if single in ages else None,
                    "equal_declared_before": reverse and order[single] < order[m.id],
                }
            )
        for relation_id, parts in m.partitions.items():
            out.append(
                {
                    "id": relation_id,
                    "sense": "=",
                    "left": [m.id],
                    "right": list(parts),
                    "checked": all(p in ages for p in parts) and age_or_all(m.id),
                    "equal_id": None,
                    "equal_declared_before": False,
                }
            )
    return out
