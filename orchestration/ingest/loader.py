"""Loading extracts into the warehouse's `raw` schema, following their contracts.

For each file in `raw/<directory>/` that matches a contract's file pattern:
1. unchanged since the last successful load (same SHA-256)? skip;
2. stage it as text (`reading.py`): encoding, header, structure;
3. drop trailing totals, check every value, key and area code (`checks.py`), set-based;
4. only if all of that passed: replace that source's rows for that Stichtag in one transaction,
   with provenance columns (source file, its SHA-256, line, load time), and log the load.
A file that fails any step is moved to `quarantine/<source>/` with a `.error.txt` beside it that
names file, line, column and the fix, and nothing of it is loaded. `ingest()` checks every file
before it gives up, so the engineer sees all problems of a delivery at once, and raises
`IngestFailed` so nothing downstream runs.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..engines import claim_lake, sync_lake
from ..errors import SozialmonitorError
from ..faults import checkpoint
from ..pseudonyms import (
    DEMO_MARKER,
    PSEUDONYM_HEX,
    KeyMissing,
    PseudonymKey,
    check_fingerprint,
    demo_files,
    hmac_sql,
    load_key,
    record_key_sql,
)
from ..settings import Settings
from ..warehouse import private_dir
from .checks import (
    TYPED,
    drop_footer,
    find_duplicate_keys,
    find_unknown_references,
    find_violations,
    materialize_typed,
    suppressed_column,
    typed_column,
)
from .contracts import AREAS_SOURCE, BadFileName, Contract, load_contracts
from .reading import STAGE, Unreadable, Violation, stage_csv, stage_geojson, stage_xlsx

LOG_TABLE = "raw._load_log"
# A delivery's loads, the latest first: by the load's number (`load_no`, one more than the
# delivery's highest so far), not by its time, which is local and naive. In the hour the clocks go
# back (25.10.2026, 03:00 -> 02:00) a correction loaded at 02:10 after its file was loaded at 02:50
# would sort before it: the release would name the replaced file as its input, and the build plan
# would see no change and leave the correction unbuilt. Loads logged before the number came first
# (null), by their time. The builds are ordered the same way (build_plan.BUILD_ORDER).
LATEST_LOAD_FIRST = "load_no desc nulls last, loaded_at desc"
REJECT_TABLE = "raw._rejected_files"


@dataclass(frozen=True)
class Extract:
    contract: Contract
    path: Path
    stichtag: date | None
    # The Gemeinde that delivered the file, for a source delivered per Gemeinde (its name says it)
    gemeinde: str | None = None
    # Found before the file is read (a name whose date is no date, a Stichtag in the future, a
    # link out of raw/, a folder): the file is refused without opening it.
    problem: Violation | None = None

    @property
    def source(self) -> str:
        return self.contract.source

    @property
    def delivery(self) -> str:
        """What one file of a Stichtag replaces: the source, or one Gemeinde's part of it."""
        return delivery_name(self.source, self.gemeinde)


def delivery_name(source: str, gemeinde: str | None) -> str:
    """`source`, or `source@gemeinde` for one Gemeinde's part of a source delivered per Gemeinde:
    the key the build plan and the releases' inputs know a delivery by."""
    return f"{source}@{gemeinde}" if gemeinde else source


def source_of(delivery: str) -> str:
    """The source of a delivery (`delivery_name`)."""
    return delivery.split("@", 1)[0]


@dataclass
class LoadResult:
    extract: Extract
    status: str  # loaded | unchanged | rejected
    sha256: str
    rows: int = 0
    footer_rows: int = 0
    seconds: float = 0.0
    violations: list[Violation] = field(default_factory=list)
    quarantined_to: Path | None = None


@dataclass
class IngestReport:
    results: list[LoadResult]
    unrecognised: list[Path]

    @property
    def rejected(self) -> list[LoadResult]:
        return [r for r in self.results if r.status == "rejected"]

    @property
    def stichtage(self) -> list[date]:
        return sorted({r.extract.stichtag for r in self.results if r.extract.stichtag})


