"""Secondary suppression and the attacker audit on small tables whose answers are known by hand.

Every attack test first shows that the attack works when secondary suppression is off (or ignores
what it must consider), then that it fails with the real protection, by plain subtraction and by
the audit's linear programmes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from orchestration.disclosure.audit import intervals
from orchestration.disclosure.linked import COMPLETE, LEGACY, LinkedTable, Relation, components
from orchestration.disclosure.pattern import suppression_pattern
from orchestration.disclosure.secondary import ProtectionImpossible, protect
from tests.disclosure.test_proven_intervals import triangle

WIDTH = 3


def oracle_table() -> LinkedTable:
    """Regions A–D by sex, with row totals, column totals and the grand total (the issue's oracle)."""
    counts = {"A": (2, 18), "B": (19, 14), "C": (10, 12), "D": (14, 11)}
    atoms = list(counts)
    values = np.array([[counts[a][0] for a in atoms], [counts[a][1] for a in atoms], [sum(counts[a]) for a in atoms]])
    cells, members = [], []
    for measure in ("f", "m", "total"):
        for i, region in enumerate(atoms):
            cells.append((measure, region))
            members.append(np.array([i]))
        cells.append((measure, "all"))
        members.append(np.arange(len(atoms)))
    return LinkedTable(["f", "m", "total"], atoms, values, cells, members, [Relation({"total": 1, "f": -1, "m": -1})])


def known_except(table: LinkedTable, hidden: set[int]) -> dict[int, float]:
    values = table.cell_values()
    return {i: float(values[i]) for i in range(len(table.cells)) if i not in hidden}


def test_oracle_least_cost_pattern_is_exactly_am_cf_cm():
    table = oracle_table()
    table.check()
    primary = {table.cell_index[("f", "A")]}
    totals = {i for i, (measure, region) in enumerate(table.cells) if measure == "total" or region == "all"}
    exact = protect(table, primary, width=WIDTH, fixed_published=totals, method="milp")
    assert exact.optimal
    assert {table.cells[i] for i in exact.secondary} == {("m", "A"), ("f", "C"), ("m", "C")}
    assert exact.objective == 40  # persons hidden: 18 + 10 + 12
    # The incremental method (the default) finds the same least-cost pattern here, ...
    pattern = protect(table, primary, width=WIDTH, fixed_published=totals)
    assert pattern.suppressed == exact.suppressed and pattern.objective == 40
    # ... and both give the same answer when the totals may be suppressed too: hiding them costs more.
    for method in ("incremental", "milp"):
        free = protect(table, primary, width=WIDTH, method=method)
        assert {table.cells[i] for i in free.secondary} == {("m", "A"), ("f", "C"), ("m", "C")}
    # The attacker's interval for A/f from everything published: A/f + C/f = 12 and, since zeros
    # are published, C/f >= 1 and A/f >= 1: [1, 11]. Without that knowledge it would be [0, 12].
    (af,) = intervals(table, known_except(table, pattern.suppressed), sorted(primary))
    assert (af.low, af.high, af.value) == (1, 11, 2)
    (naive,) = intervals(table, known_except(table, pattern.suppressed), sorted(primary), LEGACY)
    assert (naive.low, naive.high) == (0, 12)


def test_oracle_without_secondary_suppression_a_row_total_gives_the_cell_away():
    table = oracle_table()
    a_f = table.cell_index[("f", "A")]
    published = known_except(table, {a_f})
    # the attack: row total of A minus A/m
    assert published[table.cell_index[("total", "A")]] - published[table.cell_index[("m", "A")]] == 2
    (iv,) = intervals(table, published, [a_f])
    assert iv.width == 0


def hierarchy_with_sozialraum() -> LinkedTable:
    """One measure; atoms = Stadtviertel ∩ Sozialraum. ST1 = V1 + V2, ST2 = V3 + V4, city = both;
    SR1 = V1 + V3, SR2 = V2 + V4 (Sozialräume cross the Stadtteil border)."""
    atoms = ["V1", "V2", "V3", "V4"]
    values = np.array([[2, 20, 30, 25]])
    areas = {
        "stadtviertel:V1": [0],
        "stadtviertel:V2": [1],
        "stadtviertel:V3": [2],
        "stadtviertel:V4": [3],
        "stadtteil:ST1": [0, 1],
        "stadtteil:ST2": [2, 3],
        "gemeinde:G": [0, 1, 2, 3],
        "sozialraum:SR1": [0, 2],
        "sozialraum:SR2": [1, 3],
    }
    cells = [("sgb2", area) for area in areas]
    return LinkedTable(["sgb2"], atoms, values, cells, [np.array(a) for a in areas.values()])


def test_attack_across_levels_fails_with_secondary_suppression():
    table = hierarchy_with_sozialraum()
    v1 = table.cell_index[("sgb2", "stadtviertel:V1")]
    published = known_except(table, {v1})
    # secondary suppression off: Stadtteil minus its published Stadtviertel
    recovered = (
        published[table.cell_index[("sgb2", "stadtteil:ST1")]]
        - published[table.cell_index[("sgb2", "stadtviertel:V2")]]
    )
    assert recovered == 2
    pattern = protect(table, {v1}, width=WIDTH)
    after = known_except(table, pattern.suppressed)
    st1, v2 = table.cell_index[("sgb2", "stadtteil:ST1")], table.cell_index[("sgb2", "stadtviertel:V2")]
    assert st1 not in after or v2 not in after  # the subtraction has a missing term
    (iv,) = intervals(table, after, [v1])
    assert iv.width >= WIDTH


def test_attack_across_stadtteil_and_sozialraum_needs_the_non_nested_level_in_the_model():
    table = hierarchy_with_sozialraum()
    v1 = table.cell_index[("sgb2", "stadtviertel:V1")]
    # A protection that only knows the hierarchy (Sozialräume left out of the table) ...
    nested_only = [i for i, (_m, area) in enumerate(table.cells) if not area.startswith("sozialraum")]
    hierarchy = LinkedTable(
        table.measures,
        table.atoms,
        table.atom_values,
        [table.cells[i] for i in nested_only],
        [table.cell_atoms[i] for i in nested_only],
    )
    naive = protect(hierarchy, {hierarchy.cell_index[("sgb2", "stadtviertel:V1")]}, width=WIDTH)
    hidden = {table.cell_index[hierarchy.cells[i]] for i in naive.suppressed}
    published = known_except(table, hidden)
    # ... is broken by the overlap: Sozialraum SR1 minus the published Stadtviertel V3
    sr1, v3 = table.cell_index[("sgb2", "sozialraum:SR1")], table.cell_index[("sgb2", "stadtviertel:V3")]
    assert sr1 in published and v3 in published
    assert published[sr1] - published[v3] == 2
    (iv,) = intervals(table, published, [v1])
    assert iv.width == 0
    # The real protection models the Sozialräume and holds.
    pattern = protect(table, {v1}, width=WIDTH)
    after = known_except(table, pattern.suppressed)
    assert not (sr1 in after and v3 in after)
    (iv,) = intervals(table, after, [v1])
    assert iv.width >= WIDTH


def test_attack_across_two_releases_fails_when_the_pattern_keeps_to_the_earlier_one():
    table = hierarchy_with_sozialraum()
    v1 = table.cell_index[("sgb2", "stadtviertel:V1")]
    v2 = table.cell_index[("sgb2", "stadtviertel:V2")]
    # Release 1 (before a correction of V1 from 5 to 2) published V2 = 20, ST1 and everything else.
    earlier_published = {v2: 20.0}
    # Release 2 ignoring release 1: the cheapest protection hides V2 ...
    blind = protect(table, {v1}, width=WIDTH)
    assert v2 in blind.secondary
    combined = known_except(table, blind.suppressed) | earlier_published
    st1 = table.cell_index[("sgb2", "stadtteil:ST1")]
    if st1 in combined:  # ... so ST1 (this release) minus V2 (the earlier one) gives V1 away
        assert combined[st1] - combined[v2] == 2
    (iv,) = intervals(table, combined, [v1])
    assert iv.width < WIDTH
    # Keeping to the earlier release: V2 stays published, other cells protect V1.
    kept = protect(table, {v1}, width=WIDTH, fixed_published={v2})
    assert v2 not in kept.suppressed
    (iv,) = intervals(table, known_except(table, kept.suppressed) | earlier_published, [v1])
    assert iv.width >= WIDTH


def test_relations_between_measures_are_attack_routes_too():
    """residents = young + working + old: hiding 'young' alone is undone by the other three."""
    atoms = ["a1", "a2"]
    measures = ["old", "residents", "working", "young"]
    values = np.array([[40, 50], [140, 180], [98, 125], [2, 5]])
    relation = Relation({"residents": 1, "young": -1, "working": -1, "old": -1}, "=", "age_bands")
    cells, members = [], []
    for m in measures:
        for name, atoms_of in (("X", [0]), ("Y", [1]), ("city", [0, 1])):
            cells.append((m, name))
            members.append(np.array(atoms_of))
    table = LinkedTable(measures, atoms, values, cells, members, [relation])
    table.check()
    young_x = table.cell_index[("young", "X")]
    published = known_except(table, {young_x})
    (iv,) = intervals(table, published, [young_x])
    assert iv.width == 0  # residents - working - old
    pattern = protect(table, {young_x}, width=WIDTH)
    (iv,) = intervals(table, known_except(table, pattern.suppressed), [young_x])
    assert iv.width >= WIDTH


def test_a_primary_cell_published_by_an_earlier_release_is_refused_with_a_clear_message():
    table = oracle_table()
    a_f = table.cell_index[("f", "A")]
    with pytest.raises(ProtectionImpossible, match="earlier release"):
        protect(table, {a_f}, width=WIDTH, fixed_published={a_f})


def test_components_group_measures_by_relation():
    groups = components(["a", "b", "c", "d"], [Relation({"a": 1, "b": -1}), Relation({"b": 1, "c": -1}, "<=")])
    assert groups == [["a", "b", "c"], ["d"]]


def test_relation_that_does_not_hold_in_the_data_is_reported():
    table = LinkedTable(
        ["p", "q"],
        ["a"],
        np.array([[3], [2]]),
        [("p", "x"), ("q", "x")],
        [np.array([0]), np.array([0])],
        [Relation({"p": 1, "q": -1}, "<=", "p_within_q")],
    )
    with pytest.raises(ValueError, match="p_within_q"):
        table.check()


def frames(table: LinkedTable, day: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The frames the dbt model hands to suppression_pattern, for a one-measure table."""
    values = table.cell_values()
    rows = []
    for (measure, area), value in zip(table.cells, values, strict=True):
        level, area_id = area.split(":")
        rows.append(
            {
                "stichtag": day,
                "level": level,
                "area_id": area_id,
                "measure": measure,
                "value": value,
                "min_count": 3,
                "primary_reason": "count_below_min" if 0 < value < 3 else None,
            }
        )
    cells = pd.DataFrame(rows)
    area_atoms = pd.DataFrame(
        [
            {"stichtag": day, "level": area.split(":")[0], "area_id": area.split(":")[1], "atom_id": table.atoms[a]}
            for (_m, area), members in zip(table.cells, table.cell_atoms, strict=True)
            for a in members
        ]
    )
    atom_values = pd.DataFrame(
        [
            {"stichtag": day, "atom_id": atom, "measure": "sgb2", "value": float(v)}
            for atom, v in zip(table.atoms, table.atom_values[0], strict=True)
        ]
    )
    return cells, area_atoms, atom_values


NO_RELATIONS = pd.DataFrame(columns=["relation_id", "sense", "measure", "coefficient"])


def test_pattern_from_frames_matches_the_library_and_reuses_earlier_suppressions():
    """The frame interface the dbt model uses, on the Sozialraum table."""
    table = hierarchy_with_sozialraum()
    cells, area_atoms, atom_values = frames(table, pd.Timestamp("2024-12-31"))
    no_relations = NO_RELATIONS
    pattern = suppression_pattern(cells, area_atoms, atom_values, no_relations, width=WIDTH)
    hidden = set(pattern.loc[pattern["status"] == "suppressed", "area_id"])
    direct = protect(table, {table.cell_index[("sgb2", "stadtviertel:V1")]}, width=WIDTH)
    assert hidden == {table.cells[i][1].split(":")[1] for i in direct.suppressed}
    assert pattern["published_value"].isna().sum() == len(hidden)
    off = suppression_pattern(cells, area_atoms, atom_values, no_relations, width=WIDTH, secondary=False)
    assert set(off.loc[off["status"] == "suppressed", "area_id"]) == {"V1"}


def wohngeld_2020_table() -> LinkedTable:
    """The issue's hand derivation: Stadtteil 012 publishes 3 and its Stadtviertel 0123 publishes 0,
    so 0121 + 0122 + 0124 = 3 with three withheld cells."""
    atoms = ["0121", "0122", "0123", "0124", "0131"]
    values = np.array([[1, 1, 0, 1, 40]])
    areas = {
        "stadtviertel:0121": [0],
        "stadtviertel:0122": [1],
        "stadtviertel:0123": [2],
        "stadtviertel:0124": [3],
        "stadtviertel:0131": [4],
        "stadtteil:012": [0, 1, 2, 3],
        "stadtteil:013": [4],
        "gemeinde:G": [0, 1, 2, 3, 4],
    }
    cells = [("wohngeld", area) for area in areas]
    return LinkedTable(["wohngeld"], atoms, values, cells, [np.array(a) for a in areas.values()])


def test_withheld_counts_are_at_least_one_because_zeros_are_published():
    table = wohngeld_2020_table()
    hidden = {table.cell_index[("wohngeld", f"stadtviertel:{v}")] for v in ("0121", "0122", "0124")}
    # The old attacker model: each of the three lies in [0, 3] - "protected".
    for iv in intervals(table, known_except(table, hidden), sorted(hidden), LEGACY):
        assert (iv.low, iv.high) == (0, 3)
    # An attacker who reads that zeros are published: each is at least 1, together 3, so each is 1.
    for iv in intervals(table, known_except(table, hidden), sorted(hidden)):
        assert (iv.low, iv.high, iv.value) == (1, 1, 1)
    # The protection knows it too: the Stadtteil (or its sibling) goes as well, and every primary
    # can be 3 above its value for all the attacker knows.
    pattern = protect(table, hidden, width=WIDTH)
    for iv in intervals(table, known_except(table, pattern.suppressed), sorted(pattern.suppressed)):
        assert iv.low >= 1 and iv.width >= WIDTH
        if iv.cell in hidden:
            assert iv.high >= iv.value + WIDTH
    # A zero is never withheld to protect others (the release says withheld counts are >= 1).
    assert table.cell_index[("wohngeld", "stadtviertel:0123")] not in pattern.suppressed


def test_whole_numbers_narrow_what_the_linear_relaxation_allows():
    """a + b = 1 and b + c = 1 are published, a + c is withheld (so at least 1). Linear
    programming allows b = 0.5 and a + c anywhere in [1, 2]; in whole numbers b = 0 and a + c = 2."""
    table = triangle((1, 0, 1), [(0, 1), (1, 2), (0, 2)])
    known = {0: 1.0, 1: 1.0}
    relaxed = dataclasses.replace(COMPLETE, integral=False)
    ((lp,), (exact,)) = intervals(table, known, [2], relaxed), intervals(table, known, [2])
    assert (lp.low, lp.high) == (1, 2)
    assert (exact.low, exact.high) == (2, 2)


def test_a_secondary_cell_is_never_a_zero_and_every_withheld_cell_keeps_the_width():
    table = hierarchy_with_sozialraum()
    v1 = table.cell_index[("sgb2", "stadtviertel:V1")]
    pattern = protect(table, {v1}, width=WIDTH)
    values = table.cell_values()
    assert all(values[c] >= 1 for c in pattern.suppressed)
    for iv in intervals(table, known_except(table, pattern.suppressed), sorted(pattern.suppressed)):
        assert iv.width >= WIDTH


def test_a_measure_linked_across_stichtage_is_never_made_secondary():
    """The residents a year before are the residents of the year before: patterns are chosen per
    Stichtag, so such a count must never be withheld as a secondary cell (it would be published as
    its twin at the other Stichtag). With nothing else to withhold, protection is refused."""
    table = hierarchy_with_sozialraum()
    cells, area_atoms, atom_values = frames(table, pd.Timestamp("2024-12-31"))
    with pytest.raises(ProtectionImpossible) as refused:
        suppression_pattern(cells, area_atoms, atom_values, NO_RELATIONS, width=WIDTH, linked_across_time={"sgb2"})
    # nothing was released before: the refusal names the lagged counts and the way out, not an
    # earlier release
    message = str(refused.value)
    assert "tied to another Stichtag (sgb2)" in message and "Kennzahlenkatalog" in message, message
    assert "earlier release" not in message, message


def test_the_pattern_memo_gives_the_same_pattern_without_solving_and_only_for_the_same_inputs(monkeypatch):
    """A rerun takes a linked table's pattern from the warehouse's memo; any change to what the
    pattern depends on (a value, the primary cells, the width, what was published) solves again."""
    import duckdb

    from orchestration.disclosure import secondary
    from orchestration.disclosure.pattern import DuckDBMemo

    con = duckdb.connect()
    memo = DuckDBMemo(con)
    table = oracle_table()
    primary = {table.cell_index[("f", "A")]}
    first = protect(table, primary, width=WIDTH, memo=memo)
    assert (memo.hits, memo.misses) == (0, 1) and first.status != "memo"

    solved = []
    for solver in ("_solve", "protect_incremental"):
        real = getattr(secondary, solver)
        monkeypatch.setattr(secondary, solver, lambda *a, _real=real, **k: solved.append(1) or _real(*a, **k))
    again = protect(table, primary, width=WIDTH, memo=DuckDBMemo(con))
    assert again.status == "memo" and not solved
    assert (again.suppressed, again.secondary, again.objective) == (first.suppressed, first.secondary, first.objective)
    # the incremental method has no time limit, so the limit is not part of its fingerprint
    assert protect(table, primary, width=WIDTH, memo=DuckDBMemo(con), time_limit=5.0).status == "memo"

    changed = oracle_table()
    changed.atom_values[[1, 2], 2] += 1  # one more man in region C (and in its total)
    variants = [
        dict(table=changed, primary=primary, width=WIDTH),
        dict(table=table, primary=primary | {table.cell_index[("m", "D")]}, width=WIDTH),
        dict(table=table, primary=primary, width=WIDTH + 1),
        dict(table=table, primary=primary, width=WIDTH, fixed_published={table.cell_index[("total", "all")]}),
        dict(table=table, primary=primary, width=WIDTH, reuse={table.cell_index[("m", "A")]}),
        dict(table=table, primary=primary, width=WIDTH, model=dataclasses.replace(COMPLETE, withheld_at_least=0.0)),
        dict(table=table, primary=primary, width=WIDTH, method="milp"),
    ]
    # each pattern the incremental method chose is also kept as proven for its table, primary and
    # withheld cells (secondary.py: a table published again gets it without a programme)
    proven = {secondary._proven_key(table, primary, first.suppressed, WIDTH, COMPLETE)}
    for variant in variants:
        solved.clear()
        args = {"width": WIDTH, "model": COMPLETE, **variant}
        pattern = protect(variant.pop("table"), variant.pop("primary"), memo=DuckDBMemo(con), **variant)
        assert pattern.status != "memo" and solved, variant
        if args.get("method", "incremental") == "incremental":
            proven.add(
                secondary._proven_key(args["table"], args["primary"], pattern.suppressed, args["width"], args["model"])
            )
    keys = {k for (k,) in con.execute("select fingerprint from ops.disclosure_pattern_memo").fetchall()}
    assert proven <= keys and len(keys) == 1 + len(variants) + len(proven)
