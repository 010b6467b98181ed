"""The suppression pattern of the warehouse's public cells: primary cells (decided in SQL, model
`disclosure_cells`) plus the secondary cells that protect them, per Stichtag and linked table, kept
consistent with what earlier releases published. Called by the dbt Python model
`disclosure_pattern`; plain DataFrames in and out, so tests can call it directly."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .linked import COMPLETE, AttackerModel, LinkedTable, Relation, components
from .parallel import solved_in_order
from .secondary import BlockedByFixedCells, Pattern, PatternMemo, ProtectionImpossible, protect

KEY = ["stichtag", "level", "area_id", "measure"]
LOG = logging.getLogger(__name__)


def relations_from_frame(frame: pd.DataFrame) -> list[Relation]:
    out = []
    for name, rows in frame.groupby("relation_id", sort=True):
        senses = set(rows["sense"])
        if len(senses) != 1:
            raise ValueError(f"relation {name} has more than one sense: {sorted(senses)}")
        out.append(
            Relation(
                dict(sorted(zip(rows["measure"], rows["coefficient"].astype(float), strict=True))), senses.pop(), name
            )
        )
    return out


class DayIndex:
    """What every linked table of one Stichtag shares, computed once per Stichtag: the atoms in
    order, each atom's position, the atoms of every area (level, area_id) and the atom values of
    every measure. A Stichtag has one table per group of related measures, and each used to group
    the Stichtag's atoms again."""

    def __init__(self, area_atoms: pd.DataFrame, atom_values: pd.DataFrame) -> None:
        self.atoms = sorted(area_atoms["atom_id"].unique())
        self.atom_pos = {a: i for i, a in enumerate(self.atoms)}
        positions = area_atoms["atom_id"].map(self.atom_pos).to_numpy(dtype=int)
        by_area = pd.Series(positions).groupby(
            [area_atoms["level"].to_numpy(), area_atoms["area_id"].to_numpy()], sort=False
        )
        self.members: dict[tuple[str, str], np.ndarray] = {
            key: np.sort(positions[rows]) for key, rows in by_area.indices.items()
        }
        known = atom_values[atom_values["atom_id"].isin(self.atom_pos)]
        measures = sorted(known["measure"].unique())
        self.measure_pos = {m: i for i, m in enumerate(measures)}
        self.values = np.zeros((len(measures), len(self.atoms)))
        self.values[
            known["measure"].map(self.measure_pos).to_numpy(), known["atom_id"].map(self.atom_pos).to_numpy()
        ] = known["value"].to_numpy()

    def measure_values(self, measures: list[str]) -> np.ndarray:
        """The atom values of `measures` (rows in that order; zero for a measure no atom has)."""
        values = np.zeros((len(measures), len(self.atoms)))
        for row, measure in enumerate(measures):
            if measure in self.measure_pos:
                values[row] = self.values[self.measure_pos[measure]]
        return values

    def table(self, cells: pd.DataFrame, measures: list[str], relations: list[Relation]) -> LinkedTable:
        """The linked table over `measures` of this Stichtag's `cells`, which are in table order
        (by measure, level and area)."""
        # the columns as lists first: element by element, an Arrow-backed column cost 4 s of a
        # pattern of 100 Gemeinden
        of_cell, levels, areas = cells["measure"].tolist(), cells["level"].tolist(), cells["area_id"].tolist()
        cell_ids = [(m, f"{lv}:{a}") for m, lv, a in zip(of_cell, levels, areas, strict=True)]
        empty = np.array([], dtype=int)
        cell_atoms = [self.members.get((lv, a), empty) for lv, a in zip(levels, areas, strict=True)]
        table = LinkedTable(measures, self.atoms, self.measure_values(measures), cell_ids, cell_atoms, relations)
        table.check()
        return table


