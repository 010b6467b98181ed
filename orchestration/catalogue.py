"""The Kennzahlenkatalog (dbt_project/catalogue/kennzahlenkatalog.yml): load, validate, generate.

The YAML file is the single source of truth for every indicator, the measures they are built from
and the composite indices. This module validates it against a schema (pydantic) and across its
parts (every numerator is a known measure, every source has a contract, …); a wrong entry raises
`CatalogueError` naming the file, the indicator (or measure) and the field.

`generate()` (`sozialmonitor catalogue`, and before every dbt invocation) renders what dbt reads
from it, so nothing is written twice:
- seeds/generated/indicator_catalogue.csv: one row per indicator (formula, metadata, gate
  thresholds, disclosure rule), read by the models, the gates and the release (published metadata);
- seeds/generated/measure_catalogue.csv: one row per measure (kind, source, description);
- macros/generated/catalogue.sql: the measure registry the dbt models loop over (indented JSON);
- models/generated/_indicator_views.yml: the wide views with one described column per indicator;
- models/generated/_sources.yml: the dbt sources of the raw schema, rendered from the source
  contracts (not from the catalogue): one source per department, one table per contract.
The generated folders are ignored by git: every path that runs dbt renders them first
(orchestration.pipeline.prepare_dbt, called by run_dbt and by the Dagster dbt asset), so a run
never writes a tracked file and a fresh clone needs nothing else. Each file (a README.md for the
CSV seeds) says it is generated.

`export_csv()` / `export_markdown()` give the working group the catalogue as a table.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import SozialmonitorError
from .settings import read_project_vars

CATALOGUE_FILE = Path("catalogue") / "kennzahlenkatalog.yml"  # relative to the dbt project

Kind = Literal["persons", "households", "events", "dwellings", "area_m2"]
PERSON_KINDS = ("persons", "households", "events")
Direction = Literal["neutral", "lower_is_better", "higher_is_better"]
Rule = Literal["count", "derived", "none"]
Sensitivity = Literal["normal", "sensitive"]
UNITS = ("Anzahl", "%", "je 100", "je 1.000", "m² je Einwohner")


# libyaml's safe loader and dumper when PyYAML was built with it (ten times faster: the catalogue is
# loaded before every dbt invocation), else the pure-Python ones; both accept the same documents.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class CatalogueError(SozialmonitorError, ValueError):
    """A catalogue entry breaks the schema; the message names file, entry and field."""

    exit_code = 2


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    name_de: str
    responsible: str
    staging: str = Field(pattern=r"^stg_[a-z0-9_]+$")  # the staging model in front of the raw table


class Measure(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Kind
    description: str
    model: str | None = None
    source: str | None = None
    suppressed_cells: bool = False
    crosswalk: str | None = None
    lag_years: int | None = Field(default=None, ge=1, le=20)
    of: str | None = None
    combination: dict[str, float] | None = None
    # SQL condition on the model's input rows (besides the source), for models that loop over the catalogue
    condition: str | None = None

    @property
    def role(self) -> str:
        if self.combination is not None:
            return "combination"
        if self.lag_years is not None:
            return "lag"
        return "block"


class Disclosure(_Strict):
    rule: Rule = "count"
    min_count: int | None = Field(default=None, ge=1)
    min_population: int | None = Field(default=None, ge=1)


class Gates(_Strict):
    plausible_min: float | None = None
    plausible_max: float | None = None
    change_warn: float
    change_block: float


class Indicator(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    topic: str
    name_de: str
    name_en: str
    definition_de: str
    unit: str
    factor: float
    numerator: str
    denominator: str | None = None
    direction: Direction
    source: str
    update_cycle: str
    levels: tuple[str, ...]
    first_period: int = Field(ge=1900, le=2100)
    last_period: int | None = Field(default=None, ge=1900, le=2100)
    sensitivity: Sensitivity
    disclosure: Disclosure
    gates: Gates

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str) -> str:
        if value not in UNITS:
            raise ValueError(f"unknown unit {value!r}; expected one of {', '.join(UNITS)}")
        return value


class Index(_Strict):
    kind: Literal["status_dynamics", "composite"]
    name_de: str
    description_de: str
    levels: tuple[str, ...]
    config: dict[str, Any]


class Catalogue(_Strict):
    version: int
    sources: dict[str, Source]
    measures: tuple[Measure, ...]
    indicators: tuple[Indicator, ...]
    indices: dict[str, Index] = Field(default_factory=dict)
    path: str = ""

    def measure(self, measure_id: str) -> Measure:
        return {m.id: m for m in self.measures}[measure_id]

    @property
    def block_measures(self) -> list[Measure]:
        return [m for m in self.measures if m.role == "block"]


def default_path(dbt_project_dir: Path) -> Path:
    return dbt_project_dir / CATALOGUE_FILE


def _where(error: dict[str, Any], raw: dict[str, Any]) -> str:
    """'indicator share_foreign, field unit' from a pydantic error location."""
    loc = list(error["loc"])
    if len(loc) >= 2 and loc[0] in ("indicators", "measures") and isinstance(loc[1], int):
        entries = raw.get(loc[0]) or []
        entry = entries[loc[1]] if loc[1] < len(entries) and isinstance(entries[loc[1]], dict) else {}
        kind = "indicator" if loc[0] == "indicators" else "measure"
        name = entry.get("id", f"#{loc[1] + 1}")
        field = ".".join(str(p) for p in loc[2:]) or "(entry)"
        return f"{kind} {name!r}, field {field!r}"
    return f"field {'.'.join(str(p) for p in loc)!r}"


def load(path: Path, contracts_dir: Path | None = None, levels: list[str] | None = None) -> Catalogue:
    """Read and validate the catalogue. `contracts_dir` and `levels` enable the cross-checks
    against the source contracts and the spatial levels of dbt_project.yml."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path}: expected a mapping with version, sources, measures and indicators")
    defaults = raw.pop("defaults", {}) or {}
    indicators = []
    for entry in raw.get("indicators") or []:
        if isinstance(entry, dict):
            merged = {k: v for k, v in defaults.items() if k != "disclosure"}
            merged["disclosure"] = {**(defaults.get("disclosure") or {}), **(entry.get("disclosure") or {})}
            merged.update({k: v for k, v in entry.items() if k != "disclosure"})
            indicators.append(merged)
        else:
            indicators.append(entry)
    raw["indicators"] = indicators
    try:
        catalogue = Catalogue(**raw, path=str(path))
    except ValidationError as exc:
        problems = [f"{path}: {_where(e, raw)}: {e['msg']}" for e in exc.errors()]
        raise CatalogueError("\n".join(problems)) from None
    problems = _cross_check(catalogue, contracts_dir, levels)
    if problems:
        raise CatalogueError("\n".join(f"{path}: {p}" for p in problems))
    return catalogue


