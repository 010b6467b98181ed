"""The uncertainty analysis of the composite index: determinism, degenerate cases whose answer is
known, and the link between the drawn weights and the ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from orchestration.indices.composite import CompositeConfig, compute_composite
from orchestration.indices.uncertainty import (
    RESULT_COLUMNS,
    UncertaintyConfig,
    min_ranks,
    rank_draws,
    rank_uncertainty,
)
from tests.indices.test_composite import example, mapping

CONFIG = CompositeConfig.from_mapping(mapping())  # minmax, arithmetic: ranks A 3, B 2, C 1, D 4


def noisy_frame(n_areas: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    values = rng.normal(size=(n_areas, 3))
    return pd.DataFrame(values, columns=["x1", "x2", "y"], index=[f"g{i:02d}" for i in range(n_areas)])


def test_result_shape_and_nominal_rank():
    out = rank_uncertainty(example(), CONFIG, UncertaintyConfig(draws=37))
    assert tuple(out.columns) == RESULT_COLUMNS
    assert out["area_id"].tolist() == ["A", "B", "C", "D"]
    assert out["nominal_rank"].tolist() == [3, 2, 1, 4]
    assert out["draws"].tolist() == [37, 37, 37, 37]
    assert (out["band_width"] == out["rank_p95"] - out["rank_p05"]).all()
    assert ((out["rank_p05"] <= out["median_rank"]) & (out["median_rank"] <= out["rank_p95"])).all()


def test_number_of_draws_is_honoured():
    drawn = rank_draws(example(), CONFIG, UncertaintyConfig(draws=37))
    assert drawn.ranks.shape == (37, 4)
    assert drawn.normalisation.shape == drawn.aggregation.shape == (37,)
    assert drawn.dimension_weights.shape == (37, 2) and drawn.indicator_weights.shape == (37, 3)
    assert drawn.frame().shape == (37, 4) and drawn.frame().columns.tolist() == ["A", "B", "C", "D"]
    # every draw is a permutation of 1..4 (no ties in this example)
    assert (np.sort(drawn.ranks, axis=1) == [1, 2, 3, 4]).all()


def test_same_seed_same_bytes_other_seed_other_draws():
    frame = noisy_frame()
    first = rank_uncertainty(frame, CONFIG, UncertaintyConfig(draws=200, seed=1))
    second = rank_uncertainty(frame, CONFIG, UncertaintyConfig(draws=200, seed=1))
    assert first.to_csv(index=False) == second.to_csv(index=False)
    assert np.array_equal(
        rank_draws(frame, CONFIG, UncertaintyConfig(draws=200, seed=1)).ranks,
        rank_draws(frame, CONFIG, UncertaintyConfig(draws=200, seed=1)).ranks,
    )
    other = rank_draws(frame, CONFIG, UncertaintyConfig(draws=200, seed=2))
    assert not np.array_equal(other.ranks, rank_draws(frame, CONFIG, UncertaintyConfig(draws=200, seed=1)).ranks)


def test_an_area_with_the_highest_need_everywhere_is_always_first():
    frame = pd.concat([noisy_frame(), pd.DataFrame({"x1": [9.0], "x2": [9.0], "y": [-9.0]}, index=["worst"])])
    out = rank_uncertainty(frame, CONFIG, UncertaintyConfig(draws=500)).set_index("area_id")
    assert out.loc["worst"].to_dict() == {
        "nominal_rank": 1,
        "median_rank": 1,
        "rank_p05": 1,
        "rank_p95": 1,
        "band_width": 0,
        "draws": 500,
    }
    assert (out.drop(index="worst")["rank_p05"] >= 2).all()


@pytest.mark.parametrize(
    ("normalisation", "aggregation"), [("minmax", "arithmetic"), ("zscore", "geometric"), ("rank", "arithmetic")]
)
def test_no_weight_spread_and_one_method_collapse_the_band_to_the_nominal_rank(normalisation, aggregation):
    frame = noisy_frame(30)
    config = CompositeConfig.from_mapping(mapping(normalisation=normalisation, aggregation=aggregation))
    uconfig = UncertaintyConfig(
        draws=50, normalisations=(normalisation,), aggregations=(aggregation,), weight_spread=0.0
    )
    out = rank_uncertainty(frame, config, uconfig)
    nominal = compute_composite(frame, config).areas
    assert out["nominal_rank"].tolist() == nominal["rank"].astype(int).tolist()
    for column in ("median_rank", "rank_p05", "rank_p95"):
        assert out[column].tolist() == out["nominal_rank"].tolist()
    assert (out["band_width"] == 0).all()


def test_only_the_aggregation_varies():
    # min-max and equal weights: arithmetic ranks C 1, B 2, A 3, D 4; geometric B 1, C 2, A 3, D 4.
    uconfig = UncertaintyConfig(draws=400, normalisations=("minmax",), weight_spread=0.0)
    drawn = rank_draws(example(), CONFIG, uconfig)
    geometric = drawn.aggregation == "geometric"
    assert 150 < geometric.sum() < 250
    assert (drawn.ranks[geometric] == [3, 1, 2, 4]).all()
    assert (drawn.ranks[~geometric] == [3, 2, 1, 4]).all()
    out = rank_uncertainty(example(), CONFIG, uconfig).set_index("area_id")
    assert out.loc[["A", "D"], ["rank_p05", "rank_p95", "band_width"]].values.tolist() == [[3, 3, 0], [4, 4, 0]]
    assert out.loc[["B", "C"], ["rank_p05", "rank_p95", "band_width"]].values.tolist() == [[1, 2, 1], [1, 2, 1]]


def test_ranks_follow_the_drawn_dimension_weights_and_percentiles_are_order_statistics():
    # P: need 1 in dimension "wirtschaft", 0 in "bildung"; Q the other way round. With min-max and
    # arithmetic aggregation P's index is w_wirtschaft / (w_wirtschaft + w_bildung): P first iff w_w > w_b.
    frame = pd.DataFrame({"x1": [1.0, 0.0], "x2": [1.0, 0.0], "y": [1.0, 0.0]}, index=["P", "Q"])  # y: higher is better
    uconfig = UncertaintyConfig(draws=301, seed=5, normalisations=("minmax",), aggregations=("arithmetic",))
    drawn = rank_draws(frame, CONFIG, uconfig)
    weights = drawn.dimension_weights
    assert ((weights >= 0.5) & (weights <= 1.5)).all() and weights.std() > 0.2
    p_first = weights[:, 0] > weights[:, 1]
    assert drawn.ranks[:, 0].tolist() == np.where(p_first, 1, 2).tolist()
    assert drawn.ranks[:, 1].tolist() == np.where(p_first, 2, 1).tolist()
    # inverted_cdf: the q-point is the smallest rank r with share(rank <= r) >= q
    share_first = p_first.mean()
    out = rank_uncertainty(frame, CONFIG, uconfig).set_index("area_id")
    assert 0.05 < share_first < 0.95
    assert out.loc["P", "median_rank"] == (1 if share_first >= 0.5 else 2)
    assert out.loc["Q", "median_rank"] == (1 if 1 - share_first >= 0.5 else 2)
    assert out.loc["P", ["rank_p05", "rank_p95", "band_width"]].tolist() == [1, 2, 1]


def test_percentiles_are_the_documented_order_statistics():
    # inverted_cdf with n draws: the q-point is the ceil(q * n)-th smallest rank. n = 30:
    # 5 % → 2nd, 50 % → 15th, 95 % → 29th (an interpolating method would use the 28th/29th for 95 %).
    frame = noisy_frame(20)
    uconfig = UncertaintyConfig(draws=30, seed=11)
    ranks = np.sort(rank_draws(frame, CONFIG, uconfig).ranks, axis=0)
    out = rank_uncertainty(frame, CONFIG, uconfig)
    assert out["rank_p05"].tolist() == ranks[1].tolist()
    assert out["median_rank"].tolist() == ranks[14].tolist()
    assert out["rank_p95"].tolist() == ranks[28].tolist()
    assert (ranks[27] != ranks[28]).any()  # the example does tell the methods apart


def test_indicator_weights_are_drawn_within_the_spread():
    drawn = rank_draws(example(), CONFIG, UncertaintyConfig(draws=1000, weight_spread=0.25))
    factors = drawn.indicator_weights / np.array([1.0, 1.0, 1.0])
    assert factors.min() >= 0.75 and factors.max() <= 1.25
    assert factors.min() < 0.76 and factors.max() > 1.24
    counts = pd.Series(drawn.normalisation).value_counts()
    assert set(counts.index) == {"zscore", "minmax", "rank"} and counts.min() > 280


def test_not_indexed_areas_are_left_out():
    frame = example()
    frame.loc["D", "x2"] = np.nan
    out = rank_uncertainty(frame, CONFIG, UncertaintyConfig(draws=20))
    assert out["area_id"].tolist() == ["A", "B", "C"]
    assert out["nominal_rank"].tolist() == [3, 2, 1]


def test_uncertainty_config_from_mapping():
    u = UncertaintyConfig.from_mapping({"draws": 250, "normalisations": ["rank"], "weight_spread": 0.2})
    assert (u.draws, u.seed, u.normalisations, u.aggregations, u.weight_spread) == (
        250,
        20241231,
        ("rank",),
        ("arithmetic", "geometric"),
        0.2,
    )
    for bad, message in (
        ({"drawz": 5}, "'drawz'"),
        ({"draws": 0}, "draws"),
        ({"draws": 2.5}, "draws"),
        ({"weight_spread": 1.0}, "weight_spread"),
        ({"normalisations": ["zscore", "robust"]}, "'robust'"),
        ({"aggregations": ["geometric", "geometric"]}, "twice"),
        ({"aggregations": []}, "aggregations"),
        ({"seed": -1}, "seed"),
        # rules of the hand-written checks that had no test
        ({"draws": True}, r"key 'draws'.*integer"),
        ({"seed": 1.5}, r"key 'seed'.*integer"),
        ({"normalisations": "rank"}, r"key 'normalisations'.*'rank'"),
        ({"normalisations": []}, r"'normalisations': must name at least one of zscore, minmax, rank"),
        ({"aggregations": ["harmonic"]}, r"'aggregations', entry no. 1.*'arithmetic' or 'geometric'"),
        ({"weight_spread": -0.1}, r"weight_spread.*greater than or equal to 0"),
        ({"weight_spread": "0.2"}, r"weight_spread.*number"),
        ({"weight_spread": float("nan")}, r"weight_spread.*finite"),
        (["draws"], r"uncertainty: expected a mapping"),
    ):
        with pytest.raises(ValueError, match=message):
            UncertaintyConfig.from_mapping(bad)


def test_uncertainty_config_in_python_form_is_checked_too():
    with pytest.raises(ValueError, match=r"key 'draws'.*greater than or equal to 1"):
        UncertaintyConfig(draws=0)
    assert UncertaintyConfig(draws=5).replace(seed=3) == UncertaintyConfig(draws=5, seed=3)
    assert UncertaintyConfig(normalisations=["rank"]).normalisations == ("rank",)


def test_min_ranks_are_scipys_rankdata_min_with_ties_signed_zeros_and_infinities():
    """The draws' ranks (numpy, so that the dbt process need not import scipy.stats) are those of
    scipy.stats.rankdata(method="min", axis=1): ties share the lowest rank of their group."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(17)
    for trial in range(400):
        shape = (int(rng.integers(1, 30)), int(rng.integers(1, 50)))
        values = [
            rng.normal(size=shape),
            rng.integers(-3, 4, size=shape).astype(float),  # many ties
            rng.choice([1.0, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300], size=shape),
        ][trial % 3]
        expected = rankdata(values, method="min", axis=1).astype(np.int64)
        got = min_ranks(values)
        assert got.dtype == np.int64 and np.array_equal(got, expected), values
    assert min_ranks(np.array([[2.0, 1.0, 2.0, 0.5]])).tolist() == [[3, 2, 3, 1]]
    assert min_ranks(np.empty((4, 0))).shape == (4, 0) and min_ranks(np.empty((0, 3))).shape == (0, 3)
    with pytest.raises(ValueError, match="NaN"):
        min_ranks(np.array([[1.0, 2.0], [np.nan, 0.0]]))
