"""What an attacker can derive: for every withheld cell, the smallest and the largest value that is
consistent with everything published (linear and, where needed, integer programming; HiGHS).

The attacker's knowledge (`AttackerModel`, default COMPLETE) is the linked table's structure
(which atoms make up which area: the geometries are public), the published cells with their values
(of this release and of every earlier one), the lower bound of every atom (no negative counts), the
relations between measures, what the documentation says about withheld cells (zeros are always
published, so a withheld count is at least 1) and that counts are whole numbers. The atoms' true
values are never used to bound a cell; they only serve to check that the truth lies inside the
interval (if it did not, the model itself would be wrong).

Integer bounds: the linear programme gives an outer bound. Where its optimal vertex is integral,
that bound is attained by whole numbers and is exact; otherwise an integer programme is solved for
that bound (within a time limit; when the limit cuts it short, the best whole-number solution
found is used, which can only make the interval look narrower than it is: the safe side for a
protection check).

The release audit needs less than every exact interval: that each cell meets its requirement.
`proven_intervals` proves that with whole-number tables consistent with everything published and
computes exact intervals only where no proof is found."""

from __future__ import annotations

import functools
import itertools
import logging
import math
import os
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from .linked import COMPLETE, AttackerModel, LinkedTable, atom_regions, regions

INTEGER_TOLERANCE = 1e-6
MILP_TIME_LIMIT = 30.0
# `proven_intervals` looks for a whole-number point by branch and bound for at most this many nodes.
INTEGER_NODE_LIMIT = 2000
# HiGHS speaks (its banner, its log) only when this logger is at DEBUG, e.g. for a slow solve:
# logging.getLogger("orchestration.disclosure.solver").setLevel(logging.DEBUG)
SOLVER_LOG = logging.getLogger("orchestration.disclosure.solver")
_first_highs = threading.Lock()
_banner_done = False


@dataclass(frozen=True)
class Interval:
    cell: int
    low: float
    high: float
    value: float
    exact: bool = True  # False: low and high are proven to lie in the interval (`proven_intervals`)

    @property
    def width(self) -> float:
        return self.high - self.low


class ModelInconsistent(Exception):
    pass


def shortfall(iv: Interval, primary: bool, width: float, model: AttackerModel = COMPLETE) -> str | None:
    """Why a withheld cell is not protected, or None. Primary cells need the upper protection (the
    attacker cannot rule out a value `width` above the true one, so cannot show that the count is
    below the minimum) and an interval at least `width` wide; other withheld cells the width only
    (when the model protects every withheld cell)."""
    eps = 1e-6
    if (primary or model.protect_all_withheld) and iv.width < width - eps:
        return f"an attacker narrows it to [{iv.low:g}, {iv.high:g}], narrower than the protection width {width:g}"
    if primary and model.upper_protection and iv.high < iv.value + width - eps:
        return f"its largest derivable value {iv.high:g} is less than {width:g} above the true value"
    return None


def new_highs():
    """A HiGHS instance that says nothing unless SOLVER_LOG is at DEBUG. HiGHS writes its banner
    ("Running HiGHS …") straight to the process's stdout when the first instance is made, before any
    option can be set; it would land in piped CLI output and in logs. So the first instance is made
    with stdout (file descriptor 1) pointed at /dev/null for that moment."""
    global _banner_done
    import highspy

    verbose = SOLVER_LOG.isEnabledFor(logging.DEBUG)
    with _first_highs:
        if verbose or _banner_done:
            h = highspy.Highs()
        else:
            with _stdout_silenced():
                h = highspy.Highs()
        _banner_done = True
    h.setOptionValue("output_flag", verbose)
    return h


def solve(h):
    """Run HiGHS on its model and return the model status. Presolve may report 'unbounded or
    infeasible' without telling which: then it solves once more from scratch, without presolve."""
    import highspy

    h.run()
    status = h.getModelStatus()
    if status in (highspy.HighsModelStatus.kUnboundedOrInfeasible, highspy.HighsModelStatus.kUnknown):
        h.clearSolver()
        h.setOptionValue("presolve", "off")
        h.run()
        h.setOptionValue("presolve", "choose")
        status = h.getModelStatus()
    return status


@contextmanager
def _stdout_silenced():
    """File descriptor 1 to /dev/null (C code writes there, not to sys.stdout), then back."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no stdout to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _flush_c_stdio() -> None:
    """Flush C's stdout buffer while it still points at /dev/null (with a pipe it is block-buffered)."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no C library to ask
        pass


