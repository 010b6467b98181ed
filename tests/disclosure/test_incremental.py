"""The incremental secondary suppression (one witness programme per cell that lacks protection):
its choice is checked by the exact audit, it is deterministic (the same inputs, in any row order,
give the same pattern), and the mend loop repairs what the continuous witnesses miss."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from orchestration.disclosure import incremental
from orchestration.disclosure.audit import intervals, shortfall
from orchestration.disclosure.linked import COMPLETE, LinkedTable, Relation
from orchestration.disclosure.pattern import suppression_pattern
from orchestration.disclosure.secondary import protect

WIDTH = 3


def small_city(seed: int, n_atoms: int = 12) -> LinkedTable:
    """Twelve atoms in six Stadtviertel (two atoms each), two Stadtteile, four Sozialräume across
    them and the Gemeinde; measures a, b, c and total = a + b + c with c <= a, small random counts
    (many primary cells, many zeros)."""
    rng = np.random.default_rng(seed)
    atoms = [f"x{i:02d}" for i in range(n_atoms)]
    viertel = [i // 2 for i in range(n_atoms)]
    teil = [v // 3 for v in viertel]
    sozialraum = [i % 4 for i in range(n_atoms)]
    a = rng.integers(0, 5, n_atoms)
    b = rng.integers(0, 6, n_atoms)
    c = np.minimum(rng.integers(0, 4, n_atoms), a)
    measures = ["a", "b", "c", "total"]
    values = np.vstack([a, b, c, a + b + c])
    areas: dict[str, list[int]] = {}
    for v in sorted(set(viertel)):
        areas[f"stadtviertel:V{v}"] = [i for i in range(n_atoms) if viertel[i] == v]
    for t in sorted(set(teil)):
        areas[f"stadtteil:T{t}"] = [i for i in range(n_atoms) if teil[i] == t]
    for s in sorted(set(sozialraum)):
        areas[f"sozialraum:S{s}"] = [i for i in range(n_atoms) if sozialraum[i] == s]
    areas["gemeinde:G"] = list(range(n_atoms))
    cells, members = [], []
    for m in measures:
        for name, of in areas.items():
            cells.append((m, name))
            members.append(np.array(of))
    relations = [
        Relation({"total": 1, "a": -1, "b": -1, "c": -1}, "=", "parts"),
        Relation({"c": 1, "a": -1}, "<=", "c_within_a"),
    ]
    table = LinkedTable(measures, atoms, values, cells, members, relations)
    table.check()
    return table


def primaries(table: LinkedTable) -> set[int]:
    values = table.cell_values()
    return {i for i in range(len(table.cells)) if 0 < values[i] < 3}


def assert_protected(table: LinkedTable, primary: set[int], suppressed: set[int]) -> None:
    """Every withheld cell meets its requirement against the exact (integer) attacker."""
    values = table.cell_values()
    known = {i: float(values[i]) for i in range(len(table.cells)) if i not in suppressed}
    for iv in intervals(table, known, sorted(suppressed), COMPLETE):
        assert shortfall(iv, iv.cell in primary, WIDTH, COMPLETE) is None, (table.cells[iv.cell], iv)
        assert iv.low >= 1  # nothing withheld is a zero


def test_the_greedy_pattern_is_checked_by_the_exact_audit():
    for seed in (0, 1, 4, 5):
        table = small_city(seed)
        primary = primaries(table)
        pattern = protect(table, primary, width=WIDTH)
        assert primary <= pattern.suppressed
        assert_protected(table, primary, pattern.suppressed)
        values = table.cell_values()
        assert all(values[c] >= 1 for c in pattern.secondary)


def test_a_cell_already_protected_by_an_earlier_witness_needs_no_programme_of_its_own():
    table = small_city(0)
    primary = primaries(table)
    found = incremental.protect_incremental(table, primary, WIDTH, set(), set())
    # every primary cell and every secondary one needs protection, yet far fewer programmes ran
    assert found.programmes < len(found.suppressed)


def test_the_mend_loop_gives_whole_number_witnesses_where_the_continuous_ones_fall_short():
    """On this table some continuous witnesses move cells by fractions: the exact audit finds
    cells narrower than the width, whole-number witnesses mend them, and the result passes."""
    table = small_city(2)
    primary = primaries(table)
    found = incremental.protect_incremental(table, primary, WIDTH, set(), set())
    assert found.integer_programmes >= 1 and found.audit_rounds >= 2
    assert_protected(table, primary, found.suppressed)
    # The same table without the audit would have been published with those cells too narrow.
    unverified = incremental.protect_incremental(
        table, primary, WIDTH, set(), set(), model=COMPLETE.__class__(**{**COMPLETE.__dict__, "verify": False})
    )
    values = table.cell_values()
    known = {i: float(values[i]) for i in range(len(table.cells)) if i not in unverified.suppressed}
    short = [
        iv for iv in intervals(table, known, sorted(unverified.suppressed)) if shortfall(iv, iv.cell in primary, WIDTH)
    ]
    assert short


def test_the_same_inputs_give_the_same_pattern():
    table = small_city(3)
    primary = primaries(table)
    first = protect(table, primary, width=WIDTH)
    again = protect(small_city(3), primary, width=WIDTH)
    assert first.suppressed == again.suppressed


def frames_of(table: LinkedTable, day: pd.Timestamp):
    """The frames the dbt model hands to suppression_pattern, for a table of `small_city`."""
    values = table.cell_values()
    cells = pd.DataFrame(
        [
            {
                "stichtag": day, "level": area.split(":")[0], "area_id": area.split(":")[1], "measure": measure,
                "value": value, "min_count": 3, "primary_reason": "count_below_min" if 0 < value < 3 else None,
            }
            for (measure, area), value in zip(table.cells, values, strict=True)
        ]
    )  # fmt: skip
    area_atoms = pd.DataFrame(
        sorted(
            {
                (day, area.split(":")[0], area.split(":")[1], table.atoms[a])
                for (_m, area), members in zip(table.cells, table.cell_atoms, strict=True)
                for a in members
            }
        ),
        columns=["stichtag", "level", "area_id", "atom_id"],
    )
    atom_values = pd.DataFrame(
        [
            {"stichtag": day, "atom_id": atom, "measure": measure, "value": float(table.atom_values[m, a])}
            for m, measure in enumerate(table.measures)
            for a, atom in enumerate(table.atoms)
        ]
    )
    relations = pd.DataFrame(
        [
            {"relation_id": r.name, "sense": r.sense, "measure": measure, "coefficient": coefficient}
            for r in table.relations
            for measure, coefficient in r.coefficients.items()
        ]
    )
    return cells, area_atoms, atom_values, relations


def test_shuffled_input_rows_give_the_same_pattern():
    table = small_city(3)
    frames = frames_of(table, pd.Timestamp("2024-12-31"))

    def withheld(parts) -> set[tuple[str, str, str]]:
        pattern = suppression_pattern(*parts, width=WIDTH)
        rows = pattern[pattern["status"] == "suppressed"]
        return set(zip(rows["level"], rows["area_id"], rows["measure"], strict=True))

    reference = withheld(frames)
    assert reference
    for seed in (1, 2):
        shuffled = [f.sample(frac=1.0, random_state=seed).reset_index(drop=True) for f in frames]
        assert withheld(shuffled) == reference


def test_a_cell_without_any_witness_is_refused():
    """One Stadtviertel with a primary count, every other cell published for good: no pattern."""
    table = small_city(0)
    primary = sorted(primaries(table))[:1]
    fixed = set(range(len(table.cells))) - set(primary)
    with pytest.raises(Exception, match="no suppression pattern protects"):
        protect(table, set(primary), width=WIDTH, fixed_published=fixed)


def test_only_exactly_checked_whole_number_witnesses_prove_a_cell():
    """A witness proves a cell without the audit only if its rounded table satisfies every
    constraint of the attacker exactly; anything else is left to the audit."""
    table = small_city(0)
    certificates = incremental.Certificates(table, set(), COMPLETE, list(range(len(table.cells))))
    assert certificates.enabled
    a_x00 = table.var("a", 0)
    total_x00 = table.var("total", 0)
    up = np.zeros(table.n_vars)
    up[[a_x00, total_x00]] = 1.0  # one more a and one more in total, in atom x00: consistent
    assert certificates.add(up) is not None
    assert certificates.high.max() == 1
    broken = np.zeros(table.n_vars)
    broken[a_x00] = 1.0  # a up without the total: breaks total = a + b + c
    assert certificates.add(broken) is None
    assert certificates.add(up * 0.5) is None  # not whole numbers
    below = np.zeros(table.n_vars)
    below[table.var("b", 0)] = -(table.atom_values[1, 0] + 1)  # a negative count
    below[total_x00] = below[table.var("b", 0)]
    assert certificates.add(below) is None
    fixed = incremental.Certificates(table, {table.cell_index[("a", "gemeinde:G")]}, COMPLETE, [])
    assert fixed.add(up) is None  # it moves a cell that is published for good


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_a_rerun_after_a_release_keeps_its_pattern_and_what_it_withheld_stays_withheld(seed):
    """The next run sees the release: every cell it published is fixed, every cell it withheld was
    withheld before. The pattern must come out the same (else the rerun publishes other numbers
    for the same data and is refused), and a cell withheld before is never published again."""
    table = small_city(seed)
    primary = primaries(table)
    first = protect(table, primary, width=WIDTH)
    published = set(range(len(table.cells))) - first.suppressed
    again = protect(table, primary, width=WIDTH, fixed_published=published, reuse=first.secondary)
    assert again.suppressed == first.suppressed
    # withheld earlier, though no witness needs it now: still withheld, and protected
    extra = next(i for i in sorted(published) if table.cell_values()[i] >= 1)
    kept = protect(table, primary, width=WIDTH, reuse=first.secondary | {extra})
    assert extra in kept.suppressed and first.secondary <= kept.secondary
    assert_protected(table, primary, kept.suppressed)


class DictMemo:
    """A pattern memo in a dict (the warehouse's table, `DuckDBMemo`, keeps the same pairs)."""

    def __init__(self) -> None:
        self.entries: dict[str, list[int]] = {}

    def get(self, key: str) -> list[int] | None:
        return self.entries.get(key)

    def put(self, key: str, secondary: list[int]) -> None:
        self.entries[key] = list(secondary)


@pytest.mark.parametrize("seed", [3, 11, 29, 41])
def test_a_pattern_published_before_is_kept_without_a_programme_when_published_again(seed, monkeypatch):
    """A run that adds a Stichtag publishes the earlier ones again: each of their tables now has
    every cell published or withheld by the release. The incremental method has no choice then
    (it keeps what was withheld, it cannot withhold what was published): the earlier pattern, if it
    protects. That was proven when it was chosen, so the memo holds it, keyed by the table, its
    primary and its withheld cells; the pattern is the one the solver gives without the memo."""
    from orchestration.disclosure import secondary

    table = small_city(seed)
    primary = primaries(table)
    memo = DictMemo()
    first = protect(table, primary, width=WIDTH, memo=memo)
    assert first.secondary, "a table with secondary cells shows more"
    published = set(range(len(table.cells))) - first.suppressed

    solved: list[int] = []
    real = secondary.protect_incremental
    monkeypatch.setattr(secondary, "protect_incremental", lambda *a, **k: solved.append(1) or real(*a, **k))
    again = protect(table, primary, width=WIDTH, fixed_published=published, reuse=first.secondary, memo=memo)
    assert not solved and again.status == "memo: the earlier pattern"
    assert (again.suppressed, again.secondary, again.objective) == (first.suppressed, first.secondary, first.objective)
    # what the solver gives without any memo: the same (the memo changes the cost, not the pattern)
    fresh = protect(table, primary, width=WIDTH, fixed_published=published, reuse=first.secondary)
    assert solved and fresh.suppressed == again.suppressed
    assert_protected(table, primary, again.suppressed)
    # and the next run finds it under its own key
    solved.clear()
    third = protect(table, primary, width=WIDTH, fixed_published=published, reuse=first.secondary, memo=memo)
    assert not solved and third.status == "memo" and third.suppressed == first.suppressed

    # where the pattern is not forced, or not the one proven, the solver decides
    values = table.cell_values()
    extra = next(i for i in sorted(published) if values[i] >= 1)
    changed = small_city(seed)
    changed.atom_values[[0, 3], 0] += 1  # one more `a` in the first atom (and in its total): another table
    cases = {
        "a cell free to choose": dict(fixed_published=published - {extra}, reuse=first.secondary),
        "a cell withheld by another release": dict(
            fixed_published=published - {extra}, reuse=first.secondary | {extra}
        ),
        "another table": dict(table=changed, fixed_published=published, reuse=first.secondary),
        "another width": dict(width=WIDTH + 1, fixed_published=published, reuse=first.secondary),
        # the same withheld cells, one of them primary now: its own protection is to be shown
        "another primary cell": dict(
            primary=primary | {min(first.secondary)}, fixed_published=published, reuse=first.secondary
        ),
        "another attacker": dict(
            model=dataclasses.replace(COMPLETE, protect_all_withheld=False),
            fixed_published=published,
            reuse=first.secondary,
        ),
    }
    for name, case in cases.items():
        solved.clear()
        kept = DictMemo()
        kept.entries = dict(memo.entries)
        try:
            pattern = protect(
                case.pop("table", table), case.pop("primary", primary), memo=kept, **{"width": WIDTH, **case}
            )
        except (secondary.ProtectionImpossible, incremental.Infeasible):
            pattern = None  # the solver's verdict: the fixed cells leave no protection
        assert solved, name
        assert pattern is None or pattern.status != "memo: the earlier pattern", name
