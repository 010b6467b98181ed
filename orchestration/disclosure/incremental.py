"""Secondary suppression one protected cell at a time: one small linear programme per withheld cell
that still lacks a protection, in a fixed order (the incremental method of Kelly, Fischetti and
Salazar, as in τ-ARGUS).

For a cell c that needs protection, the programme looks for a *witness*: a deviation d of the atom
values (one variable per measure and atom, as in `linked.py`) such that the truth plus d satisfies
everything the attacker knows (relations between measures, lower bounds of the atoms, every count
that is a cell stays at or above 1 unless it is a published zero, the cells that are fixed as
published do not move) and moves c by the amount its protection needs (upper protection of a
primary cell: at least the protection width up). The cost of a witness is what it moves: every
other cell's deviation e = p − n (p, n ≥ 0) is charged per unit at its value divided by the width
(moving a cell by the width costs about the persons its suppression hides), a cell already withheld
costs almost nothing; a cell that an earlier release withheld is withheld from the start (and
protected like every withheld cell), so a rerun shows the same cells. Every cell the cheapest witness
moves is withheld. The next cell's programme sees the grown set of withheld cells, so it prefers
them, and a cell that earlier witnesses already moved far enough needs no programme at all.

A witness stays valid as more cells are withheld (withholding a cell only takes an equation away
from the attacker and adds "at least 1", which every witness keeps), so every cell's protection is
kept from the witnesses found so far: the largest and the smallest deviation of the cell among
them. A withheld cell (secondary ones too) whose witnesses do not span the width gets a programme
of its own (sliding protection).

All programmes of a linked table share one HiGHS model: only the bounds of the protected cell's
deviation and the costs change between them, and each solve starts from the previous optimal basis.
HiGHS runs single-threaded with no time limit, so the same table gives the same pattern. The table
of a Kreis or a Land has one such model per Gemeinde (`RegionalWitnesses`): a cell within one
Gemeinde finds its witness among that Gemeinde's atoms, so the work grows with the number of
Gemeinden, not with its square.

The witnesses are continuous; the attacker counts in whole numbers. The pattern is therefore
verified against the whole-number attacker as the release audit verifies it
(`audit.proven_intervals`: a proof by whole-number tables, the exact integer bounds where no proof
is found; a cell falls short only by its exact bounds), and a cell that falls short gets a
whole-number witness (the same programme with integral atom deviations, a mixed-integer programme
of one witness), the cells it moves are withheld and protected in turn, and the cells concerned are
audited again until every withheld cell meets its requirement. Withholding more cells only widens
every attacker interval, so cells that passed stay passed."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import sparse

from .audit import (
    AttackerSystem,
    attacker_system,
    new_highs,
    prepare_restriction,
    proven_intervals,
    restricted_system,
    rows_over,
    shortfall,
    solve,
    whole_numbers,
)
from .linked import COMPLETE, AttackerModel, LinkedTable, atom_regions, regions

MOVED = 1e-6  # a cell whose deviation exceeds this is moved by the witness, so withheld
COVERED = 1e-6  # slack when comparing a witnessed deviation with the protection width
INTEGRAL = 1e-7  # an atom deviation this close to a whole number is taken as one (then checked exactly)
WITHHELD_COST = 1e-3  # per unit of deviation of a cell that is withheld already
# A whole-number witness is a mixed-integer programme of one witness; HiGHS stops it after this many
# branch-and-bound nodes (a count, not a time: the same inputs give the same answer on any machine).
INTEGER_NODE_LIMIT = 2000


class Infeasible(Exception):
    """No witness gives the cell the protection asked for."""


@dataclass
class IncrementalResult:
    suppressed: set[int]
    programmes: int = 0
    integer_programmes: int = 0
    audit_rounds: int = 0
    audited: int = 0
    certified: int = 0
    seconds_lp: float = 0.0
    seconds_audit: float = 0.0
    # whole-number tables that prove withheld cells (the certified witnesses and the verification's
    # proofs), for the release audit to try (orchestration/release/disclosure_audit.py)
    proofs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


class WitnessProgramme:
    """The witness programme of one linked table (see the module doc).

    Columns: the atom deviations d (table.n_vars), then p and n for every movable cell (not fixed as
    published). Rows: equality relations (R d = 0), inequality relations (R (x + d) <= 0), fixed
    cells (C d = 0), movable cells (C d - p + n = 0). Bounds: x + d >= the atoms' lower bounds; a
    withheld count stays at least the floor: n <= v - floor."""

    def __init__(self, table: LinkedTable, fixed: set[int], model: AttackerModel) -> None:
        import highspy

        self._hs = highspy
        self.table = table
        n_vars = table.n_vars
        values = table.cell_values()
        counts = table.count_cells()
        floor = float(model.withheld_at_least)
        self.movable = [i for i in range(len(table.cells)) if i not in fixed]
        self.pos = {c: k for k, c in enumerate(self.movable)}
        n_mov = len(self.movable)
        self.n_vars, self.n_mov = n_vars, n_mov
        cells = table.cell_matrix()
        relations, is_eq = table.relation_matrix()
        truth = table.true_vector()
        inf = highspy.kHighsInf
        fixed_rows = sorted(fixed)
        blocks, low, high = [], [], []

        def block(matrix, lo, hi, movable_part=None):
            matrix = sparse.csr_matrix(matrix)
            right = movable_part if movable_part is not None else sparse.csr_matrix((matrix.shape[0], 2 * n_mov))
            blocks.append(sparse.hstack([matrix, right], format="csr"))
            low.append(np.asarray(lo, dtype=float))
            high.append(np.asarray(hi, dtype=float))

        if relations.shape[0] and is_eq.any():
            block(relations[is_eq], np.zeros(int(is_eq.sum())), np.zeros(int(is_eq.sum())))
        if relations.shape[0] and (~is_eq).any():
            ub = relations[~is_eq]
            block(ub, np.full(ub.shape[0], -inf), -(ub @ truth))
        if fixed_rows:
            block(cells[fixed_rows], np.zeros(len(fixed_rows)), np.zeros(len(fixed_rows)))
        if n_mov:
            eye = sparse.identity(n_mov, format="csr")
            block(cells[self.movable], np.zeros(n_mov), np.zeros(n_mov), sparse.hstack([-eye, eye], format="csr"))
        matrix = sparse.vstack(blocks, format="csr") if blocks else sparse.csr_matrix((0, n_vars + 2 * n_mov))
        row_low = np.concatenate(low) if low else np.zeros(0)
        row_high = np.concatenate(high) if high else np.zeros(0)

        lower = table.variable_lower_bounds()
        d_low = np.where(np.isfinite(lower), lower - truth, -inf)
        mov_values = values[self.movable]
        floored = counts[self.movable] & (floor > 0)
        self.n_high = np.where(floored, np.maximum(mov_values - floor, 0.0), inf)
        self.col_low = np.concatenate([d_low, np.zeros(2 * n_mov)])
        self.col_high = np.concatenate([np.full(n_vars, inf), np.full(n_mov, inf), self.n_high])

        h = new_highs()
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("mip_max_nodes", INTEGER_NODE_LIMIT)
        lp = highspy.HighsLp()
        lp.num_col_ = n_vars + 2 * n_mov
        lp.num_row_ = matrix.shape[0]
        lp.col_cost_ = np.zeros(lp.num_col_)
        lp.col_lower_ = self.col_low
        lp.col_upper_ = self.col_high
        lp.row_lower_ = row_low
        lp.row_upper_ = row_high
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data.astype(float)
        h.passModel(lp)
        self.h = h
        self._cost_columns = np.arange(n_vars, n_vars + 2 * n_mov, dtype=np.int32)
        self._d_columns = np.arange(n_vars, dtype=np.int32)

    def set_costs(self, unit_cost: np.ndarray) -> None:
        """unit_cost[k]: the cost of one unit of deviation, up or down, of movable cell k."""
        both = np.concatenate([unit_cost, unit_cost]).astype(float)
        self.h.changeColsCost(len(self._cost_columns), self._cost_columns, both)

    def witness(self, cell: int, up: float, down: float, integer: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The cheapest witness moving `cell` at least `up` upwards (up > 0) or at least `down`
        downwards (down > 0; give one of the two): the deviation of every movable cell, and that of
        every atom variable."""
        hs = self._hs
        h = self.h
        k = self.pos[cell]
        p_col, n_col = self.n_vars + k, self.n_vars + self.n_mov + k
        if up > 0:
            h.changeColBounds(p_col, float(up), hs.kHighsInf)
            h.changeColBounds(n_col, 0.0, 0.0)
        else:
            if down > self.n_high[k] + COVERED:
                raise Infeasible(f"{self.table.cells[cell]} cannot go {down:g} down (it stays at least the floor)")
            h.changeColBounds(p_col, 0.0, 0.0)
            h.changeColBounds(n_col, float(down), float(self.n_high[k]))
        if integer:
            h.changeColsIntegrality(self.n_vars, self._d_columns, np.ones(self.n_vars, dtype=np.uint8))
        try:
            status = solve(h)
            # a whole-number witness cut short by the node limit is still a witness
            found = status == hs.HighsModelStatus.kOptimal or (
                integer
                and status == hs.HighsModelStatus.kSolutionLimit
                and h.getInfo().primal_solution_status == hs.SolutionStatus.kSolutionStatusFeasible
            )
            if not found:
                raise Infeasible(f"{self.table.cells[cell]}: {h.modelStatusToString(status)}")
            x = np.asarray(h.getSolution().col_value)
        finally:
            h.changeColBounds(p_col, 0.0, hs.kHighsInf)
            h.changeColBounds(n_col, 0.0, float(self.n_high[k]))
            if integer:
                h.changeColsIntegrality(self.n_vars, self._d_columns, np.zeros(self.n_vars, dtype=np.uint8))
        return x[self.n_vars : self.n_vars + self.n_mov] - x[self.n_vars + self.n_mov :], x[: self.n_vars]


