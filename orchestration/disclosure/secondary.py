"""Secondary suppression per linked table, by one of two methods (`METHODS`, var
disclosure_secondary_method), both verified with exact integer bounds and mended:

- `incremental` (the default; `incremental.py`): one small linear programme per withheld cell that
  still lacks protection, in a fixed order, each finding the cheapest *witness* for that cell and
  withholding what it moves. Its cost grows with the number of primary cells times one table, so
  it reaches the Stadtviertel of every indicator; it hides a few per cent more persons than the
  least-cost pattern.
- `milp`: the least-cost pattern as one mixed-integer programme (HiGHS), below. Its size grows with
  primary cells × measures × atoms; on large tables it ends at the time limit, and the pattern then
  depends on how far the solver got.

The mixed-integer programme contains *witness tables*: tables that satisfy everything an attacker knows (the
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

import functools
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from .audit import intervals, shortfall
from .incremental import Infeasible, protect_incremental, zeros_and_kept
from .linked import COMPLETE, AttackerModel, LinkedTable

CELL_CHARGE = 0.01  # per suppressed cell, on top of the persons it hides
REUSE_FACTOR = 0.001  # a cell suppressed by an earlier release costs this share of its value
METHODS = ("incremental", "milp")


class PatternMemo(Protocol):
    """Patterns already chosen, by the fingerprint of everything the choice depends on: a rerun, or
    a run that adds a Stichtag, solves only the linked tables whose inputs changed."""

    def get(self, key: str) -> list[int] | None: ...

    def put(self, key: str, secondary: list[int]) -> None: ...


@functools.cache
def _code_fingerprint() -> str:
    """The code and solver versions a pattern depends on: a change to either solves afresh. Read
    once per process, not once per linked table."""
    import highspy
    import scipy

    digest = hashlib.sha256(
        f"scipy {scipy.__version__} highspy {highspy.HIGHS_VERSION_MAJOR}."
        f"{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}".encode()
    )
    for name in ("secondary.py", "incremental.py", "audit.py", "linked.py"):
        digest.update((Path(__file__).with_name(name)).read_bytes())
    return digest.hexdigest()


def fingerprint(
    table: LinkedTable,
    primary: set[int],
    width: float,
    fixed_published: set[int],
    reuse: set[int],
    time_limit: float,
    model: AttackerModel,
    method: str = "incremental",
) -> str:
    """A checksum of everything `protect` decides from: the table (measures, atoms, true values,
    cells and their atoms, relations, lower bounds), the primary, fixed and reused cells, the
    parameters, the attacker model and the code."""
    digest = hashlib.sha256(_code_fingerprint().encode())
    head = {
        "measures": list(table.measures),
        "atoms": list(table.atoms),
        "cells": [list(c) for c in table.cells],
        "relations": [[sorted(r.coefficients.items()), r.sense] for r in table.relations],
        "primary": sorted(primary),
        "fixed": sorted(fixed_published),
        "reuse": sorted(reuse),
        "width": float(width),
        "time_limit": float(time_limit) if method == "milp" else None,  # the incremental method has none
        "model": asdict(model),
        "method": method,
    }
    digest.update(json.dumps(head, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(table.atom_values, dtype=float).tobytes())
    digest.update(np.ascontiguousarray(table.lower_bounds, dtype=float).tobytes())
    for atoms in table.cell_atoms:
        digest.update(np.asarray(atoms, dtype=np.int64).tobytes() + b"|")
    return digest.hexdigest()


class ProtectionImpossible(Exception):
    """No pattern protects the primary cells (e.g. an earlier release already published the cells
    a protection would need). The message names the cells."""


class BlockedByFixedCells(ProtectionImpossible):
    """A pattern would exist but for the cells that must stay published (`fixed_published`)."""

    def __init__(self, message: str, names: str) -> None:
        super().__init__(message)
        self.names = names


@dataclass
class Pattern:
    suppressed: set[int]
    secondary: set[int]
    objective: float
    status: str
    seconds: float
    optimal: bool
    rounds: int = 1
    # whole-number tables proving the withheld cells (variables changed, by how much; the
    # incremental method's), for the release audit to try after the last release's; none from the memo or `milp`
    proofs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    from_memo: bool = False  # taken from the memo, not solved now


@dataclass
class Requirement:
    """What the programme guarantees for one withheld cell: 'upper' (one witness at least the width
    above the truth) or 'sliding' (two witnesses at least the width apart); `integer`: the witnesses
    are whole numbers."""

    kind: str
    integer: bool = False


def _given_away(names: str, published: int) -> BlockedByFixedCells:
    """The refusal when the cells would be protectable but for what earlier releases published."""
    return BlockedByFixedCells(
        f"no suppression pattern protects {names} together with the cells that earlier releases "
        f"already published ({published} cells): an earlier release gave away what "
        "would protect them. Check the earlier releases with `sozialmonitor release audit`; a "
        "release made before disclosure control must be withdrawn (moved out of the releases "
        "folder) before new releases can be protected.",
        names,
    )


def _refusal(names: str, fixed_published, detail: str, without_fixed, fails) -> ProtectionImpossible:
    """Why no pattern protects `names`: the cells that must stay published block it when the same
    solve (`without_fixed`, raising `fails` when infeasible) succeeds without them; else `detail`."""
    if fixed_published:
        try:
            without_fixed()
        except fails:
            pass
        else:
            return _given_away(names, len(fixed_published))
    return ProtectionImpossible(f"no suppression pattern protects {names}: {detail}")


def protect(
    table: LinkedTable,
    primary: set[int],
    width: float,
    fixed_published: set[int] = frozenset(),
    reuse: set[int] = frozenset(),
    time_limit: float = 60.0,
    model: AttackerModel = COMPLETE,
    max_rounds: int = 8,
    memo: PatternMemo | None = None,
    method: str = "incremental",
) -> Pattern:
    """Choose the secondary cells that protect every cell in `primary` (indices into table.cells)
    against the attacker `model`, verified with exact bounds and mended until every withheld cell
    meets its requirement. With a `memo`, a table whose inputs were protected before gets the same
    pattern without solving (the same inputs give the same pattern, whatever a time limit did)."""
    started = time.perf_counter()
    primary = set(primary)
    if not primary:
        return Pattern(set(), set(), 0.0, "no primary cells", 0.0, True)
    key = None
    if memo is not None:
        key = fingerprint(table, primary, width, set(fixed_published), set(reuse), time_limit, model, method)
        known = memo.get(key)
        if known is not None:
            secondary = set(known)
            values = table.cell_values()
            return Pattern(
                primary | secondary,
                secondary,
                float(sum(abs(values[c]) for c in secondary)),
                "memo",
                time.perf_counter() - started,
                True,
                rounds=0,
                from_memo=True,
            )
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
    # Every cell published by an earlier release, withheld by one, primary or a zero: the pattern
    # can only be the earlier one. The incremental method keeps every cell an earlier release
    # withheld and withholds no published cell, so it returns exactly `forced` when that protects
    # (its witnesses then only prove it). That it protects this table, with these primary cells,
    # was proven when a run chose it (the key: the table, the primary and the withheld cells, not
    # which release fixed them): a Stichtag published before and again beside a new one costs no
    # programme.
    forced = _forced(values, counts, primary, fixed_published, reuse, model) if method == "incremental" else None
    if (
        memo is not None
        and forced is not None
        and memo.get(_proven_key(table, primary, forced, width, model)) is not None  # ([]: no secondary)
    ):
        secondary = forced - primary
        objective = float(sum(abs(values[c]) for c in secondary))
        memo.put(key, sorted(secondary))
        return Pattern(
            forced, secondary, objective, "memo: the earlier pattern", time.perf_counter() - started, True, rounds=0,
            from_memo=True,
        )  # fmt: skip
    if method == "incremental":
        pattern = _incremental(table, primary, width, set(fixed_published), set(reuse), model, max_rounds)
    elif method == "milp":
        pattern = _exact(table, primary, width, fixed_published, reuse, time_limit, model, max_rounds)
    else:
        raise ValueError(f"secondary suppression method must be one of {METHODS}, not {method!r}")
    pattern.secondary = pattern.suppressed - primary
    pattern.objective = float(sum(abs(values[c]) for c in pattern.secondary))
    pattern.seconds = time.perf_counter() - started
    if memo is not None:
        memo.put(key, sorted(pattern.secondary))
        if method == "incremental":  # this withheld set protects this table: proven for the runs to come
            suppressed = primary | pattern.secondary
            memo.put(_proven_key(table, primary, suppressed, width, model), sorted(pattern.secondary))
    return pattern


def _forced(
    values: np.ndarray,
    counts: np.ndarray,
    primary: set[int],
    fixed_published: set[int],
    reuse: set[int],
    model: AttackerModel,
) -> set[int] | None:
    """The withheld cells when the incremental method has no choice (None when it has one): every
    cell is primary, fixed as published, a zero (published, never moved) or withheld by an earlier
    release (kept withheld); then the pattern is the primary and the kept cells. The zeros and the
    kept cells as the method itself finds them (`incremental.zeros_and_kept`)."""
    zeros, kept = zeros_and_kept(values, counts, primary, fixed_published, reuse, model)
    free = set(range(len(values))) - primary - kept - set(fixed_published) - zeros
    return None if free else primary | kept


def _proven_key(table: LinkedTable, primary: set[int], suppressed: set[int], width: float, model: AttackerModel) -> str:
    """The memo's key for "withholding `suppressed` protects `primary` in `table`" (an entry of
    its own, apart from the patterns' keys: method `proven`)."""
    return fingerprint(table, primary, width, set(), set(suppressed), 0.0, model, method="proven")


