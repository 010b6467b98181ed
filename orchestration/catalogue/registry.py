"""The measure registry: what the dbt macros read from the catalogue (macros/generated/catalogue.sql,
macro `catalogue_registry()`): the Baublock measures grouped by model and source, lagged and
combined measures, and the cells disclosure control protects."""

from __future__ import annotations

from typing import Any

from .model import PERSON_KINDS, Catalogue, Indicator


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
        # per model, its measures in catalogue order with source and condition (models that count
        # them in a loop instead of naming each measure)
        "model_measures": {
            model: [
                {"id": m.id, "source": m.source, "condition": m.condition}
                for m in cat.block_measures
                if m.model == model
            ]
            for model in dict.fromkeys(m.model for m in cat.block_measures)
        },
        "person_measures": cell_measures(cat),
        # sums of these are not whole numbers (areas, crosswalked shares): rounded, so that the
        # order of a parallel sum cannot change a published digit
        "fractional_measures": [m.id for m in cat.measures if m.kind not in PERSON_KINDS or m.crosswalk],
        "cells": cell_specs(cat),
        "small_population": small_population_specs(cat),
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
