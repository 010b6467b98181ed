"""Secondary suppression at least cost, as one mixed-integer programme per linked table (HiGHS).

For every primary cell p the programme must contain two *witness tables*: tables that satisfy
everything the release publishes (the published cells keep their values, atoms stay at or above
their lower bound, the relations between measures hold) and whose values of p lie at least the
protection width apart. Such witnesses exist exactly when an attacker's interval for p is at least
that wide, so the pattern the programme chooses is protected by construction, and the cheapest one
by the objective: the persons hidden (a cell's value, plus a small charge per cell so that of two
equally cheap patterns the one with fewer cells wins).

A cell may only differ between a witness and the truth when it is suppressed (binary y_c, linked
by a big-M bound). Cells that an earlier release already published with the same value are fixed
as published; cells an earlier release suppressed cost almost nothing to suppress again, so
patterns stay stable from release to release."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from .linked import LinkedTable

CELL_CHARGE = 0.01  # per suppressed cell, on top of the persons it hides
REUSE_FACTOR = 0.001  # a cell suppressed by an earlier release costs this share of its value


class ProtectionImpossible(Exception):
    """No pattern protects the primary cells (e.g. an earlier release already published the cells
    a protection would need). The message names the cells."""


@dataclass
class Pattern:
    suppressed: set[int]
    secondary: set[int]
    objective: float
    status: str
    seconds: float
    optimal: bool


def protect(
    table: LinkedTable,
    primary: set[int],
    width: float,
    fixed_published: set[int] = frozenset(),
    reuse: set[int] = frozenset(),
    time_limit: float = 60.0,
) -> Pattern:
    """Choose the secondary cells that protect every cell in `primary` (indices into table.cells)."""
    started = time.perf_counter()
    primary = set(primary)
    if not primary:
        return Pattern(set(), set(), 0.0, "no primary cells", 0.0, True)
    clash = primary & set(fixed_published)
    if clash:
        names = ", ".join(f"{table.cells[i][0]} in {table.cells[i][1]}" for i in sorted(clash))
        raise ProtectionImpossible(f"primary cells were published by an earlier release: {names}")

    values = table.cell_values()
    cells = table.cell_matrix()
    relations, is_eq = table.relation_matrix()
    truth = table.true_vector()
    n_vars = table.n_vars
    candidates = [i for i in range(len(table.cells)) if i not in primary and i not in fixed_published]
    cand_pos = {c: k for k, c in enumerate(candidates)}
    fixed = [i for i in range(len(table.cells)) if i not in primary and i not in cand_pos]
    n_y = len(candidates)
    primaries = sorted(primary)
    n_w = 2 * len(primaries)

    # Deviation bounds per variable: down to the attacker's lower bound, up by at most twice the
    # width. (Tighter bounds could only make the programme hide more, never less: the audit checks.)
    lower = table.variable_lower_bounds()
    d_low = np.where(np.isfinite(lower), lower - truth, -(2 * width + np.abs(truth)))
    d_high = np.full(n_vars, 2 * width)
    atoms_per_cell = np.asarray(cells.sum(axis=1)).ravel()
    big_m = atoms_per_cell * 2 * width + np.abs(values) + width

    blocks_eq, rhs_eq = [], []
    blocks_ub, rhs_ub_low, rhs_ub_high = [], [], []
    eq_rel = relations[is_eq] if relations.shape[0] else None
    ub_rel = relations[~is_eq] if relations.shape[0] else None
    ub_rhs = -(ub_rel @ truth) if ub_rel is not None and ub_rel.shape[0] else None
    c_fixed = cells[fixed] if fixed else None
    c_cand = cells[candidates] if candidates else None
    m_diag = sparse.diags(big_m[candidates]) if candidates else None

    def witness_block(w: int, matrix: sparse.csr_matrix) -> sparse.csr_matrix:
        """`matrix` placed on witness w's variables (the y block stays empty)."""
        left = sparse.csr_matrix((matrix.shape[0], n_y))
        parts = [left]
        for k in range(n_w):
            parts.append(matrix if k == w else sparse.csr_matrix((matrix.shape[0], n_vars)))
        return sparse.hstack(parts, format="csr")

    for w in range(n_w):
        if eq_rel is not None and eq_rel.shape[0]:
            blocks_eq.append(witness_block(w, eq_rel))
            rhs_eq.append(np.zeros(eq_rel.shape[0]))
        if ub_rel is not None and ub_rel.shape[0]:
            blocks_ub.append(witness_block(w, ub_rel))
            rhs_ub_low.append(np.full(ub_rel.shape[0], -np.inf))
            rhs_ub_high.append(ub_rhs)
        if c_fixed is not None:
            blocks_eq.append(witness_block(w, c_fixed))
            rhs_eq.append(np.zeros(c_fixed.shape[0]))
        if c_cand is not None:
            # -M y <= C d <= M y, as  C d - M y <= 0  and  C d + M y >= 0
            dev = witness_block(w, c_cand)
            y_part = sparse.hstack([m_diag, sparse.csr_matrix((n_y, n_w * n_vars))], format="csr")
            blocks_ub.append(dev - y_part)
            rhs_ub_low.append(np.full(n_y, -np.inf))
            rhs_ub_high.append(np.zeros(n_y))
            blocks_ub.append(dev + y_part)
            rhs_ub_low.append(np.zeros(n_y))
            rhs_ub_high.append(np.full(n_y, np.inf))
    for k, p in enumerate(primaries):
        row = cells[p]
        up = witness_block(2 * k, row)
        down = witness_block(2 * k + 1, row)
        blocks_ub.append(up - down)  # p(witness up) - p(witness down) >= width
        rhs_ub_low.append(np.array([float(width)]))
        rhs_ub_high.append(np.array([np.inf]))

    constraints = []
    if blocks_eq:
        a_eq = sparse.vstack(blocks_eq, format="csr")
        b_eq = np.concatenate(rhs_eq)
        constraints.append(LinearConstraint(a_eq, b_eq, b_eq))
    a_ub = sparse.vstack(blocks_ub, format="csr")
    constraints.append(LinearConstraint(a_ub, np.concatenate(rhs_ub_low), np.concatenate(rhs_ub_high)))

    cost_y = np.abs(values[candidates]) + CELL_CHARGE
    for c in reuse:
        if c in cand_pos:
            cost_y[cand_pos[c]] = np.abs(values[c]) * REUSE_FACTOR + CELL_CHARGE * REUSE_FACTOR
    cost = np.concatenate([cost_y, np.zeros(n_w * n_vars)])
    integrality = np.concatenate([np.ones(n_y), np.zeros(n_w * n_vars)])
    lb = np.concatenate([np.zeros(n_y), np.tile(d_low, n_w)])
    ub = np.concatenate([np.ones(n_y), np.tile(d_high, n_w)])
    result = milp(
        cost,
        integrality=integrality,
        bounds=Bounds(lb, ub),
        constraints=constraints,
        options={"time_limit": float(time_limit), "disp": False, "mip_rel_gap": 1e-6},
    )
    seconds = time.perf_counter() - started
    if result.x is None:
        names = ", ".join(f"{table.cells[i][0]} in {table.cells[i][1]}" for i in primaries)
        if fixed_published:
            try:
                protect(table, primary, width, time_limit=time_limit)
            except ProtectionImpossible:
                pass
            else:
                raise ProtectionImpossible(
                    f"no suppression pattern protects {names} together with the cells that earlier releases "
                    f"already published ({len(fixed_published)} cells): an earlier release gave away what "
                    "would protect them. Check the earlier releases with `sozialmonitor release audit`; a "
                    "release made before disclosure control must be withdrawn (moved out of the releases "
                    "folder) before new releases can be protected."
                ) from None
        raise ProtectionImpossible(f"no suppression pattern protects {names}: {result.message}")
    chosen = {candidates[k] for k in range(n_y) if result.x[k] > 0.5}
    return Pattern(
        suppressed=primary | chosen,
        secondary=chosen,
        objective=float(sum(abs(values[c]) for c in chosen)),
        status=result.message,
        seconds=seconds,
        optimal=result.status == 0,
    )