def _cross_check(cat: Catalogue, contracts_dir: Path | None, levels: list[str] | None) -> list[str]:
    problems: list[str] = []
    measures = {}
    for m in cat.measures:
        if m.id in measures:
            problems.append(f"measure {m.id!r}, field 'id': defined twice")
        measures[m.id] = m
    known_sources = set(cat.sources)
    if contracts_dir is not None:
        contracts = {p.stem for p in Path(contracts_dir).glob("*.yml")}
        for name in sorted(known_sources - contracts):
            problems.append(f"source {name!r}: no contract {name}.yml in {contracts_dir}")
    staging_dir = Path(cat.path).parent.parent / "models" / "staging" if cat.path else None
    if staging_dir is not None and staging_dir.is_dir():
        models = {p.stem for p in staging_dir.rglob("*.sql")}
        for name, source in cat.sources.items():
            if source.staging not in models:
                problems.append(f"source {name!r}, field 'staging': no model {source.staging} in {staging_dir}")
    for m in cat.measures:
        where = f"measure {m.id!r}"
        if m.role == "block":
            if not m.model or not m.source:
                problems.append(f"{where}, field 'model'/'source': a Baublock measure needs both")
            elif m.source not in known_sources:
                problems.append(f"{where}, field 'source': unknown source {m.source!r}")
        if m.role == "lag":
            if m.of not in measures or measures[m.of].role != "block":
                problems.append(f"{where}, field 'of': {m.of!r} is not a Baublock measure")
            if m.model:
                problems.append(f"{where}, field 'model': a lagged measure is formed from 'of', not by a model")
        if m.role == "combination":
            for part in m.combination or {}:
                if part not in measures or measures[part].role == "combination":
                    problems.append(f"{where}, field 'combination': {part!r} is not a Baublock or lagged measure")
        if m.crosswalk and levels is not None and m.crosswalk not in levels:
            problems.append(f"{where}, field 'crosswalk': unknown level {m.crosswalk!r}")
    seen: set[str] = set()
    for ind in cat.indicators:
        where = f"indicator {ind.id!r}"
        if ind.id in seen:
            problems.append(f"{where}, field 'id': defined twice")
        seen.add(ind.id)
        if ind.numerator not in measures:
            problems.append(f"{where}, field 'numerator': unknown measure {ind.numerator!r}")
        if ind.denominator is not None and ind.denominator not in measures:
            problems.append(f"{where}, field 'denominator': unknown measure {ind.denominator!r}")
        if ind.source not in known_sources:
            problems.append(f"{where}, field 'source': unknown source {ind.source!r}")
        if levels is not None:
            for level in ind.levels:
                if level not in levels:
                    problems.append(f"{where}, field 'levels': unknown level {level!r} (levels: {', '.join(levels)})")
        if ind.last_period is not None and ind.last_period < ind.first_period:
            problems.append(f"{where}, field 'last_period': before first_period {ind.first_period}")
        if (ind.denominator is None) != (ind.unit == "Anzahl"):
            problems.append(f"{where}, field 'unit': 'Anzahl' exactly for indicators without a denominator")
        numerator = measures.get(ind.numerator)
        if numerator is not None:
            rule = ind.disclosure.rule
            if rule == "derived" and numerator.role != "combination":
                problems.append(f"{where}, field 'disclosure.rule': 'derived' needs a combination measure as numerator")
            if rule == "count" and (numerator.role == "combination" or numerator.kind not in PERSON_KINDS):
                problems.append(
                    f"{where}, field 'disclosure.rule': 'count' needs a count of persons, households or events "
                    f"as numerator ({ind.numerator!r} is {numerator.kind}, {numerator.role})"
                )
        g = ind.gates
        if g.change_block < g.change_warn:
            problems.append(f"{where}, field 'gates.change_block': below change_warn")
    problems += _check_indices(cat, seen, levels)
    return problems


