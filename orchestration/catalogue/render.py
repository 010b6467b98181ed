"""The files dbt reads, rendered from the catalogue (and the dbt sources from the ingest contracts)
into a folder git ignores, one per deployment (`settings.generated_folder`: dbt_project/generated/
default, or generated/<digest> for a Kreis's contracts and vars): seeds, macros, the dbt sources,
the wide views of the deployment's levels (models and their documentation) and the unit-test
fixture; `generate()` writes those that changed and removes the models it no longer renders.
dbt_project.yml's model, seed, macro and test paths name that folder through
SOZIALMONITOR_GENERATED_DIR (Settings.env)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from ..ingest.contracts import contract_files
from ..settings import DEFAULT_GENERATED, generated_folder, read_project_vars
from ..yaml_text import DUMPER, load_yaml
from .model import Catalogue, CatalogueError, default_path
from .registry import registry
from .seeds import INDICATOR_COLUMNS, MEASURE_COLUMNS, fmt, indicator_rows, measure_rows, to_csv
from .validate import load

GENERATED_BY = "GENERATED from dbt_project/catalogue/kennzahlenkatalog.yml by `sozialmonitor catalogue`"
GENERATED_NOTE = (
    "(orchestration/catalogue/; also run before every dbt invocation). Not tracked by git.\n"
    "Do not edit: change the catalogue."
)


def _jinja_header(*more: str) -> str:
    """The comment that opens a generated dbt SQL file: what it is generated from and by which
    command, then the lines `more`, one per line."""
    return "{#- " + "\n    ".join([GENERATED_BY, *GENERATED_NOTE.splitlines(), *more]) + " -#}\n"


def render_macro(cat: Catalogue) -> str:
    """The registry as a Jinja macro; the JSON is indented (one entry per line) so that a change of
    the catalogue shows in a diff of the generated file as the lines it changes."""
    payload = json.dumps(registry(cat), ensure_ascii=True, sort_keys=False, indent=2)
    if "endraw" in payload:  # the JSON sits in a raw block (conditions may quote SQL strings)
        raise CatalogueError("the measure registry must not contain the word 'endraw'")
    body = "\n".join("    " + line for line in payload.splitlines())
    return (
        _jinja_header() + "{% macro catalogue_registry() %}\n"
        "{%- set payload -%}{% raw %}\n"
        f"{body}\n"
        "{% endraw %}{%- endset -%}\n"
        "{{ return(fromjson(payload)) }}\n"
        "{% endmacro %}\n"
    )


GENERATED_README = """# Generated files: do not edit, not tracked by git

{by}
(orchestration/catalogue/render.py `rendered_files`). Every dbt invocation of the project renders them
first (orchestration.pipeline.run_dbt: `sozialmonitor run`, `dbt-parse`, `docs`; the Dagster dbt
assets), so a fresh clone needs nothing but `make run` or `make dev`. Change the catalogue, never
these files. CSV seeds cannot carry a comment line, so this file is their header.
"""


def render_views_yml(cat: Catalogue, public_levels: list[str], all_levels: list[str]) -> str:
    """dbt properties of the wide views: one documented column per indicator."""
    measures = {m.id: m for m in cat.measures}
    models = []
    for level in all_levels[1:]:  # the Baublock's view is documented in models/marts/_marts.yml
        columns = [
            {"name": "area_id", "description": f"Code of the {level}."},
            {"name": "area_name", "description": "Name of the area (valid at the Stichtag)."},
            {"name": "stichtag", "description": "Reporting date."},
        ]
        for ind in sorted(cat.indicators, key=lambda i: i.id):
            formula = measures[ind.numerator].description
            if ind.denominator:
                formula += f" × {fmt(float(ind.factor))} / {measures[ind.denominator].description}"
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
    return header + yaml.dump(document, Dumper=DUMPER, allow_unicode=True, sort_keys=False, width=110)


def render_view_model(level: str) -> str:
    """The model of a level's wide view (marts.indicators_<level>), documented by
    render_views_yml: one per level of the deployment above the Baublock, so that a Kreis has its
    `indicators_kreis` and a city without Sozialräume no empty `indicators_sozialraum`. The
    Baublock's, the same in every deployment, is models/marts/indicators_baublock.sql."""
    return (
        "-- depends_on: {{ ref('indicator_catalogue') }}\n"
        + _jinja_header("Rows by Stichtag, as fct_indicator_values' (macros/incremental_stichtage.sql)")
        + "{{ config(**stichtag_rows(catalogue_lag_years())) }}\n"
        f"{{{{ wide_indicator_view('{level}', ref('fct_indicator_values'), ref('dim_area')) }}}}\n"
    )


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