def describe_unrecognised(settings: Settings, report: IngestReport) -> list[str]:
    """One line per file in raw/ that no contract claims, with the names its folder expects."""
    contracts = load_contracts(settings.contracts_dir, settings.project_vars)
    lines = []
    for path in report.unrecognised:
        folder = path.parent.relative_to(settings.raw_dir).as_posix() if path.is_relative_to(settings.raw_dir) else ""
        expected = [f"{c.file_pattern} ({c.source})" for c in contracts.values() if c.directory == folder]
        hint = f"expected names: {', '.join(expected)}" if expected else "no source reads this folder"
        if path.is_symlink():
            kind = "symbolic link" if path.exists() else "broken symbolic link"
        elif path.is_dir():
            kind = "folder"
        elif path.name.startswith("."):
            kind = "hidden file"
        else:
            kind = "file"
        shown = path.relative_to(settings.raw_dir) if path.is_relative_to(settings.raw_dir) else path
        lines.append(f"{kind} {shown} was not loaded: {hint}")
    return lines


class IngestFailed(SozialmonitorError):
    exit_code = 2
    headline = "Run stopped:"
    hint = (
        "Nothing downstream was built and no release was made. The refused files are in quarantine\n"
        "with an .error.txt each; fix them, put them back into raw/ and run again."
    )

    def __init__(self, report: IngestReport):
        self.report = report
        parts = []
        for r in report.rejected:
            parts.append(f"✗ {r.extract.source}: {r.extract.path.name} rejected, moved to {r.quarantined_to}")
            parts.extend(f"    {v}" for v in r.violations)
        staedte = sorted({r.extract.gemeinde for r in report.rejected if r.extract.gemeinde})
        if staedte:
            parts.append(
                f"For the Kreis: the files of Gemeinde {', '.join(staedte)} above are missing, so no Kreis release is "
                "made (a Kreis total or comparison without them would be wrong); the previous release stays. "
                "Once they are delivered again, the run publishes all Städte together."
            )
        super().__init__(
            f"{len(report.rejected)} extract(s) broke their contract; nothing downstream was run.\n" + "\n".join(parts)
        )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


CONTROL_SUFFIX = ".count"  # control total beside an extract: EWR_Bestand_20241231.csv.count
IGNORED_NAMES = {"README.md", ".gitkeep", DEMO_MARKER}


def control_file(extract_path: Path) -> Path:
    """Where the department's control total for an extract lies: beside it, named like it + .count."""
    return extract_path.with_name(extract_path.name + CONTROL_SUFFIX)


def _refusal(extract_name: str, problem: str, fix: str) -> Violation:
    return Violation(extract_name, None, None, problem, fix)


def _pre_check(settings: Settings, contract: Contract, path: Path, today: date) -> tuple[date | None, Violation | None]:
    """What can be said about a file from its name and kind alone, without reading a byte."""
    name = str(path.relative_to(settings.raw_dir))
    try:
        stichtag = contract.match(path.name)
    except BadFileName as exc:
        return None, _refusal(name, str(exc), f"rename the file to the form {contract.file_pattern} with a real date")
    if path.is_symlink():
        target = path.resolve()
        if not target.exists():
            return stichtag, _refusal(
                name,
                "the file is a symbolic link to something that does not exist",
                "copy the extract itself into raw/ instead of a link",
            )
        if not target.is_relative_to(settings.raw_dir.resolve()):
            # Never read it: its content is not a delivery, and must not reach any message.
            return stichtag, _refusal(
                name,
                "the file is a symbolic link to a place outside raw/; it was not read",
                "copy the extract itself into raw/ instead of a link",
            )
    if path.is_dir():
        return stichtag, _refusal(
            name,
            "a folder is named like an extract (an unpacked archive?)",
            "put the extract file itself into raw/, not a folder",
        )
    if not path.is_file():
        return stichtag, _refusal(name, "not a regular file", "copy the extract file itself into raw/")
    if stichtag is not None and stichtag > today:
        return stichtag, _refusal(
            name,
            f"the Stichtag {stichtag.isoformat()} in the file name lies in the future",
            "check the date in the file name: a Stichtag can only be delivered after it has passed",
        )
    return stichtag, None


