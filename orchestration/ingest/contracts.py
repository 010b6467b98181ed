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
from ..yaml_text import load_yaml

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
    # The codes a department writes -> the contract's codes ({"1": m, "2": w}): applied before the
    # code checks, so the warehouse holds one code list; a value not among the keys is refused. Set
    # by a Stadt's contract variant (load_contracts) for its own software's code list.
    recode: dict[str, str] | None = None

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
        if self.recode is not None:
            if self.type != "code":
                raise ValueError("recode only applies to type code")
            if not self.recode:
                raise ValueError("recode needs at least one code")
            for theirs, ours in self.recode.items():
                if self.values is not None and ours not in self.values:
                    raise ValueError(f"recode maps '{theirs}' to '{ours}', which is not in the code list {self.values}")
                if self.pattern and not re.fullmatch(self.pattern, ours):
                    raise ValueError(f"recode maps '{theirs}' to '{ours}', which does not have the form {self.pattern}")
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

    @property
    def checked_against(self) -> list[str]:
        """The sources this source's files are checked against while they load, so they load first:
        every source a column `references`, and for a source delivered per Gemeinde the
        Gebietsgliederung (the Gemeinde in its file names is checked there)."""
        needed = [col.references.source for col in self.columns if col.references]
        if self.delivered_per and self.source != AREAS_SOURCE:
            needed.append(AREAS_SOURCE)
        return needed

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

    # the file the contract was read from (load_contract; a Stadt's variant for its effective contract)
    _path: Path | None = PrivateAttr(default=None)
    # a Stadt's effective contract: the common contract it varies (None: this is the common one)
    _common: Contract | None = PrivateAttr(default=None)
    # the effective contracts of the Städte with a variant (load_contracts), by Gemeinde key
    _variants: dict[str, Contract] = PrivateAttr(default_factory=dict)

    def for_gemeinde(self, gemeinde: str | None) -> Contract:
        """The contract that reads the files of `gemeinde`: its variant over this one where it has
        one (`<source>@<gemeinde>.yml`), else this one."""
        return self._variants.get(gemeinde, self) if gemeinde else self

    @property
    def variants(self) -> dict[str, Contract]:
        """The effective contracts of the Städte with a variant, by Gemeinde key."""
        return dict(self._variants)

    @property
    def common_location(self) -> str:
        """The common contract's file (for a Stadt's effective contract: not its variant's)."""
        return self._common.location if self._common is not None else self.location

    @property
    def location(self) -> str:
        """The contract's file as messages name it: relative to the project where it lies inside
        (orchestration/contracts/x.yml), else its full path (a Kreis's own contracts)."""
        if self._path is None:
            return f"orchestration/contracts/{self.source}.yml"
        path = self._path.resolve()
        return str(path.relative_to(PROJECT_DIR)) if path.is_relative_to(PROJECT_DIR) else str(path)


# --------------------------------------------------------------------------------------------------
# a Stadt's variant of a contract

# A variant's file: <source>@<Gemeinde key>.yml, beside the common contract <source>.yml.
VARIANT_NAME = re.compile(r"^(?P<source>[^@]+)@(?P<gemeinde>[^@]*)$")
# What a variant may change: how the Stadt's software writes the file ...
VARIANT_FILE_KEYS = (
    "encoding",
    "delimiter",
    "decimal",
    "thousands",
    "sheet",
    "header_row",
    "final_newline",
    "footer",
    "control_total",
)
# ... and, per column (named by `name`), how it writes that column.
VARIANT_COLUMN_KEYS = ("header", "aliases", "date_format", "pad", "recode")


class ColumnVariant(BaseModel):
    """How one Stadt's software writes a column of the common contract."""

    model_config = ConfigDict(extra="forbid")
    name: str
    header: str | None = None
    aliases: list[str] | None = None
    date_format: str | None = None
    pad: int | None = Field(default=None, ge=1, le=20)
    recode: dict[str, str] | None = None


class ContractVariant(BaseModel):
    """One Stadt's variant of a source delivered per Gemeinde: only what its software writes
    differently. Column names, types, required-ness, code lists, keys and the raw table are the
    common contract's: the warehouse's rows are the same whichever software a Stadt uses."""

    model_config = ConfigDict(extra="forbid")
    description: str | None = None
    encoding: Literal["utf-8", "utf-8-sig", "cp1252", "latin-1"] | None = None
    delimiter: str | None = None
    decimal: Literal[".", ","] | None = None
    thousands: Literal[".", ",", " "] | None = None
    sheet: str | None = None
    header_row: int | Literal["auto"] | None = None
    final_newline: bool | None = None
    footer: Footer | None = None
    control_total: Literal["required", "optional", "none"] | None = None
    columns: list[ColumnVariant] = []


def _variant_refusals(path: Path, data: object) -> list[str]:
    """Keys a variant may not have, each with why: they are common to all Städte."""
    if not isinstance(data, dict):
        return [f"{path}: a contract variant is a mapping of keys (encoding, delimiter, columns, …)"]
    problems = []
    common = set(Contract.model_fields) - set(VARIANT_FILE_KEYS) - {"columns", "description"}
    for key in data:
        if key in common:
            problems.append(
                f"{path}: key '{key}' is common to all Städte and cannot differ in a Stadt's variant "
                f"(a variant may set: {', '.join(VARIANT_FILE_KEYS)}, columns)"
            )
    columns = data.get("columns")
    for i, column in enumerate(columns if isinstance(columns, list) else []):
        if not isinstance(column, dict):
            continue
        label = f"column {column['name']!r}" if isinstance(column.get("name"), str) else f"column no. {i + 1}"
        for key in column:
            if key in set(Column.model_fields) - set(VARIANT_COLUMN_KEYS) - {"name"}:
                problems.append(
                    f"{path}: {label}, key '{key}' is common to all Städte and cannot differ in a Stadt's "
                    f"variant (the raw table is the same for every Stadt; a column may set: "
                    f"{', '.join(VARIANT_COLUMN_KEYS)})"
                )
    return problems


