"""Linked tables solved side by side (orchestration/disclosure/parallel.py): the results come in
table order whatever thread finishes first, an error is raised where its table stands, and the
pattern is the same on one thread as on several."""

from __future__ import annotations

import threading
import time

import duckdb
import pandas as pd
import pytest

from orchestration.disclosure import parallel
from orchestration.disclosure.parallel import solved_in_order
from orchestration.disclosure.pattern import DuckDBMemo, suppression_pattern
from tests.disclosure.test_incremental import frames_of, small_city

WIDTH = 3.0


def test_results_come_in_the_order_of_the_items_whoever_finishes_first():
    threads_seen = set()

    def solve(n: int) -> int:
        threads_seen.add(threading.current_thread().name)
        time.sleep(0.002 * (10 - n))  # the first items take longest
        return n * n

    out = list(solved_in_order(solve, range(10), threads=3))
    assert out == [(n, n * n) for n in range(10)]
    assert len(threads_seen) > 1  # really side by side


def test_an_error_is_raised_where_its_item_stands_and_later_items_are_not_begun():
    begun = []

    def solve(n: int) -> int:
        begun.append(n)
        if n == 2:
            raise ValueError("table 2 cannot be protected")
        time.sleep(0.01)
        return n

    results = []
    with pytest.raises(ValueError, match="table 2"):
        for item, result in solved_in_order(solve, range(100), threads=2):
            results.append((item, result))
    assert results == [(0, 0), (1, 1)]  # the tables before it, then its error
    assert max(begun) < 2 + 2 * 2 + 2  # no table far beyond it was begun


def test_only_a_few_items_are_taken_ahead_of_the_one_waited_for():
    taken = []

    def items():
        for n in range(50):
            taken.append(n)
            yield n

    for item, _result in solved_in_order(lambda n: n, items(), threads=2):
        assert len(taken) <= item + 1 + 2 * 2  # a lazy list of large tables is never held at once


def _days(n_days: int):
    """Frames of `n_days` Stichtage, each a small city of its own: several linked tables."""
    parts = [frames_of(small_city(seed), pd.Timestamp(2020 + seed, 12, 31)) for seed in range(n_days)]
    cells, area_atoms, atom_values, relations = (
        pd.concat(frames, ignore_index=True) for frames in zip(*parts, strict=True)
    )
    return cells, area_atoms, atom_values, relations.drop_duplicates(ignore_index=True)


def test_the_pattern_on_several_threads_is_the_pattern_on_one(monkeypatch):
    frames = _days(4)
    monkeypatch.setattr(parallel, "SOLVER_THREADS", 1)
    one = suppression_pattern(*frames, width=WIDTH)
    monkeypatch.setattr(parallel, "SOLVER_THREADS", 3)
    con = duckdb.connect()
    memo = DuckDBMemo(con)  # shared by the threads through one connection
    several = suppression_pattern(*frames, width=WIDTH, memo=memo)
    assert (one["status"] == "suppressed").sum() > 0
    pd.testing.assert_frame_equal(one, several)
    assert memo.misses == 4 and memo.hits == 0
    # the memo the threads wrote gives the same pattern again without solving
    again = suppression_pattern(*frames, width=WIDTH, memo=memo)
    pd.testing.assert_frame_equal(one, again)
    assert memo.hits == 4