def discover(
    settings: Settings, contracts: dict[str, Contract], today: date | None = None
) -> tuple[list[Extract], list[Path]]:
    """Files in raw/ that belong to a contract, in load order; and everything else in raw/ that
    nobody claims (files, hidden files, folders, links), so nothing there goes unreported."""
    today = today or date.today()
    extracts: list[Extract] = []
    claimed: set[Path] = set()
    for contract in contracts.values():
        folder = settings.raw_dir / contract.directory
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.endswith(CONTROL_SUFFIX) and contract.pattern.fullmatch(path.name[: -len(CONTROL_SUFFIX)]):
                claimed.add(path)  # a control total: read with its extract
                continue
            if contract.pattern.fullmatch(path.name) is None:
                continue
            stichtag, problem = _pre_check(settings, contract, path, today)
            claimed.add(path)
            gemeinde = contract.gemeinde(path.name)
            # a Stadt with its own software reads with its variant over the common contract
            extracts.append(Extract(contract.for_gemeinde(gemeinde), path, stichtag, gemeinde, problem))
    unrecognised: list[Path] = []
    if settings.raw_dir.is_dir():
        folders = {settings.raw_dir / c.directory for c in contracts.values()}
        for path in sorted(settings.raw_dir.rglob("*")):
            if path in claimed or path.name in IGNORED_NAMES or any(p in claimed for p in path.parents):
                continue
            if (
                path.is_dir()
                and not path.is_symlink()
                and (path in folders or any(f.is_relative_to(path) for f in folders))
            ):
                continue  # a source's folder (or one above it)
            unrecognised.append(path)
    order = {name: i for i, name in enumerate(contracts)}
    extracts.sort(key=lambda e: (order[e.source], e.stichtag or date.min, e.gemeinde or "", e.path.name))
    return extracts, unrecognised


def migrate_load_log(con: duckdb.DuckDBPyConnection) -> None:
    """The load log of a warehouse of an earlier version gets the columns added since: the
    Gemeinde of a delivery per Gemeinde, and the load's number (LATEST_LOAD_FIRST)."""
    con.execute(f"alter table {LOG_TABLE} add column if not exists gemeinde varchar")
    con.execute(f"alter table {LOG_TABLE} add column if not exists load_no bigint")


def latest_load_order(con: duckdb.DuckDBPyConnection, table: str = LOG_TABLE) -> str:
    """LATEST_LOAD_FIRST for the load log `table`; by time alone where a reader that may not change
    the warehouse (read-only) meets a log of an earlier version, whose loads have no number."""
    columns = {row[0] for row in con.execute(f"describe {table}").fetchall()}
    return LATEST_LOAD_FIRST if "load_no" in columns else "loaded_at desc"


def ensure_schema(con: duckdb.DuckDBPyConnection, contracts: Iterable[Contract]) -> None:
    con.execute("create schema if not exists raw")
    con.execute(
        f"""create table if not exists {LOG_TABLE} (
            source varchar, stichtag date, file varchar, sha256 varchar, rows bigint,
            footer_rows bigint, loaded_at timestamp, seconds double, gemeinde varchar, load_no bigint)"""
    )
    migrate_load_log(con)
    con.execute(
        f"""create table if not exists {REJECT_TABLE} (
            source varchar, stichtag date, file varchar, sha256 varchar, quarantined_to varchar,
            problems varchar, rejected_at timestamp)"""
    )
    # the columns of every raw table in one look at the catalog (a Dagster step loads one file and
    # ensures every table: a query per table cost more than the file's load in the test city)
    shapes: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = 'raw' order by table_name, ordinal_position"
    ).fetchall():
        shapes.setdefault(table, []).append((column, data_type))
    for contract in contracts:
        expected = _table_columns(contract)
        existing = shapes.get(contract.source, [])
        if existing and existing != expected:
            # The contract changed shape: rebuild the table and forget its loads so every file reloads.
            con.execute(f"drop table {contract.table}")
            con.execute(f"delete from {LOG_TABLE} where source = ?", [contract.source])
            existing = []
        if not existing:
            cols = ", ".join(f"{c} {t}" for c, t in expected)
            con.execute(f"create table {contract.table} ({cols})")


def _table_columns(contract: Contract) -> list[tuple[str, str]]:
    cols: list[tuple[str, str]] = [("stichtag", "DATE")]
    if contract.delivered_per:
        cols.append(("gemeinde", "VARCHAR"))
    for col in contract.columns:
        cols.append((col.name, col.sql_type))
        if col.type == "count" and col.suppressed:
            cols.append((f"{col.name}_suppressed", "BOOLEAN"))
    if contract.format == "geojson":
        cols.append(("geometry_geojson", "VARCHAR"))
    if contract.period == "stichtag":
        cols.append(("_record_key", "DOUBLE"))
    cols += [
        ("_source_file", "VARCHAR"),
        ("_source_sha256", "VARCHAR"),
        ("_source_line", "BIGINT"),
        ("_loaded_at", "TIMESTAMP"),
    ]
    return cols