def linked_tables(
    cells: pd.DataFrame,
    area_atoms: pd.DataFrame,
    atom_values: pd.DataFrame,
    relations: list[Relation],
    wanted: Callable[[pd.DataFrame], bool],
) -> Iterator[tuple[pd.DataFrame, LinkedTable]]:
    """Per Stichtag and group of related measures: the group's cells (in table order, original
    index kept) and its linked table, for the groups `wanted` accepts. Measures of a group that no
    cell publishes stay in as unknowns the attacker bounds through the relations, so the table is
    never weaker than the attacker. Shared by the suppression and the audit."""
    related = {m for r in relations for m in r.coefficients}
    for day, day_cells in cells.groupby("stichtag", sort=True):
        index = DayIndex(area_atoms[area_atoms["stichtag"] == day], atom_values[atom_values["stichtag"] == day])
        # in table order once: a group's cells keep it (the keys are unique)
        day_cells = day_cells.sort_values(["measure", "level", "area_id"])
        for group in components(sorted(set(day_cells["measure"]) | related), relations):
            group_cells = day_cells[day_cells["measure"].isin(group)]
            if group_cells.empty or not wanted(group_cells):
                continue
            yield group_cells, index.table(group_cells, group, relations)


def earlier_state(released: pd.DataFrame | None, cells: pd.DataFrame) -> pd.Series:
    """Per cell: 'published' (an earlier release published it with the value it has now),
    'suppressed' (an earlier release withheld it), 'changed' (published with another value: a
    correction), or None."""
    state = pd.Series([None] * len(cells), index=cells.index, dtype=object)
    if released is None or released.empty:
        return state
    merged = (
        cells[KEY + ["value"]]
        .reset_index()
        .merge(released[KEY + ["value", "suppressed"]].rename(columns={"value": "released_value"}), on=KEY, how="inner")
    )
    if merged.empty:
        return state
    same = merged["released_value"].notna() & ((merged["released_value"] - merged["value"]).abs() < 1e-9)
    merged["state"] = np.where(
        same, "published", np.where(merged["suppressed"].fillna(False).astype(bool), "suppressed", "changed")
    )
    rank = {"published": 0, "changed": 1, "suppressed": 2}
    merged["rank"] = merged["state"].map(rank)
    best = merged.sort_values("rank").drop_duplicates("index").set_index("index")["state"]
    state.loc[best.index] = best
    return state