def load_variant(path: Path, common: Contract, project: ProjectVars | None = None) -> Contract:
    """The effective contract of one Stadt: `common` with the variant in `path` over it."""
    match = VARIANT_NAME.match(path.stem)
    if match is None or match["source"] != common.source:
        raise ContractError(f"{path}: a contract variant is named <source>@<Gemeinde key>.yml")
    gemeinde = match["gemeinde"]
    if not re.fullmatch(r"\d{8}", gemeinde):
        raise ContractError(
            f"{path}: '{gemeinde}' is no Gemeinde key: name a Stadt's variant with its 8-digit AGS "
            f"({common.source}@05999008.yml)"
        )
    if common.delivered_per != "gemeinde":
        raise ContractError(
            f"{path}: source '{common.source}' is not delivered per Gemeinde (delivered_per in "
            f"{common.location}), so no Stadt has files of its own to read differently"
        )
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from exc
    data = {} if data is None else data
    refusals = _variant_refusals(path, data)
    if refusals:
        raise ContractError("\n".join(refusals))
    try:
        variant = ContractVariant.model_validate(data)
    except ValidationError as exc:
        problems = configuration_problems(exc, file=path, model=ContractVariant, locate=lambda loc: _place(loc, data))
        raise ContractError("\n".join(problems)) from exc
    merged = common.model_dump(mode="python")
    merged.update(variant.model_dump(include=set(VARIANT_FILE_KEYS), exclude_unset=True))
    by_name = {c["name"]: c for c in merged["columns"]}
    seen: set[str] = set()
    for column in variant.columns:
        if column.name not in by_name:
            raise ContractError(
                f"{path}: column '{column.name}' is not a column of {common.location} "
                f"(its columns: {', '.join(by_name)}); a variant names the common contract's columns"
            )
        if column.name in seen:
            raise ContractError(f"{path}: column '{column.name}' is listed twice")
        seen.add(column.name)
        by_name[column.name].update(column.model_dump(exclude={"name"}, exclude_unset=True))
    for column in merged["columns"]:
        if column.get("values_from"):
            column["values"] = None  # filled in again from the project's vars
    try:
        effective = Contract.model_validate(merged)
    except ValidationError as exc:
        problems = configuration_problems(exc, model=Contract, locate=lambda loc: _place(loc, merged))
        raise ContractError(
            "\n".join(f"{path}: with this variant over {common.location}: {p}" for p in problems)
        ) from exc
    effective._path = path
    effective = _with_project_values(effective, path, project)
    effective._path, effective._common = path, common
    for column in effective.columns:
        wrong = [ours for ours in (column.recode or {}).values() if column.values and ours not in column.values]
        if wrong:
            raise ContractError(
                f"{path}: column '{column.name}', key 'recode': {wrong} not in the code list {column.values}"
            )
    return effective


def load_contract(path: Path, project: ProjectVars | None = None) -> Contract:
    """The contract in `path`, checked; a code list taken from the project's levels (`values_from`)
    is filled in from `project` (Settings.project_vars), which such a contract needs."""
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
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


def contract_files(directory: Path) -> list[Path]:
    """The common contracts in `directory` (`<source>.yml`), without the Städte's variants
    (`<source>@<AGS>.yml`), sorted."""
    return [p for p in sorted(Path(directory).glob("*.yml")) if "@" not in p.stem]


def load_contracts(directory: Path, project: ProjectVars | None = None) -> dict[str, Contract]:
    """All contracts, ordered so that a source comes after every source it references. `project`:
    the project's vars (Settings.project_vars), for the code lists the contracts take from them."""
    contracts: dict[str, Contract] = {}
    variants: list[Path] = []
    for path in sorted(directory.glob("*.yml")):
        if "@" in path.stem:  # a Stadt's variant: read over its common contract below
            variants.append(path)
            continue
        contract = load_contract(path, project)
        if contract.source in contracts:
            raise ContractError(f"{path}: source '{contract.source}' is defined twice")
        if path.stem != contract.source:
            raise ContractError(f"{path}: file name must be the source name ('{contract.source}.yml')")
        contracts[contract.source] = contract
    for path in variants:
        source = path.stem.split("@", 1)[0]
        if source not in contracts:
            raise ContractError(
                f"{path}: a Stadt's variant of source '{source}', but no contract {source}.yml is in {directory}"
            )
        common = contracts[source]
        effective = load_variant(path, common, project)
        common._variants[path.stem.split("@", 1)[1]] = effective
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
        for needed in contracts[name].checked_against:
            if needed in contracts:  # referenced sources exist (checked above); the Gebietsgliederung may not
                visit(needed, trail + (name,))
        ordered[name] = contracts[name]

    for name in sorted(contracts, key=lambda n: (contracts[n].period != "reference", n)):
        visit(name)
    return ordered