# Where the rendered files go, relative to a deployment's generated folder (settings.generated_folder,
# ignored by git: a run never writes a tracked file). dbt_project.yml lists each as a path of its kind.
SEEDS = Path("seeds")
MACROS = Path("macros")
MODELS = Path("models")
FIXTURES = Path("tests") / "fixtures"  # the dbt unit tests' fixture of the indicator catalogue
GENERATED_DIRS = (SEEDS, MACROS, MODELS, FIXTURES)
# where the generated files were until 2026-12 (one set per checkout)
LEGACY_DIRS = (Path("seeds") / "generated", Path("macros") / "generated", Path("models") / "generated")
# a deployment's folder unused this long is removed when another one is rendered (not `default`)
STALE_AFTER_DAYS = 7


DEFAULT_CONTRACTS_DIR = Path(__file__).parents[1] / "contracts"


def render_sources_yml(contracts_dir: Path) -> str:
    """dbt sources of the raw schema from the source contracts: one source per department (the
    contract's `dbt_source`), one table per contract. Each table keeps the Dagster asset key of its
    ingest asset (["raw", <table>]), so the asset graph runs unbroken from the extract to the marts."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for path in contract_files(contracts_dir):  # a Stadt's variant adds no table
        contract = load_yaml(path.read_text(encoding="utf-8"))
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
            "(orchestration/catalogue/; also run before every dbt invocation). Not tracked by git.",
            "Do not edit: change the contracts.",
        )
    )
    document = {"version": 2, "sources": sources}
    return header + yaml.dump(document, Dumper=DUMPER, allow_unicode=True, sort_keys=False, width=110)


def render_deployment_macro(contracts_dir: Path) -> str:
    """The raw tables that carry a Gemeinde (the sources each Stadt of a Kreis delivers on its own,
    and those whose records name their Gemeinde in a column `gemeinde`), as a Jinja macro: the
    staging models take the Gemeinde from them and a null Gemeinde elsewhere, so that one project
    serves a single city and a Kreis."""
    with_gemeinde = []
    for path in contract_files(contracts_dir):  # a Stadt's variant adds no table
        contract = load_yaml(path.read_text(encoding="utf-8"))
        columns = {c.get("name") for c in contract.get("columns") or []}
        if contract.get("delivered_per") == "gemeinde" or "gemeinde" in columns:
            with_gemeinde.append(contract["source"])
    return (
        "{#- GENERATED from orchestration/contracts/*.yml by `sozialmonitor catalogue` (or a deployment's\n"
        "    contracts, SOZIALMONITOR_CONTRACTS_DIR; also run before every dbt invocation). Not tracked by\n"
        "    git. Do not edit: change the contracts. -#}\n"
        "{% macro gemeinde_sources() %}\n"
        f"{{{{ return({json.dumps(with_gemeinde)}) }}}}\n"
        "{% endmacro %}\n"
    )


def rendered_files(
    cat: Catalogue, public_levels: list[str], all_levels: list[str], contracts_dir: Path | None = None
) -> dict[Path, str]:
    """Relative path (to the deployment's generated folder) → content of every generated file."""
    readme = GENERATED_README.format(by=GENERATED_BY)
    indicators = to_csv(indicator_rows(cat), INDICATOR_COLUMNS)
    return {
        **{folder / "README.md": readme for folder in GENERATED_DIRS},
        SEEDS / "indicator_catalogue.csv": indicators,
        FIXTURES / "indicator_catalogue.csv": indicators,
        SEEDS / "measure_catalogue.csv": to_csv(measure_rows(cat), MEASURE_COLUMNS),
        SEEDS / "indicator_levels.csv": to_csv(
            [{"indicator_id": i.id, "level": lv} for i in cat.indicators for lv in i.levels], ["indicator_id", "level"]
        ),
        SEEDS / "index_catalogue.csv": to_csv(
            [
                {
                    "index_id": index_id,
                    "kind": index.kind,
                    "name_de": index.name_de,
                    "description_de": index.description_de,
                    "levels": ",".join(index.levels),
                    "config": json.dumps(index.seed_config, ensure_ascii=False, sort_keys=True),
                }
                for index_id, index in sorted(cat.indices.items())
            ],
            ["index_id", "kind", "name_de", "description_de", "levels", "config"],
        ),
        MACROS / "catalogue.sql": render_macro(cat),
        MODELS / "_indicator_views.yml": render_views_yml(cat, public_levels, all_levels),
        **{MODELS / "marts" / f"indicators_{level}.sql": render_view_model(level) for level in all_levels[1:]},
        MODELS / "_sources.yml": render_sources_yml(contracts_dir or DEFAULT_CONTRACTS_DIR),
        MACROS / "deployment.sql": render_deployment_macro(contracts_dir or DEFAULT_CONTRACTS_DIR),
    }


def project_levels(dbt_project_dir: Path, vars_file: Path | None = None) -> tuple[list[str], list[str]]:
    """(all levels, public levels) from dbt_project.yml's vars (and a deployment's over them)."""
    project = read_project_vars(dbt_project_dir, vars_file)
    return project.levels, list(project.public_levels)


def generate(
    dbt_project_dir: Path, contracts_dir: Path | None = None, check_only: bool = False, vars_file: Path | None = None
) -> list[Path]:
    """Render the generated files of a deployment (its contracts, `vars_file`: Settings.vars_file,
    e.g. a Kreis's levels) into its folder; returns those that changed (with check_only: would
    change). Each file is replaced whole (written aside, then renamed), so that another process of
    the same deployment never reads half a file."""
    project = read_project_vars(dbt_project_dir, vars_file)
    levels, public = project.levels, list(project.public_levels)
    contracts_dir = contracts_dir or DEFAULT_CONTRACTS_DIR
    cat = load(default_path(dbt_project_dir), contracts_dir, levels, nested_levels=project.nested_levels)
    folder = dbt_project_dir / generated_folder(contracts_dir, vars_file)
    changed = []
    files = rendered_files(cat, public, levels, contracts_dir)
    for rel, content in files.items():
        target = folder / rel
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != content:
            changed.append(target)
            if not check_only:
                target.parent.mkdir(parents=True, exist_ok=True)
                aside = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
                aside.write_text(content, encoding="utf-8")
                os.replace(aside, target)
    # a file of an earlier rendering that this one does not write (the view of a level the
    # deployment's levels no longer have): dbt would build it, undocumented and untested
    stale = [
        path
        for path in sorted((folder / MODELS).rglob("*"))  # none where the folder is not yet
        if path.is_file() and path.suffix in (".sql", ".yml") and path.relative_to(folder) not in files
    ]
    changed.extend(stale)
    if not check_only:
        for path in stale:
            path.unlink(missing_ok=True)
        _prune(folder)
        for legacy in LEGACY_DIRS:  # where a checkout of before kept them: dbt would read both
            shutil.rmtree(dbt_project_dir / legacy, ignore_errors=True)
    return changed


def _prune(current: Path) -> None:
    """Mark `current` used and remove the other deployments' folders unused for STALE_AFTER_DAYS
    (a Kreis whose contracts changed has a new one); `default` always stays."""
    if current.is_dir():
        os.utime(current)
    stale = time.time() - STALE_AFTER_DAYS * 86_400
    for folder in current.parent.iterdir():
        if folder == current or folder.name == Path(DEFAULT_GENERATED).name or not folder.is_dir():
            continue
        if folder.stat().st_mtime < stale:
            shutil.rmtree(folder, ignore_errors=True)
