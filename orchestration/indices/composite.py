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

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

NORMALISATIONS = ("zscore", "minmax", "rank")
AGGREGATIONS = ("arithmetic", "geometric")
MISSING_RULES = ("exclude_area", "reweight")
DIRECTIONS = ("higher_is_worse", "higher_is_better")

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


def _check_keys(data: Any, where: str, allowed: Sequence[str], required: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__} ({data!r})")
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(repr(k) for k in unknown)} (allowed: {', '.join(allowed)})"
        )
    absent = [k for k in required if k not in data]
    if absent:
        raise ValueError(f"{where}: missing required key(s) {', '.join(repr(k) for k in absent)}")
    return data


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value.strip()


def _choice(value: Any, what: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _sequence(value: Any, what: str) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise ValueError(f"{what} must be a list, got {type(value).__name__} ({value!r})")
    return tuple(value)


@dataclass(frozen=True)
class IndicatorRef:
    """One indicator of a dimension: its column id, its weight within the dimension (> 0) and its
    direction (does a higher raw value mean more need, or less?)."""

    id: str
    weight: float = 1.0
    direction: str = "higher_is_worse"

    _KEYS = ("id", "weight", "direction")

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", _text(self.id, "indicator id"))
        where = f"indicator {self.id!r}"
        weight = _number(self.weight, f"{where}: weight")
        if weight <= 0:
            raise ValueError(f"{where}: weight must be greater than 0, got {self.weight!r}")
        object.__setattr__(self, "weight", weight)
        _choice(self.direction, f"{where}: direction", DIRECTIONS)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> IndicatorRef:
        """Keys: `id` (required), `direction` (required: a wrong orientation would silently invert the
        indicator, so the catalogue has to state it), `weight` (default 1)."""
        where = f"indicator {data.get('id')!r}" if isinstance(data, Mapping) else "indicator"
        _check_keys(data, where, cls._KEYS, ("id", "direction"))
        return cls(id=data["id"], weight=data.get("weight", 1.0), direction=data["direction"])


@dataclass(frozen=True)
class Dimension:
    """A dimension (Teilindex) with its German name and its indicators."""

    id: str
    name_de: str
    indicators: tuple[IndicatorRef, ...]

    _KEYS = ("id", "name_de", "indicators")

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", _text(self.id, "dimension id"))
        where = f"dimension {self.id!r}"
        if not isinstance(self.name_de, str):
            raise ValueError(f"{where}: name_de must be a string, got {self.name_de!r}")
        indicators = _sequence(self.indicators, f"{where}: indicators")
        if not indicators:
            raise ValueError(f"{where}: indicators must name at least one indicator")
        for item in indicators:
            if not isinstance(item, IndicatorRef):
                raise ValueError(f"{where}: indicators must be IndicatorRef objects, got {item!r}")
        ids = [i.id for i in indicators]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"{where}: indicator(s) listed twice: {', '.join(twice)}")
        object.__setattr__(self, "indicators", indicators)

    @property
    def indicator_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.indicators)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Dimension:
        """Keys: `id`, `indicators` (a list of indicator mappings), `name_de` (default: the id).
        The dimension's `weight` belongs to the index and is read by `CompositeConfig.from_mapping`."""
        where = f"dimension {data.get('id')!r}" if isinstance(data, Mapping) else "dimension"
        _check_keys(data, where, cls._KEYS, ("id", "indicators"))
        items = _sequence(data["indicators"], f"{where}: indicators")
        indicators = []
        for position, item in enumerate(items, start=1):
            try:
                indicators.append(IndicatorRef.from_mapping(item))
            except ValueError as error:
                raise ValueError(f"{where}: indicator no. {position}: {error}") from None
        try:
            return cls(id=data["id"], name_de=data.get("name_de", str(data["id"])), indicators=tuple(indicators))
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None


