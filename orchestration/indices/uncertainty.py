"""Uncertainty analysis of a composite index: how far does each area's rank move under other
reasonable choices of normalisation, aggregation and weights (OECD/JRC handbook good practice)?

Each draw (a Monte Carlo simulation with numpy.random.default_rng(seed)):

- picks a normalisation uniformly among `normalisations` and an aggregation uniformly among
  `aggregations`;
- multiplies every dimension weight by its own factor U(1 - weight_spread, 1 + weight_spread), and
  likewise every indicator weight within its dimension (independent factors);
- recomputes the composite exactly as `compute_composite` does (the same code) and ranks the
  indexed areas (1 = highest need, ties get the lowest rank of their group).

What stays fixed: the set of indexed areas is decided once, by the nominal configuration (exclusion
list, population rule, missing-value rule with the nominal weights). Letting eligibility vary from
draw to draw would change the number of ranks and make them incomparable. The normalisation
statistics are always those of this fixed set.

Random numbers are taken in a fixed order (normalisation choices, aggregation choices, dimension
factors, indicator factors), so the same input and configuration give identical output.

Summary per indexed area (`rank_uncertainty`): the nominal rank and the 5 %, 50 % and 95 % points
of the rank distribution over the draws. The percentiles are order statistics (numpy
`method='inverted_cdf'`): the q-point is the smallest rank r for which at least q of the draws give
a rank <= r. They are therefore always ranks that actually occurred (whole numbers). `band_width` is
rank_p95 - rank_p05; whether a band is narrow enough is left to the reader (it depends on the
number of areas and the use).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .composite import (
    AGGREGATIONS,
    NORMALISATIONS,
    CompositeConfig,
    _aggregation_inputs,
    _check_keys,
    _finish,
    _normalised_matrix,
    _prepare,
    _sequence,
    _weighted_means,
    compute_composite,
)

PERCENTILE_METHOD = "inverted_cdf"
RESULT_COLUMNS = ("area_id", "nominal_rank", "median_rank", "rank_p05", "rank_p95", "band_width", "draws")
_CHUNK = 256  # draws computed together: bounds the memory to _CHUNK × areas × dimensions floats


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return int(value)


def _methods(value: Any, what: str, choices: tuple[str, ...]) -> tuple[str, ...]:
    items = _sequence(value, what)
    if not items:
        raise ValueError(f"{what} must name at least one of {', '.join(choices)}")
    bad = [v for v in items if v not in choices]
    if bad:
        raise ValueError(f"{what}: unknown method(s) {', '.join(map(repr, bad))} (allowed: {', '.join(choices)})")
    twice = sorted({v for v in items if items.count(v) > 1})
    if twice:
        raise ValueError(f"{what} lists {', '.join(twice)} twice (that would double its probability)")
    return items


@dataclass(frozen=True)
class UncertaintyConfig:
    """`draws` >= 1; `seed` >= 0; `normalisations` / `aggregations`: the methods drawn from (uniformly,
    no duplicates); `weight_spread` in [0, 1): weights are multiplied by U(1 - spread, 1 + spread)."""

    draws: int = 1000
    seed: int = 20241231
    normalisations: tuple[str, ...] = NORMALISATIONS
    aggregations: tuple[str, ...] = AGGREGATIONS
    weight_spread: float = 0.5

    _KEYS = ("draws", "seed", "normalisations", "aggregations", "weight_spread")

    def __post_init__(self) -> None:
        draws = _integer(self.draws, "uncertainty: draws")
        if draws < 1:
            raise ValueError(f"uncertainty: draws must be at least 1, got {draws}")
        object.__setattr__(self, "draws", draws)
        seed = _integer(self.seed, "uncertainty: seed")
        if seed < 0:
            raise ValueError(f"uncertainty: seed must not be negative, got {seed}")
        object.__setattr__(self, "seed", seed)
        object.__setattr__(
            self, "normalisations", _methods(self.normalisations, "uncertainty: normalisations", NORMALISATIONS)
        )
        object.__setattr__(self, "aggregations", _methods(self.aggregations, "uncertainty: aggregations", AGGREGATIONS))
        spread = self.weight_spread
        if isinstance(spread, bool) or not isinstance(spread, numbers.Real) or not math.isfinite(float(spread)):
            raise ValueError(f"uncertainty: weight_spread must be a finite number, got {spread!r}")
        if not 0 <= spread < 1:
            raise ValueError(f"uncertainty: weight_spread must lie in [0, 1), got {spread}")
        object.__setattr__(self, "weight_spread", float(spread))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> UncertaintyConfig:
        """Keys (all optional): draws, seed, normalisations, aggregations, weight_spread."""
        _check_keys(data, "uncertainty", cls._KEYS, ())
        defaults = cls()
        return cls(**{key: data.get(key, getattr(defaults, key)) for key in cls._KEYS})


@dataclass(frozen=True, eq=False)
class RankDraws:
    """Every draw of the analysis. `area_ids`: the indexed areas, input order. `ranks` (draws, areas);
    `normalisation`, `aggregation` (draws,); `dimension_weights` (draws, dimensions) and
    `indicator_weights` (draws, indicators, catalogue order): the weights actually used."""

    area_ids: tuple[str, ...]
    ranks: np.ndarray
    normalisation: np.ndarray
    aggregation: np.ndarray
    dimension_weights: np.ndarray
    indicator_weights: np.ndarray

    def frame(self) -> pd.DataFrame:
        """The ranks as a DataFrame: one row per draw (index `draw`), one column per area."""
        return pd.DataFrame(self.ranks, index=pd.RangeIndex(len(self.ranks), name="draw"), columns=list(self.area_ids))


def rank_draws(
    frame: pd.DataFrame,
    config: CompositeConfig,
    uconfig: UncertaintyConfig | None = None,
    population: pd.Series | None = None,
) -> RankDraws:
    """Draw `uconfig.draws` alternative composites and rank the indexed areas in each (see the module
    docstring). Vectorised across draws: one pass per (normalisation, aggregation) pair."""
    uconfig = uconfig or UncertaintyConfig()
    prepared = _prepare(frame, config, population)
    area_ids = tuple(prepared.area_ids[prepared.indexed])
    n, spread = uconfig.draws, uconfig.weight_spread

    rng = np.random.default_rng(uconfig.seed)
    norm_choice = rng.integers(0, len(uconfig.normalisations), size=n)
    agg_choice = rng.integers(0, len(uconfig.aggregations), size=n)
    dim_factors = rng.uniform(1.0 - spread, 1.0 + spread, size=(n, len(config.dimensions)))
    ind_factors = rng.uniform(1.0 - spread, 1.0 + spread, size=(n, len(config.indicators)))
    dimension_weights = np.asarray(config.dimension_weights) * dim_factors
    indicator_weights = np.array([i.weight for i in config.indicators]) * ind_factors

    index = np.empty((n, len(area_ids)))
    for a, normalisation in enumerate(uconfig.normalisations):
        picked = np.flatnonzero(norm_choice == a)
        if not picked.size:
            continue
        normalised = _normalised_matrix(prepared, config, normalisation)
        for b, aggregation in enumerate(uconfig.aggregations):
            rows = picked[agg_choice[picked] == b]
            if not rows.size:
                continue
            values = _aggregation_inputs(normalised, aggregation, config.geometric_floor)
            for start in range(0, rows.size, _CHUNK):
                chunk = rows[start : start + _CHUNK]
                dims, overall = _weighted_means(
                    values, prepared.groups, indicator_weights[chunk], dimension_weights[chunk]
                )
                index[chunk] = _finish(dims, overall, aggregation)[1]

    # imported here: scipy.stats takes over a second to import, and the catalogue imports this module
    # before every dbt invocation only to validate the uncertainty settings
    from scipy.stats import rankdata

    ranks = rankdata(-index, method="min", axis=1).astype(np.int64) if len(area_ids) else np.empty((n, 0), np.int64)
    return RankDraws(
        area_ids=area_ids,
        ranks=ranks,
        normalisation=np.asarray(uconfig.normalisations)[norm_choice],
        aggregation=np.asarray(uconfig.aggregations)[agg_choice],
        dimension_weights=dimension_weights,
        indicator_weights=indicator_weights,
    )


def rank_uncertainty(
    frame: pd.DataFrame,
    config: CompositeConfig,
    uconfig: UncertaintyConfig | None = None,
    population: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per indexed area (input order): `area_id, nominal_rank` (of `compute_composite` with
    `config`), `median_rank, rank_p05, rank_p95` (order statistics over the draws, see the module
    docstring), `band_width` (rank_p95 - rank_p05) and `draws` (the number of draws)."""
    uconfig = uconfig or UncertaintyConfig()
    nominal = compute_composite(frame, config, population).areas
    nominal = nominal[nominal["indexed"]]
    drawn = rank_draws(frame, config, uconfig, population)
    if drawn.ranks.shape[1]:
        p05, median, p95 = np.percentile(drawn.ranks, [5, 50, 95], axis=0, method=PERCENTILE_METHOD).astype(np.int64)
    else:
        p05 = median = p95 = np.empty(0, dtype=np.int64)
    return pd.DataFrame(
        {
            "area_id": pd.array(drawn.area_ids, dtype="str"),
            "nominal_rank": nominal["rank"].to_numpy(dtype="int64"),
            "median_rank": median,
            "rank_p05": p05,
            "rank_p95": p95,
            "band_width": p95 - p05,
            "draws": np.full(len(drawn.area_ids), uconfig.draws, dtype=np.int64),
        }
    )
