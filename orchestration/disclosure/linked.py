"""The linked table that disclosure control works on.

Every published count is a *cell*: one measure (residents, SGB II recipients, …) summed over one
area. Areas of all public levels, the nested ones and the non-nested Sozialräume alike, are unions
of *atoms*: the sets of Baublöcke that share all their public memberships (a Stadtviertel cut by a
Sozialraum border is two atoms). An atom's value is never published, so it is exactly what an
attacker has to reason about: every published cell is a linear equation over atom values, every
atom value is at least 0 (for counts), and *relations* tie measures together within each atom
(residents = under 20 + 20 to 64 + 65 and older; single parents ≤ households with children).

The same model serves the secondary suppression (which cells to hide, `secondary.py`) and the
audit (what an attacker can still derive, `audit.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class AttackerModel:
    """What an attacker is assumed to know beyond the published cells, the atoms (the geometries
    are public) and the relations between measures. The secondary suppression protects against
    this attacker and the release audit plays it; docs/privacy.md states it for the public.

    withheld_at_least: every withheld count is at least this much. Zeros are always published and
    the release says so, so a withheld count is at least 1: an attacker who reads the
    documentation knows it.
    integral: counts are whole numbers; bounds are those of integer solutions, not of the linear
    relaxation (which can be wider).
    upper_protection: a primary cell (a count below the minimum) must be consistent with a value at
    least `protection width` above its true value, so nobody can show that it is below the minimum.
    protect_all_withheld: every withheld cell, secondary ones included, keeps an interval at least
    the protection width wide.
    verify: after the programme, the pattern is checked with exact (integer) bounds and mended until
    every requirement holds."""

    withheld_at_least: float = 1.0
    integral: bool = True
    upper_protection: bool = True
    protect_all_withheld: bool = True
    verify: bool = True


COMPLETE = AttackerModel()
# The model of releases before issue 11, kept only so that tests can rebuild the old, leaky
# pattern and show that an independent attacker breaks it. The release audit always plays COMPLETE,
# so a release built with it does not pass.
LEGACY = AttackerModel(
    withheld_at_least=0.0, integral=False, upper_protection=False, protect_all_withheld=False, verify=False
)
ATTACKER_MODELS = {"complete": COMPLETE, "legacy": LEGACY}


def attacker_model(name: str) -> AttackerModel:
    try:
        return ATTACKER_MODELS[name]
    except KeyError:
        raise ValueError(
            f"var disclosure_attacker_model must be one of {sorted(ATTACKER_MODELS)}, not {name!r}"
        ) from None


@dataclass(frozen=True)
class Relation:
    """sum(coefficient × measure) `sense` 0, holding within every atom. sense: '=' or '<='."""

    coefficients: dict[str, float]
    sense: str = "="
    name: str = ""

    def __post_init__(self) -> None:
        if self.sense not in ("=", "<="):
            raise ValueError(
                f"relation {self.name or self.coefficients}: sense must be '=' or '<=', not {self.sense!r}"
            )


@dataclass
class LinkedTable:
    """Measures × atoms, and the published cells as sums of atoms.

    atom_values[m, a]: the true value (internal only; the audit never reads it to bound a cell).
    cells: (measure, area) in a fixed order; cell_atoms[i]: the atom indices of cell i's area.
    lower_bounds[m]: what an attacker knows as the smallest possible atom value (0 for counts,
    -inf for balances)."""

    measures: list[str]
    atoms: list[str]
    atom_values: np.ndarray
    cells: list[tuple[str, str]]
    cell_atoms: list[np.ndarray]
    relations: list[Relation] = field(default_factory=list)
    lower_bounds: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.atom_values = np.asarray(self.atom_values, dtype=float)
        if self.atom_values.shape != (len(self.measures), len(self.atoms)):
            raise ValueError(
                f"atom_values has shape {self.atom_values.shape}, expected {(len(self.measures), len(self.atoms))}"
            )
        if self.lower_bounds is None:
            self.lower_bounds = np.zeros(len(self.measures))
        self._measure_index = {m: i for i, m in enumerate(self.measures)}
        self.cell_index = {c: i for i, c in enumerate(self.cells)}
        unknown = {m for r in self.relations for m in r.coefficients} - set(self.measures)
        if unknown:
            # A relation over a measure this table does not hold says nothing here: drop it.
            self.relations = [r for r in self.relations if not set(r.coefficients) & unknown]

    # -- variables: one per (measure, atom) ------------------------------------------------------
    @property
    def n_vars(self) -> int:
        return len(self.measures) * len(self.atoms)

    def var(self, measure: str, atom: int) -> int:
        return self._measure_index[measure] * len(self.atoms) + atom

    def variables_of(self, atoms: np.ndarray) -> np.ndarray:
        """The variables of `atoms` (atom indices), every measure's, measure by measure."""
        starts = np.arange(len(self.measures))[:, None] * len(self.atoms)
        return (starts + np.asarray(atoms, dtype=int)[None, :]).reshape(-1)

    def variable_lower_bounds(self) -> np.ndarray:
        return np.repeat(self.lower_bounds, len(self.atoms))

    def true_vector(self) -> np.ndarray:
        return self.atom_values.reshape(-1)

    # -- matrices ---------------------------------------------------------------------------------
    # Both matrices are built from whole arrays: element by element in Python they took 30 s of
    # the 136 s a pattern of 100 Gemeinden took (13,000 calls: every table, every region of a
    # table, and the audit's). The entries are the same, in the same order.
    def cell_matrix(self) -> sparse.csr_matrix:
        """Row i: the published cell i as a sum of variables."""
        n = len(self.cells)
        lengths = np.fromiter((len(atoms) for atoms in self.cell_atoms), dtype=np.int64, count=n)
        bases = np.fromiter((self._measure_index[m] for m, _area in self.cells), dtype=np.int64, count=n)
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        atoms = (
            np.concatenate([np.asarray(a, dtype=np.int64) for a in self.cell_atoms])
            if lengths.sum()
            else np.zeros(0, dtype=np.int64)
        )
        cols = np.repeat(bases * len(self.atoms), lengths) + atoms
        return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, self.n_vars))

    def relation_matrix(self) -> tuple[sparse.csr_matrix, np.ndarray]:
        """One row per relation and atom (relation by relation, atom by atom); second value: True
        where the row is an equation."""
        n = len(self.atoms)
        rows, cols, data = [], [], []
        for k, relation in enumerate(self.relations):
            measures = np.array([self._measure_index[m] for m in relation.coefficients], dtype=np.int64)
            atom = np.repeat(np.arange(n, dtype=np.int64), len(measures))
            rows.append(k * n + atom)
            cols.append(np.tile(measures, n) * n + atom)
            data.append(np.tile(np.array([float(c) for c in relation.coefficients.values()]), n))
        is_eq = np.repeat(np.array([r.sense == "=" for r in self.relations], dtype=bool), n)
        shape = (len(self.relations) * n, self.n_vars)
        if not rows:
            return sparse.csr_matrix(shape), is_eq
        matrix = sparse.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=shape)
        return matrix, is_eq

    def count_cells(self) -> np.ndarray:
        """True for the cells of counts (atoms at or above 0), to which `withheld_at_least` applies."""
        counts = np.isfinite(self.lower_bounds) & (self.lower_bounds >= 0)
        return np.array([bool(counts[self._measure_index[m]]) for m, _area in self.cells], dtype=bool)

    def cell_values(self) -> np.ndarray:
        return self.cell_matrix() @ self.true_vector()

    def check(self) -> None:
        """The true values must satisfy the table's own relations (else the model is wrong)."""
        matrix, is_eq = self.relation_matrix()
        if matrix.shape[0] == 0:
            return
        lhs = matrix @ self.true_vector()
        broken = (is_eq & (np.abs(lhs) > 1e-6)) | (~is_eq & (lhs > 1e-6))
        if broken.any():
            first = int(np.flatnonzero(broken)[0])
            relation = self.relations[first // len(self.atoms)]
            atom = self.atoms[first % len(self.atoms)]
            raise ValueError(f"relation {relation.name or relation.coefficients} does not hold in atom {atom}")


# The level whose areas split a linked table into regions solved apart: a Kreis's or a Land's
# Gemeinden (a city is one Gemeinde, so its tables stay whole).
REGION_LEVEL = "gemeinde"


def regions(table: LinkedTable) -> list[np.ndarray]:
    """The atoms of each area of `REGION_LEVEL`, when the table has cells of more than one such area
    and their atoms partition the table's atoms; else none (the table is solved whole)."""
    prefix = f"{REGION_LEVEL}:"
    found: dict[str, np.ndarray] = {}
    for (_measure, area), atoms in zip(table.cells, table.cell_atoms, strict=True):
        if area.startswith(prefix) and area not in found:
            found[area] = np.unique(np.asarray(atoms, dtype=int))
    if len(found) < 2:
        return []
    parts = [found[area] for area in sorted(found)]
    every = np.concatenate(parts)
    if len(every) != len(table.atoms) or len(np.unique(every)) != len(table.atoms):
        return []
    return parts


def atom_regions(table: LinkedTable, parts: list[np.ndarray]) -> np.ndarray:
    """Per atom of `table`: the index of its part in `parts` (`regions`), -1 where none holds it."""
    out = np.full(len(table.atoms), -1, dtype=int)
    for r, atoms in enumerate(parts):
        out[atoms] = r
    return out


def components(measures: list[str], relations: list[Relation]) -> list[list[str]]:
    """Groups of measures linked by relations (each group is one independent table)."""
    parent = {m: m for m in measures}

    def find(m: str) -> str:
        while parent[m] != m:
            parent[m] = parent[parent[m]]
            m = parent[m]
        return m

    for relation in relations:
        present = [m for m in relation.coefficients if m in parent]
        for other in present[1:]:
            parent[find(other)] = find(present[0])
    groups: dict[str, list[str]] = {}
    for m in measures:
        groups.setdefault(find(m), []).append(m)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])
