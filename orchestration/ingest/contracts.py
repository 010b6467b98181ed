"""Source contracts: one YAML file per department extract, validated when loaded.

A contract says where a source's files are, how they are encoded and delimited, which columns
they carry under which headers (and which older or newer headers mean the same), the type and
code list of every column, how suppressed values are written and what key is unique. The loader
follows it to the letter; a wrong contract entry is reported with file, source and field.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from ..errors import Place, SozialmonitorError, configuration_problems
from ..settings import PROJECT_DIR, ProjectVars

ColumnType = Literal["varchar", "code", "integer", "decimal", "date", "count"]
# The code lists a contract takes from the project's vars (properties of settings.ProjectVars):
# levels_above_block = nested_levels + non_nested_levels (the Gebietsgliederung's levels, and those
# a Baublock's membership names); parent_levels = nested_levels, smallest first (a unit's parent).
ValuesFrom = Literal["levels_above_block", "parent_levels"]
# A bound relative to the file's Stichtag: "year", "date" or "year_start", optionally shifted by
# whole years ("date-8y": eight years before the Stichtag, e.g. the oldest child in day care).
RELATIVE_BOUND = re.compile(r"^(?P<base>year|date|year_start)(?:(?P<shift>[+-]\d{1,3})y)?$")
RelativeBound = str
# Longest text a varchar/code column takes unless its contract says otherwise: longer values are a
# shifted column or a pasted document, never a street name.
DEFAULT_MAX_LENGTH = 200

SQL_TYPES: dict[str, str] = {
    "varchar": "VARCHAR",
    "code": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "date": "DATE",
    "count": "BIGINT",
}


# The Gebietsgliederung: a file delivered per Gemeinde must name one of its Gemeinden.
AREAS_SOURCE = "geo_areas"


class ContractError(SozialmonitorError):
    """A contract file itself is wrong."""

    exit_code = 11
    headline = "Run stopped: a source contract is invalid."
    hint = "Nothing was loaded. Fix the contract (docs/ingestion.md, 'Contract keys') and run again."


class BadFileName(ValueError):
    """A file is named like a source's extract, but the Stichtag in its name is no date."""


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    column: str


class Parent(BaseModel):
    """The rows of the file are units of a hierarchy, each naming its parent, a row of the same file
    (the Gebietsgliederung). `code` is the column with the parent's code, looked up in column
    `unit_code` of the rows whose `unit_level` is the parent's level; `level` is the column with the
    parent's level. The code list of `level` (values_from: parent_levels, the nested levels) gives
    the order, smallest first: a parent's level comes after its child's (a level not in the list,
    a non-nested one, is below all of them); an empty `level` means the next level of the list
    (the last one for a level not in it). `valid_from`/`valid_to`: the parent must be valid at some
    day of the child's period. Checked on every file (checks.find_unknown_parents)."""

    model_config = ConfigDict(extra="forbid")
    code: str
    level: str
    unit_code: str
    unit_level: str
    valid_from: str | None = None
    valid_to: str | None = None

    @model_validator(mode="after")
    def _period(self) -> Parent:
        if (self.valid_from is None) != (self.valid_to is None):
            raise ValueError("give both valid_from and valid_to, or neither")
        return self

    @property
    def column_names(self) -> list[str]:
        names = (self.code, self.level, self.unit_code, self.unit_level, self.valid_from, self.valid_to)
        return [c for c in names if c]