def witness_programmes(table: LinkedTable, fixed: set[int], model: AttackerModel):
    """The witness programmes of one linked table: one per Gemeinde where the table has several
    (`RegionalWitnesses`), else one for the whole table (`WitnessProgramme`)."""
    parts = regions(table)
    if parts:
        return RegionalWitnesses(table, fixed, model, parts)
    return WitnessProgramme(table, fixed, model)


@dataclass
class _Region:
    """One region's programme and how its columns map to the whole table's."""

    programme: WitnessProgramme
    local: dict[int, int]  # the table's cell index → the region's
    movable: np.ndarray  # per movable cell of the region: its position among the table's movable cells
    variables: np.ndarray  # per variable of the region: the table's variable


@dataclass
class RegionalWitness:
    """A witness from one region's programme: the deviations of that region's movable cells
    (`region.movable` order) and of its variables (`region.variables` order); every other cell and
    variable stays at its true value. Kept in the region's size: a Kreis or a Land takes thousands
    of them, and writing each into vectors of the whole table would cost the whole table each time.
    Unpacks, as `WitnessProgramme.witness`'s tuple does, into the whole table's (deviation, atoms)."""

    region: _Region
    moved: np.ndarray
    atoms: np.ndarray
    n_mov: int
    n_vars: int

    def __iter__(self):
        deviation = np.zeros(self.n_mov)
        deviation[self.region.movable] = self.moved
        variables = np.zeros(self.n_vars)
        variables[self.region.variables] = self.atoms
        return iter((deviation, variables))


