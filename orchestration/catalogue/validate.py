"""The checks across the catalogue's entries: every numerator is a known measure, every source
has a contract, every level exists, … Each problem is one line naming file, entry and field."""

from __future__ import annotations

from pathlib import Path

from ..ingest.contracts import contract_files
from ..yaml_text import load_yaml
from .model import PERSON_KINDS, Catalogue, CatalogueError, Measure, parse
from .registry import condition_vars


def load(
    path: Path,
    contracts_dir: Path | None = None,
    levels: list[str] | None = None,
    nested_levels: list[str] | None = None,
) -> Catalogue:
    """Read and validate the catalogue. `contracts_dir` and `levels` enable the cross-checks
    against the source contracts and the spatial levels of dbt_project.yml (and a deployment's vars);
    `nested_levels` (smallest first) the check that an index's `also_within` lies above its levels."""
    catalogue = parse(path)
    problems = _cross_check(catalogue, contracts_dir, levels, nested_levels)
    if problems:
        raise CatalogueError("\n".join(f"{path}: {p}" for p in problems))
    return with_levels_above(catalogue, nested_levels) if nested_levels else catalogue


def with_levels_above(catalogue: Catalogue, nested_levels: list[str]) -> Catalogue:
    """The catalogue names the levels of a city; a deployment may have nested levels above the
    highest of them (a Kreis above its Gemeinden). An indicator shown at that highest level is
    shown at every level above it too: a Kreis total is computed like a Gemeinde's, from the same
    Baublöcke, and disclosure control treats it like any other unit."""
    named = {level for indicator in catalogue.indicators for level in indicator.levels}
    ranked = [level for level in nested_levels if level in named]
    if not ranked:
        return catalogue
    top = ranked[-1]
    above = tuple(nested_levels[nested_levels.index(top) + 1 :])
    if not above:
        return catalogue
    indicators = tuple(
        i.model_copy(update={"levels": (*i.levels, *above)}) if top in i.levels else i for i in catalogue.indicators
    )
    return catalogue.model_copy(update={"indicators": indicators})


def _cross_check(
    cat: Catalogue, contracts_dir: Path | None, levels: list[str] | None, nested_levels: list[str] | None = None
) -> list[str]:
    problems: list[str] = []
    measures = {}
    for m in cat.measures:
        if m.id in measures:
            problems.append(f"measure {m.id!r}, field 'id': defined twice")
        measures[m.id] = m
    known_sources = set(cat.sources)
    if contracts_dir is not None:
        contracts = {p.stem for p in contract_files(contracts_dir)}
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
    problems += _check_definitions(cat, measures)
    problems += _check_relations(cat, measures)
    problems += _check_indices(cat, seen, levels)
    problems += _check_within(cat, levels, nested_levels)
    return problems


def _check_indices(cat: Catalogue, indicator_ids: set[str], levels: list[str] | None) -> list[str]:
    from ..indices.composite import CompositeConfig
    from ..indices.mss import MssConfig

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
            from ..indices.uncertainty import UncertaintyConfig

            try:
                UncertaintyConfig.from_mapping(index.config.get("uncertainty") or {})
            except ValueError as exc:
                problems += [f"{where}, field 'config.uncertainty': {line}" for line in str(exc).splitlines()]
    return problems


def _check_within(cat: Catalogue, levels: list[str] | None, nested: list[str] | None) -> list[str]:
    """`also_within`: a status and dynamics index only; a nested level above every nested level of
    the index (a non-nested level such as the Sozialraum may cross its borders: such an area is not
    indexed within a unit); the derived index's id is no other index's."""
    from ..indices.within import within_id

    problems = []
    for index_id, index in cat.indices.items():
        within = index.also_within
        if within is None:
            continue
        where = f"index {index_id!r}, field 'also_within'"
        if index.kind != "status_dynamics":
            problems.append(f"{where}: only a status_dynamics index is computed within the units of a level")
        if within in index.levels:
            problems.append(f"{where}: {within!r} is one of the index's levels; name a level above them")
        elif nested is not None:
            if within not in nested:
                problems.append(f"{where}: {within!r} is not a nested level (nested levels: {', '.join(nested)})")
            else:
                below = [lv for lv in index.levels if lv in nested and nested.index(lv) > nested.index(within)]
                problems += [f"{where}: {within!r} is not above the index's level {lv!r}" for lv in below]
        elif levels is not None and within not in levels:
            problems.append(f"{where}: unknown level {within!r} (levels: {', '.join(levels)})")
        if within_id(index_id, within) in cat.indices:
            problems.append(f"{where}: its index {within_id(index_id, within)!r} is defined in the catalogue too")
    return problems