def suppression_pattern(
    cells: pd.DataFrame,
    area_atoms: pd.DataFrame,
    atom_values: pd.DataFrame,
    relations_frame: pd.DataFrame,
    released: pd.DataFrame | None = None,
    width: float = 3.0,
    secondary: bool = True,
    time_limit: float = 60.0,
    model: AttackerModel = COMPLETE,
    linked_across_time: frozenset[str] | set[str] = frozenset(),
    memo: PatternMemo | None = None,
    method: str = "incremental",
) -> pd.DataFrame:
    """Every cell with status 'published' or 'suppressed' and its reason (count_below_min,
    small_population, secondary) plus what earlier releases did with it.

    `linked_across_time`: measures tied to another Stichtag (a lagged count and what it lags:
    the residents a year before, on the Baublöcke of the Stichtag, are the residents of the earlier
    Stichtag wherever a unit did not change). The patterns are chosen per Stichtag, so such a cell
    is never made secondary: withheld at one Stichtag and published as its twin at another, it
    would be given away. Only a primary cell of these measures is withheld (and then its twin is
    primary too, being the same count).

    `memo`: patterns of earlier runs by the fingerprint of their inputs (`DuckDBMemo`, on Spark
    `LakeMemo`); only the
    linked tables whose inputs changed are solved. `method`: how secondary cells are chosen
    (`secondary.METHODS`)."""
    cells = cells.reset_index(drop=True).copy()
    cells["earlier"] = earlier_state(released, cells)
    cells["reason"] = cells["primary_reason"]
    relations = relations_from_frame(relations_frame)
    solver_seconds = 0.0
    wanted = (lambda group: group["primary_reason"].notna().any()) if secondary else (lambda _group: False)

    def solve(item: tuple[pd.DataFrame, LinkedTable]) -> Pattern:
        """One linked table's pattern (on a solver thread: it reads only its own cells, `ordered`)."""
        ordered, table = item
        # by column, in table order (`ordered` holds the cells' rows; a lookup per cell took
        # seconds at Berlin's 210,000 cells)
        is_primary = ordered["primary_reason"].notna().to_numpy()
        earlier = ordered["earlier"].to_numpy()
        lagged_twin = ordered["measure"].isin(linked_across_time).to_numpy() & ~is_primary
        primary = {int(i) for i in np.flatnonzero(is_primary)}
        fixed = {int(i) for i in np.flatnonzero((earlier == "published") | lagged_twin)}
        reuse = {int(i) for i in np.flatnonzero(earlier == "suppressed")}
        try:
            return protect(
                table, primary, width=width, fixed_published=fixed, reuse=reuse, time_limit=time_limit,
                model=model, memo=shared_memo, method=method,
            )  # fmt: skip
        except BlockedByFixedCells as exc:
            if (earlier == "published").any():
                raise
            # nothing was published before: the fixed cells are the lagged counts' twins
            lagged = sorted({ordered["measure"].iloc[i] for i in fixed})
            raise ProtectionImpossible(
                f"no suppression pattern protects {exc.names} at {ordered['stichtag'].iloc[0]}: the counts tied "
                f"to another Stichtag ({', '.join(lagged)}) are never withheld as secondary cells, and without "
                "them the areas are too small for the protection width. Publish these indicators from a "
                "coarser level (their `levels` in the Kennzahlenkatalog) or lower "
                "disclosure_protection_width; the warehouse is built, nothing was published."
            ) from None

    shared_memo = LockedMemo(memo) if memo is not None else None
    tables = linked_tables(cells, area_atoms, atom_values, relations, wanted)
    # `milp` stops at a time limit: a table solved beside another would get less of the machine and
    # so perhaps another pattern; one at a time, as before (parallel.py)
    threads = 1 if method == "milp" else None
    keeps = shared_memo is not None and shared_memo.keeps_proofs
    solved_tables: set[str] = set()
    for (ordered, table), pattern in solved_in_order(solve, tables, threads=threads):
        solver_seconds += pattern.seconds
        if keeps:
            key = proof_key(table, ordered["stichtag"].iat[0])
            solved_tables.add(key[0])
            # solved now: its proofs replace the last ones; from the memo: the last ones stay where
            # they prove the same withheld cells
            shared_memo.keep_proofs(key, pattern.proofs, withheld_digest(pattern.suppressed), pattern.from_memo)
        positions = list(ordered.index)
        cells.loc[[positions[i] for i in sorted(pattern.secondary)], "reason"] = "secondary"
    if keeps:
        shared_memo.keep_proofs_of(solved_tables)  # of a table not solved (any more), none are kept
    cells["status"] = np.where(cells["reason"].notna(), "suppressed", "published")
    cells["published_value"] = cells["value"].where(cells["status"] == "published")
    cells.attrs["solver_seconds"] = solver_seconds
    return cells


def withheld_digest(withheld: set[int]) -> str:
    """A digest of a linked table's withheld cells (their positions in table order): the proofs
    kept with a pattern are those of this set."""
    return hashlib.sha256(",".join(map(str, sorted(withheld))).encode()).hexdigest()


def proof_key(table: LinkedTable, stichtag) -> tuple[str, str]:
    """The name under which a linked table's proofs are kept: its Stichtag and measures, and the
    digest of its variables' layout (its measures and atoms). The pattern's proofs and the release
    audit's (orchestration/release/disclosure_audit.py, AuditProofs) are named alike; a proof is
    tried only on a table of the same layout."""
    layout = hashlib.sha256("\n".join([*table.measures, "", *table.atoms]).encode()).hexdigest()
    return f"{pd.Timestamp(stichtag).date().isoformat()} {','.join(table.measures)}", layout


class LockedMemo:
    """A memo the solver threads share (parallel.py): one get or put at a time (a DuckDB connection
    is not to be used from two threads at once)."""

    def __init__(self, memo: PatternMemo) -> None:
        self.memo = memo
        self.lock = threading.Lock()

    def get(self, key: str) -> list[int] | None:
        with self.lock:
            return self.memo.get(key)

    def put(self, key: str, secondary: list[int]) -> None:
        with self.lock:
            self.memo.put(key, secondary)

    @property
    def keeps_proofs(self) -> bool:
        """Whether the memo keeps the pattern's proofs (`DuckDBMemo`; the lake's does not)."""
        return hasattr(self.memo, "keep_proofs")

    def keep_proofs(self, key: tuple[str, str], proofs: list, withheld: str, from_memo: bool) -> None:
        with self.lock:
            self.memo.keep_proofs(key, proofs, withheld, from_memo)

    def keep_proofs_of(self, tables: set[str]) -> None:
        with self.lock:
            self.memo.keep_proofs_of(tables)