class RegionalWitnesses:
    """The witness programmes of a table whose atoms split into regions (its Gemeinden): a cell
    within one region gets its witness from that region's programme, which holds only the region's
    atoms and the cells over them (a cell over several regions, a Kreis total, as its sum over the
    region's atoms). Every other atom keeps its true value, so the witness is one of the whole
    table's: each relation holds within each atom, the cells outside the region do not move and
    those over it move by exactly what the programme says. A cell over several regions, or one whose
    region has no witness (the whole table may: another Gemeinde can balance a Kreis total), gets
    the whole table's programme, made when first needed.

    A table of n Gemeinden holds n times the cells and atoms of one, and each of its n times as many
    programmes then costs about n times as much: solved whole, a Kreis or a Land costs the square of
    its Gemeinden; by region, their number. The witnesses differ where a cheaper one crossed a
    Gemeinde border; the pattern is verified as every pattern is.

    The same interface as `WitnessProgramme`: `movable`, `pos`, `set_costs`, `witness`."""

    def __init__(self, table: LinkedTable, fixed: set[int], model: AttackerModel, parts: list[np.ndarray]) -> None:
        self.table, self.fixed, self.model = table, set(fixed), model
        self.movable = [i for i in range(len(table.cells)) if i not in self.fixed]
        self.pos = {c: k for k, c in enumerate(self.movable)}
        self.n_vars, self.n_mov = table.n_vars, len(self.movable)
        self.parts = parts
        atom_region = atom_regions(table, parts)
        self.members: list[list[int]] = [[] for _ in parts]  # per region: the cells over its atoms
        self.region_of: dict[int, int] = {}  # a cell within one region: that region
        for i, atoms in enumerate(table.cell_atoms):
            touched = np.unique(atom_region[np.asarray(atoms, dtype=int)])
            if len(touched) == 1:
                self.region_of[i] = int(touched[0])
            for r in touched:
                self.members[int(r)].append(i)
        self._regions: dict[int, _Region] = {}
        self._whole: WitnessProgramme | None = None
        self._unit_cost = np.zeros(self.n_mov)

    def set_costs(self, unit_cost: np.ndarray) -> None:
        """unit_cost[k]: the cost of one unit of deviation of movable cell k, read by the next
        `witness` (the caller's array itself, not a copy: a copy per witness cost the whole table's
        size each time)."""
        self._unit_cost = unit_cost

    def _region(self, r: int) -> _Region:
        if r not in self._regions:
            table, atoms = self.table, self.parts[r]
            local_atom = np.full(len(table.atoms), -1, dtype=int)
            local_atom[atoms] = np.arange(len(atoms))
            cells = self.members[r]
            cell_atoms = []
            for i in cells:
                mapped = local_atom[np.asarray(table.cell_atoms[i], dtype=int)]
                cell_atoms.append(np.sort(mapped[mapped >= 0]))
            sub = LinkedTable(
                list(table.measures), [table.atoms[a] for a in atoms], table.atom_values[:, atoms],
                [table.cells[i] for i in cells], cell_atoms, list(table.relations), table.lower_bounds,
            )  # fmt: skip
            local = {c: k for k, c in enumerate(cells)}
            programme = WitnessProgramme(sub, {local[c] for c in cells if c in self.fixed}, self.model)
            movable = np.array([self.pos[cells[k]] for k in programme.movable], dtype=int)
            self._regions[r] = _Region(programme, local, movable, table.variables_of(atoms))
        return self._regions[r]

    def witness(
        self, cell: int, up: float, down: float, integer: bool = False
    ) -> RegionalWitness | tuple[np.ndarray, np.ndarray]:
        """As `WitnessProgramme.witness`: a `RegionalWitness` when the cell's region has one (it
        unpacks into the whole table's vectors), else the whole table's (deviation, atoms)."""
        r = self.region_of.get(cell)
        if r is not None:
            region = self._region(r)
            region.programme.set_costs(self._unit_cost[region.movable])
            try:
                moved, atoms = region.programme.witness(region.local[cell], up, down, integer)
            except Infeasible:
                pass  # the whole table may have one
            else:
                return RegionalWitness(region, moved, atoms, self.n_mov, self.n_vars)
        if self._whole is None:
            self._whole = WitnessProgramme(self.table, self.fixed, self.model)
        self._whole.set_costs(self._unit_cost)
        return self._whole.witness(cell, up, down, integer)


