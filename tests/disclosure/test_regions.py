"""A Kreis's (or a Land's) linked tables are solved Gemeinde by Gemeinde: a withheld cell within one
Gemeinde gets its witness (the protector) and its proof (the audit) from a programme over that
Gemeinde's atoms alone, every other atom at its true value; a cell over several Gemeinden, or one
its Gemeinde cannot protect alone, from the whole table's. The patterns must still be protected
against the exact attacker of the whole table, and the proofs must agree with its intervals."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from orchestration.disclosure import audit, incremental
from orchestration.disclosure.audit import intervals, proven_intervals, shortfall
from orchestration.disclosure.linked import COMPLETE, LinkedTable, Relation, regions
from orchestration.disclosure.secondary import protect
from tests.disclosure.test_incremental import assert_protected, primaries, small_city

WIDTH = 3


def small_kreis(seed: int, gemeinden: int = 3) -> LinkedTable:
    """Gemeinden of four to six atoms (Stadtviertel of two atoms, one Stadtteil per three Viertel),
    Sozialräume by parity within each Gemeinde but one that crosses the border of the first two,
    the Gemeinden and the Kreis; measures a, b and total = a + b with small random counts."""
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(4, 7)) for _ in range(gemeinden)]
    first = np.cumsum([0, *sizes])
    n = int(first[-1])
    areas: dict[str, list[int]] = {}
    for g in range(gemeinden):
        own = list(range(first[g], first[g + 1]))
        areas[f"gemeinde:G{g}"] = own
        for v in range(0, len(own), 2):
            areas[f"stadtviertel:G{g}V{v // 2}"] = own[v : v + 2]
        for t in range(0, len(own), 6):
            areas[f"stadtteil:G{g}T{t // 6}"] = own[t : t + 6]
    crossing = [int(first[1]) - 1, int(first[1])]  # the last atom of G0, the first of G1
    areas["sozialraum:cross"] = crossing
    for g in range(gemeinden):
        for parity in (0, 1):
            members = [i for i in range(first[g], first[g + 1]) if i % 2 == parity and i not in crossing]
            if members:
                areas[f"sozialraum:G{g}P{parity}"] = members
    areas["kreis:K"] = list(range(n))
    a = rng.integers(0, 6, n)
    b = rng.integers(0, 7, n)
    measures = ["a", "b", "total"]
    cells, members = [], []
    for m in measures:
        for name, of in areas.items():
            cells.append((m, name))
            members.append(np.array(of))
    table = LinkedTable(
        measures, [f"x{i:02d}" for i in range(n)], np.vstack([a, b, a + b]), cells, members,
        [Relation({"total": 1, "a": -1, "b": -1}, "=", "parts")],
    )  # fmt: skip
    table.check()
    return table


def test_the_regions_are_the_gemeinden_of_a_kreis_and_none_for_a_city():
    kreis = small_kreis(0)
    parts = regions(kreis)
    gemeinden = sorted(area for _m, area in kreis.cells if area.startswith("gemeinde:"))
    assert len(parts) == len(set(gemeinden)) == 3
    for part, area in zip(parts, sorted(set(gemeinden)), strict=True):
        assert part.tolist() == sorted(kreis.cell_atoms[kreis.cell_index[("a", area)]].tolist())
    assert regions(small_city(0)) == []  # one Gemeinde: the table stays whole
    # areas of the level that overlap (or leave atoms out) are no partition: solved whole
    overlapping = small_kreis(0)
    g0, g1 = (overlapping.cell_atoms[overlapping.cell_index[("a", f"gemeinde:G{g}")]] for g in (0, 1))
    for i, (_m, area) in enumerate(overlapping.cells):
        if area == "gemeinde:G0":
            overlapping.cell_atoms[i] = np.append(g0, g1[:1])  # G0 reaches into G1
    assert regions(overlapping) == []


def test_a_witness_within_one_gemeinde_moves_nothing_outside_it():
    table = small_kreis(1)
    values = table.cell_values()
    # published before: the Gemeinde's total of a, which the witness must leave as it is
    fixed = {table.cell_index[("a", "gemeinde:G2")]}
    programme = incremental.witness_programmes(table, fixed, COMPLETE)
    assert isinstance(programme, incremental.RegionalWitnesses)
    cell = table.cell_index[("a", "stadtviertel:G2V0")]
    programme.set_costs(np.ones(len(programme.movable)))
    deviation, atoms = programme.witness(cell, WIDTH, 0.0)
    assert programme._whole is None  # the Gemeinde's programme alone
    # a witness of the whole table: every relation holds in every atom, no atom goes below 0, the
    # published cell does not move, each cell moves by what its atoms move, and a count it moves
    # stays at least 1 (withheld, it is known to be)
    relations, _ = table.relation_matrix()
    assert np.allclose(relations @ atoms, 0)
    assert (table.true_vector() + atoms >= -1e-9).all()
    moved = table.cell_matrix() @ atoms
    assert all(abs(moved[i]) < 1e-9 for i in fixed)
    assert np.allclose(moved[programme.movable], deviation)
    assert moved[cell] >= WIDTH - 1e-6
    shifted = np.abs(moved) > 1e-6
    assert (values[shifted] + moved[shifted] >= 1 - 1e-6).all()
    outside = set(range(len(table.cells))) - {
        i for i, (_m, area) in enumerate(table.cells) if area.startswith(("kreis:", "sozialraum:cross"))
    }
    g2 = set(regions(table)[2].tolist())
    for i in outside:
        if not set(table.cell_atoms[i].tolist()) & g2:
            assert abs(moved[i]) < 1e-9, table.cells[i]


@pytest.mark.parametrize("seed", range(12))
def test_a_kreis_pattern_solved_by_gemeinde_is_protected_against_the_whole_table(seed):
    table = small_kreis(seed)
    primary = primaries(table)
    if not primary:
        pytest.skip("no primary cell")
    pattern = protect(table, primary, width=WIDTH)
    assert_protected(table, primary, pattern.suppressed)
    # the audit's proofs, Gemeinde by Gemeinde, agree with the exact intervals of the whole table
    values = table.cell_values()
    known = {i: float(values[i]) for i in range(len(table.cells)) if i not in pattern.suppressed}
    counts: Counter = Counter()
    proven = proven_intervals(table, known, sorted(pattern.suppressed), primary, WIDTH, COMPLETE, counts=counts)
    exact = intervals(table, known, sorted(pattern.suppressed), COMPLETE)
    for p, e in zip(proven, exact, strict=True):
        assert e.low - 1e-9 <= p.low <= p.value <= p.high <= e.high + 1e-9, (table.cells[p.cell], p, e)
        assert shortfall(p, p.cell in primary, WIDTH, COMPLETE) is None
    assert counts["within_gemeinde"] > 0  # proven Gemeinde by Gemeinde, not only by the whole table


@pytest.mark.parametrize("seed", range(20))
def test_proofs_by_gemeinde_agree_with_exact_intervals_on_unprotected_patterns(seed, monkeypatch):
    """Random withheld cells, often one subtraction away: a proof found within a Gemeinde never
    claims more than the whole table's exact interval, and every verdict is the exact one."""
    rng = np.random.default_rng(100 + seed)
    table = small_kreis(seed, gemeinden=2 + seed % 3)
    values = table.cell_values()
    positive = [i for i in range(len(table.cells)) if values[i] >= 1]
    withheld = {i for i in positive if rng.random() < 0.35}
    primary = {i for i in withheld if values[i] < 3}
    known = {i: float(values[i]) for i in range(len(table.cells)) if i not in withheld}
    pushed = []
    within_gemeinde = audit._RegionLP.optimum
    monkeypatch.setattr(audit._RegionLP, "optimum", lambda *args: pushed.append(1) or within_gemeinde(*args))
    proven = proven_intervals(table, known, sorted(withheld), primary, WIDTH, COMPLETE)
    assert pushed  # Gemeinde by Gemeinde first
    exact = intervals(table, known, sorted(withheld), COMPLETE)
    for p, e in zip(proven, exact, strict=True):
        assert e.low - 1e-9 <= p.low <= p.value <= p.high <= e.high + 1e-9, (table.cells[p.cell], p, e)
        verdict = shortfall(p, p.cell in primary, WIDTH, COMPLETE)
        assert (verdict is None) == (shortfall(e, e.cell in primary, WIDTH, COMPLETE) is None), (p, e)


