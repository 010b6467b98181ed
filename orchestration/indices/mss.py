"""Status and dynamics index after the method of Berlin's Monitoring Soziale Stadtentwicklung (MSS).

The recipe (see docs/domain.md, "Composite indices"):

1. Areas with fewer than `min_population` residents, areas on the exclusion list and areas with a
   missing value in a needed column are *not indexed*: they stay in the result with `indexed`
   false, empty classes and a `reason`, and they do not influence any mean or sd.
2. For every indicator over the indexed areas: z = (x - mean) / sd with the unweighted mean and the
   *population* sd (ddof=0).
3. The z-values are added with equal weights and the sum is standardised again the same way.
4. Classes from the bounds. Status (high indicator values = low social status):
   z < -1 "hoch"; -1 <= z <= 1 "mittel"; 1 < z <= 1.5 "niedrig"; z > 1.5 "sehr niedrig".
   Dynamics: z < -1 "positiv"; -1 <= z <= 1 "stabil"; z > 1 "negativ".

Result columns: `id, indexed, status_z, status_class, dynamics_z, dynamics_class, reason`.
`write_result` writes the first six only (the published form); `reason` is for reporting.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from ..errors import SozialmonitorError
from .config import FrozenConfig, Name, Number, twice

STATUS_CLASSES = ("hoch", "mittel", "niedrig", "sehr niedrig")
DYNAMICS_CLASSES = ("positiv", "stabil", "negativ")
RESULT_COLUMNS = ("id", "indexed", "status_z", "status_class", "dynamics_z", "dynamics_class")
REASON_POPULATION = "population_below_minimum"
REASON_EXCLUDED = "excluded"
REASON_MISSING = "missing_value"  # written as "missing_value:<column>[,<column>…]"
MISSING_TOKENS = frozenset({"", ".", "-", "*"})
Z_DECIMALS = 6


class MssInputError(SozialmonitorError, ValueError):
    """Bad configuration or input data (a missing column, an unreadable file, a constant indicator …)."""

    exit_code = 2


def _ascending(size: int) -> AfterValidator:
    def check(value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) != size or any(a >= b for a, b in zip(value, value[1:], strict=False)):
            raise ValueError(f"must be {size} strictly ascending numbers, got {list(value)}")
        return value

    return AfterValidator(check)


class MssConfig(FrozenConfig):
    """What enters the index. `dynamics` may be empty: then there is no dynamics index. Column names
    and area ids are text (trimmed, not empty); a column is named once, and not in both lists.

    `status_bounds = (a, b, c)`: z < a "hoch", a <= z <= b "mittel", b < z <= c "niedrig", z > c "sehr niedrig".
    `dynamics_bounds = (a, b)`: z < a "positiv", a <= z <= b "stabil", z > b "negativ".
    Both strictly ascending. Wrong values raise MssInputError naming the key.
    """

    _kind: ClassVar[str] = "MSS configuration"
    _label_key: ClassVar[str | None] = None
    _error: ClassVar[type[ValueError]] = MssInputError

    status: tuple[Name, ...]
    dynamics: tuple[Name, ...] = ()
    min_population: Annotated[Number, Field(ge=0)] = 300.0
    exclude: tuple[Name, ...] = ()
    status_bounds: Annotated[tuple[Number, ...], _ascending(3)] = (-1.0, 1.0, 1.5)
    dynamics_bounds: Annotated[tuple[Number, ...], _ascending(2)] = (-1.0, 1.0)

    @field_validator("exclude", mode="before")
    @classmethod
    def _ids_are_text(cls, value: Any) -> Any:
        bad = [v for v in value if not isinstance(v, str)] if isinstance(value, list | tuple) else []
        if bad:
            raise ValueError(
                f"area ids must be text, got {bad[0]!r}: quote them in YAML so that leading zeros survive "
                "(01011101 unquoted is a number)"
            )
        return value

    @field_validator("status", "dynamics")
    @classmethod
    def _each_column_once(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if info.field_name == "status" and not value:
            raise ValueError("at least one status indicator is needed")
        if listed_twice := twice(value):
            raise ValueError(f"names a column twice: {', '.join(listed_twice)}")
        return value

    @model_validator(mode="after")
    def _status_or_dynamics(self) -> MssConfig:
        if both := sorted(set(self.status) & set(self.dynamics)):
            raise ValueError(f"dynamics names status column(s) too: {', '.join(both)}")
        return self

    @classmethod
    def from_mapping(cls, d: Mapping) -> MssConfig:
        """The configuration from a mapping (one entry of the YAML catalogue): the keys are the fields,
        `status` is required, an empty `dynamics` or `exclude` is none. Unknown or wrongly typed keys
        raise MssInputError (a ValueError) naming the key, one line per problem. Quote area ids in
        YAML: 01011101 unquoted is a number."""
        if isinstance(d, Mapping):
            d = {k: v for k, v in d.items() if not (k in ("dynamics", "exclude") and v is None)}
        return cls._from_mapping(d)

    @property
    def columns(self) -> tuple[str, ...]:
        """The indicator columns that enter the index: status first, then dynamics."""
        return self.status + self.dynamics


# --------------------------------------------------------------------------------------------------
# Computation


def classify_status(z, bounds: Sequence[float] = (-1.0, 1.0, 1.5)) -> np.ndarray:
    """Status class per z-value (NaN → ""). Lower bound inclusive in "mittel", upper bounds inclusive."""
    a, b, c = bounds
    z = np.asarray(z, dtype=float)
    return np.select([np.isnan(z), z < a, z <= b, z <= c, z > c], ["", *STATUS_CLASSES], default="").astype(object)


def classify_dynamics(z, bounds: Sequence[float] = (-1.0, 1.0)) -> np.ndarray:
    """Dynamics class per z-value (NaN → "")."""
    a, b = bounds
    z = np.asarray(z, dtype=float)
    return np.select([np.isnan(z), z < a, z <= b, z > b], ["", *DYNAMICS_CLASSES], default="").astype(object)


def _standardise(values: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Column-wise z-scores with the unweighted mean and the population sd (ddof=0)."""
    constant = values.max(axis=0) == values.min(axis=0)
    if constant.any():
        bad = [n for n, c in zip(names, constant, strict=True) if c]
        raise MssInputError(
            f"indicator(s) with standard deviation 0 over the indexed areas (every value equal): {', '.join(bad)}"
        )
    return (values - values.mean(axis=0)) / values.std(axis=0, ddof=0)


