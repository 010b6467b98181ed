"""The rows of the CSV seeds rendered from the catalogue (indicator_catalogue.csv, measure_catalogue.csv)
and the CSV writer they share with the export."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from .model import PERSON_KINDS, Catalogue


def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


INDICATOR_COLUMNS = [
    "indicator_id", "name_de", "name_en", "topic", "unit", "numerator_measure", "denominator_measure",
    "factor", "direction", "source", "source_de", "responsible", "definition_de", "numerator_de",
    "denominator_de", "update_cycle", "levels", "sensitivity", "first_period", "last_period",
    "plausible_min", "plausible_max", "change_warn", "change_block", "disclosure_rule",
    "disclosure_min_count", "disclosure_min_population", "disclosure_parts",
]  # fmt: skip


def indicator_rows(cat: Catalogue) -> list[dict[str, str]]:
    measures = {m.id: m for m in cat.measures}
    rows = []
    for ind in cat.indicators:
        numerator = measures[ind.numerator]
        parts = ""
        if ind.disclosure.rule == "derived":
            parts = ",".join(f"{k}:{fmt(float(v))}" for k, v in (numerator.combination or {}).items())
        source = cat.sources[ind.source]
        row = {
            "indicator_id": ind.id,
            "name_de": ind.name_de,
            "name_en": ind.name_en,
            "topic": ind.topic,
            "unit": ind.unit,
            "numerator_measure": ind.numerator,
            "denominator_measure": ind.denominator,
            "factor": float(ind.factor),
            "direction": ind.direction,
            "source": ind.source,
            "source_de": source.name_de,
            "responsible": source.responsible,
            "definition_de": ind.definition_de,
            "numerator_de": public_text(numerator.description),
            "denominator_de": public_text(measures[ind.denominator].description) if ind.denominator else None,
            "update_cycle": ind.update_cycle,
            "levels": list(ind.levels),
            "sensitivity": ind.sensitivity,
            "first_period": ind.first_period,
            "last_period": ind.last_period,
            "plausible_min": ind.gates.plausible_min,
            "plausible_max": ind.gates.plausible_max,
            "change_warn": ind.gates.change_warn,
            "change_block": ind.gates.change_block,
            "disclosure_rule": ind.disclosure.rule,
            "disclosure_min_count": ind.disclosure.min_count,
            "disclosure_min_population": ind.disclosure.min_population,
            "disclosure_parts": parts or None,
        }
        rows.append({k: fmt(row[k]) for k in INDICATOR_COLUMNS})
    return rows


def public_text(description: str) -> str:
    """A measure's description as the public reads it: the age limits by their value, without the
    dbt var that sets them ("Einwohner ab senior_age_limit (65) Jahren" -> "Einwohner ab 65 Jahren";
    "von a_limit bis unter b_limit (20 bis 64) Jahren" -> "von 20 bis 64 Jahren")."""
    text = re.sub(r"\bvon [a-z0-9_]+_limit bis unter [a-z0-9_]+_limit \(([^)]*)\)", r"von \1", description)
    return re.sub(r"\b[a-z0-9_]+_limit \(([^)]*)\)", r"\1", text)


MEASURE_COLUMNS = ["measure_id", "kind", "is_person_count", "role", "model", "source", "crosswalk", "description"]


def measure_rows(cat: Catalogue) -> list[dict[str, str]]:
    return [
        {
            "measure_id": m.id,
            "kind": m.kind,
            "is_person_count": "true" if m.kind in PERSON_KINDS else "false",
            "role": m.role,
            "model": m.model or "",
            "source": m.source or (cat.measure(m.of).source if m.of else "") or "",
            "crosswalk": m.crosswalk or "",
            "description": m.description,
        }
        for m in cat.measures
    ]


def to_csv(rows: list[dict[str, str]], columns: list[str], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