def test_a_gemeinde_that_cannot_protect_alone_gets_the_whole_kreis(monkeypatch):
    """Gemeinde A is one atom, its Viertel is its total; the Kreis total was published by an earlier
    release. Within A the Viertel cannot move without moving the Kreis total: only another
    Gemeinde can balance it, so the witness comes from the whole table's programme."""
    areas = {
        "stadtviertel:A1": [0], "gemeinde:A": [0],
        "stadtviertel:B1": [1], "stadtviertel:B2": [2], "gemeinde:B": [1, 2],
        "kreis:K": [0, 1, 2],
    }  # fmt: skip
    cells = [("n", name) for name in areas]
    table = LinkedTable(["n"], ["a", "b1", "b2"], np.array([[2, 9, 8]]), cells, [np.array(v) for v in areas.values()])
    made = []
    real = incremental.witness_programmes
    monkeypatch.setattr(incremental, "witness_programmes", lambda *args: made.append(real(*args)) or made[-1])
    kreis = table.cell_index[("n", "kreis:K")]
    primary = {table.cell_index[("n", "stadtviertel:A1")], table.cell_index[("n", "gemeinde:A")]}
    pattern = protect(table, primary, width=WIDTH, fixed_published={kreis})
    [programme] = made
    assert isinstance(programme, incremental.RegionalWitnesses) and programme._whole is not None
    assert pattern.suppressed - primary  # B gives way
    assert_protected(table, primary, pattern.suppressed)