# the pattern's proofs in the warehouse (`DuckDBMemo.keep_proofs`): each linked table once, under a
# number, and the proofs' rows under their table's number (the names, repeated on every one of
# 573,050 rows in the demo city, made writing them about 3 s of the pattern model's main thread)
PROOF_TABLES_TABLE = "ops.disclosure_pattern_proof_tables"
PROOF_TABLE_COLUMNS = ("number", "linked_table", "layout", "withheld")
PROOFS_TABLE = "ops.disclosure_pattern_proofs"
PROOF_ROW_COLUMNS = ("number", "proof", "variable", "change")


class _HeldProofs(NamedTuple):
    """A linked table's proofs held by `DuckDBMemo` until `flush`."""

    layout: str
    withheld: str
    from_memo: bool
    rows: dict[str, np.ndarray] | None  # `proof_rows`; None: nothing of its own


class DuckDBMemo:
    """The pattern memo as a table of the warehouse (`ops.disclosure_pattern_memo`): it lives and
    dies with the warehouse, and a copy of the warehouse takes it along. A row is written only
    after its pattern was verified, so a killed run leaves nothing half-done."""

    TABLE = "ops.disclosure_pattern_memo"
    FLUSH_ROWS = 2_000_000  # proof rows held at most before they are written (48 MB)
    FLUSH_SECONDS = 10.0  # and for at most so long: a run killed outright loses no more

    def __init__(self, con) -> None:
        self.con = con
        con.execute("create schema if not exists ops")
        con.execute(
            f"create table if not exists {self.TABLE} (fingerprint varchar primary key, secondary integer[],"
            " created_at timestamp default current_timestamp)"
        )
        self.hits = 0
        self.misses = 0
        self._proofs_failed = False
        self._proofs_ready = False
        self._next_number = 0
        self._pending: dict[str, _HeldProofs] = {}  # by linked table, until `flush`
        self._pending_rows = 0
        self._flushed_at = time.monotonic()

    def get(self, key: str) -> list[int] | None:
        row = self.con.execute(f"select secondary from {self.TABLE} where fingerprint = ?", [key]).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return [int(i) for i in row[0]]

    def put(self, key: str, secondary: list[int]) -> None:
        self.con.execute(
            f"insert or replace into {self.TABLE} (fingerprint, secondary) values (?, ?)", [key, list(secondary)]
        )

    def keep_proofs(
        self, key: tuple[str, str], proofs: list[tuple[np.ndarray, np.ndarray]], withheld: str, from_memo: bool = False
    ) -> None:
        """The proofs of the linked table `key` (`proof_key`) this pattern was verified with, in
        place of those an earlier build kept for the same table: the table once in
        `PROOF_TABLES_TABLE` (its name, layout and the digest of the withheld cells its proofs
        prove, `withheld_digest`) under a number, and in `PROOFS_TABLE` one row per changed
        variable under that number, a proof's rows numbered alike. A pattern from the memo
        (`from_memo`, no proofs of its own) keeps the earlier ones only where they are of the same
        layout and withheld cells. They show true values (a table of true values moved): internal,
        like the rest of the warehouse. The release audit tries them and checks each
        (orchestration/release/disclosure_audit.py): they can save it programmes, never decide a
        verdict; so proofs that cannot be written cost the audit time, not the build (a warning,
        once per build).

        Held in memory and written by `flush` (by `keep_proofs_of` at the pattern's end, on a
        failure, and once `FLUSH_ROWS` rows are held or `FLUSH_SECONDS` have passed), a few
        statements for all tables held: one delete and insert per table, each committed on its own,
        held the memo's lock the solver threads wait on for seconds in the demo city. A linked
        table's name comes once per pattern (`linked_tables`: the groups of a Stichtag are
        disjoint); a second one replaces what is held of the first."""
        try:
            own = proofs and not from_memo
            self._pending[key[0]] = _HeldProofs(key[1], withheld, from_memo, proof_rows(proofs) if own else None)
            self._pending_rows += sum(len(index) for index, _change in proofs) if own else 0
        except Exception as exc:  # noqa: BLE001 - the proofs only save the audit time
            self._not_kept(exc)
            return
        if self._pending_rows >= self.FLUSH_ROWS or time.monotonic() - self._flushed_at >= self.FLUSH_SECONDS:
            self.flush()

    def keep_proofs_of(self, tables: set[str]) -> None:
        """The proofs held written (`flush`), and those of every linked table not in `tables`
        dropped (one no longer solved: a Stichtag taken out, a group without a withheld cell now),
        with rows of no table."""
        self.flush()
        try:
            self._create_proofs()
            self.con.execute(
                f"delete from {PROOF_TABLES_TABLE} where not list_contains(?::varchar[], linked_table)",
                [sorted(tables)],
            )
            self.con.execute(
                f"delete from {PROOFS_TABLE} where number not in (select number from {PROOF_TABLES_TABLE})"
            )
        except Exception as exc:  # noqa: BLE001 - the proofs only save the audit time
            self._not_kept(exc)

    def flush(self) -> None:
        """Write the proofs held (`keep_proofs`): the new rows first, under new numbers, then the
        tables they replace go and the new tables are named. A run killed in between leaves rows of
        no table (no reader takes them, the next `keep_proofs_of` removes them) or a table without
        proofs (the audit searches for them)."""
        pending, self._pending, self._pending_rows = self._pending, {}, 0
        self._flushed_at = time.monotonic()
        if not pending:
            return
        try:
            import pyarrow as pa

            self._create_proofs()
            names = sorted(pending)
            solved = [name for name in names if pending[name].rows is not None]
            numbers = dict(zip(solved, range(self._next_number, self._next_number + len(solved)), strict=True))
            self._next_number += len(solved)
            if solved:
                rows = [pending[name].rows for name in solved]
                self.con.from_arrow(
                    pa.table(
                        {
                            "number": np.repeat(
                                np.array([numbers[name] for name in solved], dtype=np.int64),
                                [len(r["proof"]) for r in rows],
                            ),
                            **{
                                column: np.concatenate([r[column] for r in rows])
                                for column in ("proof", "variable", "change")
                            },
                        }
                    )
                ).insert_into(PROOFS_TABLE)
            # what goes: every earlier table of a name solved now; of a pattern from the memo, an
            # earlier table of another layout or other withheld cells
            held = pa.table(
                {
                    "linked_table": pa.array(names, pa.string()),
                    "layout": pa.array([pending[name].layout for name in names], pa.string()),
                    "withheld": pa.array([pending[name].withheld for name in names], pa.string()),
                    "from_memo": pa.array([pending[name].from_memo for name in names], pa.bool_()),
                }
            )
            self.con.register("_pattern_proofs_held", held)  # of this connection only, never in the file
            try:
                gone = (
                    f"select t.number from {PROOF_TABLES_TABLE} as t inner join _pattern_proofs_held as h"
                    " using (linked_table) where not h.from_memo or t.layout <> h.layout or t.withheld <> h.withheld"
                )
                self.con.execute(f"delete from {PROOFS_TABLE} where number in ({gone})")
                self.con.execute(f"delete from {PROOF_TABLES_TABLE} where number in ({gone})")
            finally:
                self.con.unregister("_pattern_proofs_held")
            if solved:
                self.con.from_arrow(
                    pa.table(
                        {
                            "number": pa.array([numbers[name] for name in solved], pa.int64()),
                            "linked_table": pa.array(solved, pa.string()),
                            "layout": pa.array([pending[name].layout for name in solved], pa.string()),
                            "withheld": pa.array([pending[name].withheld for name in solved], pa.string()),
                        }
                    )
                ).insert_into(PROOF_TABLES_TABLE)
        except Exception as exc:  # noqa: BLE001 - the proofs only save the audit time
            self._not_kept(exc)

    def _create_proofs(self) -> None:
        """The two tables, made anew where one of another shape stands in the place of either
        (proofs only save time), and the number the next table's proofs get: past every number
        in use, rows of no table included; once per memo."""
        if self._proofs_ready:
            return
        shapes = {
            table: [
                row[0]
                for row in self.con.execute(
                    "select column_name from information_schema.columns where table_schema || '.' || table_name = ? "
                    "order by ordinal_position",
                    [table],
                ).fetchall()
            ]
            for table in (PROOF_TABLES_TABLE, PROOFS_TABLE)
        }
        if shapes != {PROOF_TABLES_TABLE: list(PROOF_TABLE_COLUMNS), PROOFS_TABLE: list(PROOF_ROW_COLUMNS)}:
            _drop_proofs(self.con)
            self.con.execute(
                f"create table {PROOF_TABLES_TABLE}"
                " (number bigint, linked_table varchar, layout varchar, withheld varchar)"
            )
            self.con.execute(
                f"create table {PROOFS_TABLE} (number bigint, proof bigint, variable bigint, change double)"
            )
        (self._next_number,) = self.con.execute(
            f"select coalesce(max(number), -1) + 1 from (select number from {PROOF_TABLES_TABLE}"
            f" union all select number from {PROOFS_TABLE})"
        ).fetchone()
        self._proofs_ready = True

    def _not_kept(self, exc: Exception) -> None:
        if self._proofs_failed:
            return
        self._proofs_failed = True
        LOG.warning(
            "the disclosure pattern's proofs could not be kept in %s (%s): the release audit searches for them "
            "itself", PROOFS_TABLE, exc,
        )  # fmt: skip