def _already_loaded(con: duckdb.DuckDBPyConnection, extract: Extract, sha: str) -> bool:
    row = con.execute(
        f"""select sha256 from {LOG_TABLE}
            where source = ? and stichtag is not distinct from ? and gemeinde is not distinct from ?
            order by {LATEST_LOAD_FIRST} limit 1""",
        [extract.source, extract.stichtag, extract.gemeinde],
    ).fetchone()
    return row is not None and row[0] == sha


def _loaded_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(f"select distinct source from {LOG_TABLE}").fetchall()
    return {f"raw.{r[0]}" for r in rows}


def _stage(con: duckdb.DuckDBPyConnection, extract: Extract, name: str) -> bool:
    """Stage the file; returns whether its values may hold control characters."""
    fmt = extract.contract.format
    controls = True
    if fmt == "csv":
        controls = stage_csv(con, extract.contract, extract.path, name, extract.path.read_bytes())
    elif fmt == "xlsx":
        stage_xlsx(con, extract.contract, extract.path, name)
    else:
        stage_geojson(con, extract.contract, extract.path, name, extract.path.read_bytes())
    staged = {r[0] for r in con.execute(f"select column_name from (describe {STAGE})").fetchall()}
    for col in extract.contract.columns:
        if col.may_be_absent and col.name not in staged:  # an older file without a later column
            con.execute(f"alter table {STAGE} add column {col.name} varchar")
    return controls


# (delivery, Stichtag) -> (SHA-256, release id); the delivery is the source or one Gemeinde's part
Released = dict[tuple[str, str], tuple[str, str]]


def released_violation(extract: Extract, sha: str, name: str, released: Released | None) -> Violation | None:
    """A file for a Stichtag that a release already published from another file is refused: loading
    it would change published numbers behind the release's back."""
    if not released or extract.stichtag is None:
        return None
    hit = released.get((extract.delivery, extract.stichtag.isoformat()))
    if hit is None or hit[0] == sha:
        return None
    return Violation(
        name,
        None,
        None,
        f"Stichtag {extract.stichtag.isoformat()} of {extract.delivery} is already released "
        f"(release {hit[1]} was made from a file with SHA-256 {hit[0][:16]}…, this one differs)",
        "published releases never change. If this file is a correction, put it back into raw/ and run "
        "`sozialmonitor run --force`: that publishes it as a new version of the release; otherwise "
        "deliver the file released before",
    )


def load_extract(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    extract: Extract,
    force: bool = False,
    released: Released | None = None,
    key: PseudonymKey | None = None,
    demo_only: dict[str, str] | None = None,
) -> LoadResult:
    """Load one extract. `demo_only`: the demo generator's files and their SHA-256, when the key is
    the demo key (read once per delivery by `ingest`; read here when not given)."""
    started = time.perf_counter()
    contract = extract.contract
    name = (
        str(extract.path.relative_to(settings.raw_dir))
        if extract.path.is_relative_to(settings.raw_dir)
        else extract.path.name
    )
    footer_rows = 0
    if extract.problem is not None:
        sha, violations = "", [extract.problem]
    else:
        sha = sha256_file(extract.path)
        if not force and _already_loaded(con, extract, sha):
            return LoadResult(extract, "unchanged", sha, seconds=time.perf_counter() - started)
        violations = []
    try:
        if not violations:
            controls = _stage(con, extract, name)
            footer_rows = drop_footer(con, contract, name)
            materialize_typed(con, contract)
            violations = find_violations(con, contract, extract.stichtag, name, controls=controls)
        if not violations:
            violations = control_total_violations(con, extract, name)
        if not violations:
            violations = find_duplicate_keys(con, contract, name)
        if not violations:
            loaded = _loaded_tables(con)
            violations = find_unknown_references(con, contract, name, loaded)
            if not violations:
                violations = unknown_gemeinde(con, extract, name, loaded)
        if not violations:  # a sound file, but for a Stichtag a release was made from another file
            refused = released_violation(extract, sha, name, released)
            violations = [refused] if refused else []
        if not violations:  # last, so a broken file is told what is broken about it first
            violations = demo_key_violations(settings, key, name, sha, demo_only)
    except Unreadable as exc:
        violations, footer_rows = exc.violations, 0
    except (duckdb.Error, OSError, ValueError, MemoryError) as exc:
        # Whatever else a file does to the readers: it is this file's problem, reported like the
        # others, never a traceback that hides the rest of the delivery.
        violations, footer_rows = (
            [
                Violation(
                    name,
                    None,
                    None,
                    f"the file cannot be read ({type(exc).__name__}: {_first_line(exc)})",
                    "check that the file is a complete export in the form the contract describes "
                    f"({contract.location}) and deliver it again",
                )
            ],
            0,
        )
    if violations:
        target = quarantine(settings, extract, sha, violations)
        con.execute(
            f"insert into {REJECT_TABLE} values (?, ?, ?, ?, ?, ?, ?)",
            [extract.source, extract.stichtag, name, sha, str(target), "\n".join(map(str, violations)), datetime.now()],
        )
        _drop_stage(con)
        return LoadResult(
            extract,
            "rejected",
            sha,
            violations=violations,
            quarantined_to=target,
            seconds=time.perf_counter() - started,
        )
    rows = _insert(con, contract, extract, name, sha, footer_rows, started, key)
    _drop_stage(con)
    return LoadResult(extract, "loaded", sha, rows=rows, footer_rows=footer_rows, seconds=time.perf_counter() - started)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