def _incremental(
    table: LinkedTable,
    primary: set[int],
    width: float,
    fixed_published: set[int],
    reuse: set[int],
    model: AttackerModel,
    max_rounds: int,
) -> Pattern:
    """The incremental method (`incremental.py`): one witness programme per cell that lacks one."""
    try:
        found = protect_incremental(
            table, primary, width, fixed_published, reuse, model, max_rounds, CELL_CHARGE, REUSE_FACTOR
        )
    except Infeasible as exc:
        names = ", ".join(f"{table.cells[i][0]} in {table.cells[i][1]}" for i in sorted(primary)[:5])
        raise _refusal(
            names, fixed_published, str(exc),
            lambda: protect_incremental(table, primary, width, set(), set(), model, max_rounds), Infeasible,
        ) from None  # fmt: skip
    return Pattern(
        suppressed=found.suppressed,
        secondary=found.suppressed - primary,
        objective=0.0,
        status=f"incremental: {found.programmes} programmes, {found.integer_programmes} whole-number "
        f"({found.seconds_lp:.2f} s), {found.audited} cells audited ({found.seconds_audit:.2f} s)",
        seconds=0.0,
        optimal=False,
        rounds=found.audit_rounds,
        proofs=found.proofs,
    )


def _exact(
    table: LinkedTable,
    primary: set[int],
    width: float,
    fixed_published: set[int],
    reuse: set[int],
    time_limit: float,
    model: AttackerModel,
    max_rounds: int,
) -> Pattern:
    """The least-cost pattern of one mixed-integer programme, mended until the audit passes."""
    values = table.cell_values()
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

    eq_rel = relations[is_eq] if relations.shape[0] else None
    ub_rel = relations[~is_eq] if relations.shape[0] else None
    ub_rhs = -(ub_rel @ truth) if ub_rel is not None and ub_rel.shape[0] else None
    c_fixed = cells[fixed] if fixed else None
    c_cand = cells[candidates] if candidates else None
    m_diag = sparse.diags(big_m[candidates]) if candidates else None
    floored_required = [c for c in sorted(required) if floor > 0 and counts[c]]
    floored_cand = [k for k, c in enumerate(candidates) if floor > 0 and counts[c]]

    def on_witness(matrix: sparse.spmatrix, w: int) -> sparse.csr_matrix:
        """`matrix` placed on witness w's variables (no y part)."""
        matrix = sparse.csr_matrix(matrix)
        return sparse.hstack(
            [
                sparse.csr_matrix((matrix.shape[0], n_y + w * n_vars)),
                matrix,
                sparse.csr_matrix((matrix.shape[0], (n_w - w - 1) * n_vars)),
            ],
            format="csr",
        )

    def every_witness(x_part: list, y_part: list) -> sparse.csr_matrix:
        """The same rows for every witness table, witness by witness: the y block repeated, the x
        block on each witness's own variables (one Kronecker product instead of n_w stacks: the
        matrix grows with n_w², building it block by block cost more than solving)."""
        x_rows = sparse.vstack(x_part, format="csr")
        y_rows = sparse.vstack(
            [y if y is not None else sparse.csr_matrix((x.shape[0], n_y)) for x, y in zip(x_part, y_part, strict=True)],
            format="csr",
        )
        x_block = sparse.kron(sparse.identity(n_w, format="csr"), x_rows, format="csr")
        return sparse.hstack([sparse.vstack([y_rows] * n_w, format="csr"), x_block], format="csr")

    eq_x, eq_rhs1 = [], []
    ub_x, ub_y, ub_low1, ub_high1 = [], [], [], []
    if eq_rel is not None and eq_rel.shape[0]:
        eq_x.append(eq_rel)
        eq_rhs1.append(np.zeros(eq_rel.shape[0]))
    if ub_rel is not None and ub_rel.shape[0]:
        ub_x.append(ub_rel)
        ub_y.append(None)
        ub_low1.append(np.full(ub_rel.shape[0], -np.inf))
        ub_high1.append(ub_rhs)
    if c_fixed is not None:
        eq_x.append(c_fixed)
        eq_rhs1.append(np.zeros(c_fixed.shape[0]))
    if c_cand is not None:
        # -M y <= C d <= M y, as  C d - M y <= 0  and  C d + M y >= 0
        ub_x += [c_cand, c_cand]
        ub_y += [-m_diag, m_diag]
        ub_low1 += [np.full(n_y, -np.inf), np.zeros(n_y)]
        ub_high1 += [np.zeros(n_y), np.full(n_y, np.inf)]
    if floored_required:
        # a withheld count stays at or above the floor in every witness: C d >= floor - v
        ub_x.append(cells[floored_required])
        ub_y.append(None)
        ub_low1.append(floor - values[floored_required])
        ub_high1.append(np.full(len(floored_required), np.inf))
    if floored_cand:
        # ... and so does a candidate once it is withheld: C d + (v - floor) y >= 0
        rows = [candidates[k] for k in floored_cand]
        ub_x.append(cells[rows])
        ub_y.append(
            sparse.csr_matrix(
                (values[rows] - floor, (np.arange(len(rows)), np.asarray(floored_cand))), shape=(len(rows), n_y)
            )
        )
        ub_low1.append(np.zeros(len(rows)))
        ub_high1.append(np.full(len(rows), np.inf))
    blocks_eq, rhs_eq = [], []
    blocks_ub, rhs_ub_low, rhs_ub_high = [], [], []
    if eq_x:
        blocks_eq.append(every_witness(eq_x, [None] * len(eq_x)))
        rhs_eq.append(np.tile(np.concatenate(eq_rhs1), n_w))
    if ub_x:
        blocks_ub.append(every_witness(ub_x, ub_y))
        rhs_ub_low.append(np.tile(np.concatenate(ub_low1), n_w))
        rhs_ub_high.append(np.tile(np.concatenate(ub_high1), n_w))
    for up, down, c in demands:
        row = cells[c]
        demand = on_witness(row, up) if down is None else on_witness(row, up) - on_witness(row, down)
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
        raise _refusal(
            names, fixed_published, result.message,
            lambda: _solve(table, required, width, frozenset(), frozenset(), time_limit, model), ProtectionImpossible,
        )  # fmt: skip
    chosen = {candidates[k] for k in range(n_y) if result.x[k] > 0.5}
    return Pattern(
        suppressed=set(required) | chosen,
        secondary=chosen,
        objective=float(sum(abs(values[c]) for c in chosen)),
        status=result.message,
        seconds=seconds,
        optimal=result.status == 0,
    )