def _drop_proofs(con) -> None:
    for table in (PROOFS_TABLE, PROOF_TABLES_TABLE):
        con.execute(f"drop table if exists {table}")


def drop_pattern_proofs(con) -> None:
    """No proofs kept by an earlier build: a pattern built without the memo, or with the Cell Key
    Method, keeps none, and earlier ones would only cost the audit their checks."""
    try:
        _drop_proofs(con)
    except Exception as exc:  # noqa: BLE001 - the proofs only save the audit time
        LOG.warning(
            "the disclosure pattern's earlier proofs could not be dropped from %s and %s (%s)",
            PROOF_TABLES_TABLE, PROOFS_TABLE, exc,
        )  # fmt: skip


def proof_columns(proofs: list[tuple[str, str, tuple[np.ndarray, np.ndarray]]]) -> dict[str, Any]:
    """Proofs (linked table, layout, (variables, changes)) as Arrow columns, one row per changed
    variable, a proof's rows together and numbered in order: the rows of the audit's proofs file
    (release/disclosure_audit.py, AuditProofs.keep)."""
    lengths = [len(index) for _name, _layout, (index, _change) in proofs]
    return {
        "linked_table": _repeated([p[0] for p in proofs], lengths),
        "layout": _repeated([p[1] for p in proofs], lengths),
    } | proof_rows([proof for _name, _layout, proof in proofs])