def read_control_total(path: Path) -> tuple[int | None, str | None]:
    """The record count in a control file: one whole number, optionally after a label
    ('102553', 'Datensaetze: 102553', 'Anzahl;102.553'). Returns (count, problem)."""
    try:
        text = path.read_bytes()[:200].decode("utf-8-sig", errors="replace").strip()
    except OSError as exc:
        return None, f"the control file {path.name} cannot be read ({exc.strerror})"
    match = re.fullmatch(r"(?:[A-Za-zÄÖÜäöüß _-]+[:;=]\s*)?(\d{1,3}(?:\.\d{3})+|\d+)", text)
    if not match:
        return None, f"the control file {path.name} does not hold a record count (found {text[:40]!r})"
    return int(match.group(1).replace(".", "")), None


def control_total_violations(con: duckdb.DuckDBPyConnection, extract: Extract, name: str) -> list[Violation]:
    """A department's control total (the count it sent beside the file) against the records read:
    a file cut at a row boundary has every line intact and only this shows it."""
    contract = extract.contract
    if contract.control_total == "none":
        return []
    control = control_file(extract.path)
    if not control.is_file():
        if contract.control_total == "required":
            return [
                _refusal(
                    name,
                    f"the control total {control.name} is missing (the contract requires the record count "
                    "beside every file)",
                    f"deliver {control.name} with the number of records the department's system exported",
                )
            ]
        return []
    expected, problem = read_control_total(control)
    if problem:
        return [_refusal(name, problem, f"write the number of data records (only the number) into {control.name}")]
    rows = con.execute(f"select count(*) from {TYPED}").fetchone()[0]
    if rows != expected:
        missing = (
            "records are missing: the file was cut off or filtered"
            if rows < expected
            else "more records than announced"
        )
        return [
            _refusal(
                name,
                f"{rows:,} records read, but the control total {control.name} says {expected:,}: {missing}",
                "deliver the complete file (and its control total) again",
            )
        ]
    return []


def demo_key_violations(
    settings: Settings, key: PseudonymKey | None, name: str, sha: str, demo_only: dict[str, str] | None = None
) -> list[Violation]:
    """The published demo key protects nothing: it may only pseudonymise the demo generator's own,
    unchanged files. Any other file under that key is refused, whatever made the key be used."""
    if key is None or not key.is_demo:
        return []
    generated = demo_only if demo_only is not None else demo_files(settings.raw_dir)
    if generated.get(Path(name).as_posix()) == sha:
        return []
    return [
        Violation(
            name,
            None,
            None,
            "this file is not one the demo generator wrote, but the pseudonymisation key in use is the "
            "published demo key, which protects nothing",
            "real extracts need the office's own key: set SOZIALMONITOR_PSEUDONYM_KEY_FILE (docs/privacy.md) "
            f"and remove raw/{DEMO_MARKER}",
        )
    ]


AREAS_TABLE = f"raw.{AREAS_SOURCE}"