class Footer(BaseModel):
    """Rows from the first match of `pattern` in `column` to the end are totals or footnotes."""

    model_config = ConfigDict(extra="forbid")
    column: str
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        re.compile(value)
        return value


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    header: str
    aliases: list[str] = []
    type: ColumnType
    required: bool = False
    pattern: str | None = None
    values: list[str] | None = None
    # The code list is one of the project's lists of spatial levels (dbt_project.yml's vars, the
    # one place they are written): filled in as `values` when the contracts are loaded.
    values_from: ValuesFrom | None = None
    pad: int | None = Field(default=None, ge=1, le=20)
    min: float | date | None = None
    max: float | date | None = None
    min_from_stichtag: RelativeBound | None = None
    max_from_stichtag: RelativeBound | None = None
    date_format: str | None = None
    max_length: int | None = Field(default=None, ge=1, le=100_000)
    suppressed: list[str] = []
    zero: list[str] = []
    references: Reference | None = None
    description: str | None = None
    # Replaced by a keyed hash at ingestion (orchestration/pseudonyms.py): person, household and
    # case keys. Checks run on the delivered value; the warehouse only ever holds the pseudonym.
    pseudonymise: bool = False
    # A column the department added later: files without it (older years) still load, with the
    # column null. A file that has the header is checked like any other.
    may_be_absent: bool = False

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    @field_validator("min_from_stichtag", "max_from_stichtag")
    @classmethod
    def _relative_bound(cls, value: str | None) -> str | None:
        if value is not None and not RELATIVE_BOUND.match(value):
            raise ValueError(
                f"'{value}' is not a bound relative to the Stichtag: use year, date or year_start, "
                "optionally shifted by whole years (date-8y, year-110)"
            )
        return value

    @property
    def text_limit(self) -> int:
        return self.max_length or DEFAULT_MAX_LENGTH

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        if self.values is not None and self.values_from is not None:
            raise ValueError("give either values or values_from, not both")
        if self.type == "date" and not self.date_format:
            raise ValueError("a date column needs date_format (e.g. '%d.%m.%Y')")
        if self.type != "date" and self.date_format:
            raise ValueError("date_format only applies to type date")
        if (self.suppressed or self.zero) and self.type != "count":
            raise ValueError("suppressed/zero markers only apply to type count")
        if self.pad and self.type != "code":
            raise ValueError("pad only applies to type code")
        if self.pseudonymise and self.type not in ("varchar", "code"):
            raise ValueError("only varchar and code columns can be pseudonymised")
        return self

    @property
    def headers(self) -> list[str]:
        return [self.header, *self.aliases]

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    department: str
    # the dbt source (one per department) that declares this table, which keeps its name (default:
    # the directory); orchestration.catalogue renders the dbt sources from it
    dbt_source: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    format: Literal["csv", "xlsx", "geojson"]
    directory: str
    file_pattern: str
    period: Literal["stichtag", "reference"]
    stichtag_format: str = "%Y%m%d"
    encoding: Literal["utf-8", "utf-8-sig", "cp1252", "latin-1"] = "utf-8"
    delimiter: str = ";"
    decimal: Literal[".", ","] = "."
    thousands: Literal[".", ",", " "] | None = None
    sheet: str | None = None
    header_row: int | Literal["auto"] = 1
    footer: Footer | None = None
    crs: str | None = None
    unique_key: list[str] = []
    # The columns whose (keyed) hash gives each record its key for the Cell Key Method; default:
    # unique_key. Keep it stable across Stichtage (the person key, not a line number).
    record_key: list[str] | None = None
    # A CSV export ends with a line break; a file that does not was most likely cut off in transfer
    # (inside its last field, which no column count can see). Set false for software that never
    # writes the final line break.
    final_newline: bool = True
    # Control total: the number of data records, sent by the department in a file beside the
    # extract named like it plus `.count` (EWR_Bestand_20241231.csv.count holding "102553").
    # required: refused without it; optional: checked when present; none: not looked for.
    control_total: Literal["required", "optional", "none"] = "optional"
    # Record count against the previous Stichtag: a change beyond this share (percent) blocks the
    # release unless it is explained (data_quality/gates.yml, record_counts.explained).
    max_count_change_pct: float | None = Field(default=None, gt=0)
    # A Kreis's Städte each deliver their own file of this source (register, address register):
    # the file name carries the Gemeinde's key as (?P<gemeinde>…); the loader writes it into column
    # `gemeinde` and replaces only that Gemeinde's rows. Keys of such a file are the Stadt's own:
    # its pseudonyms and record keys are made per Gemeinde. None: one file for the whole warehouse.
    delivered_per: Literal["gemeinde"] | None = None
    # The rows form a hierarchy: each names its parent row (Parent above).
    parent: Parent | None = None
    columns: list[Column]

    @property
    def record_key_columns(self) -> list[str]:
        return self.record_key if self.record_key is not None else self.unique_key

    @property
    def pseudonymised(self) -> list[Column]:
        return [c for c in self.columns if c.pseudonymise]

    @field_validator("file_pattern")
    @classmethod
    def _file_pattern(cls, value: str) -> str:
        re.compile(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        names = [c.name for c in self.columns]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"column names used twice: {sorted(dupes)}")
        headers = [h for c in self.columns for h in c.headers]
        dupes = {h for h in headers if headers.count(h) > 1}
        if dupes:
            raise ValueError(f"headers or aliases used twice: {sorted(dupes)}")
        groups = set(re.compile(self.file_pattern).groupindex)
        if self.period == "stichtag" and not groups & {"stichtag", "year"}:
            raise ValueError("file_pattern of a stichtag source needs a named group (?P<stichtag>…) or (?P<year>…)")
        for key in self.unique_key:
            if key not in names:
                raise ValueError(f"unique_key names unknown column '{key}'")
        for key in self.record_key or []:
            if key not in names:
                raise ValueError(f"record_key names unknown column '{key}'")
        if self.delivered_per and "gemeinde" not in groups:
            raise ValueError("file_pattern of a source delivered per gemeinde needs a named group (?P<gemeinde>…)")
        if not self.delivered_per and "gemeinde" in groups:
            raise ValueError("file_pattern names a group (?P<gemeinde>…): set delivered_per: gemeinde")
        if self.delivered_per and "gemeinde" in names:
            raise ValueError("a source delivered per gemeinde takes column 'gemeinde' from the file name: remove it")
        if self.footer and self.footer.column not in names:
            raise ValueError(f"footer names unknown column '{self.footer.column}'")
        if self.parent:
            for key in self.parent.column_names:
                if key not in names:
                    raise ValueError(f"parent names unknown column '{key}'")
            level = self.column(self.parent.level)
            if level.values is None and level.values_from is None:
                raise ValueError(
                    f"parent: column '{level.name}' needs the ordered list of levels (values_from: parent_levels)"
                )
        if self.format == "xlsx" and not self.sheet:
            raise ValueError("an xlsx source needs sheet")
        return self

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.file_pattern)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def match(self, filename: str) -> date | None | Literal[False]:
        """The file's Stichtag (None for reference data), or False when the name does not match.
        Raises BadFileName when the name matches but its date is not a calendar date."""
        m = self.pattern.fullmatch(filename)
        if not m:
            return False
        if self.period == "reference":
            return None
        groups = m.groupdict()
        try:
            if groups.get("stichtag"):
                return datetime.strptime(groups["stichtag"], self.stichtag_format).date()
            return date(int(groups["year"]), 12, 31)
        except ValueError as exc:
            text = groups.get("stichtag") or groups.get("year")
            raise BadFileName(
                f"the date '{text}' in the file name is not a calendar date in the form {self.stichtag_format} ({exc})"
            ) from exc

    def gemeinde(self, filename: str) -> str | None:
        """The key of the Gemeinde that delivered the file (its name's group `gemeinde`); None for a
        source that is not delivered per Gemeinde."""
        m = self.pattern.fullmatch(filename)
        return m.group("gemeinde") if m and self.delivered_per else None

    @property
    def table(self) -> str:
        return f"raw.{self.source}"

    # the file the contract was read from (load_contract)
    _path: Path | None = PrivateAttr(default=None)

    @property
    def location(self) -> str:
        """The contract's file as messages name it: relative to the project where it lies inside
        (orchestration/contracts/x.yml), else its full path (a Kreis's own contracts)."""
        if self._path is None:
            return f"orchestration/contracts/{self.source}.yml"
        path = self._path.resolve()
        return str(path.relative_to(PROJECT_DIR)) if path.is_relative_to(PROJECT_DIR) else str(path)


