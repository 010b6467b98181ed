"""What an attacker can derive: for every suppressed cell, the smallest and the largest value that
is consistent with everything published (linear programming, HiGHS).

The attacker's knowledge is the linked table's structure (which atoms make up which area: the
geometries are public), the published cells with their values (of this release and of every
earlier one), the lower bound of every atom (no negative counts) and the relations between
measures. The atoms' true values are never used to bound a cell; they only serve to check that the
truth lies inside the interval (if it did not, the model itself would be wrong)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from .linked import LinkedTable


@dataclass(frozen=True)
class Interval:
    cell: int
    low: float
    high: float
    value: float

    @property
    def width(self) -> float:
        return self.high - self.low


class ModelInconsistent(Exception):
    pass


def intervals(table: LinkedTable, known: dict[int, float], targets: list[int]) -> list[Interval]:
    """The attacker interval of every cell in `targets`, given the cells in `known` (index → value)."""
    if not targets:
        return []
    cells = table.cell_matrix()
    relations, is_eq = table.relation_matrix()
    known_idx = sorted(known)
    eq_parts, eq_rhs = [], []
    if known_idx:
        eq_parts.append(cells[known_idx])
        eq_rhs.append(np.array([known[i] for i in known_idx], dtype=float))
    if relations.shape[0] and is_eq.any():
        eq_parts.append(relations[is_eq])
        eq_rhs.append(np.zeros(int(is_eq.sum())))
    a_eq = sparse.vstack(eq_parts, format="csr") if eq_parts else None
    b_eq = np.concatenate(eq_rhs) if eq_rhs else None
    a_ub = relations[~is_eq] if relations.shape[0] and (~is_eq).any() else None
    b_ub = np.zeros(a_ub.shape[0]) if a_ub is not None else None
    lower = table.variable_lower_bounds()
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    truth_cells = table.cell_values()

    out = []
    for target in targets:
        objective = np.asarray(cells[target].todense()).ravel()
        ends = []
        for sign in (1.0, -1.0):
            res = linprog(sign * objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if res.status == 3:  # unbounded: the attacker learns no bound on this side
                ends.append(-np.inf if sign > 0 else np.inf)
            elif res.status != 0:
                raise ModelInconsistent(
                    f"the audit model for {table.cells[target]} cannot be solved ({res.message}): "
                    "the published cells contradict each other or the relations"
                )
            else:
                ends.append(sign * res.fun)
        low, high = ends
        value = float(truth_cells[target])
        if value < low - 1e-6 or value > high + 1e-6:
            raise ModelInconsistent(
                f"the true value of {table.cells[target]} ({value:g}) lies outside the derived interval "
                f"[{low:g}, {high:g}]: the audit model does not describe the published tables"
            )
        out.append(Interval(target, float(low), float(high), value))
    return out