def unknown_gemeinde(
    con: duckdb.DuckDBPyConnection, extract: Extract, name: str, loaded_tables: set[str]
) -> list[Violation]:
    """A file delivered per Gemeinde must name a Gemeinde of the Gebietsgliederung: its rows are
    that Gemeinde's, and they replace that Gemeinde's rows only."""
    if extract.gemeinde is None:
        return []
    if AREAS_TABLE not in loaded_tables:
        return [
            _refusal(
                name,
                f"cannot check the Gemeinde '{extract.gemeinde}' in the file name: the Gebietsgliederung is not loaded",
                "deliver the Gebietsgliederung (contract geo_areas) first",
            )
        ]
    known = con.execute(
        f"select count(*) from {AREAS_TABLE} where level = 'gemeinde' and area_code = ?", [extract.gemeinde]
    ).fetchone()[0]
    if known:
        return []
    return [
        _refusal(
            name,
            f"the file name names Gemeinde '{extract.gemeinde}', which is no Gemeinde of the Gebietsgliederung",
            "check the Gemeinde key (AGS) in the file name, or deliver the Gebietsgliederung that has this Gemeinde",
        )
    ]


def _drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"drop table if exists {STAGE}; drop table if exists {TYPED}; drop table if exists _violations")


def _insert(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    extract: Extract,
    name: str,
    sha: str,
    footer_rows: int,
    started: float,
    key: PseudonymKey | None = None,
) -> int:
    """Replace the source's rows of the Stichtag and log the load, in one transaction: a process
    killed at any point leaves either the old rows and log or the new ones."""
    params: dict[str, Any] = {"stichtag": extract.stichtag, "file": name, "sha": sha, "loaded_at": datetime.now()}
    per_gemeinde = extract.gemeinde is not None
    if per_gemeinde:
        params["gemeinde"] = extract.gemeinde
    hashed = ""
    if contract.pseudonymised or contract.period == "stichtag":
        if key is None:
            raise KeyMissing(f"{contract.source} needs the pseudonymisation key, and none was given")
        params["opad"], params["ipad"] = key.pads
    hmac = lambda expr: hmac_sql(expr).replace("?::blob", "$opad::blob", 1).replace("?::blob", "$ipad::blob", 1)  # noqa: E731

    def own(expr: str) -> str:
        # a Stadt's keys are its own: the same number in two Städte's registers is two persons (a
        # missing key stays missing: || gives null where concat_ws would skip it)
        return f"($gemeinde || '|' || {expr})" if per_gemeinde else expr

    digests = [f"{hmac(own(typed_column(c)))} as h__{c.name}" for c in contract.pseudonymised]
    if digests:
        hashed = ", " + ", ".join(digests)
    selects = ["cast($stichtag as date) as stichtag"]
    if contract.delivered_per:
        selects.append("cast($gemeinde as varchar) as gemeinde")
    for col in contract.columns:
        if col.pseudonymise:
            selects.append(f"substr(h__{col.name}, 1, {PSEUDONYM_HEX}) as {col.name}")
        else:
            selects.append(f"{typed_column(col)} as {col.name}")
        if col.type == "count" and col.suppressed:
            selects.append(f"{suppressed_column(col)} as {col.name}_suppressed")
    if contract.format == "geojson":
        selects.append("_geometry as geometry_geojson")
    if contract.period == "stichtag":
        keys = contract.record_key_columns
        by_name = {c.name: c for c in contract.columns}
        if len(keys) == 1 and by_name[keys[0]].pseudonymise:
            # the pseudonym's HMAC (per Gemeinde where delivered so) has bits to spare: no second hash
            digest = f"h__{keys[0]}"
        else:
            parts = ", ".join(f"cast({typed_column(by_name[k])} as varchar)" for k in keys) or "_line"
            within = "$gemeinde, " if per_gemeinde else ""
            digest = hmac(f"concat_ws('|', '{contract.source}', {within}{parts})")
        selects.append(f"{record_key_sql(digest)} as _record_key")
    selects += [
        "$file as _source_file",
        "$sha as _source_sha256",
        "_line as _source_line",
        "cast($loaded_at as timestamp) as _loaded_at",
    ]
    con.execute("begin transaction")
    try:
        scope, values = ("stichtag = ?", [extract.stichtag]) if contract.period == "stichtag" else ("true", [])
        if per_gemeinde:
            scope, values = f"{scope} and gemeinde = ?", [*values, extract.gemeinde]
        con.execute(f"delete from {contract.table} where {scope}", values)
        # The insert reports how many rows it wrote: no second scan to count them.
        rows = con.execute(
            f"insert into {contract.table} select {', '.join(selects)} from (select *{hashed} from {TYPED})",
            params,
        ).fetchone()[0]
        # the delivery's next load number (LATEST_LOAD_FIRST): a delivery is loaded by one thread
        # at a time, and the number is read in the load's own transaction
        con.execute(
            f"""insert into {LOG_TABLE}
                    (source, stichtag, file, sha256, rows, footer_rows, loaded_at, seconds, gemeinde, load_no)
                select ?, ?, ?, ?, ?, ?, ?, ?, ?, coalesce(max(load_no), 0) + 1 from {LOG_TABLE}
                where source = ? and stichtag is not distinct from ? and gemeinde is not distinct from ?""",
            [
                extract.source,
                extract.stichtag,
                name,
                sha,
                rows,
                footer_rows,
                datetime.now(),
                time.perf_counter() - started,
                extract.gemeinde,
                extract.source,
                extract.stichtag,
                extract.gemeinde,
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return int(rows)


def quarantine(settings: Settings, extract: Extract, sha: str, violations: list[Violation]) -> Path:
    """Move the broken file out of raw/ so that it is not picked up again, and explain why."""
    folder = settings.quarantine_dir / extract.source
    private_dir(settings.quarantine_dir)
    private_dir(folder)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target = folder / f"{stamp}_{extract.path.name}"
    counter = 1
    while target.exists():
        target = folder / f"{stamp}_{counter}_{extract.path.name}"
        counter += 1
    shutil.move(str(extract.path), target)
    control = control_file(extract.path)
    if control.is_file():
        shutil.move(str(control), target.with_name(target.name + CONTROL_SUFFIX))
    if target.is_file() and not target.is_symlink():
        target.chmod(0o600)
    report = [
        f"Source:     {extract.contract.title} ({extract.source})",
        f"File:       {extract.path}",
        f"SHA-256:    {sha}",
        f"Stichtag:   {extract.stichtag or '—'}",
        f"Rejected:   {datetime.now().isoformat(timespec='seconds')}",
        f"Contract:   {extract.contract.location}",
        "",
        "Nothing of this file was loaded. Problems:",
        *[f"- {v}" for v in violations],
        "",
        f"After fixing, put the corrected file back into {extract.path.parent} and run the pipeline again.",
    ]
    error_file = target.with_name(target.name + ".error.txt")
    error_file.write_text("\n".join(report) + "\n", encoding="utf-8")
    error_file.chmod(0o600)
    return target


ProgressCallback = Callable[[str, Extract, LoadResult | None], None]

# Sources loaded at the same time, each on a connection of its own. Loading one file at a time,
# DuckDB keeps a second core busy for part of each load only (the numbered staging, the ordered
# insert, the checks of a small file run on one): at 1M residents 120 s of CPU took 78 s, with two
# sources at once 64 s (docs/ingestion.md).
INGEST_WORKERS = max(1, min(os.cpu_count() or 1, 4))


def load_in_parallel(
    con: duckdb.DuckDBPyConnection,
    extracts: list[Extract],
    first: set[str],
    load: Callable[[duckdb.DuckDBPyConnection, Extract], LoadResult],
    workers: int | None = None,
) -> list[LoadResult]:
    """Load the extracts and return their results in the order given. The sources in `first` load
    one after another before all others, as the others are checked against them. Then each other
    source goes to one of `workers` threads with its own connection (temporary tables are per
    connection), the sources with the most bytes first; a source's files load in the order given
    on one thread, so every raw table gets its rows in the same order as in a serial load (nothing
    downstream may depend on that order, but a release must not depend on timing either). Each
    file is still its own transaction; DuckDB lets transactions on different tables and on other
    rows of one table commit side by side."""
    workers = INGEST_WORKERS if workers is None else workers
    done: dict[int, LoadResult] = {}
    rest: dict[str, list[int]] = {}
    for i, extract in enumerate(extracts):
        if extract.source in first:
            done[i] = load(con, extract)
        else:
            rest.setdefault(extract.source, []).append(i)

    def size(i: int) -> int:
        path = extracts[i].path
        return path.stat().st_size if extracts[i].problem is None and path.is_file() else 0

    groups = sorted(rest.values(), key=lambda group: -sum(size(i) for i in group))
    if workers <= 1 or len(groups) <= 1:
        for group in groups:
            done.update((i, load(con, extracts[i])) for i in group)
        return [done[i] for i in range(len(extracts))]

    queue = iter(groups)
    taking = threading.Lock()
    failures: list[tuple[int, BaseException]] = []

    def work() -> None:
        cursor = con.cursor()
        try:
            while True:
                with taking:  # after a failure no new source is begun, as in a serial load
                    group = None if failures else next(queue, None)
                if group is None:
                    return
                for i in group:
                    try:
                        done[i] = load(cursor, extracts[i])
                    except BaseException as exc:  # raised below, once the other threads are done
                        with taking:
                            failures.append((i, exc))
                        return
        finally:
            cursor.close()

    threads = [threading.Thread(target=work, name=f"ingest-{n}") for n in range(min(workers, len(groups)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise min(failures, key=lambda failure: failure[0])[1]
    return [done[i] for i in range(len(extracts))]


# Each file is its own transaction, and a file smaller than a row group (122,880 rows) commits its
# rows through the write-ahead log. With DuckDB's default threshold (16 MB) a Kreis of 100 Gemeinden
# (600 register files of 10,000 rows) checkpointed the growing tables some 25 times: the commits of
# its register took 37 s of a 104 s load on one thread, 12.6 s with 256 MB (that load 83 s, the
# final checkpoint when the load's connection closes included; the whole Kreis on two threads
# 122 s → 103 s). Large files do not use the log (DuckDB writes their row groups straight to the
# file): a city of 1,000,000 loads as fast either way, its peak 1.16 → 1.37 GB (below the peak of
# its dbt build). What the log holds is replayed on the next open after a kill, as before.
INGEST_CHECKPOINT_THRESHOLD = "256MB"


@contextmanager
def _fewer_checkpoints(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB's checkpoint threshold raised while the files load (a setting of the database, not of
    the connection: restored afterwards)."""
    [before] = con.execute("select current_setting('checkpoint_threshold')").fetchone()
    con.execute(f"set checkpoint_threshold = '{INGEST_CHECKPOINT_THRESHOLD}'")
    try:
        yield
    finally:
        con.execute(f"set checkpoint_threshold = '{before}'")


def ingest(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    sources: Iterable[str] | None = None,
    stichtage: Iterable[date] | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    raise_on_reject: bool = True,
    released: Released | None = None,
    gemeinden: Iterable[str] | None = None,
) -> IngestReport:
    """Load every extract in raw/ (or those of `sources` / `stichtage`; of a source delivered per
    Gemeinde only the files of `gemeinden`). `released`: the inputs of the releases made so far; a
    different file for one of their Stichtage is refused."""
    contracts = load_contracts(settings.contracts_dir, settings.project_vars)
    key = load_key(settings.raw_dir)  # before anything is touched: no key, no load
    check_fingerprint(con, key)
    if settings.engine == "spark":  # where the deliveries land too, refused before anything is loaded
        claim_lake(settings.lake, settings.warehouse_path)
    demo_only = demo_files(settings.raw_dir) if key.is_demo else None
    ensure_schema(con, contracts.values())
    extracts, unrecognised = discover(settings, contracts)
    wanted_sources = set(sources) if sources is not None else None
    wanted_days = set(stichtage) if stichtage is not None else None
    wanted_gemeinden = set(gemeinden) if gemeinden is not None else None
    chosen = [
        e
        for e in extracts
        if (wanted_sources is None or e.source in wanted_sources)
        and (wanted_days is None or e.stichtag is None or e.stichtag in wanted_days)
        and (wanted_gemeinden is None or e.gemeinde is None or e.gemeinde in wanted_gemeinden)
    ]
    told = threading.Lock()  # one progress line at a time

    def load(cursor: duckdb.DuckDBPyConnection, extract: Extract) -> LoadResult:
        if progress:
            with told:
                progress("start", extract, None)
        result = load_extract(cursor, settings, extract, force=force, released=released, key=key, demo_only=demo_only)
        if result.status == "loaded":
            checkpoint("ingest:after-first-load")
        if progress:
            with told:
                progress("done", extract, result)
        return result

    first = {needed for contract in contracts.values() for needed in contract.checked_against}
    with _fewer_checkpoints(con):
        results = load_in_parallel(con, chosen, first, load)
    report = IngestReport(results, unrecognised)
    if settings.engine == "spark":
        # each delivery loaded lands in the lake Spark reads, as a file of its own (a Spark build
        # brings the lake up to date anyway: this is the ingestion's share of that work)
        loaded = {r.extract.contract.table for r in results if r.status == "loaded"}
        if loaded:
            sync_lake(con, settings.lake, schemas=("raw",), tables=loaded | {LOG_TABLE})
    if raise_on_reject and report.rejected:
        raise IngestFailed(report)
    return report