def test_what_a_gemeinde_programme_cannot_vouch_for_the_whole_table_decides(monkeypatch):
    """An atom under nothing but withheld counts is unbounded upwards, in its Gemeinde and in the
    whole table. Such an answer comes without a table to check, so the Gemeinde's is taken only with a
    ray that checks out (the test below): were a Gemeinde's programme to call everything unbounded,
    the intervals would still be the exact ones."""
    table = small_kreis(3)
    values = table.cell_values()
    atom = int(regions(table)[2][0])  # the first atom of the third Gemeinde
    withheld = [i for i in range(len(table.cells)) if atom in table.cell_atoms[i] and values[i] >= 1]
    # and two Viertel of the first Gemeinde, which its published Stadtteil bounds
    withheld += [table.cell_index[("a", f"stadtviertel:G0V{v}")] for v in (0, 1)]
    withheld = sorted(i for i in set(withheld) if values[i] >= 1)
    known = {i: float(values[i]) for i in range(len(table.cells)) if i not in withheld}
    exact = intervals(table, known, withheld, COMPLETE)
    assert any(np.isinf(e.high) for e in exact) and any(np.isfinite(e.high) for e in exact)

    def check() -> None:
        proven = proven_intervals(table, known, withheld, set(), WIDTH, COMPLETE)
        for p, e in zip(proven, exact, strict=True):
            assert e.low - 1e-9 <= p.low <= p.value <= p.high <= e.high + 1e-9, (table.cells[p.cell], p, e)
            assert (shortfall(p, False, WIDTH, COMPLETE) is None) == (shortfall(e, False, WIDTH, COMPLETE) is None)

    check()
    monkeypatch.setattr(audit._RegionLP, "optimum", lambda self, objective, sign: ("unbounded", float("nan"), None))
    check()