@dataclass(frozen=True)
class CompositeConfig:
    """The whole recipe of one composite index (see the module docstring for what each choice does).

    `dimension_weights` is aligned with `dimensions` (an empty tuple means equal weights; a mapping
    dimension id → weight is accepted and converted). Weights may be 0 (a dimension that is shown but
    does not enter the index) but must not all be 0.
    `max_missing_share` in [0, 1) only matters with `missing='reweight'`.
    `min_population`: areas with fewer residents are not indexed (None: no population rule).
    `exclude`: area ids that are never indexed (e.g. industrial estates).
    `geometric_floor` in (0, 1): the smallest participation score of geometric aggregation.
    """

    name: str
    dimensions: tuple[Dimension, ...]
    normalisation: str = "zscore"
    aggregation: str = "arithmetic"
    dimension_weights: tuple[float, ...] = ()
    missing: str = "exclude_area"
    max_missing_share: float = 0.5
    min_population: float | None = None
    exclude: tuple[str, ...] = ()
    geometric_floor: float = DEFAULT_GEOMETRIC_FLOOR
    description: str = ""

    _KEYS = (
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
    _DIMENSION_KEYS = (*Dimension._KEYS, "weight")

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _text(self.name, "composite name"))
        where = f"composite {self.name!r}"
        dimensions = _sequence(self.dimensions, f"{where}: dimensions")
        if not dimensions:
            raise ValueError(f"{where}: dimensions must name at least one dimension")
        for item in dimensions:
            if not isinstance(item, Dimension):
                raise ValueError(f"{where}: dimensions must be Dimension objects, got {item!r}")
        object.__setattr__(self, "dimensions", dimensions)
        dim_ids = [d.id for d in dimensions]
        twice = sorted({d for d in dim_ids if dim_ids.count(d) > 1})
        if twice:
            raise ValueError(f"{where}: dimension id(s) used twice: {', '.join(twice)}")
        owners: dict[str, str] = {}
        for dim in dimensions:
            for ind in dim.indicators:
                if ind.id in owners:
                    raise ValueError(
                        f"{where}: indicator {ind.id!r} is in dimension {owners[ind.id]!r} and in {dim.id!r}"
                    )
                owners[ind.id] = dim.id

        _choice(self.normalisation, f"{where}: normalisation", NORMALISATIONS)
        _choice(self.aggregation, f"{where}: aggregation", AGGREGATIONS)
        _choice(self.missing, f"{where}: missing", MISSING_RULES)

        weights = self.dimension_weights
        if isinstance(weights, Mapping):
            unknown = sorted(set(map(str, weights)) - set(dim_ids))
            if unknown:
                raise ValueError(f"{where}: dimension_weights names unknown dimension(s) {', '.join(unknown)}")
            weights = tuple(weights.get(d, 1.0) for d in dim_ids)
        weights = _sequence(weights, f"{where}: dimension_weights")
        if not weights:
            weights = (1.0,) * len(dimensions)
        if len(weights) != len(dimensions):
            raise ValueError(f"{where}: dimension_weights has {len(weights)} entries for {len(dimensions)} dimensions")
        weights = tuple(_number(w, f"{where}: dimension {d!r}: weight") for d, w in zip(dim_ids, weights, strict=True))
        for d, w in zip(dim_ids, weights, strict=True):
            if w < 0:
                raise ValueError(f"{where}: dimension {d!r}: weight must not be negative, got {w}")
        if sum(weights) <= 0:
            raise ValueError(f"{where}: dimension weights must not all be 0")
        object.__setattr__(self, "dimension_weights", weights)

        share = _number(self.max_missing_share, f"{where}: max_missing_share")
        if not 0 <= share < 1:
            raise ValueError(f"{where}: max_missing_share must lie in [0, 1), got {share}")
        object.__setattr__(self, "max_missing_share", share)
        if self.min_population is not None:
            minimum = _number(self.min_population, f"{where}: min_population")
            if minimum < 0:
                raise ValueError(f"{where}: min_population must not be negative, got {minimum}")
            object.__setattr__(self, "min_population", minimum)
        exclude = _sequence(self.exclude, f"{where}: exclude")
        object.__setattr__(self, "exclude", tuple(str(a).strip() for a in exclude))
        floor = _number(self.geometric_floor, f"{where}: geometric_floor")
        if not 0 < floor < 1:
            raise ValueError(f"{where}: geometric_floor must lie in (0, 1), got {floor}")
        object.__setattr__(self, "geometric_floor", floor)
        if not isinstance(self.description, str):
            raise ValueError(f"{where}: description must be a string, got {self.description!r}")

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

        Unknown keys are errors (a typo must not silently fall back to a default)."""
        name = data.get("name") if isinstance(data, Mapping) else None
        where = f"composite {name!r}"
        _check_keys(data, where, cls._KEYS, ("name", "dimensions"))
        items = _sequence(data["dimensions"], f"{where}: dimensions")
        dimensions, weights = [], []
        for position, item in enumerate(items, start=1):
            label = f"dimension {item.get('id')!r}" if isinstance(item, Mapping) else f"dimension no. {position}"
            try:
                _check_keys(item, label, cls._DIMENSION_KEYS, ("id", "indicators"))
                weights.append(_number(item.get("weight", 1.0), f"{label}: weight"))
                dimensions.append(Dimension.from_mapping({k: v for k, v in item.items() if k != "weight"}))
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
        return cls(
            name=data["name"],
            description=data.get("description", "") or "",
            dimensions=tuple(dimensions),
            normalisation=data.get("normalisation", "zscore"),
            aggregation=data.get("aggregation", "arithmetic"),
            dimension_weights=tuple(weights),
            missing=data.get("missing", "exclude_area"),
            max_missing_share=data.get("max_missing_share", 0.5),
            min_population=data.get("min_population"),
            exclude=tuple(data.get("exclude") or ()),
            geometric_floor=data.get("geometric_floor", DEFAULT_GEOMETRIC_FLOOR),
        )


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
    _choice(method, "normalisation", NORMALISATIONS)
    _choice(direction, "direction", DIRECTIONS)
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