class Certificates:
    """Whole-number witnesses, checked exactly: a witness whose atom deviations are whole numbers
    (within solver tolerance, then rounded) and whose rounded table satisfies every constraint of
    the attacker's model in exact arithmetic (atoms at or above their lower bounds, every relation,
    fixed cells unchanged, every count that is not a published zero at least the floor) is a
    whole-number table the attacker cannot rule out, as long as every cell it moves is withheld.
    The attacker's exact interval of a cell then reaches at least as far as the witness carries
    it, so a cell whose requirement these witnesses meet needs no bound of its own. Only tables of
    whole numbers with whole-number relations are certified; any other cell goes to the audit."""

    def __init__(self, table: LinkedTable, fixed: set[int], model: AttackerModel, movable: list[int]) -> None:
        self.truth = table.true_vector()
        self.cells = table.cell_matrix()
        values = table.cell_values()
        floor = float(model.withheld_at_least)
        # the attacker's system with the fixed cells published and every count that is not a
        # published zero withheld (so at least the floor): a witness must hold wherever it moves
        floored = np.flatnonzero(table.count_cells() & (values >= floor)) if floor > 0 else []
        self.system = attacker_system(table, {int(i): float(values[i]) for i in fixed}, model, list(floored))
        self.movable = np.asarray(movable, dtype=int)
        self.enabled = whole_numbers(self.truth) and self.system.whole()
        self.high = np.zeros(len(movable))
        self.low = np.zeros(len(movable))
        self._within: dict[int, _RegionCheck] = {}
        # every certified table that moved a cell's bound, as the variables it changes and by how
        # much (the form of `audit.proven_intervals`' hints): the release audit tries them first
        self.proofs: list[tuple[np.ndarray, np.ndarray]] = []
        # the truth satisfies every row (it is the table the attacker's system describes): then a
        # row over none of a witness's variables holds for the witness too (`add_within`)
        self._truth_holds = self.enabled and self.system.holds(self.truth)

    @cached_property
    def cells_by_column(self) -> sparse.csc_matrix:
        """The cell matrix kept by column (made once, for the regions' checks)."""
        return self.cells.tocsc()

    @cached_property
    def prepared(self) -> list[tuple]:
        """The attacker's system by column, what each region's check is cut from (`_RegionCheck`)."""
        return prepare_restriction(self.system, self.truth)

    def add(self, atoms: np.ndarray) -> np.ndarray | None:
        """The exact cell deviations (movable cells) of the witness with these atom deviations, if
        it is a checked whole-number witness (then kept), else None."""
        if not self.enabled:
            return None
        rounded = np.round(atoms)
        if np.max(np.abs(atoms - rounded), initial=0.0) > INTEGRAL or not self.system.holds(self.truth + rounded):
            return None
        moved = (self.cells @ rounded)[self.movable]
        self._keep(rounded, None, (moved > self.high) | (moved < self.low))
        np.maximum(self.high, moved, out=self.high)
        np.minimum(self.low, moved, out=self.low)
        return moved

    def add_within(self, region: _Region, atoms: np.ndarray) -> np.ndarray | None:
        """As `add` for a witness from `region`'s programme, whose deviations are zero outside the
        region's variables (`atoms`: those, in `region.variables` order): the same answer, checked
        over the rows and cells the region's variables enter, not the whole table's. A row over
        none of them has the truth's value, which satisfies it; a row over them and other variables
        (a Kreis total) changes by its entries in the region's columns alone. Returns the exact
        deviations of the region's movable cells (`region.movable` order), or None."""
        if not self.enabled or not self._truth_holds:
            return None
        check = self._within.get(id(region))
        if check is None:
            check = self._within[id(region)] = _RegionCheck.of(self, region)
        rounded = np.round(atoms)
        if np.max(np.abs(atoms - rounded), initial=0.0) > INTEGRAL or not check.system.holds(check.truth + rounded):
            return None
        moved = check.cells @ rounded
        k = region.movable
        self._keep(rounded, region.variables, (moved > self.high[k]) | (moved < self.low[k]))
        self.high[k] = np.maximum(self.high[k], moved)
        self.low[k] = np.minimum(self.low[k], moved)
        return moved

    def _keep(self, rounded: np.ndarray, variables: np.ndarray | None, widened: np.ndarray) -> None:
        """Keep a certified table (`rounded` over `variables` of the table; None: over all of them,
        in order) that widened a bound."""
        if widened.any():
            changed = np.flatnonzero(rounded)
            at = changed if variables is None else np.asarray(variables)[changed]
            self.proofs.append((at.astype(np.int64), rounded[changed]))