@pytest.mark.parametrize("seed", range(6))
def test_a_certificate_checked_within_a_gemeinde_is_the_certificate_checked_over_the_whole_table(seed):
    """A whole-number witness from a Gemeinde's programme is checked against the attacker's system
    over the rows and cells that Gemeinde's variables enter (`Certificates.add_within`), not the
    whole table's: the answer must be the whole check's (`add`), for witnesses that hold and for
    those that break a relation, a lower bound, a published cell or a withheld count's floor."""
    table = small_kreis(seed, gemeinden=4)
    values = table.cell_values()
    rng = np.random.default_rng(seed)
    # published before: cells within one Gemeinde and one over all of them (its row reaches beyond
    # any Gemeinde's columns: checked within, only its entries there change)
    fixed = {
        table.cell_index[("a", "gemeinde:G1")],
        table.cell_index[("total", "stadtviertel:G2V0")],
        table.cell_index[("b", "kreis:K")],
    }
    programme = incremental.witness_programmes(table, fixed, COMPLETE)
    assert isinstance(programme, incremental.RegionalWitnesses)
    truth, cells = table.true_vector(), table.cell_matrix()
    verdicts = Counter()
    for r in range(len(programme.parts)):
        region = programme._region(r)
        whole = incremental.Certificates(table, fixed, COMPLETE, programme.movable)
        within = incremental.Certificates(table, fixed, COMPLETE, programme.movable)
        atoms = len(programme.parts[r])
        moves = []
        for j in range(atoms):  # each atom alone: every relation, floor and bound it enters
            a, b = table.atom_values[0, programme.parts[r][j]], table.atom_values[1, programme.parts[r][j]]
            for step in ((1, 0, 1), (-1, 0, -1), (0, 1, 1), (0, -1, -1), (1, 0, 0), (0, 0, -1), (-a, -b, -a - b)):
                d = np.zeros((len(table.measures), atoms), dtype=int)
                d[:, j] = step
                moves.append(d)
        for _ in range(60):  # and small moves of the whole Gemeinde, mostly keeping total = a + b
            d = rng.integers(-2, 3, (len(table.measures), atoms))
            if rng.random() < 0.7:
                d[2] = d[0] + d[1]
            moves.append(d)
        for d in moves:
            deviation = np.zeros(table.n_vars)
            deviation[region.variables] = d.reshape(-1)
            expected = whole.add(deviation)
            got = within.add_within(region, deviation[region.variables])
            assert (expected is None) == (got is None)
            verdicts[expected is None] += 1
            if expected is not None:
                # the same exact deviations: the Gemeinde's movable cells as the whole check says,
                # and no other cell moved
                assert np.array_equal(got, expected[region.movable])
                others = np.setdiff1d(np.arange(len(programme.movable)), region.movable)
                assert not expected[others].any()
                assert np.array_equal((cells @ deviation)[programme.movable], expected)
                assert (truth + deviation >= 0).all() and (values + cells @ deviation >= 0).all()
        assert np.array_equal(within.high, whole.high) and np.array_equal(within.low, whole.low)
    assert verdicts[True] > 0 and verdicts[False] > 0  # both kinds of witness were checked