def load_contract(path: Path, project: ProjectVars | None = None) -> Contract:
    """The contract in `path`, checked; a code list taken from the project's levels (`values_from`)
    is filled in from `project` (Settings.project_vars), which such a contract needs."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from exc
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        problems = configuration_problems(exc, file=path, model=Contract, locate=lambda loc: _place(loc, data))
        raise ContractError("\n".join(problems)) from exc
    contract._path = path
    return _with_project_values(contract, path, project)


def _with_project_values(contract: Contract, path: Path, project: ProjectVars | None) -> Contract:
    """`values` of every column with `values_from`: the project's list of that name."""
    if not any(c.values_from for c in contract.columns):
        return contract
    if project is None:
        raise ContractError(
            f"{path}: source '{contract.source}' takes code lists from the project's vars (values_from): "
            "load it with them (load_contracts(directory, settings.project_vars))"
        )
    columns = [
        c.model_copy(update={"values": list(getattr(project, c.values_from))}) if c.values_from else c
        for c in contract.columns
    ]
    return contract.model_copy(update={"columns": columns})


def _place(loc: tuple[str | int, ...], data: object) -> Place:
    """The source, and the column by name: ("columns", 3, "type") -> source 'x', column 'y', field 'type'."""
    source = data.get("source") if isinstance(data, dict) else None
    entries = (f"source {source!r}",) if isinstance(source, str) else ()
    if loc[:1] == ("columns",) and len(loc) > 1 and isinstance(loc[1], int) and isinstance(data, dict):
        columns = data.get("columns")
        column = columns[loc[1]] if isinstance(columns, list) and loc[1] < len(columns) else None
        name = column.get("name") if isinstance(column, dict) else None
        label = f"column {name!r}" if isinstance(name, str) else f"column no. {loc[1] + 1}"
        return Place((*entries, label), loc[2:])
    return Place(entries, loc)