@dataclass
class _RegionCheck:
    """What `Certificates.add_within` checks a region's witness with: the attacker's system over the
    region's variables (`audit.restricted_system`), their true values, and the cell matrix of the
    region's movable cells over them."""

    system: AttackerSystem
    truth: np.ndarray  # the region's variables' true values
    cells: sparse.csr_matrix  # the region's movable cells × its variables

    @classmethod
    def of(cls, certificates: Certificates, region: _Region) -> _RegionCheck:
        system, truth, columns = certificates.system, certificates.truth, region.variables
        # the region's movable cells (each has atoms in the region) over its variables alone
        touched, over = rows_over(certificates.cells_by_column, columns)
        cells = over[np.searchsorted(touched, certificates.movable[region.movable])]
        return cls(restricted_system(certificates.prepared, system.lower, truth, columns), truth[columns], cells)


def zeros_and_kept(
    values: np.ndarray,
    counts: np.ndarray,
    primary: set[int],
    fixed_published: set[int],
    reuse: set[int],
    model: AttackerModel,
) -> tuple[set[int], set[int]]:
    """The cells that never move and the cells kept withheld, before any witness.

    A zero is published (the release says so): it never moves, whatever the witness. A cell an
    earlier release withheld (`reuse`) stays withheld, and protected like any withheld cell:
    published now, it would change what that release's Stichtag shows, so a rerun or a new version
    would publish different numbers for the same data."""
    floor = float(model.withheld_at_least)
    zeros = {i for i in range(len(values)) if floor > 0 and counts[i] and values[i] < floor} - set(primary)
    return zeros, set(reuse) - set(fixed_published) - zeros - set(primary)