@pytest.mark.parametrize("seed", range(8))
def test_taking_a_witness_within_its_gemeinde_gives_the_pattern_taking_it_over_the_whole_table_gives(seed, monkeypatch):
    """The protector takes a Gemeinde's witness (its deviations, its certificate) over that
    Gemeinde's cells alone: the same witnesses must give the same pattern, the same certified cells
    and the same audited ones as taking each over every cell of the table."""
    table = small_kreis(seed, gemeinden=4)
    primary = primaries(table)
    if not primary:
        pytest.skip("no primary cell")
    within = incremental.protect_incremental(table, primary, WIDTH, set(), set())
    original = incremental.RegionalWitnesses.witness

    def over_the_whole_table(self, *args, **kwargs):
        found = original(self, *args, **kwargs)
        assert isinstance(found, incremental.RegionalWitness) or self._whole is not None
        return tuple(found)  # the whole table's vectors: as if from the whole table's programme

    monkeypatch.setattr(incremental.RegionalWitnesses, "witness", over_the_whole_table)
    whole = incremental.protect_incremental(table, primary, WIDTH, set(), set())
    assert within.suppressed == whole.suppressed
    assert (within.certified, within.audited, within.programmes) == (whole.certified, whole.audited, whole.programmes)


def _moves_within(n: int) -> list[np.ndarray]:
    """Changes of a Gemeinde of n atoms (its variables: a's atoms, then b's, then total's): each
    variable one up and one down, and one person of a (or b) from atom j to atom k, which keeps the
    relations and the totals over both atoms."""
    moves = [np.eye(3 * n, dtype=int)[j] * sign for j in range(3 * n) for sign in (1, -1)]
    for j in range(n):
        for k in range(n):
            for measure in (0, 1):
                d = np.zeros(3 * n, dtype=int)
                d[[measure * n + j, 2 * n + j]] += 1
                d[[measure * n + k, 2 * n + k]] -= 1
                moves.append(d)
    return moves


@pytest.mark.parametrize("seed", range(6))
def test_the_audit_checks_a_gemeinde_table_over_its_rows_as_the_whole_system_would(seed):
    """The audit keeps a whole-number table from a Gemeinde's programme after checking it over the
    rows that Gemeinde's variables enter (`_RegionLP.holds`), every other variable at its true
    value: for tables that hold and for tables that break a relation, a bound, a published cell or
    a withheld count's floor, the answer must be the whole system's (`AttackerSystem.holds`)."""
    table = small_kreis(seed, gemeinden=4)
    values = table.cell_values()
    # every count below the Gemeinden withheld (at least 1, the attacker knows), the rest published
    withheld = [
        i for i, (_m, area) in enumerate(table.cells) if values[i] >= 1 and not area.startswith(("gemeinde:", "kreis:"))
    ]
    known = {i: float(values[i]) for i in range(len(table.cells)) if i not in withheld}
    system = audit.attacker_system(table, known, COMPLETE, withheld)
    truth = table.true_vector()
    assert system.holds(truth)
    prepared = audit.prepare_restriction(system, truth)
    rng = np.random.default_rng(seed)
    verdicts = Counter()
    for part in regions(table):
        columns = table.variables_of(part)
        lp = audit._RegionLP(prepared, system.lower, truth, columns)
        n = len(part)  # the columns are a's atoms, then b's, then total's
        moves = _moves_within(n) + [rng.integers(-2, 3, 3 * n) for _ in range(40)]
        moves += [-truth[columns].astype(int)]  # every atom of the Gemeinde at zero
        for d in moves:
            within = truth[columns] + d
            whole = truth.copy()
            whole[columns] = within
            expected = system.holds(whole)
            assert lp.holds(within) == expected
            verdicts[expected] += 1
    assert verdicts[True] > 0 and verdicts[False] > 0


@pytest.mark.parametrize("seed", range(8))
def test_the_audit_proves_the_same_intervals_checking_gemeinde_tables_within_or_over_the_whole_table(seed, monkeypatch):
    """The audit checks a table from a Gemeinde's programme over that Gemeinde's rows and moves only
    the targets over it; checked and moved over the whole table instead, the same tables must give
    the same proven intervals and the same counts."""
    table = small_kreis(seed, gemeinden=4)
    primary = primaries(table)
    if not primary:
        pytest.skip("no primary cell")
    pattern = protect(table, primary, width=WIDTH)
    values = table.cell_values()
    known = {i: float(values[i]) for i in range(len(table.cells)) if i not in pattern.suppressed}
    targets = sorted(pattern.suppressed)
    within_counts, whole_counts = Counter(), Counter()
    within = proven_intervals(table, known, targets, primary, WIDTH, COMPLETE, counts=within_counts)
    monkeypatch.setattr(audit, "whole_numbers", lambda _x: False)  # the whole table's check and moves
    whole = proven_intervals(table, known, targets, primary, WIDTH, COMPLETE, counts=whole_counts)
    assert within == whole and within_counts == whole_counts
    assert within_counts["within_gemeinde"] > 0