def _check_indices(cat: Catalogue, indicator_ids: set[str], levels: list[str] | None) -> list[str]:
    from .indices.composite import CompositeConfig
    from .indices.mss import MssConfig

    problems = []
    for index_id, index in cat.indices.items():
        where = f"index {index_id!r}"
        config = dict(index.config)
        if levels is not None:
            problems += [f"{where}, field 'levels': unknown level {lv!r}" for lv in index.levels if lv not in levels]
        population = config.pop("population", None)
        if population is not None and population not in indicator_ids:
            problems.append(f"{where}, field 'config.population': unknown indicator {population!r}")
        used: tuple[str, ...] = ()
        try:
            if index.kind == "status_dynamics":
                config.pop("dynamics_years", None)
                used = MssConfig.from_mapping(config).status
            else:
                config.pop("uncertainty", None)
                used = CompositeConfig.from_mapping(config).indicator_ids
        except ValueError as exc:  # the index configurations give one line per problem
            problems += [f"{where}, field 'config': {line}" for line in str(exc).splitlines()]
        problems += [f"{where}, field 'config': unknown indicator {i!r}" for i in used if i not in indicator_ids]
        if index.kind == "composite":
            from .indices.uncertainty import UncertaintyConfig

            try:
                UncertaintyConfig.from_mapping(index.config.get("uncertainty") or {})
            except ValueError as exc:
                problems += [f"{where}, field 'config.uncertainty': {line}" for line in str(exc).splitlines()]
    return problems


# --------------------------------------------------------------------------------------------------
# rendering


def _fmt(value: Any) -> str:
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
            parts = ",".join(f"{k}:{_fmt(float(v))}" for k, v in (numerator.combination or {}).items())
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
        rows.append({k: _fmt(row[k]) for k in INDICATOR_COLUMNS})
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


