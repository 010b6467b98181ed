"""The Kennzahlenkatalog's schema (pydantic) and reading the YAML file into it.

`parse()` checks each entry on its own (types, allowed values, required fields); the checks across
entries are in `validate`. A wrong entry raises `CatalogueError` naming the file, the entry and the
field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import Place, SozialmonitorError, configuration_problems
from ..yaml_text import load_yaml

CATALOGUE_FILE = Path("catalogue") / "kennzahlenkatalog.yml"  # relative to the dbt project

Kind = Literal["persons", "households", "events", "dwellings", "area_m2"]
PERSON_KINDS = ("persons", "households", "events")
Direction = Literal["neutral", "lower_is_better", "higher_is_better"]
Rule = Literal["count", "derived", "none"]
Sensitivity = Literal["normal", "sensitive"]
UNITS = ("Anzahl", "%", "je 100", "je 1.000", "m² je Einwohner")


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
    # How a model of `counting_models` forms the measure from its input records: `condition` (SQL on
    # those records, `{name}` for a dbt var; none: every record of the source) for a keyed count,
    # `formula` (SQL on the model's counts) for a measure that is not a count of records
    condition: str | None = None
    formula: str | None = None
    # the delivered column a model of delivered aggregates takes the measure from (none: the id)
    column: str | None = None
    # relations that hold in every Baublock (disclosure_relations): the records counted are a subset
    # of another measure's (an entry with several measures: of their union); the measure is the sum of
    # the measures listed under a relation id
    within: tuple[str | tuple[str, ...], ...] = ()
    partitions: dict[str, tuple[str, ...]] = Field(default_factory=dict)

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
    # status_dynamics only: the index is also computed within each unit of this nested level above
    # its levels (a Kreis: `gemeinde`), published as <id>__innerhalb_<level> where there are two or
    # more such units (orchestration/indices/within.py); rendered into the seed's config
    also_within: str | None = None

    @property
    def seed_config(self) -> dict[str, Any]:
        """The config as the seed index_catalogue carries it (with `also_within`)."""
        return {**self.config, "also_within": self.also_within} if self.also_within else dict(self.config)


class Catalogue(_Strict):
    version: int
    sources: dict[str, Source]
    measures: tuple[Measure, ...]
    indicators: tuple[Indicator, ...]
    indices: dict[str, Index] = Field(default_factory=dict)
    # the intermediate models that count their measures from records (`condition`, `formula`)
    counting_models: tuple[str, ...] = ()
    path: str = ""

    def measure(self, measure_id: str) -> Measure:
        return {m.id: m for m in self.measures}[measure_id]

    @property
    def block_measures(self) -> list[Measure]:
        return [m for m in self.measures if m.role == "block"]


def default_path(dbt_project_dir: Path) -> Path:
    return dbt_project_dir / CATALOGUE_FILE


def _place(loc: tuple[str | int, ...], raw: dict[str, Any]) -> Place:
    """An indicator or measure by its id: ("indicators", 4, "unit") -> indicator 'share_foreign', field 'unit'."""
    if len(loc) >= 2 and loc[0] in ("indicators", "measures") and isinstance(loc[1], int):
        entries = raw.get(loc[0]) or []
        entry = entries[loc[1]] if loc[1] < len(entries) and isinstance(entries[loc[1]], dict) else {}
        kind = "indicator" if loc[0] == "indicators" else "measure"
        name = entry.get("id", f"#{loc[1] + 1}")
        return Place((f"{kind} {name!r}",), loc[2:])
    return Place(loc=loc)


def parse(path: Path) -> Catalogue:
    """The catalogue file as a `Catalogue`, each entry checked against the schema (indicators get
    the file's `defaults` first); the checks across entries are `validate.load`'s."""
    path = Path(path)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
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
        problems = configuration_problems(exc, file=path, model=Catalogue, locate=lambda loc: _place(loc, raw))
        raise CatalogueError("\n".join(problems)) from None
    return catalogue