def _dbt_project(cat: Catalogue) -> Path | None:
    """The dbt project the catalogue file sits in (catalogue/kennzahlenkatalog.yml), if it does."""
    project = Path(cat.path).parent.parent if cat.path else None
    return project if project is not None and (project / "dbt_project.yml").is_file() else None


def _check_definitions(cat: Catalogue, measures: dict[str, Measure]) -> list[str]:
    """How the models form the measures: every Baublock measure's model exists; `condition` and
    `formula` only for the models that count records (`counting_models`), `column` only for the
    others; the vars a condition names are vars of dbt_project.yml."""
    problems = []
    project = _dbt_project(cat)
    models = {p.stem for p in (project / "models").rglob("*.sql")} if project else None
    project_vars = None
    if project:
        raw = load_yaml((project / "dbt_project.yml").read_text(encoding="utf-8")) or {}
        project_vars = set(raw.get("vars") or {})
    block_models = {m.model for m in cat.block_measures}
    for name in cat.counting_models:
        if name not in block_models:
            problems.append(f"field 'counting_models': no Baublock measure has the model {name!r}")
    for m in measures.values():
        where = f"measure {m.id!r}"
        if m.role != "block":
            for field in ("condition", "formula", "column", "within", "partitions"):
                if getattr(m, field):
                    problems.append(f"{where}, field {field!r}: only a Baublock measure (with a model) has one")
            continue
        if models is not None and m.model and m.model not in models:
            problems.append(f"{where}, field 'model': no model {m.model} in {project / 'models'}")
        counting = m.model in cat.counting_models
        for field in ("condition", "formula"):
            if getattr(m, field) is not None and not counting:
                problems.append(
                    f"{where}, field {field!r}: the model {m.model} does not count records "
                    "(its measures are not keyed counts; not in counting_models)"
                )
        if m.condition is not None and m.formula is not None:
            problems.append(f"{where}, field 'formula': a measure has a condition or a formula, not both")
        if m.column is not None and counting:
            problems.append(f"{where}, field 'column': the model {m.model} counts records, it takes no column")
        if project_vars is not None:
            for name in condition_vars(m.condition):
                if name not in project_vars:
                    problems.append(f"{where}, field 'condition': {{{name}}} is not a var of dbt_project.yml")
    return problems


def _check_relations(cat: Catalogue, measures: dict[str, Measure]) -> list[str]:
    """`within` and `partitions` name Baublock measures of the same model and source (a relation holds
    in every Baublock only between counts of the same records); relation ids are unique."""
    problems = []
    ids: set[str] = set()
    for m in cat.block_measures:
        where = f"measure {m.id!r}"
        entries = [("within", [w] if isinstance(w, str) else list(w)) for w in m.within]
        entries += [(f"partitions.{rid}", list(parts)) for rid, parts in m.partitions.items()]
        for field, others in entries:
            for other in others:
                target = measures.get(other)
                if target is None:
                    problems.append(f"{where}, field {field!r}: unknown measure {other!r}")
                elif other == m.id:
                    problems.append(f"{where}, field {field!r}: a measure is not related to itself")
                elif target.role != "block" or (target.model, target.source) != (m.model, m.source):
                    problems.append(
                        f"{where}, field {field!r}: {other!r} is not a measure of the same model and source "
                        f"({m.model}, {m.source})"
                    )
        relation_ids = [f"{m.id}_within_{'_and_'.join(o)}" for f, o in entries if f == "within"]
        relation_ids += list(m.partitions)
        for relation_id in relation_ids:
            if relation_id in ids:
                problems.append(f"{where}, field 'within'/'partitions': relation {relation_id!r} defined twice")
            ids.add(relation_id)
    return problems