def test_a_region_programme_pushes_its_target_by_the_targets_own_row_over_the_regions_variables():
    """The audit hands a Gemeinde's programme each target's row over that Gemeinde's variables alone,
    cut from the rows kept for the region (`audit.row_within`): it must be the target's own row (a
    neighbour's would prove the wrong cell, and leave the target to the whole table's programme)."""
    table = small_kreis(3, gemeinden=4)
    rows = table.cell_matrix()
    for part in regions(table):
        columns = table.variables_of(part)
        sub = rows.tocsc()[:, columns].tocsr()
        touched = np.flatnonzero(np.diff(sub.indptr))
        kept = sub[touched]
        assert 0 < len(touched) < rows.shape[0]
        for k in range(rows.shape[0]):
            expected = np.asarray(rows[k].todense()).ravel()[columns]
            assert np.array_equal(audit.row_within(touched, kept, k), expected), table.cells[k]


def _atom_under_withheld_counts():
    """small_kreis(3) with every count over the third Gemeinde's first atom withheld (that atom is
    unbounded upwards, in its Gemeinde and in the whole table), and two Viertel of the first
    Gemeinde, which its published Stadtteil bounds: the table, what is known, what is withheld."""
    table = small_kreis(3)
    values = table.cell_values()
    atom = int(regions(table)[2][0])
    withheld = [i for i in range(len(table.cells)) if atom in table.cell_atoms[i] and values[i] >= 1]
    withheld += [table.cell_index[("a", f"stadtviertel:G0V{v}")] for v in (0, 1)]
    withheld = sorted(i for i in set(withheld) if values[i] >= 1)
    known = {i: float(values[i]) for i in range(len(table.cells)) if i not in withheld}
    return table, known, withheld


@pytest.mark.parametrize("seed", range(4))
def test_a_direction_of_the_system_is_checked_exactly(seed):
    """`AttackerSystem.recedes`: a whole-number direction d is accepted exactly when the truth plus
    any multiple of it still satisfies everything the attacker knows (checked here with the
    multiples 1 and 1,000, beyond every slack of these small counts), over a Gemeinde's rows
    (`restricted_system`) as over the whole system."""
    table, known, withheld = _atom_under_withheld_counts()
    if seed % 2:  # an inequality relation instead (a at most the total, b free): rows a_ub of their own
        table.relations = [Relation({"a": 1, "total": -1}, "<=", "a within the total")]
    # and without the floor of withheld counts: then an atom under withheld counts alone is held
    # up by its lower bound only
    model = COMPLETE if seed < 2 else replace(COMPLETE, withheld_at_least=0)
    system = audit.attacker_system(table, known, model, withheld)
    truth = table.true_vector()
    prepared = audit.prepare_restriction(system, truth)
    rng = np.random.default_rng(seed)
    verdicts = Counter()
    for part in regions(table):
        columns = table.variables_of(part)
        within = audit.restricted_system(prepared, system.lower, truth, columns)
        n = len(part)
        candidates = _moves_within(n) + [rng.integers(-1, 2, 3 * n) for _ in range(60)]
        for j in range(n):  # one more of a (and so of the total) in atom j: a direction only where nothing pins it
            d = np.zeros(3 * n, dtype=int)
            d[[j, 2 * n + j]] = 1
            candidates += [d, -d]
        for d in candidates:
            whole = np.zeros(len(truth))
            whole[columns] = d
            expected = system.holds(truth + whole) and system.holds(truth + 1000 * whole)
            assert within.recedes(d.astype(float)) == expected
            assert system.recedes(whole) == expected
            if (
                expected and d.any()
            ):  # the same direction, but not in whole numbers, or beyond exact arithmetic: refused
                assert not within.recedes(d / 2) and not within.recedes(d * 2.0**12)
            verdicts[expected] += 1
    assert verdicts[True] > 0 and verdicts[False] > 0


