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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field, ValidationInfo, field_validator

from .composite import (
    AGGREGATIONS,
    NORMALISATIONS,
    Aggregation,
    CompositeConfig,
    Normalisation,
    _aggregation_inputs,
    _finish,
    _normalised_matrix,
    _prepare,
    _weighted_means,
    compute_composite,
)
from .config import FrozenConfig, Number, twice

PERCENTILE_METHOD = "inverted_cdf"
RESULT_COLUMNS = ("area_id", "nominal_rank", "median_rank", "rank_p05", "rank_p95", "band_width", "draws")
_CHUNK = 256  # draws computed together: bounds the memory to _CHUNK × areas × dimensions floats


class UncertaintyConfig(FrozenConfig):
    """`draws` >= 1; `seed` >= 0 (whole numbers); `normalisations` / `aggregations`: the methods drawn
    from (uniformly: at least one, each once); `weight_spread` in [0, 1): weights are multiplied by
    U(1 - spread, 1 + spread)."""

    _kind: ClassVar[str] = "uncertainty"
    _label_key: ClassVar[str | None] = None

    draws: Annotated[int, Field(strict=True, ge=1)] = 1000
    seed: Annotated[int, Field(strict=True, ge=0)] = 20241231
    normalisations: tuple[Normalisation, ...] = NORMALISATIONS
    aggregations: tuple[Aggregation, ...] = AGGREGATIONS
    weight_spread: Annotated[Number, Field(ge=0, lt=1)] = 0.5

    @field_validator("normalisations", "aggregations")
    @classmethod
    def _each_once(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if not value:
            choices = NORMALISATIONS if info.field_name == "normalisations" else AGGREGATIONS
            raise ValueError(f"must name at least one of {', '.join(choices)}")
        if listed_twice := twice(value):
            raise ValueError(f"lists {', '.join(listed_twice)} twice (that would double its probability)")
        return value

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> UncertaintyConfig:
        """Keys (all optional): draws, seed, normalisations, aggregations, weight_spread. Raises
        ConfigError (a ValueError) naming every problem, one per line."""
        return cls._from_mapping(data)


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


def min_ranks(values: np.ndarray) -> np.ndarray:
    """Per row of `values`, each value's rank, 1 for the smallest, equal values sharing the lowest
    rank of their group (scipy.stats.rankdata(method="min", axis=1)). In numpy: scipy.stats takes
    1.3 s of CPU to import, paid by the dbt process of every build only for this. The values are the
    draws' composites of the indexed areas, finite by construction (a missing share below 1, a
    geometric floor above 0); a NaN is refused, where rankdata gave the whole row a meaningless rank."""
    if np.isnan(values).any():
        raise ValueError("a drawn composite index is NaN for an indexed area: its rank is undefined")
    order = np.argsort(values, axis=1)  # equal values share a rank: their order among themselves does not matter
    ordered = np.take_along_axis(values, order, axis=1)
    # in sorted order, a value's rank is the position where its run of equal values begins
    begins = np.ones(ordered.shape, dtype=bool)
    begins[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first = np.where(begins, np.arange(values.shape[1]), 0)
    np.maximum.accumulate(first, axis=1, out=first)
    ranks = np.empty(values.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, first + 1, axis=1)
    return ranks


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

    ranks = min_ranks(-index)
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