def _csv(rows: list[dict[str, str]], columns: list[str], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


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


GENERATED_BY = "GENERATED from dbt_project/catalogue/kennzahlenkatalog.yml by `sozialmonitor catalogue`"
GENERATED_NOTE = (
    "(orchestration/catalogue.py; also run before every dbt invocation). Not tracked by git.\n"
    "Do not edit: change the catalogue."
)


def render_macro(cat: Catalogue) -> str:
    """The registry as a Jinja macro; the JSON is indented (one entry per line) so that a change of
    the catalogue shows in a diff of the generated file as the lines it changes."""
    payload = json.dumps(registry(cat), ensure_ascii=True, sort_keys=False, indent=2)
    if "'" in payload or "\\" in payload:  # the JSON sits in a single-quoted Jinja string
        raise CatalogueError("the measure registry must not contain quotes or backslashes")
    body = "\n".join("    " + line for line in payload.splitlines())
    return (
        f"{{#- {GENERATED_BY}\n    {GENERATED_NOTE.replace(chr(10), chr(10) + '    ')} -#}}\n"
        "{% macro catalogue_registry() %}\n"
        "{{ return(fromjson('\n"
        f"{body}\n"
        "')) }}\n"
        "{% endmacro %}\n"
    )


GENERATED_README = """# Generated files: do not edit, not tracked by git

{by}
(orchestration/catalogue.py `rendered_files`). Every dbt invocation of the project renders them
first (orchestration.pipeline.run_dbt: `sozialmonitor run`, `dbt-parse`, `docs`; the Dagster dbt
assets), so a fresh clone needs nothing but `make run` or `make dev`. Change the catalogue, never
these files. CSV seeds cannot carry a comment line, so this file is their header.
"""


def render_views_yml(cat: Catalogue, public_levels: list[str], all_levels: list[str]) -> str:
    """dbt properties of the wide views: one documented column per indicator."""
    measures = {m.id: m for m in cat.measures}
    models = []
    for level in all_levels:
        if level == "baublock":
            continue
        columns = [
            {"name": "area_id", "description": f"Code of the {level}."},
            {"name": "area_name", "description": "Name of the area (valid at the Stichtag)."},
            {"name": "stichtag", "description": "Reporting date."},
        ]
        for ind in sorted(cat.indicators, key=lambda i: i.id):
            formula = measures[ind.numerator].description
            if ind.denominator:
                formula += f" × {_fmt(float(ind.factor))} / {measures[ind.denominator].description}"
            columns.append(
                {
                    "name": ind.id,
                    "description": f"{ind.name_de} ({ind.unit}): {ind.definition_de}. Formula: {formula}. "
                    f"Source: {cat.sources[ind.source].name_de}; direction: {ind.direction}.",
                }
            )
        models.append(
            {
                "name": f"indicators_{level}",
                "description": (
                    f"Wide view for analysts: one row per {level} and Stichtag, one column per catalogue "
                    "indicator (value as in fct_indicator_values, on the Gebietsstand valid at the "
                    "Stichtag). Columns are generated from the Kennzahlenkatalog."
                ),
                "data_tests": [{"unique_combination": {"arguments": {"combination": ["area_id", "stichtag"]}}}],
                "columns": columns,
            }
        )
    header = "".join(f"# {line}\n" for line in f"{GENERATED_BY}\n{GENERATED_NOTE}".splitlines())
    document = {"version": 2, "models": models, "unit_tests": [render_formula_tests(cat)]}
    return header + yaml.dump(document, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=110)


def render_formula_tests(cat: Catalogue) -> dict[str, Any]:
    """A dbt unit test of fct_indicator_values covering every indicator's formula: one Stadtteil
    with a distinct value for every measure (suppressed BA input cells and an estimated crosswalk
    source included) and one Stadtviertel where every measure is 0. The expected values are the
    catalogue's formula worked out here: numerator × factor / denominator."""
    reg = registry(cat)
    block_like = [m for m in cat.measures if m.role != "combination"]
    value = {m.id: float(1000 + 37 * i) for i, m in enumerate(block_like)}
    for m in cat.measures:
        if m.role == "combination":
            value[m.id] = float(sum(coef * value[p] for p, coef in (m.combination or {}).items()))
    suppressed = {m for g in reg["groups"] for m in g["suppressed"]}
    crosswalked = {g["topic"]: g["measures"] for g in reg["groups"] if g["crosswalk"]}
    estimated_measures = {m for ms in crosswalked.values() for m in ms}
    full: dict[str, Any] = {"level": "stadtteil", "area_id": "011", "stichtag": "2024-12-31"}
    empty: dict[str, Any] = {"level": "stadtviertel", "area_id": "0111", "stichtag": "2024-12-31"}
    for m in cat.measures:
        full[m.id] = value[m.id]
        empty[m.id] = 0.0
    for m in sorted(suppressed):
        full[f"{m}_suppressed_cells"] = 2
        empty[f"{m}_suppressed_cells"] = 0
    for topic in crosswalked:
        full[f"{topic}_estimated"] = True
        empty[f"{topic}_estimated"] = False
    expected = []
    for ind in cat.indicators:
        parts = [ind.numerator] + ([ind.denominator] if ind.denominator else [])
        flags = []
        if any(p in suppressed for p in parts):
            flags.append("input_suppressed")
        if any(p in estimated_measures for p in parts):
            flags.append("estimated")
        num = value[ind.numerator]
        result = num * ind.factor if not ind.denominator else num * ind.factor / value[ind.denominator]
        expected.append({"indicator_id": ind.id, "area_id": "011", "value": result, "flags": ",".join(flags) or None})
        if ind.denominator:
            expected.append({"indicator_id": ind.id, "area_id": "0111", "value": None, "flags": "denominator_zero"})
        else:
            expected.append({"indicator_id": ind.id, "area_id": "0111", "value": 0.0, "flags": None})
    return {
        "name": "indicator_formulas",
        "description": (
            "GENERATED from the Kennzahlenkatalog: every indicator's formula on one Stadtteil with a "
            "distinct value per measure (2 suppressed BA input cells, an estimated crosswalk source) "
            "and a Stadtviertel where every measure is 0 (rates undefined and flagged, never 0)."
        ),
        "model": "fct_indicator_values",
        "given": [
            {"input": "ref('indicator_catalogue')", "format": "csv", "fixture": "indicator_catalogue"},
            {"input": "ref('int_area_measures')", "rows": [full, empty]},
        ],
        "expect": {"rows": expected},
    }


# Where the rendered files go, relative to the dbt project: folders of their own, ignored by git
# (.gitignore), so that a run never writes a tracked file.
SEEDS = Path("seeds") / "generated"
MACROS = Path("macros") / "generated"
MODELS = Path("models") / "generated"
GENERATED_DIRS = (SEEDS, MACROS, MODELS)


DEFAULT_CONTRACTS_DIR = Path(__file__).parent / "contracts"


def render_sources_yml(contracts_dir: Path) -> str:
    """dbt sources of the raw schema from the source contracts: one source per department (the
    contract's `dbt_source`), one table per contract. Each table keeps the Dagster asset key of its
    ingest asset (["raw", <table>]), so the asset graph runs unbroken from the extract to the marts."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(Path(contracts_dir).glob("*.yml")):
        contract = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        by_source.setdefault(contract.get("dbt_source") or contract["directory"], []).append(contract)
    sources = []
    for name, contracts in sorted(by_source.items()):
        departments = "; ".join(sorted({c["department"] for c in contracts}))
        tables = [
            {
                "name": c["source"],
                "description": f"{c['title']}. {' '.join(c['description'].split())} Loaded by the contract "
                f"orchestration/contracts/{c['source']}.yml; provenance columns _source_file, _source_sha256, "
                "_source_line, _loaded_at lead every row back to its file and line.",
                "meta": {"dagster": {"asset_key": ["raw", c["source"]]}},
            }
            for c in contracts
        ]
        sources.append(
            {
                "name": name,
                "schema": "raw",
                "description": f"Extracts of {departments}, as loaded by their ingestion contracts.",
                "tables": tables,
            }
        )
    header = "".join(
        f"# {line}\n"
        for line in (
            "GENERATED from orchestration/contracts/*.yml by `sozialmonitor catalogue`",
            "(orchestration/catalogue.py; also run before every dbt invocation). Not tracked by git.",
            "Do not edit: change the contracts.",
        )
    )
    document = {"version": 2, "sources": sources}
    return header + yaml.dump(document, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=110)


def rendered_files(
    cat: Catalogue, public_levels: list[str], all_levels: list[str], contracts_dir: Path | None = None
) -> dict[Path, str]:
    """Relative path (to the dbt project) → content of every generated file."""
    readme = GENERATED_README.format(by=GENERATED_BY)
    return {
        **{folder / "README.md": readme for folder in GENERATED_DIRS},
        SEEDS / "indicator_catalogue.csv": _csv(indicator_rows(cat), INDICATOR_COLUMNS),
        SEEDS / "measure_catalogue.csv": _csv(measure_rows(cat), MEASURE_COLUMNS),
        SEEDS / "indicator_levels.csv": _csv(
            [{"indicator_id": i.id, "level": lv} for i in cat.indicators for lv in i.levels], ["indicator_id", "level"]
        ),
        SEEDS / "index_catalogue.csv": _csv(
            [
                {
                    "index_id": index_id,
                    "kind": index.kind,
                    "name_de": index.name_de,
                    "description_de": index.description_de,
                    "levels": ",".join(index.levels),
                    "config": json.dumps(index.config, ensure_ascii=False, sort_keys=True),
                }
                for index_id, index in sorted(cat.indices.items())
            ],
            ["index_id", "kind", "name_de", "description_de", "levels", "config"],
        ),
        MACROS / "catalogue.sql": render_macro(cat),
        MODELS / "_indicator_views.yml": render_views_yml(cat, public_levels, all_levels),
        MODELS / "_sources.yml": render_sources_yml(contracts_dir or DEFAULT_CONTRACTS_DIR),
    }


def project_levels(dbt_project_dir: Path) -> tuple[list[str], list[str]]:
    """(all levels, public levels) from dbt_project.yml's vars."""
    project = read_project_vars(dbt_project_dir)
    return project.levels, list(project.public_levels)


def generate(dbt_project_dir: Path, contracts_dir: Path | None = None, check_only: bool = False) -> list[Path]:
    """Render the generated files; returns those that changed (with check_only: would change)."""
    levels, public = project_levels(dbt_project_dir)
    cat = load(default_path(dbt_project_dir), contracts_dir, levels)
    changed = []
    for rel, content in rendered_files(cat, public, levels, contracts_dir).items():
        target = dbt_project_dir / rel
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != content:
            changed.append(target)
            if not check_only:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, encoding="utf-8")
    return changed


