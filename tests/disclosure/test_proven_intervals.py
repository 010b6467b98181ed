"""The release audit proves protection with whole-number tables (`proven_intervals`) instead of
computing every exact interval (`intervals`). On random linked tables, protected and not, both
must give the same verdict for every withheld cell, and what is proven must lie inside the exact
interval (a proof can only show less than the truth, never more)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from orchestration.disclosure.audit import ModelInconsistent, intervals, proven_intervals, shortfall
from orchestration.disclosure.linked import COMPLETE, LinkedTable, Relation
from orchestration.disclosure.secondary import protect

WIDTH = 3


def random_table(rng: np.random.Generator) -> LinkedTable:
    """Atoms grouped into two nested levels and a crossing grouping (like Sozialräume), a grand
    total, and two measures with their total (total = f + m in every atom)."""
    n = int(rng.integers(4, 9))
    atoms = [f"a{i}" for i in range(n)]
    f = rng.integers(0, 9, n)
    m = rng.integers(0, 9, n)
    values = np.array([f, m, f + m])
    groupings = {
        "viertel": [np.array([i]) for i in range(n)],
        "teil": [np.arange(i, min(i + 3, n)) for i in range(0, n, 3)],
        "raum": [np.arange(n)[np.arange(n) % 2 == r] for r in range(2)],
        "gemeinde": [np.arange(n)],
    }
    cells, members = [], []
    for measure in ("f", "m", "total"):
        for level, groups in groupings.items():
            for g, group in enumerate(groups):
                cells.append((measure, f"{level}:{g}"))
                members.append(group)
    return LinkedTable(["f", "m", "total"], atoms, values, cells, members, [Relation({"total": 1, "f": -1, "m": -1})])


def triangle(values: tuple[int, int, int], pairs: list[tuple[int, int]]) -> LinkedTable:
    """Atoms a, b, c of one measure with the given values; cells X, Y, Z are the given pairs of atoms
    (an odd cycle: the smallest table whose linear programme has fractional vertices)."""
    return LinkedTable(
        ["n"],
        ["a", "b", "c"],
        np.array([values]),
        [("n", "X"), ("n", "Y"), ("n", "Z")],
        [np.array(pair) for pair in pairs],
    )


def compare(table: LinkedTable, withheld: set[int], primary: set[int]) -> tuple[int, Counter]:
    values = table.cell_values()
    known = {i: float(values[i]) for i in range(len(table.cells)) if i not in withheld}
    targets = sorted(withheld)
    counts: Counter = Counter()
    proven = proven_intervals(table, known, targets, primary, WIDTH, COMPLETE, counts=counts)
    exact = intervals(table, known, targets, COMPLETE)
    failing = 0
    for p, e in zip(proven, exact, strict=True):
        assert p.cell == e.cell and p.value == e.value
        assert e.low - 1e-9 <= p.low <= p.value <= p.high <= e.high + 1e-9, (table.cells[p.cell], p, e)
        verdict = shortfall(p, p.cell in primary, WIDTH, COMPLETE)
        assert (verdict is None) == (shortfall(e, e.cell in primary, WIDTH, COMPLETE) is None), (p, e)
        if verdict is not None:  # a failing cell is reported with its exact interval
            assert p.exact and (p.low, p.high) == (e.low, e.high)
            failing += 1
    return failing, counts


@pytest.mark.parametrize("seed", range(40))
def test_proofs_agree_with_exact_intervals_on_random_tables(seed):
    rng = np.random.default_rng(seed)
    table = random_table(rng)
    values = table.cell_values()
    counts = table.count_cells()
    positive = [i for i in range(len(table.cells)) if values[i] >= 1 and counts[i]]
    small = {i for i in positive if values[i] < 3 and table.cells[i][1].startswith("viertel")}
    # 1. An unprotected pattern: a random set of withheld cells (often one subtraction away).
    withheld = {i for i in positive if rng.random() < 0.3} | small
    compare(table, withheld, small & withheld)
    # 2. The protector's pattern: every verdict passes, proven or exact.
    if small:
        pattern = protect(table, small, width=WIDTH)
        failing, _ = compare(table, pattern.suppressed, small)
        assert failing == 0


def test_an_unprotected_cell_fails_with_its_exact_interval():
    """One withheld Stadtviertel under a published Stadtteil: the subtraction pins it."""
    for seed in range(100):
        table = random_table(np.random.default_rng(seed))
        cell = table.cell_index[("f", "viertel:0")]
        if table.cell_values()[cell] >= 1:
            break
    failing, counts = compare(table, {cell}, {cell})
    assert failing == 1 and counts["exact"] == 1


def test_a_fractional_vertex_is_replaced_by_a_whole_number_point():
    """a + b = 1 and b + c = 1 are published, a + c = 2 is withheld. Its linear maximum is 2 at the
    vertex b = 0, but the minimum is the fractional vertex b = 0.5, a + c = 1; in whole numbers
    a + c is 2 whatever the attacker does: pinned, and the audit must say so."""
    table = triangle((1, 0, 1), [(0, 1), (1, 2), (0, 2)])
    (iv,) = proven_intervals(table, {0: 1.0, 1: 1.0}, [2], set(), WIDTH, COMPLETE)
    assert (iv.low, iv.high, iv.exact) == (2, 2, True)
    assert shortfall(iv, False, WIDTH, COMPLETE)


def test_true_values_that_contradict_the_published_cells_are_refused():
    table = random_table(np.random.default_rng(3))
    values = table.cell_values()
    withheld = next(i for i in range(len(table.cells)) if values[i] >= 1 and table.count_cells()[i])
    known = {i: float(values[i]) + (1.0 if i != withheld else 0.0) for i in range(len(table.cells)) if i != withheld}
    with pytest.raises(ModelInconsistent, match="do not satisfy what is published"):
        proven_intervals(table, known, [withheld], {withheld}, WIDTH, COMPLETE)


def test_a_whole_number_point_proves_what_a_fractional_vertex_cannot():
    """a + b = 3 and a + c = 3 are published, b + c (truth 6, a = 0) is withheld: b + c = 6 − 2a
    with a in [0, 2.5] (b + c is at least 1). The linear minimum 1 is the fractional vertex
    a = 2.5; in whole numbers a = 2 gives 2, so the interval [2, 6] is 4 wide: protected, proven by
    the integer programme's point without computing the exact interval."""
    table = triangle((0, 3, 3), [(0, 1), (0, 2), (1, 2)])
    counts: Counter = Counter()
    (iv,) = proven_intervals(table, {0: 3.0, 1: 3.0}, [2], set(), WIDTH, COMPLETE, counts=counts)
    assert (iv.low, iv.high, iv.value, iv.exact) == (2, 6, 6, False)
    assert counts == Counter({"linear": 2, "integer": 1})
    (exact,) = intervals(table, {0: 3.0, 1: 3.0}, [2], COMPLETE)
    assert (exact.low, exact.high) == (2, 6) and shortfall(iv, False, WIDTH, COMPLETE) is None