def _index(values: np.ndarray, names: Sequence[str], label: str) -> np.ndarray:
    """Sum of the indicators' z-values, standardised again: the index z of every indexed area."""
    total = _standardise(values, names).sum(axis=1)
    sd = total.std(ddof=0)
    if not sd > 1e-9 * len(names):
        raise MssInputError(
            f"the {label} indicators cancel each other out: their z-sum is constant over the indexed areas "
            f"({', '.join(names)})"
        )
    return (total - total.mean()) / sd


def _area_ids(frame: pd.DataFrame, id_column: str) -> pd.Series:
    raw = frame[id_column]
    if raw.isna().any():
        raise MssInputError(f"id column {id_column!r} has empty ids (row {int(np.flatnonzero(raw.isna())[0]) + 1})")
    ids = raw.astype(str).str.strip()
    if (ids == "").any():
        raise MssInputError(f"id column {id_column!r} has empty ids (row {int(np.flatnonzero(ids == '')[0]) + 1})")
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        raise MssInputError(f"id column {id_column!r} has duplicate ids: {', '.join(sorted(set(duplicated))[:10])}")
    return ids


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    series = frame[column]
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        try:
            series = pd.to_numeric(series, errors="raise")
        except (TypeError, ValueError) as exc:
            raise MssInputError(f"column {column!r} is not numeric ({exc}); read the file with read_values") from exc
    return series.to_numpy(dtype=float, na_value=np.nan)


def _check_columns(frame: pd.DataFrame, wanted: Iterable[str], where: str) -> None:
    available = [str(c) for c in frame.columns]
    missing = [c for c in dict.fromkeys(wanted) if c not in available]
    if missing:
        raise MssInputError(
            f"{where}: column(s) {', '.join(repr(c) for c in missing)} not found; "
            f"available columns: {', '.join(available)}"
        )