def proof_rows(proofs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """One table's proofs (variables, changes) as columns, one row per changed variable, a proof's
    rows together and numbered in order."""
    lengths = [len(index) for index, _change in proofs]
    return {
        "proof": np.repeat(np.arange(len(proofs), dtype=np.int64), lengths),
        "variable": np.concatenate([index for index, _c in proofs]).astype(np.int64),
        "change": np.concatenate([change for _i, change in proofs]).astype(float),
    }


def _repeated(values: list[str], lengths: list[int]):
    """`values[i]` repeated `lengths[i]` times, dictionary-encoded as pyarrow's dictionary_encode
    encodes it (the values in the order they first appear, int32 indices): built from the indices,
    never as the repeated strings (NumPy's fixed-width copy of a linked table's name, its measures,
    for each of millions of rows took gigabytes at 300 Gemeinden)."""
    import pyarrow as pa

    first = {value: i for i, value in enumerate(dict.fromkeys(values))}
    codes = np.repeat(np.fromiter((first[v] for v in values), dtype=np.int32, count=len(values)), lengths)
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(list(first), pa.string()))


class LakeMemo:
    """The pattern memo of a build on Spark: Parquet files in a folder of the lake
    (`<lake>/memo/disclosure_pattern`, `LAKE_MEMO_FOLDER`), read and written through Spark, so the
    same code serves a local lake and a cluster's. Outside the Spark tables' folders: it outlives
    a full build as the DuckDB memo outlives one in its warehouse, and a copy of the lake takes it
    along.

    Every entry is read once, when the memo is made (one small job); the patterns solved meanwhile
    are kept in memory and written by `flush` as one more file, once the model has all of its
    patterns verified (a Spark job per pattern would cost more than many a solve). A killed run
    writes nothing, or leaves a committed file of verified patterns: Spark commits a file only
    when its job succeeds, and readers skip what it left half-written (`_temporary`)."""

    def __init__(self, session, folder: str) -> None:
        self.session = session
        self.folder = folder
        self.known: dict[str, list[int]] = {}
        self.new: dict[str, list[int]] = {}
        if _lake_path_exists(session, folder) is False:
            return  # no memo yet (asking Spark to read it would log a Java stack trace as a warning)
        try:
            # with its schema given: a folder without a committed file (a first write killed before
            # its commit left only `_temporary`) reads as no rows, where Spark could infer none
            rows = session.read.schema(_lake_memo_schema()).parquet(folder).collect()
        except Exception as exc:  # no memo yet: Spark says so with an AnalysisException (path not found)
            if "PATH_NOT_FOUND" not in str(exc) and "Path does not exist" not in str(exc):
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise RuntimeError(
                    f"the disclosure pattern's memo in {folder} cannot be read ({first}). It only saves work: "
                    "delete that folder and build again, and every pattern is solved afresh."
                ) from exc
            rows = []
        for row in rows:  # a fingerprint names its inputs, so two files never disagree on one
            self.known[row["fingerprint"]] = [int(i) for i in row["secondary"]]

    def get(self, key: str) -> list[int] | None:
        return self.new.get(key, self.known.get(key))

    def put(self, key: str, secondary: list[int]) -> None:
        self.new[key] = [int(i) for i in secondary]

    def flush(self) -> int:
        """Write the patterns solved since the memo was read, as one file; how many they were."""
        if not self.new:
            return 0
        rows = [(key, self.new[key]) for key in sorted(self.new)]
        frame = self.session.createDataFrame(rows, _lake_memo_schema())
        frame.coalesce(1).write.mode("append").parquet(self.folder)
        written = len(self.new)
        self.known.update(self.new)
        self.new = {}
        return written