def load_contracts(directory: Path, project: ProjectVars | None = None) -> dict[str, Contract]:
    """All contracts, ordered so that a source comes after every source it references. `project`:
    the project's vars (Settings.project_vars), for the code lists the contracts take from them."""
    contracts: dict[str, Contract] = {}
    for path in sorted(directory.glob("*.yml")):
        contract = load_contract(path, project)
        if contract.source in contracts:
            raise ContractError(f"{path}: source '{contract.source}' is defined twice")
        if path.stem != contract.source:
            raise ContractError(f"{path}: file name must be the source name ('{contract.source}.yml')")
        contracts[contract.source] = contract
    for contract in contracts.values():
        for col in contract.columns:
            ref = col.references
            if ref and (
                ref.source not in contracts or ref.column not in {c.name for c in contracts[ref.source].columns}
            ):
                raise ContractError(
                    f"{directory / (contract.source + '.yml')}: column '{col.name}' references "
                    f"{ref.source}.{ref.column}, which no contract defines"
                )
    ordered: dict[str, Contract] = {}

    def visit(name: str, trail: tuple[str, ...] = ()) -> None:
        if name in ordered:
            return
        if name in trail:
            raise ContractError(f"contracts reference each other in a cycle: {' -> '.join(trail + (name,))}")
        for col in contracts[name].columns:
            if col.references:
                visit(col.references.source, trail + (name,))
        if contracts[name].delivered_per and AREAS_SOURCE in contracts and name != AREAS_SOURCE:
            visit(AREAS_SOURCE, trail + (name,))  # the Gemeinde in its file names is checked there
        ordered[name] = contracts[name]

    for name in sorted(contracts, key=lambda n: (contracts[n].period != "reference", n)):
        visit(name)
    return ordered
