"""The Cell Key Method's perturbation table and noise."""

from __future__ import annotations

import math
import re

import duckdb
import numpy as np
import pytest

from orchestration.disclosure.ckm import CkmParameters, build_ptable, cell_keys, load_parameters
from orchestration.pseudonyms import RECORD_KEY_HEX, record_key_sql
from orchestration.settings import PROJECT_DIR

PARAMS = CkmParameters(max_deviation=4, variance=2.0, forbidden_small=2)


@pytest.fixture(scope="module")
def ptable():
    return build_ptable(PARAMS)


def test_every_row_is_a_distribution_with_mean_zero(ptable):
    for row in ptable.rows:
        assert row.probability.sum() == pytest.approx(1.0)
        assert (row.probability >= 0).all()
        assert row.mean == pytest.approx(0.0, abs=1e-6)
        assert np.abs(row.noise).max() <= PARAMS.max_deviation
    # from the first count on where nothing near zero is reachable, the variance is V exactly
    assert ptable.row(1000).variance == pytest.approx(PARAMS.variance, abs=1e-6)


def test_same_cell_same_noise(ptable):
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 300, 5000)
    keys = rng.random(5000)
    first = ptable.noise(counts, keys)
    again = build_ptable(PARAMS).noise(counts.copy(), keys.copy())
    assert (first == again).all()
    # order does not matter: a cell's noise depends on its count and key only
    order = rng.permutation(5000)
    assert (ptable.noise(counts[order], keys[order]) == first[order]).all()


def test_zeros_stay_zero_and_no_small_count_is_published(ptable):
    rng = np.random.default_rng(11)
    counts = rng.integers(0, 12, 100_000)
    keys = rng.random(100_000)
    out = ptable.perturb(counts, keys)
    assert (out[counts == 0] == 0).all()
    assert not ((out >= 1) & (out <= PARAMS.forbidden_small)).any()
    assert (out >= 0).all()


def test_noise_never_exceeds_d_and_has_mean_zero_and_variance_v(ptable):
    rng = np.random.default_rng(20241231)
    counts = rng.integers(20, 5000, 200_000)
    keys = rng.random(200_000)
    noise = ptable.noise(counts, keys)
    assert np.abs(noise).max() <= PARAMS.max_deviation
    assert abs(noise.mean()) < 0.02
    assert noise.var() == pytest.approx(PARAMS.variance, rel=0.03)


def test_cell_key_is_the_sum_of_record_keys_mod_one():
    record_keys = np.array([0.75, 0.5, 0.25, 0.875])
    assert cell_keys(np.array([record_keys.sum()]))[0] == pytest.approx(0.375)
    # a cell made of the same records in any order gets the same key
    assert cell_keys(np.array([record_keys[::-1].sum()]))[0] == pytest.approx(0.375)


def test_sums_of_record_keys_do_not_depend_on_their_order():
    """Record keys as ingestion makes them (orchestration/pseudonyms.record_key_sql) add up exactly,
    so the cell key of a cell is the same whatever order a parallel sum takes."""
    con = duckdb.connect()
    keys = np.array(
        con.execute(f"select {record_key_sql('sha256(cast(i as varchar))')} from range(200000) as r(i)").fetchnumpy()[
            con.description[0][0]
        ]
    )
    con.close()
    assert len(np.unique(keys)) > 199_000 and keys.min() >= 0 and keys.max() < 1
    rng = np.random.default_rng(7)
    totals = {math.fsum(keys)} | {float(np.sum(rng.permutation(keys))) for _ in range(5)}
    totals.add(sum(keys.tolist()))  # left to right, one by one
    totals.add(float(np.cumsum(keys[::-1])[-1]))
    assert len(totals) == 1


def test_the_key_sum_macro_gives_the_exact_fractional_part_in_any_order():
    """dbt's key_sum (macros/measures.sql) sums record keys in a double and keeps the fractional part:
    exact for keys of RECORD_KEY_HEX hex digits, equal to the fractional part computed in whole
    numbers, whatever the number of threads and the order of the rows; groups of 1 to 40,000 keys
    and one of 2,000,000 (a whole city's persons in one sum)."""
    macros = (PROJECT_DIR / "dbt_project" / "macros" / "measures.sql").read_text(encoding="utf-8")
    body = re.search(r"\{% macro key_sum\(expression\) -%\}(.*?)\{%- endmacro %\}", macros, re.S).group(1).strip()
    key_sum = body.replace("{{ expression }}", "k")
    assert "k" in key_sum and "{" not in key_sum
    units = 16**RECORD_KEY_HEX
    rng = np.random.default_rng(28)
    sizes = np.concatenate([rng.integers(1, 40_000, 60), [2_000_000]])
    groups = np.repeat(np.arange(len(sizes)), sizes)
    numerators = rng.integers(0, units, len(groups))
    exact = {g: (int(numerators[groups == g].sum()) % units) / units for g in range(len(sizes))}
    con = duckdb.connect()
    try:
        for threads, seed in ((1, 1), (2, 2), (4, 3)):
            order = np.random.default_rng(seed).permutation(len(groups))
            frame = {"g": groups[order], "k": numerators[order] / units}  # noqa: F841 (read by DuckDB)
            con.execute(f"set threads = {threads}")
            got = dict(con.execute(f"select g, {key_sum} from frame group by g").fetchall())
            assert got == exact
    finally:
        con.close()


def test_household_record_keys_have_the_same_width():
    """The dbt macro hex_fraction (households' record keys) keeps as many bits as ingestion's."""
    macros = (PROJECT_DIR / "dbt_project" / "macros" / "measures.sql").read_text(encoding="utf-8")
    digits, divisor = re.search(
        r"substr\(\{\{ expression \}\}, 1, (\d+)\) as ubigint\) as double\) / ([\d.]+)", macros
    ).groups()
    assert int(digits) == RECORD_KEY_HEX and float(divisor) == 16.0**RECORD_KEY_HEX


def test_parameters_are_validated(tmp_path):
    with pytest.raises(ValueError, match="variance"):
        CkmParameters(max_deviation=2, variance=9.0, forbidden_small=2)
    config = tmp_path / "ckm.yml"
    config.write_text("max_deviation: 3\n")
    with pytest.raises(ValueError, match="variance"):
        load_parameters(config)
    config.write_text("max_deviation: 3\nvariance: 1.5\nforbidden_small: 2\n")
    assert load_parameters(config) == CkmParameters(3, 1.5, 2)