def test_a_gemeinde_proves_a_cell_unbounded_by_a_ray_that_checks_out_and_only_so(monkeypatch):
    """A target within one Gemeinde that its Gemeinde's programme finds unbounded is taken as
    unbounded there when HiGHS's ray, in whole numbers, checks out against the Gemeinde's rows and
    moves the target the right way (`_RegionLP.unbounded_towards`); the whole table's programme is
    then not asked. Rays that do not check out (pointing the other way, breaking a published cell,
    or none) leave it to the whole table's programme, and the intervals stay sound."""
    table, known, withheld = _atom_under_withheld_counts()
    exact = intervals(table, known, withheld, COMPLETE)
    assert any(np.isinf(e.high) for e in exact) and any(np.isfinite(e.high) for e in exact)

    def proven(counts: Counter) -> None:
        found = proven_intervals(table, known, withheld, set(), WIDTH, COMPLETE, counts=counts)
        for p, e in zip(found, exact, strict=True):
            assert e.low - 1e-9 <= p.low <= p.value <= p.high <= e.high + 1e-9, (table.cells[p.cell], p, e)
            assert (shortfall(p, False, WIDTH, COMPLETE) is None) == (shortfall(e, False, WIDTH, COMPLETE) is None)

    taken = Counter()
    proven(taken)
    assert taken["unbounded_within_gemeinde"] > 0

    # the Gemeinde's programme itself: the atom's count goes up without end, and the ray that shows
    # it proves exactly that (not that it goes down without end)
    system = audit.attacker_system(table, known, COMPLETE, withheld)
    truth = table.true_vector()
    part = regions(table)[2]
    lp = audit._RegionLP(audit.prepare_restriction(system, truth), system.lower, truth, table.variables_of(part))
    objective = np.zeros(len(lp.columns))
    objective[0] = 1.0  # measure a of the Gemeinde's first atom
    assert lp.optimum(objective, -1.0)[0] == "unbounded"
    assert lp.unbounded_towards(objective, -1.0) and not lp.unbounded_towards(objective, 1.0)

    # the same rays, each spoilt: nothing is taken within the Gemeinde, the whole table decides
    real_ray = audit._WarmLP.ray
    for spoil in (lambda d: -d, lambda d: d + 1, lambda d: None):

        def spoilt(self, spoil=spoil):
            d = real_ray(self)
            return None if d is None else spoil(d)

        monkeypatch.setattr(audit._WarmLP, "ray", spoilt)
        refused = Counter()
        proven(refused)
        assert refused["unbounded_within_gemeinde"] == 0