class _WarmLP:
    """One linear programme per linked table, solved for many objectives (the minimum and the maximum
    of every withheld cell): HiGHS keeps the model and starts each solve from the previous optimal
    basis, which is what makes thousands of bounds cheap. The optimum's value does not depend on
    the start (only which optimal vertex is found may)."""

    def __init__(self, n_vars, lower, a_eq, b_eq, a_ub, b_ub):
        import highspy

        self._highspy = highspy
        self.n_vars = n_vars
        h = new_highs()
        h.setOptionValue("threads", 1)
        inf = highspy.kHighsInf
        parts, row_low, row_high = [sparse.csr_matrix((0, n_vars))], [np.zeros(0)], [np.zeros(0)]
        if a_eq is not None:  # equalities: b <= row <= b
            parts.append(a_eq)
            row_low.append(b_eq)
            row_high.append(b_eq)
        if a_ub is not None:  # row <= b
            parts.append(a_ub)
            row_low.append(np.full(a_ub.shape[0], -inf))
            row_high.append(b_ub)
        matrix = sparse.vstack(parts, format="csr")
        row_low, row_high = np.concatenate(row_low), np.concatenate(row_high)
        lp = highspy.HighsLp()
        lp.num_col_ = n_vars
        lp.num_row_ = matrix.shape[0]
        lp.col_cost_ = np.zeros(n_vars)
        lp.col_lower_ = np.where(np.isfinite(lower), lower, -inf).astype(float)
        lp.col_upper_ = np.full(n_vars, inf)
        lp.row_lower_ = np.asarray(row_low, dtype=float)
        lp.row_upper_ = np.asarray(row_high, dtype=float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data.astype(float)
        h.passModel(lp)
        self.h = h
        self._lp = lp
        self._integer = None
        self.columns = np.arange(n_vars, dtype=np.int32)

    def optimum(self, objective: np.ndarray, sign: float) -> tuple[str, float, np.ndarray | None]:
        """('optimal' | 'unbounded' | a reason, the optimum of sign·objective times sign, x)."""
        hs = self._highspy
        h = self.h
        h.changeColsCost(self.n_vars, self.columns, (sign * objective).astype(float))
        status = solve(h)
        if status == hs.HighsModelStatus.kUnbounded:
            return "unbounded", float("nan"), None
        if status != hs.HighsModelStatus.kOptimal:
            return h.modelStatusToString(status), float("nan"), None
        value = sign * h.getInfo().objective_function_value
        return "optimal", value, np.asarray(h.getSolution().col_value)

    def ray(self) -> np.ndarray | None:
        """After a solve that found the programme unbounded: HiGHS's primal ray, a direction in
        which sign·objective falls without end (None when HiGHS has none). Unchecked."""
        _status, has_ray, values = self.h.getPrimalRay()
        return np.asarray(values, dtype=float) if has_ray else None

    def whole_point(self, objective: np.ndarray, sign: float, reach: float) -> np.ndarray | None:
        """A whole-number point whose sign·objective is at most sign·reach (for sign -1: an objective
        of at least `reach`), or None when branch and bound finds none within INTEGER_NODE_LIMIT
        nodes (a count, not a time: the same inputs give the same answer on any machine). The
        integer model is a second HiGHS instance of the same system, made on first use; the search
        stops at the first point that reaches the target."""
        hs = self._highspy
        if self._integer is None:
            h = new_highs()
            h.setOptionValue("threads", 1)
            h.setOptionValue("mip_max_nodes", INTEGER_NODE_LIMIT)
            h.passModel(self._lp)
            h.changeColsIntegrality(
                self.n_vars, self.columns, np.full(self.n_vars, hs.HighsVarType.kInteger, dtype=np.uint8)
            )
            self._integer = h
        h = self._integer
        h.setOptionValue("objective_target", float(sign * reach))
        h.changeColsCost(self.n_vars, self.columns, (sign * objective).astype(float))
        h.clearSolver()
        h.run()
        if h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
            return None
        return np.asarray(h.getSolution().col_value)


class _RegionLP:
    """The attacker's system over one region's variables (`linked.regions`: a Gemeinde's atoms),
    every other variable held at its true value: the rows that touch the region, their right-hand
    sides less what the other variables contribute. Its points, completed with the true values, are
    points of the whole system (each is still checked exactly before it proves anything), and a
    programme over one Gemeinde costs a fraction of one over the whole Kreis or Land. The same
    interface as `_WarmLP`, in the whole table's variables."""

    def __init__(self, prepared: list[tuple], lower: np.ndarray, truth: np.ndarray, columns: np.ndarray) -> None:
        self.truth = truth
        self.columns = columns
        # the rows that touch the region, also for checking a table exactly (`holds`)
        self.system = restricted_system(prepared, lower, truth, columns)
        self._lp: _WarmLP | None = None

    @property
    def lp(self) -> _WarmLP:
        """The region's programme, made when first solved (checking an earlier audit's proofs
        needs only the system). Each `proven_intervals` call has its own regions, on one thread."""
        if self._lp is None:
            s = self.system
            self._lp = _WarmLP(len(self.columns), s.lower, s.a_eq, s.b_eq, s.a_ub, s.b_ub)
        return self._lp

    def holds(self, x: np.ndarray) -> bool:
        """The region's whole-number values `x` (in `columns` order), the other variables at their
        true values, satisfy the whole system exactly: the rows over the region as this programme
        has them (exact: whole numbers), and every other row as the truth does, which must satisfy
        the system (`proven_intervals` checks it)."""
        return self.system.holds(x)

    def completed(self, x: np.ndarray) -> np.ndarray:
        """The whole table of the region's values `x`: every other variable at its true value."""
        out = self.truth.copy()
        out[self.columns] = x
        return out

    def optimum(self, objective: np.ndarray, sign: float) -> tuple[str, float, np.ndarray | None]:
        """As `_WarmLP.optimum`, in the region's variables: `objective` and the point returned are
        over `columns` alone (the other variables do not move, so they add nothing to how far the
        objective goes). Kept in the region's size: a Kreis or a Land pushes thousands of targets,
        and vectors of the whole table would cost its size each time (`completed` makes one)."""
        return self.lp.optimum(objective, sign)

    def whole_point(self, objective: np.ndarray, sign: float, reach: float) -> np.ndarray | None:
        return self.lp.whole_point(objective, sign, reach)

    def unbounded_towards(self, objective: np.ndarray, sign: float) -> bool:
        """Whether the last `optimum` (of `objective`, `sign`), found unbounded, is proven so: HiGHS's
        ray, scaled to whole numbers, is checked exactly against the rows over the region
        (`AttackerSystem.recedes`) and moves sign·objective downwards. A ray zero outside the region
        that recedes over the rows touching the region recedes over the whole system (every other
        row is zero on it), so from any whole-number table the attacker cannot rule out (the truth,
        when it is in whole numbers, as `proven_intervals` checks; any, as for the whole table's
        "unbounded") its whole multiples lead to more: the target has no bound that way. Without a
        ray that checks, the whole table's programme decides."""
        d = whole_ray(self.lp.ray())
        return d is not None and float(sign * objective @ d) < 0 and self.system.recedes(d)


def exact_below(system: AttackerSystem, *more: sparse.spmatrix) -> float:
    """The bound on |x| below which every row's sum of products, in `system` and in the matrices
    `more` (the target cells' rows, which move the bounds), stays below 2**52: whole-number sums
    are then exact in floating point, for `AttackerSystem.holds` and for the cell values moved, also
    of a change x − truth (at most twice as large, so still below 2**53)."""
    matrices = (system.a_eq, system.a_ub, *more)
    weights = [float(abs(m).sum(axis=1).max()) for m in matrices if m is not None and m.shape[0]]
    return 2.0**52 / max([1.0, *weights])


def whole_ray(ray: np.ndarray | None) -> np.ndarray | None:
    """A ray scaled so that its smallest entry (in magnitude) is 1, rounded to whole numbers; None
    for no ray or a zero one. The rounded ray is a candidate only: it must still be checked."""
    if ray is None:
        return None
    moving = np.abs(ray) > 1e-9
    if not moving.any():
        return None
    return np.round(np.where(moving, ray, 0.0) / np.min(np.abs(ray[moving])))


def prepare_restriction(system: AttackerSystem, truth: np.ndarray) -> list[tuple]:
    """What `restricted_system` cuts each region's system from, computed once per table: the
    equalities and the inequalities by column, what the true values give each row, and the
    right-hand sides."""
    return [
        (None, None, None) if matrix is None else (matrix.tocsc(), matrix @ truth, rhs)
        for matrix, rhs in ((system.a_eq, system.b_eq), (system.a_ub, system.b_ub))
    ]


def restricted_system(
    prepared: list[tuple], lower: np.ndarray, truth: np.ndarray, columns: np.ndarray
) -> AttackerSystem:
    """The attacker's system over `columns` alone (a region's variables, `linked.regions`), every
    other variable held at its true value: the rows that touch the columns, their right-hand sides
    less what the other variables contribute (exact: whole numbers, `AttackerSystem.whole`).
    `prepared`: `prepare_restriction` of the whole system. Values over the columns satisfy it iff,
    completed with the true values, they satisfy every row that touches the columns; a row that does
    not holds as the truth does."""
    parts: list[sparse.csr_matrix | np.ndarray | None] = []
    for by_column, at_truth, rhs in prepared:
        touched, sub = rows_over(by_column, columns) if by_column is not None else ([], None)
        if not len(touched):  # no row of this kind, or none over the columns
            parts += [None, None]
            continue
        rest = at_truth[touched] - sub @ truth[columns]  # what the other variables contribute
        parts += [sub, rhs[touched] - rest]
    return AttackerSystem(*parts, lower[columns])


def rows_over(by_column: sparse.csc_matrix, columns: np.ndarray) -> tuple[np.ndarray, sparse.csr_matrix]:
    """The rows of a matrix (kept by column) with an entry in `columns` (ascending), and those rows
    over `columns` alone (in `columns` order). Cut from the columns' own entries: a Gemeinde's rows
    of a Land's system cost that Gemeinde's entries, not a pass over every row of the Land."""
    sub = by_column[:, columns]
    touched = np.unique(sub.indices)
    local = sparse.csc_matrix(
        (sub.data, np.searchsorted(touched, sub.indices), sub.indptr), shape=(len(touched), len(columns))
    )
    return touched, local.tocsr()


def whole_numbers(x: np.ndarray) -> bool:
    """Every entry a finite whole number, exactly."""
    return bool(np.all(np.isfinite(x)) and np.array_equal(x, np.round(x)))


def _integral(x: np.ndarray) -> bool:
    return bool(np.all(np.abs(x - np.round(x)) <= INTEGER_TOLERANCE))


@dataclass
class AttackerSystem:
    """What the attacker knows, as a linear system over the atom values x: a_eq x = b_eq (published
    cells, equality relations), a_ub x <= b_ub (inequality relations, withheld counts at least the
    floor), x >= lower."""

    a_eq: sparse.csr_matrix | None
    b_eq: np.ndarray | None
    a_ub: sparse.csr_matrix | None
    b_ub: np.ndarray | None
    lower: np.ndarray

    def whole(self) -> bool:
        """Every number in the system is a whole number: then a whole-number point can be checked
        exactly in floating point (sums and products of integers below 2**53 are exact)."""
        parts = [self.lower[np.isfinite(self.lower)]]
        for matrix, rhs in ((self.a_eq, self.b_eq), (self.a_ub, self.b_ub)):
            if matrix is not None:
                parts += [np.asarray(matrix.data), rhs]
        return all(bool(np.all(np.isfinite(a) & (a == np.round(a)) & (np.abs(a) < 2.0**40))) for a in parts)

    def holds(self, x: np.ndarray) -> bool:
        """x satisfies every constraint exactly (for whole-number x and a whole system, while every
        row's sum of products stays below 2**53). Not a number or an infinite one never holds
        (every comparison with NaN is false)."""
        if not np.all(np.isfinite(x)) or np.any(x < self.lower):
            return False
        if self.a_eq is not None and np.any(self.a_eq @ x != self.b_eq):
            return False
        return not (self.a_ub is not None and np.any(self.a_ub @ x > self.b_ub))

    def recedes(self, d: np.ndarray) -> bool:
        """Whole-number d is a direction the system holds along, exactly: with x, every x + m·d
        (m = 1, 2, …) holds too (a_eq d = 0, a_ub d <= 0, and d >= 0 wherever x has a lower bound).
        For a whole system and whole-number d below 2**12, checked in exact floating point."""
        if not np.all((d == np.round(d)) & (np.abs(d) < 2.0**12)):
            return False
        if np.any(d[np.isfinite(self.lower)] < 0):
            return False
        for matrix in (self.a_eq, self.a_ub):  # every row's sum of products below 2**53: exact
            if matrix is not None and np.any(abs(matrix) @ np.abs(d) >= 2.0**53):
                return False
        if self.a_eq is not None and np.any(self.a_eq @ d != 0):
            return False
        return not (self.a_ub is not None and np.any(self.a_ub @ d > 0))


def attacker_system(
    table: LinkedTable, known: dict[int, float], model: AttackerModel, withheld: list[int] | None
) -> AttackerSystem:
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
    ub_parts, ub_rhs = [], []
    if relations.shape[0] and (~is_eq).any():
        ub_parts.append(relations[~is_eq])
        ub_rhs.append(np.zeros(int((~is_eq).sum())))
    if model.withheld_at_least > 0:
        hidden = [i for i in range(len(table.cells)) if i not in known] if withheld is None else list(withheld)
        counts = table.count_cells()
        hidden = [i for i in hidden if counts[i]]
        if hidden:  # sum of the cell's atoms >= floor, as -sum <= -floor
            ub_parts.append(-cells[hidden])
            ub_rhs.append(np.full(len(hidden), -float(model.withheld_at_least)))
    return AttackerSystem(
        a_eq=sparse.vstack(eq_parts, format="csr") if eq_parts else None,
        b_eq=np.concatenate(eq_rhs) if eq_rhs else None,
        a_ub=sparse.vstack(ub_parts, format="csr") if ub_parts else None,
        b_ub=np.concatenate(ub_rhs) if ub_rhs else None,
        lower=table.variable_lower_bounds(),
    )


def intervals(
    table: LinkedTable,
    known: dict[int, float],
    targets: list[int],
    model: AttackerModel = COMPLETE,
    withheld: list[int] | None = None,
) -> list[Interval]:
    """The attacker interval of every cell in `targets`, given the cells in `known` (index → value).
    `withheld`: the cells the attacker sees withheld (default: every cell not in `known`); count
    cells among them are at least `model.withheld_at_least`."""
    if not targets:
        return []
    return _exact_intervals(table, attacker_system(table, known, model, withheld), targets, model)


def _exact_intervals(
    table: LinkedTable, system: AttackerSystem, targets: list[int], model: AttackerModel, lp: _WarmLP | None = None
) -> list[Interval]:
    """`intervals` on the attacker's system, in `lp` when one is warm already (the optimum of a
    linear programme does not depend on where the solver starts)."""
    cells = table.cell_matrix()
    a_eq, b_eq, a_ub, b_ub, lower = system.a_eq, system.b_eq, system.a_ub, system.b_ub, system.lower
    truth_cells = table.cell_values()
    integer_constraints = []
    if a_eq is not None:
        integer_constraints.append(LinearConstraint(a_eq, b_eq, b_eq))
    if a_ub is not None:
        integer_constraints.append(LinearConstraint(a_ub, -np.inf, b_ub))

    lp = lp or _WarmLP(table.n_vars, lower, a_eq, b_eq, a_ub, b_ub)

    def bound(objective: np.ndarray, sign: float) -> float:
        """sign 1: the minimum of the objective; -1: the maximum."""
        status, value, x = lp.optimum(objective, sign)
        if status == "unbounded":  # the attacker learns no bound on this side
            return -np.inf if sign > 0 else np.inf
        if status != "optimal":
            raise ModelInconsistent(f"cannot be solved ({status})")
        if not model.integral:
            return value
        if not _integral(x):
            found = milp(
                sign * objective,
                integrality=np.ones(table.n_vars),
                bounds=Bounds(np.where(np.isfinite(lower), lower, -np.inf), np.inf),
                constraints=integer_constraints,
                options={"time_limit": MILP_TIME_LIMIT, "disp": False},
            )
            if found.x is not None:
                value = sign * found.fun  # optimal, or the best whole-number solution in time
            elif found.status != 1:  # no whole-number solution at all: the model is wrong
                raise ModelInconsistent(f"has no whole-number solution ({found.message})")
        # whole numbers: the bound of a sum of integers is an integer
        return math.ceil(value - INTEGER_TOLERANCE) if sign > 0 else math.floor(value + INTEGER_TOLERANCE)

    out = []
    for target in targets:
        objective = np.asarray(cells[target].todense()).ravel()
        try:
            low, high = bound(objective, 1.0), bound(objective, -1.0)
        except ModelInconsistent as exc:
            raise ModelInconsistent(
                f"the audit model for {table.cells[target]} {exc}: "
                "the published cells contradict each other, the relations or what is said about withheld cells"
            ) from None
        value = float(truth_cells[target])
        if value < low - 1e-6 or value > high + 1e-6:
            raise ModelInconsistent(
                f"the true value of {table.cells[target]} ({value:g}) lies outside the derived interval "
                f"[{low:g}, {high:g}]: the audit model does not describe the published tables"
            )
        out.append(Interval(target, float(low), float(high), value))
    return out


# A target over several Gemeinden (a Kreis's or a Land's total) is pushed within this many of them
# (the first by number) before the whole table's programme: a table of one Gemeinde moves the total by
# that Gemeinde's share, which often proves it (or its ray, that it is unbounded). A count, so that
# the same inputs give the same proofs.
REGIONS_TRIED = 4


def row_within(touched: np.ndarray, rows: sparse.csr_matrix, k: int) -> np.ndarray:
    """Row k of a matrix kept as its non-empty rows alone (`touched`, sorted: their numbers; `rows`:
    those rows), dense; zeros when row k is empty. The audit's region programmes keep their
    targets' rows so, over the region's variables."""
    at = int(np.searchsorted(touched, k))
    if at < len(touched) and touched[at] == k:
        return np.asarray(rows[at].todense()).ravel()
    return np.zeros(rows.shape[1])


def proven_intervals(
    table: LinkedTable,
    known: dict[int, float],
    targets: list[int],
    primary: set[int],
    width: float,
    model: AttackerModel = COMPLETE,
    withheld: list[int] | None = None,
    counts: Counter | None = None,
    hints: Iterable[tuple[np.ndarray, np.ndarray]] = (),
    proofs: list[tuple[np.ndarray, np.ndarray]] | None = None,
    fallback_hints: Iterable[tuple[np.ndarray, np.ndarray]] = (),
) -> list[Interval]:
    """Whether every cell in `targets` meets its requirement (`shortfall`) against the attacker, by
    proof rather than by computing its exact interval.

    The proof of a cell is a pair of whole-number tables that satisfy everything the attacker knows
    (checked exactly, see `AttackerSystem.holds`) and in which the cell lies at least the protection
    width apart (for a primary cell: one of them at least the width above the true value; the true
    table itself always counts). The attacker cannot rule out either table, so its interval holds
    both values. One table proves every cell it moves far enough: the tables come from linear
    programmes (the maximum, then the minimum, of a cell that is not yet proven, warm-started in
    one HiGHS model), and a vertex that is not whole-numbered is replaced by a whole-number point
    of the integer programme that reaches the same requirement. So a release with thousands of
    withheld cells needs a few hundred programmes instead of two per cell and an integer programme
    per fractional vertex. In a Kreis or a Land a cell within one Gemeinde is pushed first within
    that Gemeinde, every other atom at its true value (`_RegionLP`: a table of the whole system,
    checked like any other); only what that leaves unproven is pushed in the whole table.

    Returned per target: an Interval whose bounds are *proven* (the attacker's interval holds
    them; `exact` False), or the exact interval of `intervals` where no proof was found (then it
    decides, and its message names the true bounds). The system must be whole-numbered and the
    model integral; otherwise every cell gets its exact interval. `counts` adds up the programmes:
    "linear", "integer" and "exact" (cells whose exact interval was computed), and
    "within_gemeinde": the whole-number tables found within one Gemeinde (each checked against the
    whole system) that were kept.

    `hints`: candidate tables to try before any programme, each as the variables it changes and by
    how much against the true values (`proofs` of an earlier audit of the same table). Each is
    checked like a table a programme found, against this system, so a hint that no longer holds (the
    data or what is published changed, or the hint is wrong) proves nothing and costs one check;
    counted as "hints" and "hints_taken" (of them "hints_within_gemeinde"). `proofs`: gets every
    table that moved a bound, in the same form, in the order found (a hint that still proves
    something among them). `fallback_hints`: more candidates, checked the same way after `hints`,
    each only while a target still lacks its proof (the suppression pattern's own tables, many more
    than a release needs)."""
    if not targets:
        return []
    counts = Counter() if counts is None else counts
    system = attacker_system(table, known, model, withheld)
    if not (model.integral and system.whole()):
        counts["exact"] += len(targets)
        return _exact_intervals(table, system, targets, model)
    truth = table.true_vector()
    if not system.holds(truth):
        raise ModelInconsistent(
            f"the true values of {table.cells[targets[0]]} and its linked cells do not satisfy what is "
            "published: the audit model does not describe the published tables, or the published cells "
            "contradict each other, the relations or what is said about withheld cells"
        )
    rows = table.cell_matrix()[targets]
    value = rows @ truth
    low, high = value.copy(), value.copy()
    upper = {k for k, c in enumerate(targets) if c in primary and model.upper_protection}
    spans = {k for k, c in enumerate(targets) if c in primary or model.protect_all_withheld}
    eps = 1e-6

    upper_at = np.array(sorted(upper), dtype=np.int64)
    spans_at = np.array(sorted(spans), dtype=np.int64)

    def all_met() -> bool:
        """`met` for every target at once."""
        return bool(
            np.all(high[upper_at] >= value[upper_at] + width - eps)
            and np.all(high[spans_at] - low[spans_at] >= width - eps)
        )

    def met(k: int) -> bool:
        if k in upper and high[k] < value[k] + width - eps:
            return False
        return not (k in spans and high[k] - low[k] < width - eps)

    @functools.cache
    def whole_table() -> _WarmLP:  # made when first needed
        return _WarmLP(table.n_vars, system.lower, system.a_eq, system.b_eq, system.a_ub, system.b_ub)

    # A target within one Gemeinde of a Kreis or a Land is first pushed within its Gemeinde alone
    # (`_RegionLP`); only a target that this does not prove gets the whole table's programme.
    parts = regions(table)
    atom_region = atom_regions(table, parts)

    @functools.cache
    def prepared() -> list[tuple]:  # made when the first region's programme is
        return prepare_restriction(system, truth)

    @functools.cache
    def region_lp(r: int) -> _RegionLP:
        return _RegionLP(prepared(), system.lower, truth, table.variables_of(parts[r]))

    def programmes(k: int) -> Iterator[_WarmLP | _RegionLP]:
        """The programmes that push target k, cheapest first."""
        touched = np.unique(atom_region[np.asarray(table.cell_atoms[targets[k]], dtype=int)]) if parts else []
        if len(touched) and touched[0] >= 0:  # within Gemeinden only (-1: an atom of none)
            # a target over several (a Kreis total): a few of them first, each moving its share
            for r in touched[:REGIONS_TRIED]:
                yield region_lp(int(r))
        yield whole_table()

    # a table from a region's programme differs from the truth in that region's variables alone: it
    # is checked, and its targets moved, over them (`take`), when the truth is in whole numbers
    truth_whole = whole_numbers(truth)

    @functools.cache
    def rows_by_column() -> sparse.csc_matrix:
        return rows.tocsc()

    @functools.cache
    def region_targets(lp: _RegionLP) -> tuple[np.ndarray, sparse.csr_matrix]:
        """The targets over `lp`'s region and their rows restricted to its variables."""
        return rows_over(rows_by_column(), lp.columns)

    def objective_in(k: int, lp: _WarmLP | _RegionLP) -> np.ndarray:
        """Target k's row as `lp`'s objective: over the region's variables for a region's programme
        (for a target over several regions, its part over this one), else over the whole table's."""
        if isinstance(lp, _RegionLP):
            return row_within(*region_targets(lp), k)
        return np.asarray(rows[k].todense()).ravel()

    def take(x: np.ndarray | None, lp: _WarmLP | _RegionLP | None = None) -> bool:
        """Keep x's cell values when it is a whole-number point of the attacker's system (x over the
        region's variables when `lp` is a region's programme)."""
        if x is None:
            return False
        if isinstance(lp, _RegionLP) and truth_whole:
            # the same check and the same cell values as below, over the region's variables and
            # the targets over them: nothing else differs from the truth
            whole = np.round(x)
            if not np.all(np.abs(x - whole) <= INTEGER_TOLERANCE) or not lp.holds(whole):
                return False
            touched, sub = region_targets(lp)
            change = whole - truth[lp.columns]
            moved = value[touched] + sub @ change
            keep_proof(lp.columns, change, moved < low[touched], moved > high[touched])
            low[touched] = np.minimum(low[touched], moved)
            high[touched] = np.maximum(high[touched], moved)
            return True
        if isinstance(lp, _RegionLP):
            x = lp.completed(x)
        whole = np.round(x)
        if not np.all(np.abs(x - whole) <= INTEGER_TOLERANCE) or not system.holds(whole):
            return False
        moved = rows @ whole
        keep_proof(None, whole - truth, moved < low, moved > high)
        np.minimum(low, moved, out=low)
        np.maximum(high, moved, out=high)
        return True

    def keep_proof(columns: np.ndarray | None, change: np.ndarray, lower: np.ndarray, higher: np.ndarray) -> None:
        """Note a table that moves some bound (`lower`, `higher`: per target it moves) in `proofs`:
        the variables it changes (of `columns`, else of the whole table) and by how much."""
        if proofs is None or not (lower.any() or higher.any()):
            return
        changed = np.flatnonzero(change)
        variables = changed if columns is None else np.asarray(columns)[changed]
        proofs.append((variables.astype(np.int64), change[changed].astype(float)))

    def push(k: int, sign: float, lp: _WarmLP | _RegionLP) -> None:
        """Move target k as far as it goes in `lp` (sign -1 up, 1 down) and keep the table that does it."""
        objective = objective_in(k, lp)
        counts["linear"] += 1
        status, bound, x = lp.optimum(objective, sign)
        # a region's programme gives the target's part over the region; the rest, over the other
        # regions' atoms at their true values, is constant (zero for a target within the region)
        offset = value[k] - float(objective @ truth[lp.columns]) if isinstance(lp, _RegionLP) else 0.0
        bound += offset
        if status != "optimal" and isinstance(lp, _RegionLP):
            # unbounded within the Gemeinde: taken when its ray checks out, else the whole table's
            # programme says it
            if not (status == "unbounded" and lp.unbounded_towards(objective, sign)):
                return
            counts["unbounded_within_gemeinde"] += 1
        if status == "unbounded":  # a rational system with a whole-number point: unbounded in whole numbers too
            if sign < 0:
                high[k] = np.inf
            else:
                low[k] = -np.inf
            return
        if status != "optimal":
            raise ModelInconsistent(f"the audit model for {table.cells[targets[k]]} cannot be solved ({status})")
        if take(x, lp):
            if isinstance(lp, _RegionLP):
                counts["within_gemeinde"] += 1
            return
        # a fractional vertex: a whole-number point reaching what the cell still needs, if the
        # linear bound (rounded to whole numbers) leaves room for one
        if sign < 0:
            need = value[k] + width if k in upper else low[k] + width
            reachable = math.floor(bound + INTEGER_TOLERANCE) >= need - eps
        else:
            need = high[k] - width
            reachable = math.ceil(bound - INTEGER_TOLERANCE) <= need + eps
        if reachable:
            counts["integer"] += 1
            if take(lp.whole_point(objective, sign, need - offset), lp) and isinstance(lp, _RegionLP):
                counts["within_gemeinde"] += 1

    # an earlier audit's tables first: each one that still holds may spare programmes. A hint is
    # data from a file, not a point of a programme: taken only when it moves distinct variables of
    # this table by whole numbers, to values small enough for every sum to be exact, and then
    # checked like a table a programme found (one within a Gemeinde over that Gemeinde's rows)
    largest_truth = float(np.max(np.abs(truth), initial=0.0))
    exact_limit = functools.cache(lambda: exact_below(system, rows))  # once, when the first hint asks
    candidates = itertools.chain(((False, hint) for hint in hints), ((True, hint) for hint in fallback_hints))
    proven_all: bool | None = None  # whether every target is met: asked again only after a hint is taken
    for fallback, (variables, change) in candidates:
        if fallback:
            if proven_all is None:
                proven_all = all_met()
            if proven_all:
                break
        counts["hints"] += 1
        try:
            variables, change = np.asarray(variables, dtype=np.int64), np.asarray(change, dtype=float)
        except (TypeError, ValueError, OverflowError):
            continue
        if variables.ndim != 1 or variables.shape != change.shape:
            continue
        if len(variables) and (
            variables.min() < 0 or variables.max() >= table.n_vars or len(np.unique(variables)) < len(variables)
        ):
            continue
        if not np.all(np.isfinite(change) & (change == np.round(change))):
            continue
        moved_to = truth[variables] + change
        if max(largest_truth, float(np.max(np.abs(moved_to), initial=0.0))) >= exact_limit():
            continue
        touched = np.unique(atom_region[variables % len(table.atoms)])  # -1: in no Gemeinde (or no regions)
        if truth_whole and len(touched) == 1 and touched[0] >= 0:
            lp = region_lp(int(touched[0]))
            x = truth[lp.columns].copy()
            x[np.searchsorted(lp.columns, variables)] = moved_to  # (a region's columns are sorted)
            taken = take(x, lp)
            counts["hints_within_gemeinde"] += taken
        else:
            x = truth.copy()
            x[variables] = moved_to
            taken = take(x)
        if taken:
            counts["hints_taken"] += 1
            proven_all = None

    for k in range(len(targets)):
        for lp in programmes(k):
            if met(k):
                break
            push(k, -1.0, lp)
            if not met(k) and k not in upper:
                push(k, 1.0, lp)
    unproven = [targets[k] for k in range(len(targets)) if not met(k)]
    counts["exact"] += len(unproven)
    exact = {iv.cell: iv for iv in _exact_intervals(table, system, unproven, model, whole_table())} if unproven else {}
    return [
        exact.get(c) or Interval(c, float(low[k]), float(high[k]), float(value[k]), exact=False)
        for k, c in enumerate(targets)
    ]
