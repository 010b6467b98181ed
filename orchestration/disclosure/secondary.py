"""Secondary suppression at least cost, as one mixed-integer programme per linked table (HiGHS).

The programme contains *witness tables*: tables that satisfy everything an attacker knows (the
published cells keep their values, atoms stay at or above their lower bound, the relations between
measures hold, every withheld count is at least 1 because zeros are always published) and that
differ from the truth only in withheld cells. For every primary cell p one witness must carry p at
least the protection width *above* its true value (upper protection: nobody can show that p is
below the minimum count, and since a withheld count is at least 1, the interval is then at least
the width wide too). A witness exists exactly when the attacker's bound allows it, so the pattern
is protected by construction, and the cheapest one by the objective: the persons hidden (a cell's
value, plus a small charge per cell so that of two equally cheap patterns the one with fewer cells
wins).

The witnesses are continuous, the attacker's arithmetic is not: an attacker who uses that counts
are whole numbers can be sharper than the linear relaxation. So every pattern is verified with
exact integer bounds (`audit.intervals`), and mended until it holds: a primary cell whose integer
bound falls short gets whole-number witnesses, a secondary cell narrowed below the protection width
is made a protected cell of its own (withheld, with two witnesses at least the width apart), and
the programme is solved again.

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

from .audit import intervals, shortfall
from .linked import COMPLETE, AttackerModel, LinkedTable

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
    rounds: int = 1


@dataclass
class Requirement:
    """What the programme guarantees for one withheld cell: 'upper' (one witness at least the width
    above the truth) or 'sliding' (two witnesses at least the width apart); `integer`: the witnesses
    are whole numbers."""

    kind: str
    integer: bool = False


def protect(
    table: LinkedTable,
    primary: set[int],
    width: float,
    fixed_published: set[int] = frozenset(),
    reuse: set[int] = frozenset(),
    time_limit: float = 60.0,
    model: AttackerModel = COMPLETE,
    max_rounds: int = 8,
) -> Pattern:
    """Choose the secondary cells that protect every cell in `primary` (indices into table.cells)
    against the attacker `model`, verified with exact bounds and mended until every withheld cell
    meets its requirement."""
    started = time.perf_counter()
    primary = set(primary)
    if not primary:
        return Pattern(set(), set(), 0.0, "no primary cells", 0.0, True)
    clash = primary & set(fixed_published)
    if clash:
        names = ", ".join(f"{table.cells[i][0]} in {table.cells[i][1]}" for i in sorted(clash))
        raise ProtectionImpossible(f"primary cells were published by an earlier release: {names}")
    values = table.cell_values()
    counts = table.count_cells()
    below = [i for i in sorted(primary) if counts[i] and values[i] < model.withheld_at_least]
    if below:
        names = ", ".join(f"{table.cells[i][0]} in {table.cells[i][1]}" for i in below)
        raise ValueError(
            f"primary cells below {model.withheld_at_least:g} ({names}): zeros are published, so the "
            "release says a withheld count is at least 1; a zero must not be a primary cell"
        )
    kind = "upper" if model.upper_protection else "sliding"
    required = {p: Requirement(kind) for p in primary}
    rounds = 0
    while True:
        rounds += 1
        pattern = _solve(table, required, width, fixed_published, reuse, time_limit, model)
        if not model.verify:
            break
        known = {i: float(values[i]) for i in range(len(table.cells)) if i not in pattern.suppressed}
        short = [
            iv
            for iv in intervals(table, known, sorted(pattern.suppressed), model)
            if shortfall(iv, iv.cell in primary, width, model)
        ]
        if not short:
            break
        if rounds >= max_rounds:
            names = ", ".join(f"{table.cells[iv.cell][0]} in {table.cells[iv.cell][1]}" for iv in short[:5])
            raise ProtectionImpossible(f"the pattern still leaves {names} unprotected after {rounds} rounds")
        for iv in short:
            if iv.cell in required:
                if required[iv.cell].integer:
                    raise ProtectionImpossible(
                        f"{table.cells[iv.cell][0]} in {table.cells[iv.cell][1]}: whole-number witnesses "
                        f"were found, yet the exact bound is [{iv.low:g}, {iv.high:g}] (solver tolerance?)"
                    )
                required[iv.cell].integer = True
            else:
                required[iv.cell] = Requirement("sliding")
    pattern.rounds = rounds
    pattern.secondary = pattern.suppressed - primary
    pattern.objective = float(sum(abs(values[c]) for c in pattern.secondary))
    pattern.seconds = time.perf_counter() - started
    return pattern


def _solve(
    table: LinkedTable,
    required: dict[int, Requirement],
    width: float,
    fixed_published: set[int],
    reuse: set[int],
    time_limit: float,
    model: AttackerModel,
) -> Pattern:
    """One mixed-integer programme: the cheapest set of further cells whose suppression lets every
    cell in `required` have its witnesses."""
    started = time.perf_counter()
    values = table.cell_values()
    cells = table.cell_matrix()
    relations, is_eq = table.relation_matrix()
    truth = table.true_vector()
    n_vars = table.n_vars
    floor = float(model.withheld_at_least)
    counts = table.count_cells()
    # A zero is always published (the release says so), so it is never a candidate.
    candidates = [
        i
        for i in range(len(table.cells))
        if i not in required and i not in fixed_published and not (floor > 0 and counts[i] and values[i] < floor)
    ]
    cand_pos = {c: k for k, c in enumerate(candidates)}
    fixed = [i for i in range(len(table.cells)) if i not in required and i not in cand_pos]
    n_y = len(candidates)
    witnesses: list[tuple[int, bool]] = []  # (cell, integer) per witness table
    demands: list[tuple[int, int | None, int]] = []  # (witness up, witness down or None, cell)
    for c in sorted(required):
        req = required[c]
        witnesses.append((c, req.integer))
        if req.kind == "upper":
            demands.append((len(witnesses) - 1, None, c))
        else:
            witnesses.append((c, req.integer))
            demands.append((len(witnesses) - 2, len(witnesses) - 1, c))
    n_w = len(witnesses)

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
    floored_required = [c for c in sorted(required) if floor > 0 and counts[c]]
    floored_cand = [k for k, c in enumerate(candidates) if floor > 0 and counts[c]]

    def witness_block(w: int, matrix: sparse.csr_matrix, y_part: sparse.csr_matrix | None = None) -> sparse.csr_matrix:
        """`matrix` placed on witness w's variables, `y_part` on the y block."""
        parts = [y_part if y_part is not None else sparse.csr_matrix((matrix.shape[0], n_y))]
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
            blocks_ub.append(witness_block(w, c_cand, -m_diag))
            rhs_ub_low.append(np.full(n_y, -np.inf))
            rhs_ub_high.append(np.zeros(n_y))
            blocks_ub.append(witness_block(w, c_cand, m_diag))
            rhs_ub_low.append(np.zeros(n_y))
            rhs_ub_high.append(np.full(n_y, np.inf))
        if floored_required:
            # a withheld count stays at or above the floor in every witness: C d >= floor - v
            blocks_ub.append(witness_block(w, cells[floored_required]))
            rhs_ub_low.append(floor - values[floored_required])
            rhs_ub_high.append(np.full(len(floored_required), np.inf))
        if floored_cand:
            # ... and so does a candidate once it is withheld: C d + (v - floor) y >= 0
            rows = [candidates[k] for k in floored_cand]
            y_part = sparse.csr_matrix(
                (values[rows] - floor, (np.arange(len(rows)), np.asarray(floored_cand))), shape=(len(rows), n_y)
            )
            blocks_ub.append(witness_block(w, cells[rows], y_part))
            rhs_ub_low.append(np.zeros(len(rows)))
            rhs_ub_high.append(np.full(len(rows), np.inf))
    for up, down, c in demands:
        row = cells[c]
        demand = witness_block(up, row) if down is None else witness_block(up, row) - witness_block(down, row)
        blocks_ub.append(demand)  # up: C d >= width; sliding: C d(up) - C d(down) >= width
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
    integrality = np.concatenate(
        [np.ones(n_y)] + [np.full(n_vars, 1.0 if integer else 0.0) for _c, integer in witnesses]
    )
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
        names = ", ".join(f"{table.cells[i][0]} in {table.cells[i][1]}" for i in sorted(required))
        if fixed_published:
            try:
                _solve(table, required, width, frozenset(), frozenset(), time_limit, model)
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
        suppressed=set(required) | chosen,
        secondary=chosen,
        objective=float(sum(abs(values[c]) for c in chosen)),
        status=result.message,
        seconds=seconds,
        optimal=result.status == 0,
    )
