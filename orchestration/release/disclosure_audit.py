"""The disclosure audit of a release, run on the files the release is about to publish.

1. The published cells are read back from the release's own Parquet (not from the warehouse), and
   every earlier release's cells are added: an attacker holds them all.
2. Cross-check with the warehouse's pattern (model disclosure_pattern): every cell it withholds
   must be withheld in the files, every cell it publishes must carry its true value.
3. Per Stichtag and group of related measures, the attacker who knows everything public
   (`linked.COMPLETE`: withheld counts are at least 1, counts are whole numbers) is played: every
   withheld cell's interval must be at least the protection width wide, and every primary cell's
   upper bound at least the width above its true value (so nobody can show that it is below the
   minimum). Each requirement is proven by whole-number tables the attacker cannot rule out, found
   by linear and integer programming (`audit.proven_intervals`); where no proof is found, the
   cell's exact interval decides. The audit plays this attacker whatever model the pattern was
   built with.

4. The published indices are recomputed from the release's own files (the series, the catalogues
   and the areas) and must be exactly what is published: then an index is a function of published
   values and tells an attacker nothing that the audited cells do not (orchestration/indices/public.py).
5. The atlas's data (`atlas/data.js`) hold exactly the published numbers: rebuilt from the release's
   own public files, they must be the same (orchestration/release/atlas).
6. The printed report's content (`bericht/daten.json`) is rebuilt the same way, and the text of its
   PDFs (where they are written) must print exactly its figures, withheld cells as their sign
   (orchestration/release/report).

Only aggregate figures go into the release manifest: per-cell results would tell which withheld
cells are primary, i.e. which counts are below the minimum. `sozialmonitor release audit` shows the
per-cell intervals to the statistics office."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..disclosure.audit import Interval, ModelInconsistent, intervals, proven_intervals, shortfall
from ..disclosure.ckm import load_parameters
from ..disclosure.history import align_to_cells, all_released_cells, release_cells
from ..disclosure.linked import COMPLETE, LinkedTable
from ..disclosure.parallel import solved_in_order
from ..disclosure.pattern import (
    KEY,
    PROOF_TABLES_TABLE,
    PROOFS_TABLE,
    linked_tables,
    proof_columns,
    proof_key,
    relations_from_frame,
)
from ..errors import SozialmonitorError
from ..indices.public import recompute_from_release
from ..warehouse import connect, private_dir, scratch, table_exists
from .atlas import check_atlas
from .report import check_report
from .store import list_releases


@dataclass
class _TableAudit:
    """What one linked table's audit found: its cells' keys and reasons (in table order), the withheld
    cells an earlier release published, the attacker's intervals of the other withheld cells (or
    why the table's system is inconsistent) and the programmes solved."""

    keys: list[tuple]
    reasons: list[Any]
    republished: list[int] = field(default_factory=list)
    found: list[Interval] = field(default_factory=list)
    inconsistent: str | None = None
    solved: Counter = field(default_factory=Counter)
    proofs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    key: tuple[str, str] | None = None