# --------------------------------------------------------------------------------------------------
# export for the working group

EXPORT_COLUMNS = [
    ("indicator_id", "Kennung"), ("topic", "Themenfeld"), ("name_de", "Bezeichnung"), ("name_en", "Name (englisch)"),
    ("definition_de", "Definition"), ("numerator_de", "Zähler"), ("denominator_de", "Nenner"), ("unit", "Einheit"),
    ("source_de", "Quelle"), ("responsible", "Zuständig"), ("update_cycle", "Fortschreibung"),
    ("levels", "Ebenen"), ("sensitivity", "Sensibilität"), ("direction", "Richtung"),
    ("disclosure_rule", "Geheimhaltung"), ("first_period", "Erster Zeitraum"), ("last_period", "Letzter Zeitraum"),
]  # fmt: skip


def export_csv(cat: Catalogue) -> str:
    """Semicolon-separated (opens in a German spreadsheet), UTF-8 with BOM."""
    rows = indicator_rows(cat)
    out = [{label: row[key] for key, label in EXPORT_COLUMNS} for row in rows]
    return "\ufeff" + _csv(out, [label for _, label in EXPORT_COLUMNS], delimiter=";")


def export_markdown(cat: Catalogue) -> str:
    rows = indicator_rows(cat)
    lines = [
        "# Kennzahlenkatalog",
        "",
        f"Erzeugt aus `{CATALOGUE_FILE.as_posix()}` ({len(rows)} Kennzahlen). Formel: Zähler × Faktor / Nenner.",
        "",
    ]
    topics: list[str] = []
    for row in rows:
        if row["topic"] not in topics:
            topics.append(row["topic"])
    for topic in topics:
        lines += [f"## {topic}", ""]
        header = [label for key, label in EXPORT_COLUMNS if key != "topic"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for row in rows:
            if row["topic"] != topic:
                continue
            cells = []
            for key, _ in EXPORT_COLUMNS:
                if key != "topic":
                    text = row[key].replace(",", ", ") if key == "levels" else row[key]
                    cells.append(text.replace("|", "\\|"))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