def protect_incremental(
    table: LinkedTable,
    primary: set[int],
    width: float,
    fixed_published: set[int],
    reuse: set[int],
    model: AttackerModel = COMPLETE,
    max_rounds: int = 8,
    cell_charge: float = 0.01,
    reuse_factor: float = 0.001,
) -> IncrementalResult:
    """The withheld cells (primary and secondary) that protect every primary cell against `model`,
    verified with exact bounds. Raises `Infeasible` when a cell has no witness."""
    values = table.cell_values()
    counts = table.count_cells()
    zeros, kept = zeros_and_kept(values, counts, primary, fixed_published, reuse, model)
    programme = witness_programmes(table, set(fixed_published) | zeros, model)
    result = IncrementalResult(suppressed=set(primary) | kept)
    movable = programme.movable
    base_cost = np.array(
        [(abs(values[c]) + cell_charge) * (reuse_factor if c in reuse else 1.0) / width for c in movable]
    )
    unit_cost = base_cost.copy()
    for c in set(primary) | kept:
        unit_cost[programme.pos[c]] = WITHHELD_COST
    high = np.zeros(len(movable))  # the largest and the smallest deviation of each cell so far
    low = np.zeros(len(movable))
    upper = bool(model.upper_protection)
    certify = Certificates(table, set(fixed_published) | zeros, model, movable)
    result.proofs = certify.proofs  # the verification below adds its proofs to the same list

    def needs(c: int) -> tuple[float, float] | None:
        """What a further witness must do for withheld cell c: (up, down), or None when covered."""
        k = programme.pos[c]
        if c in primary and upper:
            return None if high[k] >= width - COVERED else (width, 0.0)
        if c in primary or model.protect_all_withheld:
            span = high[k] - low[k]
            return None if span >= width - COVERED else (width + low[k], width - high[k])
        return None

    def take(c: int, found: RegionalWitness | tuple[np.ndarray, np.ndarray], queue: deque) -> None:
        if not isinstance(found, RegionalWitness):
            deviation, atoms = found
            np.maximum(high, deviation, out=high)
            np.minimum(low, deviation, out=low)
            moved = np.abs(deviation) > MOVED
            exact = certify.add(atoms)
            if exact is not None:  # whatever a whole-number witness moves is withheld too
                moved |= exact != 0
            moved = np.flatnonzero(moved)
        else:  # the same, over the region's cells and variables alone: nothing else moved
            region, within = found.region, found.moved
            k = region.movable
            high[k] = np.maximum(high[k], within)
            low[k] = np.minimum(low[k], within)
            moved_within = np.abs(within) > MOVED
            exact = certify.add_within(region, found.atoms)
            if exact is not None:
                moved_within |= exact != 0
            moved = k[moved_within]
        new = sorted(movable[k] for k in moved if movable[k] not in result.suppressed)
        for cell in new:
            result.suppressed.add(cell)
            unit_cost[programme.pos[cell]] = WITHHELD_COST
            queue.append(cell)

    def solve(c: int, up: float, down: float, integer: bool) -> RegionalWitness | tuple[np.ndarray, np.ndarray]:
        """A witness moving c at least `up` upwards; if there is none and c needs only the sliding
        protection, at least `down` downwards instead."""
        programme.set_costs(unit_cost)
        started = time.perf_counter()
        try:
            try:
                return programme.witness(c, up, 0.0, integer)
            except Infeasible:
                if (c in primary and upper) or down <= 0:
                    raise
                return programme.witness(c, 0.0, down, integer)
        finally:
            result.seconds_lp += time.perf_counter() - started
            if integer:
                result.integer_programmes += 1
            else:
                result.programmes += 1

    def drain(queue: deque) -> None:
        while queue:
            c = queue.popleft()
            need = needs(c)
            if need is None:
                continue
            try:
                found = solve(c, *need, integer=False)
            except Infeasible:
                if c in primary and upper:
                    raise
                # No single witness moves this cell by the width in one direction (cells fixed by an
                # earlier release can block both); several may together: the exact audit decides.
                continue
            take(c, found, queue)

    queue: deque = deque(sorted(primary) + sorted(kept))
    drain(queue)
    if not model.verify:
        return result
    integer_cells: set[int] = set()

    def unproven(cells) -> list[int]:
        """The cells whose requirement the whole-number witnesses do not prove: for the audit."""
        out = []
        for c in sorted(cells):
            k = programme.pos[c]
            if c in primary and upper:
                proven = certify.high[k] >= width - COVERED
            elif c in primary or model.protect_all_withheld:
                proven = certify.high[k] - certify.low[k] >= width - COVERED
            else:
                proven = True
            if proven:
                result.certified += 1
            else:
                out.append(c)
        return out

    to_audit = unproven(result.suppressed)
    for _round in range(max_rounds):
        result.audit_rounds += 1
        if not to_audit:
            return result
        known = {i: float(values[i]) for i in range(len(table.cells)) if i not in result.suppressed}
        started = time.perf_counter()
        # proven where whole-number tables prove it (cheap), exact where not: a cell that falls
        # short always carries its exact interval, so the mend below is the one exact bounds give
        found = proven_intervals(table, known, to_audit, set(primary), width, model, proofs=result.proofs)
        result.seconds_audit += time.perf_counter() - started
        result.audited += len(to_audit)
        short = [iv for iv in found if shortfall(iv, iv.cell in primary, width, model)]
        if not short:
            return result
        before = set(result.suppressed)
        queue = deque()
        for iv in short:
            c = iv.cell
            if c in integer_cells:
                raise Infeasible(
                    f"{table.cells[c]}: a whole-number witness was found, yet the exact bound is "
                    f"[{iv.low:g}, {iv.high:g}] (solver tolerance?)"
                )
            integer_cells.add(c)
            if c in primary and upper:
                up, down = width, 0.0
            else:  # reach the width from the attacker's exact bound below (or above)
                up = max(width - (iv.value - iv.low), 1.0)
                down = max(width - (iv.high - iv.value), 1.0)
            take(c, solve(c, up, down, integer=True), queue)
        drain(queue)
        to_audit = unproven({iv.cell for iv in short} | (result.suppressed - before))
    names = ", ".join(str(table.cells[iv.cell]) for iv in short[:5])
    raise Infeasible(f"the pattern still leaves {names} unprotected after {max_rounds} rounds")