def compute_mss(frame: pd.DataFrame, config: MssConfig, id_column: str, population_column: str) -> pd.DataFrame:
    """The status and dynamics index of every row of `frame`: one result row per input row, same order
    and index. Columns `id` (text), `indexed` (bool), `status_z`, `status_class`, `dynamics_z`,
    `dynamics_class` (NaN / "" where not indexed or without dynamics) and `reason`: "" when indexed,
    else the first that applies of `excluded`, `missing_value:<population column>[,<columns>]`,
    `population_below_minimum` (small areas often carry no indicator values), `missing_value:<columns>`
    (every needed column without a value, comma separated; NaN and ±inf count as missing).

    Raises MssInputError (a ValueError) for missing columns, empty or duplicate ids, non-numeric data,
    no indexed area, or an indicator with sd 0 over the indexed areas."""
    _check_columns(frame, [id_column, population_column, *config.columns], "compute_mss")
    ids = _area_ids(frame, id_column)
    population = _numeric(frame, population_column)
    values = np.column_stack([_numeric(frame, c) for c in config.columns])
    n = len(frame)

    missing = ~np.isfinite(values)
    missing_names = np.full(n, "", dtype=object)
    for j, name in enumerate(config.columns):  # a loop over the (few) columns, not the rows
        missing_names = np.where(
            missing[:, j], missing_names + np.where(missing_names == "", "", ",") + name, missing_names
        )
    population_missing = ~np.isfinite(population)
    missing_names = np.where(
        population_missing,
        population_column + np.where(missing_names == "", "", ",") + missing_names,
        missing_names,
    )
    excluded = ids.isin(set(config.exclude)).to_numpy()
    small = ~population_missing & (np.nan_to_num(population, nan=0.0) < config.min_population)
    has_missing = missing_names != ""
    reason = np.select(
        [excluded, population_missing, small, has_missing],
        [
            REASON_EXCLUDED,
            REASON_MISSING + ":" + missing_names,
            REASON_POPULATION,
            REASON_MISSING + ":" + missing_names,
        ],
        default="",
    ).astype(object)
    indexed = reason == ""
    if not indexed.any():
        raise MssInputError(f"no area can be indexed (of {n}: every one is excluded, too small or has missing values)")

    k = len(config.status)
    status_z = np.full(n, np.nan)
    status_z[indexed] = _index(values[indexed][:, :k], config.status, "status")
    dynamics_z = np.full(n, np.nan)
    if config.dynamics:
        dynamics_z[indexed] = _index(values[indexed][:, k:], config.dynamics, "dynamics")

    return pd.DataFrame(
        {
            "id": ids.to_numpy(dtype=object),
            "indexed": indexed,
            "status_z": status_z,
            "status_class": classify_status(status_z, config.status_bounds),
            "dynamics_z": dynamics_z,
            "dynamics_class": classify_dynamics(dynamics_z, config.dynamics_bounds),
            "reason": reason,
        },
        index=frame.index,
    )


def unknown_exclusions(frame: pd.DataFrame, config: MssConfig, id_column: str) -> tuple[str, ...]:
    """The ids on the exclusion list that are not in `frame` (probably a typo or an outdated list)."""
    _check_columns(frame, [id_column], "unknown_exclusions")
    present = set(frame[id_column].dropna().astype(str).str.strip())
    return tuple(sorted(set(config.exclude) - present))


# --------------------------------------------------------------------------------------------------
# Files

_DOT_GROUPED = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$")  # 1.234 or 1.234,5
_LEADING_ZERO_INTEGER = re.compile(r"^0\d+$")


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise MssInputError(f"{path}: neither UTF-8 nor Windows-1252 text ({exc})") from exc


def _separator(header: str) -> str:
    """`;` when the header line has more semicolons than commas (outside quotes), else `,`."""
    unquoted = re.sub(r'"[^"]*"', "", header)
    return ";" if unquoted.count(";") > unquoted.count(",") else ","