class AuditProofs:
    """The whole-number tables with which the last published release's audit proved its withheld
    cells, per linked table, for the next release's audit to try first (`proven_intervals`' hints).
    A release of a new Stichtag publishes the earlier Stichtage's tables again, with the same cells
    withheld; their proofs are checked again instead of searched for again. Every table is checked
    against the attacker's system of the release being audited, like a table a programme finds: a
    table that no longer holds (a correction, another pattern, a changed or damaged file) proves
    nothing, and the programmes run as without it. So the memo can cost time, never a verdict.

    A proof is a table of true values moved within the attacker's constraints: it shows true
    Baublock values (an atom set to its lower bound moved by its value). It is kept beside the
    warehouse, which holds them anyway, never in the releases folder: `path`, one Parquet file,
    written whole and renamed by `keep()` once the release is published. Tables are named by their
    Stichtag and measures, and their proofs are used only while the table's variables are the same
    (`layout`: its measures and atoms)."""

    def __init__(self, path: Path):
        self.path = path
        self._known: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
        self._held: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
        self._asked: set[str] = set()
        self._pattern: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
        self.unreadable: str | None = None
        self.pattern_unreadable: str | None = None
        if path.is_file():
            try:
                self._known = _read_proofs(path)
            except (OSError, ValueError, TypeError, KeyError, pa.ArrowException) as exc:
                # a damaged file is no memo: the proofs are searched for (and the file replaced)
                self.unreadable = f"{type(exc).__name__}: {exc}"

    @staticmethod
    def name(table: LinkedTable, stichtag: Any) -> tuple[str, str]:
        """The table's key: its Stichtag and measures, and the digest of its variables' layout."""
        return proof_key(table, stichtag)

    def add_pattern_proofs(
        self, proofs: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]], unreadable: str | None = None
    ) -> None:
        """The whole-number tables with which the build's suppression pattern was verified
        (`read_pattern_proofs`), tried after the last release's: for a Stichtag no release has
        audited yet, they spare most programmes. Checked like every hint; never kept as such (a
        table among them that proves a cell is kept as this audit's proof; tried only for cells the
        last release's do not prove: a Stichtag no release has audited, a corrected one). `unreadable`: why the
        warehouse's could not be read (then there are none)."""
        self._pattern = proofs
        self.pattern_unreadable = unreadable

    def hints(self, key: tuple[str, str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The kept proofs of the table `key` (`name`); the table counts as audited now."""
        self._asked.add(key[0])
        return self._known.get(key, [])

    def pattern_hints(self, key: tuple[str, str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The pattern's proofs of the table `key`: tried after `hints`, only while a withheld cell
        still lacks its proof (`proven_intervals`' fallback hints)."""
        return self._pattern.get(key, [])

    def hold(self, key: tuple[str, str], proofs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """This audit's proofs of a table, written by `keep()` (only once the release is published)."""
        if proofs:
            self._held[key] = proofs

    def keep(self) -> None:
        """Replace the file with the proofs held, and the kept ones of tables this audit did not
        look at (a correction of an older Stichtag leaves the newer ones' proofs); nothing at all:
        the file goes. Readable by the owner only, like the warehouse."""
        private_dir(self.path.parent)
        for stale in self.path.parent.glob(f".{self.path.name}.*"):  # of a run killed while writing
            stale.unlink(missing_ok=True)
        kept = {key: proofs for key, proofs in self._known.items() if key[0] not in self._asked}
        held = {**kept, **self._held}
        if not held:
            self.path.unlink(missing_ok=True)
            return
        proofs = [(key, layout, proof) for (key, layout), kept_proofs in sorted(held.items()) for proof in kept_proofs]
        table = pa.table(proof_columns(proofs))
        aside = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            with os.fdopen(os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
                pq.write_table(table, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(aside, self.path)
        finally:
            aside.unlink(missing_ok=True)


def proofs_path(warehouse: Path) -> Path:
    """Where a warehouse's audit proofs are kept (`AuditProofs`): beside its file."""
    return warehouse.with_name(f"{warehouse.stem}.audit_proofs.parquet")


_PROOF_SCHEMA = pa.schema(
    [("linked_table", pa.string()), ("layout", pa.string()), ("proof", pa.int64()), ("variable", pa.int64()),
     ("change", pa.float64())]
)  # fmt: skip


_NUMBERS = ("proof", "variable", "change")
_Proofs = dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]]


def _read_proofs(path: Path) -> _Proofs:
    """The file's proofs by table; a file of another shape raises (pyarrow's errors, ValueError).
    The tables' names are read as a dictionary: repeated on every one of a Kreis's millions of proof
    rows as plain strings, they held gigabytes."""
    table = pq.read_table(path, columns=_PROOF_SCHEMA.names, read_dictionary=["linked_table", "layout"])
    if any(column.null_count for column in table.columns):
        raise ValueError("the proofs have empty fields")
    names = pc.dictionary_encode(table["linked_table"]).combine_chunks()
    layouts = pc.dictionary_encode(table["layout"]).combine_chunks()
    pairs = names.indices.to_numpy().astype(np.int64) * len(layouts.dictionary) + layouts.indices.to_numpy()
    codes, number = np.unique(pairs, return_inverse=True)
    tables = [
        (
            str(names.dictionary[int(code) // len(layouts.dictionary)]),
            str(layouts.dictionary[int(code) % len(layouts.dictionary)]),
        )
        for code in codes
    ]
    return _proofs_by_table(tables, number, *(_numbers(table, column) for column in _NUMBERS))


def _numbers(table: pa.Table, column: str) -> np.ndarray:
    return table[column].cast(_PROOF_SCHEMA.field(column).type).to_numpy()


def read_pattern_proofs(con, stichtag: date | None = None) -> tuple[_Proofs, str | None]:
    """The suppression pattern's proofs the warehouse `con` holds (disclosure/pattern.py,
    PROOF_TABLES_TABLE and PROOFS_TABLE), by table, of the Stichtage up to `stichtag` (all: None),
    and why there are none where they cannot be read (a warehouse of an earlier version has no such
    tables: no proofs, nothing to say)."""
    if not (table_exists(con, PROOF_TABLES_TABLE) and table_exists(con, PROOFS_TABLE)):
        return {}, None
    # a table's name begins with its Stichtag (`proof_key`)
    until = "9999-12-31" if stichtag is None else pd.Timestamp(stichtag).date().isoformat()
    try:
        tables = con.execute(
            f"""select number, linked_table, layout from {PROOF_TABLES_TABLE}
                where left(linked_table, 10) <= ? order by number""",
            [until],
        ).fetchall()
        if any(None in table for table in tables):
            raise ValueError("the proofs have empty fields")
        (alike,) = con.execute(f"select count(number) <> count(distinct number) from {PROOF_TABLES_TABLE}").fetchone()
        if alike:
            raise ValueError("the proofs number two tables alike")
        # each row with its table's place in `tables` (rows of no table named fall out of the join)
        rows = con.execute(
            f"""select t.position, p.proof, p.variable, p.change from {PROOFS_TABLE} as p
                inner join (
                    select number, row_number() over (order by number) - 1 as position from {PROOF_TABLES_TABLE}
                    where left(linked_table, 10) <= ?
                ) as t using (number)
                order by t.position, p.proof, p.variable""",
            [until],
        ).arrow()
        if not isinstance(rows, pa.Table):  # DuckDB 1.4 and later: a record batch reader
            rows = rows.read_all()
        if any(column.null_count for column in rows.columns):
            raise ValueError("the proofs have empty fields")
        position = rows["position"].cast(pa.int64()).to_numpy()
        named = [(str(name), str(layout)) for _number, name, layout in tables]
        return _proofs_by_table(named, position, *(_numbers(rows, column) for column in _NUMBERS)), None
    except (duckdb.Error, ValueError, TypeError, pa.ArrowException) as exc:
        return {}, f"{type(exc).__name__}: {exc}"


def _proofs_by_table(
    tables: list[tuple[str, str]], number: np.ndarray, proof: np.ndarray, variable: np.ndarray, change: np.ndarray
) -> _Proofs:
    """Proof rows by table (`number`: the row's table in `tables`; a proof's rows contiguous)."""
    known: _Proofs = {}
    if not len(proof):
        return known
    # split where the proof number or the table changes
    starts = np.flatnonzero(np.r_[True, (proof[1:] != proof[:-1]) | (number[1:] != number[:-1])])
    ends = np.r_[starts[1:], len(proof)]
    for table, start, end in zip(number[starts].tolist(), starts.tolist(), ends.tolist(), strict=True):
        known.setdefault(tables[table], []).append((variable[start:end], change[start:end]))
    return known


@dataclass
class CellAudit:
    stichtag: date
    level: str
    area_id: str
    measure: str
    value: float
    reason: str
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


# The audit figures a release's manifest may carry (see AuditReport.public_figures).
PUBLIC_FIGURES = (
    "passed",
    "method",
    "checks",
    "protection_width",
    "published_cells",
    "withheld_cells",
    "withheld_below_width",
    "tables_add_up",
    "earlier_releases",
    "earlier_cells_used",
    "earlier_cells_changed_since",
    "linear_programmes",
    "integer_programmes",
    "exact_intervals",
    "indices_recomputed",
    # not "narrowest_proven_interval": the proofs start from the true values
    # not "seconds": a build time; the same inputs must give the same manifest (it stays internal)
    # not "proofs_tried"/"…_reused": whether the last release's or the pattern's proofs still hold
    # depends on true values of withheld cells. (The programme counts above are the audit's work:
    # they depend on how the search went from the true values, and on those proofs: a warehouse
    # without its proofs file or the pattern's proofs, `AuditProofs`, solves more.)
    "problems",
)


@dataclass
class AuditReport:
    protection_width: float
    cells: list[CellAudit] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    published_cells: int = 0
    earlier_releases: list[str] = field(default_factory=list)
    earlier_cells_used: int = 0
    earlier_cells_changed: int = 0
    linear_programmes: int = 0
    integer_programmes: int = 0
    exact_intervals: int = 0
    proofs_tried: int = 0
    proofs_reused: int = 0
    indices_recomputed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    method: str = "suppression"
    perturbed_cells: int = 0

    @property
    def passed(self) -> bool:
        return not self.problems

    def public_figures(self) -> dict[str, Any]:
        """What goes into the manifest. Nothing that is computed from true values or tells primary
        from secondary cells: how many withheld cells are primary, the narrowest interval of the
        primary ones or their margins would let a reader who recomputes the intervals (they follow
        from the public files) single out cells below the minimum, and how many cells the noise
        changed is a figure of the true values. Only what anyone could recompute, and the verdict:
        an allow-list, so that a figure added to `figures` later stays internal until it is named."""
        return {k: v for k, v in self.figures().items() if k in PUBLIC_FIGURES}

    def figures(self) -> dict[str, Any]:
        """All aggregate figures, for the statistics office (`sozialmonitor release audit`): counts
        and the narrowest widths, nothing per cell. A cell's width is what the audit proved (the
        attacker's interval is at least that wide), or its exact interval where no proof was found
        (`proven_intervals`); `sozialmonitor release audit --exact` computes every exact interval."""
        primary = [c for c in self.cells if c.reason != "secondary"]
        secondary = [c for c in self.cells if c.reason == "secondary"]

        def narrowest(cells: list[CellAudit]) -> float | None:
            finite = [c.width for c in cells]
            return None if not finite else round(min(finite), 6)

        margins = [c.high - c.value for c in primary]

        if self.method == "cell_key":
            return {
                "passed": self.passed,
                "method": "cell_key: counts carry the Cell Key Method's noise; nothing is withheld",
                "checks": "files carry the perturbed counts; no count 1 … js; zeros stay zero; no deviation above D",
                "published_cells": self.published_cells,
                "cells_changed_by_noise": self.perturbed_cells,
                "tables_add_up": False,
                "indices_recomputed": self.indices_recomputed,
                "seconds": round(self.seconds, 2),
                "problems": self.problems[:20],
            }
        return {
            "passed": self.passed,
            "method": (
                "proof for every withheld cell by whole-number tables consistent with all published cells, "
                "levels, Sozialräume, relations between counts and earlier releases, and with a withheld "
                "count of at least 1, found by linear and integer programming (HiGHS); the exact interval "
                "where no proof is found"
            ),
            "protection_width": self.protection_width,
            "published_cells": self.published_cells,
            "withheld_cells": len(self.cells),
            "narrowest_proven_interval": narrowest(self.cells),
            "withheld_primary": len(primary),
            "withheld_secondary": len(secondary),
            "narrowest_proven_interval_primary": narrowest(primary),
            "narrowest_proven_interval_secondary": narrowest(secondary),
            "smallest_upper_margin_primary": None if not margins else round(min(margins), 6),
            "primary_below_width": sum(c.width < self.protection_width - 1e-6 for c in primary),
            "withheld_below_width": sum(c.width < self.protection_width - 1e-6 for c in self.cells),
            "earlier_releases": self.earlier_releases,
            "earlier_cells_used": self.earlier_cells_used,
            "earlier_cells_changed_since": self.earlier_cells_changed,
            "linear_programmes": self.linear_programmes,
            "integer_programmes": self.integer_programmes,
            "exact_intervals": self.exact_intervals,
            # tried first: the last release's proofs and the suppression pattern's (`AuditProofs`)
            "proofs_tried": self.proofs_tried,
            "proofs_reused": self.proofs_reused,
            "indices_recomputed": self.indices_recomputed,
            "seconds": round(self.seconds, 2),
            "problems": self.problems[:20],
        }


class DisclosureAuditFailed(SozialmonitorError):
    exit_code = 7
    headline = "No release made:"
    hint = "The previous release is untouched. See docs/privacy.md, 'When the audit fails'."

    def __init__(self, report: AuditReport):
        self.report = report
        listed = "\n".join(f"  - {p}" for p in report.problems[:10])
        more = f"\n  … and {len(report.problems) - 10} more" if len(report.problems) > 10 else ""
        super().__init__(
            f"the disclosure audit failed, nothing was published:\n{listed}{more}\n"
            "Per-cell intervals (internal): sozialmonitor release audit --cells"
        )


def _warehouse_frames(warehouse: Path, stichtag: date, proofs: AuditProofs | None = None) -> dict[str, pd.DataFrame]:
    """The pattern and its inputs up to `stichtag`; `proofs` gets the pattern's proofs."""
    con = connect(warehouse, read_only=True)
    try:
        q = lambda sql: con.execute(sql, [stichtag]).df()  # noqa: E731
        if proofs is not None:
            proofs.add_pattern_proofs(*read_pattern_proofs(con, stichtag))
        return {
            "pattern": q("select * from disclosure.disclosure_pattern where stichtag <= ?"),
            "area_atoms": q("select * from disclosure.disclosure_area_atoms where stichtag <= ?"),
            "atom_values": q("select * from disclosure.disclosure_atom_values where stichtag <= ?"),
            "relations": con.execute("select * from disclosure.disclosure_relations").df(),
        }
    finally:
        con.close()


def audit_release(
    release_dir: Path,
    warehouse: Path,
    releases_dir: Path,
    stichtag: date,
    protection_width: float,
    exclude_release: str | None = None,
    exact: bool = False,
    proofs: AuditProofs | None = None,
) -> AuditReport:
    """Audit the release files in `release_dir` (built or finished) against the warehouse. `exact`:
    compute every withheld cell's exact interval (two linear programmes per cell and an integer
    programme per fractional vertex) instead of proving each requirement (`proven_intervals`).
    `proofs`: the last release's proofs, tried first, and this audit's held for the next
    (`AuditProofs`)."""
    started = time.perf_counter()
    report = AuditReport(protection_width=float(protection_width))
    frames = _warehouse_frames(warehouse, stichtag, proofs)
    pattern = frames["pattern"]
    con = scratch()
    try:
        published = align_to_cells(release_cells(con, release_dir, "this"), pattern)
    finally:
        con.close()
    earlier = align_to_cells(all_released_cells(list_releases(releases_dir), exclude=exclude_release), pattern)
    report.earlier_releases = sorted(earlier["release_id"].unique().tolist()) if not earlier.empty else []

    if (pattern["status"] == "perturbed").any():
        report = _audit_perturbed(report, pattern, published, started)
        _audit_indices(report, release_dir)  # under the Cell Key Method too: from the perturbed values
        _audit_atlas(report, release_dir)
        _audit_report(report, release_dir)
        return report

    # 2. The files against the pattern.
    merged = pattern.merge(published[KEY + ["value"]].rename(columns={"value": "file_value"}), on=KEY, how="left")
    withheld = merged["status"] == "suppressed"
    leaked = merged[withheld & merged["file_value"].notna()]
    for r in leaked.itertuples():
        report.problems.append(
            f"{r.measure} in {r.level} {r.area_id} at {r.stichtag}: withheld by the pattern but published"
        )
    shown = merged[~withheld]
    wrong = shown[shown["file_value"].isna() | ((shown["file_value"] - shown["value"]).abs() > 1e-9)]
    for r in wrong.itertuples():
        report.problems.append(
            f"{r.measure} in {r.level} {r.area_id} at {r.stichtag}: published as {r.file_value}, "
            f"but its value is {r.value}"
        )
    report.published_cells = int((~withheld).sum() - merged.loc[~withheld].duplicated(KEY).sum())

    # What the attacker knows: this release's published cells, plus earlier releases' cells where
    # they describe the same data (an earlier value that differs is about data since corrected).
    known = merged.loc[~withheld & merged["file_value"].notna(), KEY + ["file_value"]].rename(
        columns={"file_value": "known"}
    )
    if not earlier.empty:
        old = earlier[earlier["value"].notna()].merge(pattern[KEY + ["value"]], on=KEY, suffixes=("_old", ""))
        same = (old["value_old"] - old["value"]).abs() < 1e-9
        report.earlier_cells_changed = int((~same).sum())
        extra = old.loc[same, KEY + ["value"]].rename(columns={"value": "known"})
        report.earlier_cells_used = len(extra)
        known = pd.concat([known, extra], ignore_index=True).drop_duplicates(KEY)

    # 3. Intervals per Stichtag and group of related measures.
    relations = relations_from_frame(frames["relations"])
    known_key = {
        tuple(k): v for k, v in zip(known[KEY].itertuples(index=False, name=None), known["known"], strict=True)
    }
    withheld_in = lambda group: (group["status"] == "suppressed").any()  # noqa: E731

    def bounds(item: tuple[pd.DataFrame, LinkedTable]) -> _TableAudit:
        """One linked table's intervals (on a solver thread: it reads only its own cells)."""
        ordered, table = item
        ordered = ordered.reset_index(drop=True)
        audit = _TableAudit(list(ordered[KEY].itertuples(index=False, name=None)), ordered["reason"].tolist())
        withheld = (ordered["status"] == "suppressed").tolist()
        given = {i: known_key[k] for i, k in enumerate(audit.keys) if k in known_key}
        targets = [i for i, hidden in enumerate(withheld) if hidden and i not in given]
        audit.republished = [i for i, hidden in enumerate(withheld) if hidden and i in given]
        primary = {i for i in targets if audit.reasons[i] != "secondary"}
        audit.key = AuditProofs.name(table, ordered["stichtag"].iat[0]) if proofs is not None else None
        try:
            if exact:
                audit.found = intervals(table, given, targets, COMPLETE)
                audit.solved["exact"] += len(targets)
                audit.solved["linear"] += 2 * len(targets)  # and an integer programme per fractional vertex
            else:
                audit.found = proven_intervals(
                    table, given, targets, primary, protection_width, COMPLETE, counts=audit.solved,
                    hints=proofs.hints(audit.key) if proofs is not None else (), proofs=audit.proofs,
                    fallback_hints=proofs.pattern_hints(audit.key) if proofs is not None else (),
                )  # fmt: skip
        except ModelInconsistent as exc:
            audit.inconsistent = str(exc)
        return audit

    solved: Counter = Counter()
    tables = linked_tables(pattern, frames["area_atoms"], frames["atom_values"], relations, withheld_in)
    for _item, audit in solved_in_order(bounds, tables):
        keys, reasons = audit.keys, audit.reasons
        solved.update(audit.solved)
        for i in audit.republished:
            report.problems.append(
                f"{keys[i][3]} in {keys[i][1]} {keys[i][2]} at {keys[i][0]}: withheld now, "
                "but an earlier release published the same value"
            )
        if audit.inconsistent is not None:
            report.problems.append(audit.inconsistent)
            continue
        if proofs is not None:
            proofs.hold(audit.key, audit.proofs)
        for iv in audit.found:
            stichtag, level, area_id, measure = keys[iv.cell]
            cell = CellAudit(stichtag, level, area_id, measure, iv.value, reasons[iv.cell], iv.low, iv.high)
            report.cells.append(cell)
            why = shortfall(iv, cell.reason != "secondary", protection_width, COMPLETE)
            if why:
                report.problems.append(f"{cell.measure} in {cell.level} {cell.area_id} at {cell.stichtag}: {why}")
    report.linear_programmes = solved["linear"]
    report.integer_programmes = solved["integer"]
    report.exact_intervals = solved["exact"]
    report.proofs_tried, report.proofs_reused = solved["hints"], solved["hints_taken"]
    _audit_indices(report, release_dir)
    _audit_atlas(report, release_dir)
    _audit_report(report, release_dir)
    report.seconds = time.perf_counter() - started
    return report


def _audit_atlas(report: AuditReport, release_dir: Path) -> None:
    """5. The atlas shows nothing but the published numbers."""

    report.problems.extend(check_atlas(release_dir))


def _audit_report(report: AuditReport, release_dir: Path) -> None:
    """6. The printed report shows nothing but the published numbers: its content (bericht/daten.json)
    rebuilt from the public files, and the PDFs' text against it where they are already written."""

    report.problems.extend(check_report(release_dir))


def _audit_indices(report: AuditReport, release_dir: Path) -> None:
    """4. Every published index must be exactly what the published values give."""

    data = release_dir / "data"
    if not (data / "index_catalogue.parquet").exists():
        return
    for name, (published, recomputed) in recompute_from_release(data).items():
        differ = _frames_differ(published, recomputed)
        if differ:
            report.problems.append(
                f"{name}: {differ}; the published index is not a function of the published values alone"
            )
        else:
            report.indices_recomputed[name] = len(published)


def _frames_differ(published: pd.DataFrame, recomputed: pd.DataFrame) -> str | None:
    if list(published.columns) != list(recomputed.columns):
        return f"columns {list(published.columns)} published, {list(recomputed.columns)} recomputed"
    if len(published) != len(recomputed):
        return f"{len(published)} rows published, {len(recomputed)} recomputed"
    a = published.reset_index(drop=True)
    b = recomputed.reset_index(drop=True)
    rows = 0
    for column in a.columns:
        x, y = a[column], b[column]
        if pd.api.types.is_float_dtype(x) or pd.api.types.is_float_dtype(y):
            x, y = pd.to_numeric(x, errors="coerce"), pd.to_numeric(y, errors="coerce")
            same = ((x - y).abs() <= 1e-9) | (x.isna() & y.isna())
        else:
            xs = x.astype("string").fillna("<null>")
            ys = y.astype("string").fillna("<null>")
            same = xs.str.replace(" 00:00:00", "", regex=False) == ys.str.replace(" 00:00:00", "", regex=False)
        rows = max(rows, int((~same).sum()))
        if rows:
            return f"{rows} rows differ in {column}"
    return None


def _audit_perturbed(
    report: AuditReport, pattern: pd.DataFrame, published: pd.DataFrame, started: float
) -> AuditReport:
    """Cell Key Method: nothing is withheld, so there is nothing to bound. Checked instead: the files
    carry exactly the perturbed counts, no count is published as 1 … js, zeros stay zeros, and no
    count moved by more than D. (D and V themselves stay out of the report.)"""

    parameters = load_parameters()
    report.method = "cell_key"
    merged = pattern.merge(published[KEY + ["value"]].rename(columns={"value": "file_value"}), on=KEY, how="left")
    report.published_cells = len(merged)
    wrong = merged[(merged["file_value"] - merged["published_value"]).abs().fillna(1) > 1e-9]
    for r in wrong.head(20).itertuples():
        report.problems.append(
            f"{r.measure} in {r.level} {r.area_id} at {r.stichtag}: the file does not carry the perturbed count"
        )
    small = merged[(merged["file_value"] >= 1) & (merged["file_value"] <= parameters.forbidden_small)]
    for r in small.head(20).itertuples():
        report.problems.append(
            f"{r.measure} in {r.level} {r.area_id} at {r.stichtag}: published as {r.file_value:g}, "
            "a forbidden small count"
        )
    zeros = merged[(merged["value"] == 0) & (merged["file_value"] != 0)]
    for r in zeros.head(20).itertuples():
        report.problems.append(f"{r.measure} in {r.level} {r.area_id} at {r.stichtag}: a zero was perturbed")
    far = merged[(merged["file_value"] - merged["value"]).abs() > parameters.max_deviation]
    for r in far.head(20).itertuples():
        report.problems.append(f"{r.measure} in {r.level} {r.area_id} at {r.stichtag}: perturbed by more than D")
    report.perturbed_cells = int((merged["file_value"] != merged["value"]).sum())
    report.seconds = time.perf_counter() - started
    return report
