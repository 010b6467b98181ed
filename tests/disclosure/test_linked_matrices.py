"""The matrices of a linked table (orchestration/disclosure/linked.py), built from whole arrays,
against their definition written out entry by entry: every pattern and every audit rests on them,
and the patterns must stay the same bytes as before the arrays."""

from __future__ import annotations

import numpy as np
import pytest

from orchestration.disclosure.linked import LinkedTable, Relation


def _random_table(rng: np.random.Generator) -> LinkedTable:
    measures = [f"m{i}" for i in range(int(rng.integers(1, 5)))]
    n_atoms = int(rng.integers(1, 30))
    cells, cell_atoms = [], []
    for c in range(int(rng.integers(0, 40))):  # an area may have no atom; a table no cell
        cells.append((str(rng.choice(measures)), f"stadtteil:{c}"))
        cell_atoms.append(np.sort(rng.choice(n_atoms, size=int(rng.integers(0, n_atoms + 1)), replace=False)))
    relations = []
    for r in range(int(rng.integers(0, 3))):
        parts = rng.choice(measures, size=int(rng.integers(1, len(measures) + 1)), replace=False)
        coefficients = {str(m): float(rng.integers(-2, 3) or 1) for m in parts}
        relations.append(Relation(coefficients, str(rng.choice(["=", "<="])), f"r{r}"))
    values = rng.integers(0, 50, size=(len(measures), n_atoms)).astype(float)
    return LinkedTable(measures, [f"a{i}" for i in range(n_atoms)], values, cells, cell_atoms, relations)


@pytest.mark.parametrize("seed", range(5))
def test_the_matrices_are_their_definition_entry_by_entry(seed):
    rng = np.random.default_rng(seed)
    for _ in range(100):
        table = _random_table(rng)
        cells = table.cell_matrix()
        expected = np.zeros((len(table.cells), table.n_vars))
        for i, ((measure, _area), atoms) in enumerate(zip(table.cells, table.cell_atoms, strict=True)):
            for a in atoms:
                expected[i, table.var(measure, int(a))] = 1.0
        assert cells.format == "csr" and cells.has_canonical_format
        assert np.array_equal(cells.toarray(), expected)
        assert np.array_equal(table.cell_values(), expected @ table.true_vector())

        relations, is_eq = table.relation_matrix()
        n = len(table.atoms)
        expected = np.zeros((len(table.relations) * n, table.n_vars))
        for k, relation in enumerate(table.relations):
            for a in range(n):
                for measure, coefficient in relation.coefficients.items():
                    expected[k * n + a, table.var(measure, a)] = coefficient
        assert relations.format == "csr" and relations.shape == expected.shape
        assert np.array_equal(relations.toarray(), expected)
        assert is_eq.dtype == bool
        assert is_eq.tolist() == [r.sense == "=" for r in table.relations for _ in range(n)]


def test_a_stichtags_table_keeps_its_measures_and_relations_when_a_measure_has_no_cell():
    """`DayIndex.table` makes the linked table over the group's measures, also those no cell
    publishes: a relation over such a measure is what the attacker knows too (a table built over
    the cells' measures instead dropped it, and an audit of it played a weaker attacker)."""
    import pandas as pd

    from orchestration.disclosure.pattern import DayIndex

    area_atoms = pd.DataFrame(
        {"level": ["stadtteil"] * 3 + ["gemeinde"] * 3, "area_id": ["1", "1", "2", "0", "0", "0"],
         "atom_id": ["x", "y", "z", "x", "y", "z"]}
    )  # fmt: skip
    atom_values = pd.DataFrame(
        {"atom_id": ["x", "y", "z"] * 3, "measure": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
         "value": [5.0, 7.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 1.0]}
    )  # fmt: skip
    cells = pd.DataFrame(
        {"measure": pd.array(["a", "a", "b"], dtype="string[pyarrow]"),
         "level": pd.array(["stadtteil", "stadtteil", "gemeinde"], dtype="string[pyarrow]"),
         "area_id": pd.array(["1", "2", "0"], dtype="string[pyarrow]")}
    )  # fmt: skip
    relation = Relation({"a": 1.0, "b": -1.0, "c": -1.0}, "=", "a = b + c")
    table = DayIndex(area_atoms, atom_values).table(cells, ["a", "b", "c"], [relation])
    assert table.measures == ["a", "b", "c"] and table.n_vars == 9
    assert table.relations == [relation]
    assert table.cells == [("a", "stadtteil:1"), ("a", "stadtteil:2"), ("b", "gemeinde:0")]
    assert [list(atoms) for atoms in table.cell_atoms] == [[0, 1], [2], [0, 1, 2]]
    assert table.cell_values().tolist() == [12.0, 2.0, 8.0]