# where a build on Spark keeps its pattern memo, below the lake
LAKE_MEMO_FOLDER = "memo/disclosure_pattern"


def _lake_path_exists(session, folder: str) -> bool | None:
    """Whether `folder` exists in the lake, asked of the Hadoop file system Spark itself uses (a
    local folder, HDFS or an object store alike); None where this session cannot tell (a Spark
    Connect session has no JVM here: it reads and handles a missing folder as before)."""
    context = getattr(session, "_jsc", None)
    if context is None:
        return None
    try:
        path = session._jvm.org.apache.hadoop.fs.Path(folder)
        return bool(path.getFileSystem(context.hadoopConfiguration()).exists(path))
    except Exception:  # the read below reports what is wrong with the lake
        return None


def _lake_memo_schema():
    """The columns of the memo's Parquet files (as the DuckDB memo's table)."""
    from pyspark.sql import types as t

    return t.StructType(
        [
            t.StructField("fingerprint", t.StringType(), False),
            t.StructField("secondary", t.ArrayType(t.IntegerType(), False), False),
        ]
    )


def perturbation(cells: pd.DataFrame, parameters_file: str | None = None) -> pd.DataFrame:
    """The Cell Key Method instead of suppression: every cell published with its noise (none is
    withheld, so there is no primary or secondary reason)."""
    from .ckm import build_ptable, load_parameters

    table = build_ptable(load_parameters(parameters_file))
    cells = cells.reset_index(drop=True).copy()
    if cells["cell_key"].isna().any():
        missing = cells[cells["cell_key"].isna()][["measure"]].drop_duplicates()["measure"].tolist()
        raise ValueError(f"Cell Key Method: no record keys for {missing}")
    cells["published_value"] = table.perturb(
        cells["value"].round().astype("int64").to_numpy(), cells["cell_key"].to_numpy()
    )
    cells["published_value"] = cells["published_value"].astype(float)
    cells["status"] = "perturbed"
    cells["reason"] = None
    cells["earlier"] = None
    return cells


def summary(pattern: pd.DataFrame) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for reason in pattern["reason"].dropna():
        counts[str(reason)] += 1
    return dict(sorted(counts.items()))
