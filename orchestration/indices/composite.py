"""A configurable composite index over small areas, e.g. Gelsenkirchen's "Partizipation von Kindern"
(dimensions: economic situation, integration need, health, participation in education, housing and
environment), built the way the OECD/JRC handbook on composite indicators asks for: normalisation,
weights, aggregation and the treatment of missing values are explicit, documented choices.

Orientation: every normalised value, every dimension sub-index and the index itself are oriented so
that HIGHER = MORE NEED (worse participation chances). Rank 1 is the area with the highest need.

Recipe of `compute_composite`:

1. Eligibility. An area is *not indexed* (it stays in the result with `indexed` false, empty values
   and a `reason`) when, checked in this order,
   - it is on the exclusion list (`exclude`): reason `excluded`;
   - `min_population` is set and its population is unknown: reason `population_unknown`;
   - its population is below `min_population` (strictly fewer residents): `population_below_minimum`;
   - it misses indicator values: with `missing: exclude_area` any missing value excludes the area;
     with `missing: reweight` the area is excluded only when, in some dimension, the missing
     indicators carry more than `max_missing_share` of that dimension's indicator weight.
     Reason `missing:<ids>` (all missing indicator ids of the area, in catalogue order).
   `missing_indicators` / `n_missing` list the missing values of *every* area (indexed or not), so an
   indexed area whose dimensions were reweighted is visibly flagged.
2. Normalisation, per indicator, over the indexed areas only (not-indexed areas never influence a
   mean, sd, minimum, maximum or rank; missing values of reweighted areas are left out too). See
   `normalise`.
3. Aggregation, arithmetic: a dimension sub-index is the weighted mean of the normalised indicators
   the area has (weights renormalised over the available ones); the index is the weighted mean of
   the dimension sub-indices (`dimension_weights`). No re-standardisation.
4. Aggregation, geometric (non-compensatory; geometric means need positive inputs, so):
   - each normalised indicator is min-max rescaled over the indexed areas to a need share
     u in [0, 1] (a constant indicator: 0.5). For `minmax` and `rank` this changes nothing; for
     `zscore` it makes geometric aggregation identical to `minmax` + geometric;
   - u is turned into a participation score p = 1 - (1 - floor) * u in [floor, 1]
     (`geometric_floor`, default 0.01: the area with the highest need on an indicator gets 0.01,
     the lowest need 1);
   - a dimension's participation is the weighted geometric mean of its available p (weights
     renormalised), the overall participation the weighted geometric mean of the dimension
     participations;
   - sub-indices and index are reported as need: 1 - participation, in [0, 1 - floor].
   The geometric mean is taken over *participation*, not over need, so that a very high need in one
   dimension cannot be compensated by low needs elsewhere (the OECD argument for geometric
   aggregation, applied to the side that matters for a need index). With floor 0.01 an area with
   the highest need in one of two equally weighted dimensions and the lowest in the other gets
   1 - sqrt(0.01) = 0.9, where arithmetic aggregation gives 0.5.

Everything is vectorised over areas (and, for the uncertainty analysis, over draws); the only Python
loops run over dimensions and indicators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, get_args

import numpy as np
import pandas as pd
from pydantic import Field, ValidationInfo, field_validator, model_validator

from .config import ConfigError, FrozenConfig, Name, Number, twice

Normalisation = Literal["zscore", "minmax", "rank"]
Aggregation = Literal["arithmetic", "geometric"]
MissingRule = Literal["exclude_area", "reweight"]
Direction = Literal["higher_is_worse", "higher_is_better"]
NORMALISATIONS: tuple[str, ...] = get_args(Normalisation)
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)
MISSING_RULES: tuple[str, ...] = get_args(MissingRule)
DIRECTIONS: tuple[str, ...] = get_args(Direction)

REASON_EXCLUDED = "excluded"
REASON_POPULATION_UNKNOWN = "population_unknown"
REASON_POPULATION = "population_below_minimum"
REASON_MISSING = "missing"  # written as "missing:<indicator id>[,<indicator id>…]"

DEFAULT_GEOMETRIC_FLOOR = 0.01
# Shares of missing weight are compared with this slack, so that 0.1 + 0.2 missing of 1.0 is not
# "more than 0.3" through floating-point noise.
_SHARE_TOLERANCE = 1e-12

AREA_COLUMNS = ("area_id", "indexed", "reason", "index_value", "rank", "missing_indicators", "n_missing")
DIMENSION_COLUMNS = ("area_id", "dimension_id", "value", "n_indicators_used", "n_indicators_missing")


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------


class IndicatorRef(FrozenConfig):
    """One indicator of a dimension: its column id, its weight within the dimension (> 0) and its
    direction (does a higher raw value mean more need, or less?). The direction has no default: a
    wrong orientation would silently invert the indicator, so the catalogue has to state it."""

    _kind: ClassVar[str] = "indicator"
    _keys: ClassVar[tuple[str, ...]] = ("id", "direction", "weight")

    id: Name
    weight: Annotated[Number, Field(gt=0)] = 1.0
    direction: Direction


class Dimension(FrozenConfig):
    """A dimension (Teilindex) with its German name (default: the id) and its indicators (at least
    one, each once). Its weight belongs to the index: `CompositeConfig.dimension_weights`."""

    _kind: ClassVar[str] = "dimension"
    _keys: ClassVar[tuple[str, ...]] = ("id", "name_de", "weight", "indicators")  # weight: see CompositeConfig
    _children: ClassVar[dict[str, type[FrozenConfig]]] = {"indicators": IndicatorRef}

    id: Name
    name_de: Annotated[str, Field(strict=True)]
    indicators: tuple[IndicatorRef, ...]

    @model_validator(mode="before")
    @classmethod
    def _name_defaults_to_id(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "name_de" not in data and "id" in data:
            return {**data, "name_de": str(data["id"])}
        return data

    @field_validator("indicators")
    @classmethod
    def _not_empty(cls, value: tuple[IndicatorRef, ...]) -> tuple[IndicatorRef, ...]:
        if not value:  # not Field(min_length=1): pydantic would also report it when an entry is wrong
            raise ValueError("must name at least one indicator")
        return value

    @model_validator(mode="after")
    def _each_indicator_once(self) -> Dimension:
        if listed_twice := twice(self.indicator_ids):
            raise ValueError(f"indicator(s) listed twice: {', '.join(listed_twice)}")
        return self

    @property
    def indicator_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.indicators)


class CompositeConfig(FrozenConfig):
    """The whole recipe of one composite index (see the module docstring for what each choice does).

    `dimension_weights` is aligned with `dimensions` (an empty tuple means equal weights; a mapping
    dimension id → weight is accepted and converted, unnamed dimensions get 1). Weights may be 0 (a
    dimension that is shown but does not enter the index) but must not all be 0.
    `max_missing_share` in [0, 1) only matters with `missing='reweight'`.
    `min_population`: areas with fewer residents are not indexed (None: no population rule).
    `exclude`: area ids that are never indexed (e.g. industrial estates).
    `geometric_floor` in (0, 1): the smallest participation score of geometric aggregation.
    """

    _kind: ClassVar[str] = "composite"
    _label_key: ClassVar[str | None] = "name"
    _keys: ClassVar[tuple[str, ...]] = (
        "name",
        "description",
        "dimensions",
        "normalisation",
        "aggregation",
        "missing",
        "max_missing_share",
        "min_population",
        "exclude",
        "geometric_floor",
    )
    _children: ClassVar[dict[str, type[FrozenConfig]]] = {"dimensions": Dimension}

    name: Name
    dimensions: tuple[Dimension, ...]
    normalisation: Normalisation = "zscore"
    aggregation: Aggregation = "arithmetic"
    dimension_weights: Annotated[tuple[Annotated[Number, Field(ge=0)], ...], Field(validate_default=True)] = ()
    missing: MissingRule = "exclude_area"
    max_missing_share: Annotated[Number, Field(ge=0, lt=1)] = 0.5
    min_population: Annotated[Number, Field(ge=0)] | None = None
    exclude: tuple[str, ...] = ()
    geometric_floor: Annotated[Number, Field(gt=0, lt=1)] = DEFAULT_GEOMETRIC_FLOOR
    description: Annotated[str, Field(strict=True)] = ""

    @model_validator(mode="before")
    @classmethod
    def _weights_from_dimensions(cls, data: Any) -> Any:
        """The mapping form gives each dimension its `weight` (default 1): moved to `dimension_weights`."""
        items = data.get("dimensions") if isinstance(data, Mapping) else None
        if not isinstance(items, list | tuple) or not any(isinstance(i, Mapping) and "weight" in i for i in items):
            return data
        if data.get("dimension_weights"):
            raise ValueError("dimension weights given twice: in the dimensions and as dimension_weights")
        return {
            **data,
            "dimensions": [
                {k: v for k, v in i.items() if k != "weight"} if isinstance(i, Mapping) else i for i in items
            ],
            "dimension_weights": [i.get("weight", 1.0) if isinstance(i, Mapping) else 1.0 for i in items],
        }

    @field_validator("dimensions")
    @classmethod
    def _not_empty(cls, value: tuple[Dimension, ...]) -> tuple[Dimension, ...]:
        if not value:
            raise ValueError("must name at least one dimension")
        return value

    @field_validator("dimension_weights", mode="before")
    @classmethod
    def _aligned_weights(cls, value: Any, info: ValidationInfo) -> Any:
        """A mapping dimension id → weight, or nothing (equal weights), as a tuple aligned with `dimensions`."""
        dimensions = info.data.get("dimensions")
        if dimensions is None:  # wrong themselves, and reported; weights in a list are checked anyway
            return value if isinstance(value, list | tuple) else ()
        ids = [d.id for d in dimensions]
        if isinstance(value, Mapping):
            unknown = sorted(set(map(str, value)) - set(ids))
            if unknown:
                raise ValueError(f"unknown dimension(s) {', '.join(unknown)} (dimensions: {', '.join(ids)})")
            return tuple(value.get(d, 1.0) for d in ids)
        if isinstance(value, list | tuple) and not value:
            return (1.0,) * len(ids)
        return value

    @field_validator("exclude", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(str(a).strip() for a in value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CompositeConfig:
        if dims_twice := twice(self.dimension_ids):
            raise ValueError(f"dimension id(s) used twice: {', '.join(dims_twice)}")
        owners: dict[str, str] = {}
        for dim in self.dimensions:
            for ind in dim.indicators:
                if ind.id in owners:
                    raise ValueError(f"indicator {ind.id!r} is in dimension {owners[ind.id]!r} and in {dim.id!r}")
                owners[ind.id] = dim.id
        if len(self.dimension_weights) != len(self.dimensions):
            raise ValueError(
                f"dimension_weights has {len(self.dimension_weights)} entries for {len(self.dimensions)} dimensions"
            )
        if sum(self.dimension_weights) <= 0:
            raise ValueError("dimension weights must not all be 0")
        return self

    @property
    def indicators(self) -> tuple[IndicatorRef, ...]:
        """All indicators in catalogue order (dimension by dimension)."""
        return tuple(i for d in self.dimensions for i in d.indicators)

    @property
    def indicator_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.indicators)

    @property
    def dimension_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.dimensions)

    @classmethod
    def _relocate(cls, loc: tuple[Any, ...]) -> tuple[Any, ...]:
        """A dimension weight is reported at its dimension (where the catalogue gives it)."""
        if len(loc) == 2 and loc[0] == "dimension_weights" and isinstance(loc[1], int):
            return ("dimensions", loc[1], "weight")
        return loc

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CompositeConfig:
        """Build from a YAML-style mapping::

            name: kinder_teilhabe            # required
            description: ...                 # optional text
            normalisation: zscore            # zscore | minmax | rank (default zscore)
            aggregation: arithmetic          # arithmetic | geometric (default arithmetic)
            missing: reweight                # exclude_area | reweight (default exclude_area)
            max_missing_share: 0.5           # default 0.5
            min_population: 300              # default none
            exclude: [ ... ]                 # area ids, default none
            geometric_floor: 0.01            # default 0.01
            dimensions:                      # required, in display order
              - id: wirtschaft               # required
                name_de: Wirtschaftliche Lage
                weight: 1                    # default 1
                indicators:                  # required
                  - {id: sozialgeld_quote, direction: higher_is_worse, weight: 1}

        Unknown keys are errors (a typo must not silently fall back to a default); so is
        `dimension_weights`: here each dimension carries its weight. Raises ConfigError (a
        ValueError) naming every problem, one per line."""
        if isinstance(data, Mapping):
            if "dimension_weights" in data:
                raise ConfigError(
                    f"{cls._label(data)}: unknown key 'dimension_weights' (give each dimension its 'weight')"
                )
            data = {k: v for k, v in data.items() if not (k in ("description", "exclude") and v is None)}
        return cls._from_mapping(data)


# --------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------


def _as_float(values: pd.Series) -> np.ndarray:
    try:
        array = values.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(f"indicator {values.name!r}: values must be numeric ({error})") from None
    if np.isinf(array).any():
        raise ValueError(
            f"indicator {values.name!r}: infinite values (a zero denominator?); give them as missing (NaN) instead"
        )
    return array


def normalise(values: pd.Series, method: str, direction: str = "higher_is_worse") -> pd.Series:
    """Normalise one indicator, oriented so that HIGHER = MORE NEED for every method.

    - `zscore`: (x - mean) / sd with the *population* sd (ddof=0).
    - `minmax`: (x - min) / (max - min), in [0, 1].
    - `rank`: average ranks (ties share the mean of their ranks) scaled to [0, 1] as (rank - 1) / (n - 1).

    `higher_is_better` indicators are negated first (so a zscore flips sign, a minmax value v becomes
    1 - v, ranks reverse). Missing values (NaN) stay NaN and do not enter the mean, sd, minimum,
    maximum or ranks; n is the number of non-missing values. A constant indicator (all non-missing
    values equal, or only one of them) carries no information: it gets 0 (zscore) or 0.5 (minmax,
    rank), the middle of the scale, so that it moves no area. Infinite values are an error.
    """
    for what, value, choices in (("normalisation", method, NORMALISATIONS), ("direction", direction, DIRECTIONS)):
        if value not in choices:
            raise ValueError(f"{what} must be one of {', '.join(choices)}; got {value!r}")
    x = _as_float(values)
    if direction == "higher_is_better":
        x = -x
    valid = ~np.isnan(x)
    out = np.full(x.shape, np.nan)
    if valid.any():
        present = x[valid]
        low, high = present.min(), present.max()
        if low == high:
            out[valid] = 0.0 if method == "zscore" else 0.5
        elif method == "zscore":
            out[valid] = (present - present.mean()) / present.std(ddof=0)
        elif method == "minmax":
            out[valid] = (present - low) / (high - low)
        else:
            ranks = pd.Series(present).rank(method="average").to_numpy()
            out[valid] = (ranks - 1.0) / (present.size - 1.0)
    return pd.Series(out, index=values.index, name=values.name)


# --------------------------------------------------------------------------------------------------
# Computation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CompositeResult:
    """`areas`: one row per input area, input order: `area_id, indexed, reason, index_value, rank,
    missing_indicators, n_missing, dim_<dimension id>…` (`rank`: 1 = highest need among the indexed
    areas, ties get the lowest rank of their group; missing for not-indexed areas).
    `dimensions`: long form, one row per area and dimension: `area_id, dimension_id, value,
    n_indicators_used, n_indicators_missing` (`used` is 0 for not-indexed areas).
    `normalised`: the oriented normalised indicator values (index area id, one column per indicator;
    NaN for not-indexed areas and missing values)."""

    config: CompositeConfig
    areas: pd.DataFrame
    dimensions: pd.DataFrame
    normalised: pd.DataFrame = field(repr=False)


@dataclass(frozen=True, eq=False)
class _Prepared:
    """The input checked and the eligibility decided (independent of normalisation, aggregation and weights)."""

    area_ids: pd.Index
    raw: np.ndarray  # (areas, indicators), NaN = missing
    indexed: np.ndarray  # (areas,) bool
    reason: np.ndarray  # (areas,) object
    missing_indicators: np.ndarray  # (areas,) object
    groups: tuple[np.ndarray, ...]  # column positions of each dimension's indicators


def _prepare(frame: pd.DataFrame, config: CompositeConfig, population: pd.Series | None) -> _Prepared:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"composite {config.name!r}: frame must be a pandas DataFrame, got {type(frame).__name__}")
    area_ids = pd.Index([str(a) for a in frame.index], dtype=object, name="area_id")
    if area_ids.has_duplicates:
        twice = sorted(set(area_ids[area_ids.duplicated()]))
        raise ValueError(f"composite {config.name!r}: area id(s) appear twice in the frame: {', '.join(twice[:10])}")
    ids = config.indicator_ids
    absent = [i for i in ids if i not in frame.columns]
    if absent:
        raise ValueError(f"composite {config.name!r}: the frame has no column for indicator(s) {', '.join(absent)}")
    raw = np.column_stack([_as_float(frame[i]) for i in ids]) if len(frame) else np.empty((0, len(ids)))
    missing = np.isnan(raw)
    position = {i: k for k, i in enumerate(ids)}
    groups = tuple(np.array([position[i] for i in d.indicator_ids]) for d in config.dimensions)

    # Missing values: text of every area, then the rule.
    listed = np.full(len(area_ids), "", dtype=object)
    for k, indicator in enumerate(ids):
        listed = listed + np.where(missing[:, k], "," + indicator, "")
    listed = np.array([s[1:] for s in listed], dtype=object) if len(listed) else listed
    if config.missing == "exclude_area":
        too_many_missing = missing.any(axis=1)
    else:
        weights = np.array([i.weight for i in config.indicators])
        too_many_missing = np.zeros(len(area_ids), dtype=bool)
        for cols in groups:
            share = (missing[:, cols] * weights[cols]).sum(axis=1) / weights[cols].sum()
            too_many_missing |= share > config.max_missing_share + _SHARE_TOLERANCE

    excluded = area_ids.isin(config.exclude)
    population_unknown = np.zeros(len(area_ids), dtype=bool)
    below = np.zeros(len(area_ids), dtype=bool)
    if config.min_population is not None:
        if population is None:
            raise ValueError(
                f"composite {config.name!r}: min_population is {config.min_population:g} but no population was given"
            )
        pop = _aligned_population(population, area_ids, config.name)
        population_unknown = np.isnan(pop)
        below = ~population_unknown & (pop < config.min_population)

    reason = np.select(
        [excluded, population_unknown, below, too_many_missing],
        [REASON_EXCLUDED, REASON_POPULATION_UNKNOWN, REASON_POPULATION, REASON_MISSING + ":" + listed],
        default="",
    ).astype(object)
    indexed = reason == ""
    return _Prepared(area_ids, raw, indexed, reason, listed, groups)


def _aligned_population(population: pd.Series, area_ids: pd.Index, name: str) -> np.ndarray:
    if not isinstance(population, pd.Series):
        raise ValueError(f"composite {name!r}: population must be a pandas Series indexed by area id")
    keys = pd.Index([str(a) for a in population.index], dtype=object)
    if keys.has_duplicates:
        twice = sorted(set(keys[keys.duplicated()]))
        raise ValueError(f"composite {name!r}: population lists area(s) twice: {', '.join(twice[:10])}")
    values = pd.Series(_as_float(population.rename("population")), index=keys)
    return values.reindex(area_ids).to_numpy(dtype="float64", na_value=np.nan)


def _normalised_matrix(prepared: _Prepared, config: CompositeConfig, method: str) -> np.ndarray:
    """(indexed areas, indicators): normalised over the indexed areas, NaN where missing."""
    rows = prepared.raw[prepared.indexed]
    columns = [
        normalise(pd.Series(rows[:, k], name=ind.id), method, ind.direction).to_numpy()
        for k, ind in enumerate(config.indicators)
    ]
    return np.column_stack(columns) if columns else np.empty((rows.shape[0], 0))


def _aggregation_inputs(normalised: np.ndarray, aggregation: str, floor: float) -> np.ndarray:
    """What the weighted means run over: the normalised values (arithmetic) or the logarithms of the
    participation scores p = 1 - (1 - floor) * minmax(normalised) (geometric)."""
    if aggregation == "arithmetic":
        return normalised
    shares = np.column_stack(
        [normalise(pd.Series(normalised[:, k]), "minmax").to_numpy() for k in range(normalised.shape[1])]
    )
    return np.log1p(-(1.0 - floor) * shares)


def _weighted_means(
    values: np.ndarray,
    groups: Sequence[np.ndarray],
    indicator_weights: np.ndarray,
    dimension_weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Two-level weighted means for many weight draws at once.

    values (areas, indicators) with NaN for missing; indicator_weights (draws, indicators);
    dimension_weights (draws, dimensions). Returns the dimension means (draws, areas, dimensions),
    with indicator weights renormalised over each area's available indicators, and the overall means
    (draws, areas). The sums run indicator by indicator in a fixed order, so the result does not
    depend on how many draws are computed together."""
    available = ~np.isnan(values)
    filled = np.where(available, values, 0.0)
    n_draws, n_areas = indicator_weights.shape[0], values.shape[0]
    dims = np.empty((n_draws, n_areas, len(groups)))
    for d, cols in enumerate(groups):
        numerator = np.zeros((n_draws, n_areas))
        denominator = np.zeros((n_draws, n_areas))
        for k in cols:
            weight = indicator_weights[:, k][:, None]
            numerator += weight * filled[:, k][None, :]
            denominator += weight * available[:, k][None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            dims[:, :, d] = numerator / denominator
    overall = np.zeros((n_draws, n_areas))
    for d in range(len(groups)):
        overall += dimension_weights[:, d][:, None] * dims[:, :, d]
    overall /= dimension_weights.sum(axis=1)[:, None]
    return dims, overall


def _finish(dims: np.ndarray, overall: np.ndarray, aggregation: str) -> tuple[np.ndarray, np.ndarray]:
    """From the weighted means to need values: identity (arithmetic) or 1 - exp(mean log p) (geometric)."""
    if aggregation == "arithmetic":
        return dims, overall
    return 0.0 - np.expm1(dims), 0.0 - np.expm1(overall)  # 0.0 - …: no negative zeros


def compute_composite(
    frame: pd.DataFrame, config: CompositeConfig, population: pd.Series | None = None
) -> CompositeResult:
    """Compute the composite index of every area (see the module docstring for the recipe).

    `frame`: one row per area (index = area id, turned into text), one column per indicator id
    (further columns are ignored). `population`: residents per area id (needed when
    `config.min_population` is set; areas it does not list count as population unknown)."""
    prepared = _prepare(frame, config, population)
    normalised = _normalised_matrix(prepared, config, config.normalisation)
    values = _aggregation_inputs(normalised, config.aggregation, config.geometric_floor)
    indicator_weights = np.array([[i.weight for i in config.indicators]])
    dimension_weights = np.array([config.dimension_weights])
    dims, overall = _weighted_means(values, prepared.groups, indicator_weights, dimension_weights)
    dims, overall = _finish(dims[0], overall[0], config.aggregation)

    n_areas, indexed = len(prepared.area_ids), prepared.indexed
    index_value = np.full(n_areas, np.nan)
    index_value[indexed] = overall
    dim_values = np.full((n_areas, len(config.dimensions)), np.nan)
    dim_values[indexed] = dims
    rank = pd.Series(index_value).rank(method="min", ascending=False).astype("Int64")

    missing = np.isnan(prepared.raw)
    areas = pd.DataFrame(
        {
            "area_id": pd.array(prepared.area_ids, dtype="str"),
            "indexed": indexed,
            "reason": pd.array(prepared.reason, dtype="str"),
            "index_value": index_value,
            "rank": rank.array,
            "missing_indicators": pd.array(prepared.missing_indicators, dtype="str"),
            "n_missing": missing.sum(axis=1).astype("int64"),
        }
    )
    for d, dim in enumerate(config.dimensions):
        areas[f"dim_{dim.id}"] = dim_values[:, d]

    n_dims = len(config.dimensions)
    missing_per_dim = np.column_stack([missing[:, cols].sum(axis=1) for cols in prepared.groups])
    used_per_dim = np.column_stack([(~missing[:, cols]).sum(axis=1) for cols in prepared.groups])
    used_per_dim = np.where(indexed[:, None], used_per_dim, 0)
    dimensions = pd.DataFrame(
        {
            "area_id": pd.array(np.repeat(prepared.area_ids.to_numpy(dtype=object), n_dims), dtype="str"),
            "dimension_id": pd.array(np.tile(np.array(config.dimension_ids, dtype=object), n_areas), dtype="str"),
            "value": dim_values.reshape(-1),
            "n_indicators_used": used_per_dim.reshape(-1).astype("int64"),
            "n_indicators_missing": missing_per_dim.reshape(-1).astype("int64"),
        }
    )

    full_normalised = np.full(prepared.raw.shape, np.nan)
    full_normalised[indexed] = normalised
    normalised_frame = pd.DataFrame(full_normalised, index=prepared.area_ids, columns=list(config.indicator_ids))
    return CompositeResult(config=config, areas=areas, dimensions=dimensions, normalised=normalised_frame)