@pytest.mark.parametrize("seed", range(6))
def test_a_total_over_several_gemeinden_is_proven_by_a_table_of_one_of_them(seed, monkeypatch):
    """The Sozialraum across the border of the first two Gemeinden and the Kreis total, withheld with
    every other count: a table (or a ray) of one Gemeinde moves them by that Gemeinde's share, which
    proves them, so the whole table's programme is never needed; the proven intervals stay within the
    exact ones with the exact verdicts."""
    table = small_kreis(seed, gemeinden=5)
    values = table.cell_values()
    over_several = [
        table.cell_index[(m, area)] for m in ("a", "b", "total") for area in ("sozialraum:cross", "kreis:K")
    ]
    withheld = [i for i in range(len(table.cells)) if values[i] >= 1]
    assert set(over_several) <= set(withheld)
    known = {i: float(values[i]) for i in range(len(table.cells)) if i not in withheld}
    whole = []
    whole_optimum = audit._WarmLP.optimum

    def counted(self, objective, sign):
        if self.n_vars == table.n_vars:
            whole.append(1)
        return whole_optimum(self, objective, sign)

    monkeypatch.setattr(audit._WarmLP, "optimum", counted)
    counts = Counter()
    proven = proven_intervals(table, known, withheld, set(), WIDTH, COMPLETE, counts=counts)
    assert whole == [] and counts["exact"] == 0
    exact = intervals(table, known, withheld, COMPLETE)
    for p, e in zip(proven, exact, strict=True):
        assert e.low - 1e-9 <= p.low <= p.value <= p.high <= e.high + 1e-9, (table.cells[p.cell], p, e)
        assert (shortfall(p, False, WIDTH, COMPLETE) is None) == (shortfall(e, False, WIDTH, COMPLETE) is None)


def test_a_solve_that_ends_unknown_or_undecided_is_solved_again_from_scratch_without_presolve():
    """HiGHS may end a warm-started solve with status Unknown, or presolve with 'unbounded or
    infeasible' without saying which: `audit.solve` solves once more from scratch without presolve
    (at 3,200 Gemeinden a Gemeinde's programme ended Unknown for the Sozialraum across a border, which
    sent it to the whole table's programme), and a clear answer is returned as it is."""
    import highspy

    status = highspy.HighsModelStatus

    class Recorder:
        def __init__(self, answers):
            self.answers, self.calls = list(answers), []

        def run(self):
            self.calls.append("run")
            self.now = self.answers.pop(0)

        def getModelStatus(self):  # noqa: N802 - HiGHS's name
            return self.now

        def clearSolver(self):  # noqa: N802
            self.calls.append("clear")

        def setOptionValue(self, name, value):  # noqa: N802
            self.calls.append(f"{name}={value}")

    for first in (status.kUnknown, status.kUnboundedOrInfeasible):
        h = Recorder([first, status.kUnbounded])
        assert audit.solve(h) == status.kUnbounded
        assert h.calls == ["run", "clear", "presolve=off", "run", "presolve=choose"]
    for clear in (status.kOptimal, status.kInfeasible, status.kUnbounded):
        h = Recorder([clear])
        assert audit.solve(h) == clear and h.calls == ["run"]


@pytest.mark.parametrize("seed", range(4))
def test_a_gemeindes_rows_are_cut_from_its_columns_as_the_whole_matrix_would_give_them(seed):
    """`audit.rows_over`: the rows with an entry in a Gemeinde's columns and those rows over its
    columns alone, cut from the columns' entries: the same rows, in the same order and with the same
    entries (sorted within each row, as HiGHS is handed them), as slicing the whole matrix gives,
    for the attacker's system and for the cell matrix; a row of explicit zeros there counts as
    touching, as it did."""
    table = small_kreis(seed, gemeinden=4)
    rng = np.random.default_rng(seed)
    matrix = table.cell_matrix().tocsr()
    matrix.data = matrix.data * rng.integers(-3, 4, len(matrix.data))  # some entries stored as zeros
    for part in regions(table):
        columns = table.variables_of(part)[::-1] if seed % 2 else table.variables_of(part)
        touched, rows = audit.rows_over(matrix.tocsc(), columns)
        full = matrix.tocsc()[:, columns].tocsr()
        expected = np.flatnonzero(np.diff(full.indptr))
        assert np.array_equal(touched, expected)
        assert rows.has_sorted_indices and rows.shape == (len(expected), len(columns))
        reference = full[expected]
        assert np.array_equal(rows.indptr, reference.indptr) and np.array_equal(rows.indices, reference.indices)
        assert np.array_equal(rows.data, reference.data)