def _to_numbers(text: pd.Series, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
    """Parsed values (NaN for missing tokens) and a mask of values that are neither missing nor numbers.

    With `decimal_comma`, a column in which any value has a comma is read the German way: the comma is
    the decimal mark and a dot may only group thousands (`1.234,5`); a column without any comma is read
    with the dot as decimal mark (`2930.0`)."""
    stripped = text.str.strip()
    missing = stripped.isin(MISSING_TOKENS).to_numpy()
    bad = np.zeros(len(stripped), dtype=bool)
    if decimal_comma and stripped[~missing].str.contains(",", regex=False).any():
        dotted = stripped.str.contains(".", regex=False).to_numpy()
        bad = ~missing & dotted & ~stripped.str.match(_DOT_GROUPED).to_numpy()
        stripped = stripped.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    parsed = pd.to_numeric(stripped.where(~missing, None), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    parsed = np.where(bad, np.nan, parsed)
    invalid = ~missing & np.isnan(parsed)
    return parsed, invalid


def read_values(
    path: str | os.PathLike,
    *,
    id_column: str | None = None,
    numeric_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """An indicator table from CSV. Separator `,` or `;` (sniffed from the header line); UTF-8 (BOM
    tolerated), else Windows-1252. Every column is read as text first; the id column stays text
    (leading zeros kept). With `;` a decimal comma is accepted (`6,38`; a column holding a comma reads
    dots as thousands separators, `1.234,5`; one without any comma reads `2930.0` as usual). The tokens
    "", ".", "-", "*" are missing values (NaN).

    `numeric_columns` given: exactly these are converted (a value that is no number → error naming
    file, column and line); each of them and `id_column` must exist, else an error names the file, the
    column and the available columns. Not given: every column whose values all parse as numbers and
    none of which looks like a zero-padded id (`0101`) is converted, except `id_column`."""
    path = Path(path)
    text = _decode(path)
    header = text.split("\n", 1)[0].rstrip("\r")
    if not header.strip():
        raise MssInputError(f"{path}: empty file or empty header line")
    sep = _separator(header)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=True
        )
    except (pd.errors.ParserError, csv.Error) as exc:
        raise MssInputError(f"{path}: not a readable CSV table ({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.columns.duplicated().any():
        raise MssInputError(f"{path}: duplicate column name(s): {', '.join(frame.columns[frame.columns.duplicated()])}")
    wanted = [c for c in [id_column, *(numeric_columns or ())] if c is not None]
    _check_columns(frame, wanted, str(path))

    decimal_comma = sep == ";"
    columns = numeric_columns if numeric_columns is not None else [c for c in frame.columns if c != id_column]
    for column in dict.fromkeys(columns):
        if column == id_column:
            continue
        parsed, invalid = _to_numbers(frame[column], decimal_comma)
        if numeric_columns is None:
            if invalid.any() or frame[column].str.strip().str.match(_LEADING_ZERO_INTEGER).any():
                continue  # a text column
        elif invalid.any():
            row = int(np.flatnonzero(invalid)[0])
            raise MssInputError(
                f"{path}: column {column!r} line {row + 2}: {frame[column].iloc[row]!r} is not a number"
                + ("" if decimal_comma else " (a decimal comma is only read from ;-separated files)")
            )
        frame[column] = parsed
    if id_column is not None:
        frame[id_column] = frame[id_column].str.strip()
    return frame


def _format_z(z: pd.Series) -> pd.Series:
    rounded = np.round(z.to_numpy(dtype=float, na_value=np.nan), Z_DECIMALS)
    rounded[rounded == 0] = 0.0  # no "-0.000000"
    text = np.char.mod(f"%.{Z_DECIMALS}f", rounded).astype(object)
    return pd.Series(np.where(np.isnan(rounded), "", text), index=z.index, dtype=object)


def write_result(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """The result as CSV: comma separated, UTF-8, `\\n` line ends, header
    `id,indexed,status_z,status_class,dynamics_z,dynamics_class` (no `reason`), `indexed` as true/false,
    z-values with 6 decimals, empty z and classes where not indexed. The same frame gives the same bytes.
    Written to a temporary file first and renamed, so a reader never sees half a file."""
    _check_columns(frame, RESULT_COLUMNS, "write_result")
    indexed = frame["indexed"].astype(bool)
    out = pd.DataFrame(
        {
            "id": frame["id"].astype(str),
            "indexed": np.where(indexed, "true", "false"),
            "status_z": _format_z(frame["status_z"]).where(indexed, ""),
            "status_class": frame["status_class"].fillna("").astype(str).where(indexed, ""),
            "dynamics_z": _format_z(frame["dynamics_z"]).where(indexed, ""),
            "dynamics_class": frame["dynamics_class"].fillna("").astype(str).where(indexed, ""),
        }
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = out.to_csv(index=False, lineterminator="\n").encode("utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
