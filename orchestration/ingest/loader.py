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
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..faults import checkpoint
from ..pseudonyms import PSEUDONYM_HEX, KeyMissing, PseudonymKey, check_fingerprint, hmac_sql, load_key, record_key_sql
from ..settings import Settings
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
from .contracts import Contract, load_contracts
from .reading import STAGE, Unreadable, Violation, stage_csv, stage_geojson, stage_xlsx

LOG_TABLE = "raw._load_log"
REJECT_TABLE = "raw._rejected_files"


@dataclass(frozen=True)
class Extract:
    contract: Contract
    path: Path
    stichtag: date | None

    @property
    def source(self) -> str:
        return self.contract.source


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
    contracts = load_contracts(settings.contracts_dir)
    lines = []
    for path in report.unrecognised:
        folder = path.parent.relative_to(settings.raw_dir).as_posix() if path.is_relative_to(settings.raw_dir) else ""
        expected = [f"{c.file_pattern} ({c.source})" for c in contracts.values() if c.directory == folder]
        hint = f"expected names: {', '.join(expected)}" if expected else "no source reads this folder"
        lines.append(f"{path.relative_to(settings.raw_dir) if folder else path} was not loaded: {hint}")
    return lines


class IngestFailed(Exception):
    def __init__(self, report: IngestReport):
        self.report = report
        parts = []
        for r in report.rejected:
            parts.append(f"✗ {r.extract.source}: {r.extract.path.name} rejected, moved to {r.quarantined_to}")
            parts.extend(f"    {v}" for v in r.violations)
        super().__init__(
            f"{len(report.rejected)} extract(s) broke their contract; nothing downstream was run.\n" + "\n".join(parts)
        )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def discover(settings: Settings, contracts: dict[str, Contract]) -> tuple[list[Extract], list[Path]]:
    """Files in raw/ that belong to a contract, in load order; and files nobody claims."""
    extracts: list[Extract] = []
    claimed: set[Path] = set()
    for contract in contracts.values():
        folder = settings.raw_dir / contract.directory
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            stichtag = contract.match(path.name)
            if stichtag is False:
                continue
            claimed.add(path)
            extracts.append(Extract(contract, path, stichtag))
    unrecognised = (
        sorted(
            p
            for p in settings.raw_dir.rglob("*")
            if p.is_file() and p not in claimed and not p.name.startswith(".") and p.name != "README.md"
        )
        if settings.raw_dir.is_dir()
        else []
    )
    order = {name: i for i, name in enumerate(contracts)}
    extracts.sort(key=lambda e: (order[e.source], e.stichtag or date.min, e.path.name))
    return extracts, unrecognised


def ensure_schema(con: duckdb.DuckDBPyConnection, contracts: Iterable[Contract]) -> None:
    con.execute("create schema if not exists raw")
    con.execute(
        f"""create table if not exists {LOG_TABLE} (
            source varchar, stichtag date, file varchar, sha256 varchar, rows bigint,
            footer_rows bigint, loaded_at timestamp, seconds double)"""
    )
    con.execute(
        f"""create table if not exists {REJECT_TABLE} (
            source varchar, stichtag date, file varchar, sha256 varchar, quarantined_to varchar,
            problems varchar, rejected_at timestamp)"""
    )
    for contract in contracts:
        expected = _table_columns(contract)
        existing = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position",
            [contract.source],
        ).fetchall()
        if existing and [(c, t) for c, t in existing] != expected:
            # The contract changed shape: rebuild the table and forget its loads so every file reloads.
            con.execute(f"drop table {contract.table}")
            con.execute(f"delete from {LOG_TABLE} where source = ?", [contract.source])
            existing = []
        if not existing:
            cols = ", ".join(f"{c} {t}" for c, t in expected)
            con.execute(f"create table {contract.table} ({cols})")


def _table_columns(contract: Contract) -> list[tuple[str, str]]:
    cols: list[tuple[str, str]] = [("stichtag", "DATE")]
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
            where source = ? and stichtag is not distinct from ?
            order by loaded_at desc limit 1""",
        [extract.source, extract.stichtag],
    ).fetchone()
    return row is not None and row[0] == sha


def _loaded_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(f"select distinct source from {LOG_TABLE}").fetchall()
    return {f"raw.{r[0]}" for r in rows}


def _stage(con: duckdb.DuckDBPyConnection, extract: Extract, name: str) -> None:
    fmt = extract.contract.format
    if fmt == "csv":
        stage_csv(con, extract.contract, extract.path, name, extract.path.read_bytes())
    elif fmt == "xlsx":
        stage_xlsx(con, extract.contract, extract.path, name)
    else:
        stage_geojson(con, extract.contract, extract.path, name, extract.path.read_bytes())
    staged = {r[0] for r in con.execute(f"select column_name from (describe {STAGE})").fetchall()}
    for col in extract.contract.columns:
        if col.may_be_absent and col.name not in staged:  # an older file without a later column
            con.execute(f"alter table {STAGE} add column {col.name} varchar")


Released = dict[tuple[str, str], tuple[str, str]]  # (source, Stichtag) -> (SHA-256, release id)


def released_violation(extract: Extract, sha: str, name: str, released: Released | None) -> Violation | None:
    """A file for a Stichtag that a release already published from another file is refused: loading
    it would change published numbers behind the release's back."""
    if not released or extract.stichtag is None:
        return None
    hit = released.get((extract.source, extract.stichtag.isoformat()))
    if hit is None or hit[0] == sha:
        return None
    return Violation(
        name,
        None,
        None,
        f"Stichtag {extract.stichtag.isoformat()} of {extract.source} is already released "
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
) -> LoadResult:
    started = time.perf_counter()
    sha = sha256_file(extract.path)
    if not force and _already_loaded(con, extract, sha):
        return LoadResult(extract, "unchanged", sha, seconds=time.perf_counter() - started)
    contract = extract.contract
    name = (
        str(extract.path.relative_to(settings.raw_dir))
        if extract.path.is_relative_to(settings.raw_dir)
        else extract.path.name
    )
    try:
        _stage(con, extract, name)
        footer_rows = drop_footer(con, contract, name)
        materialize_typed(con, contract)
        violations = find_violations(con, contract, extract.stichtag, name)
        if not violations:
            violations = find_duplicate_keys(con, contract, name)
        if not violations:
            violations = find_unknown_references(con, contract, name, _loaded_tables(con))
        if not violations:  # a sound file, but for a Stichtag a release was made from another file
            refused = released_violation(extract, sha, name, released)
            violations = [refused] if refused else []
    except Unreadable as exc:
        violations, footer_rows = exc.violations, 0
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
    hashed = ""
    if contract.pseudonymised or contract.period == "stichtag":
        if key is None:
            raise KeyMissing(f"{contract.source} needs the pseudonymisation key, and none was given")
        params["opad"], params["ipad"] = key.pads
    hmac = lambda expr: hmac_sql(expr).replace("?::blob", "$opad::blob", 1).replace("?::blob", "$ipad::blob", 1)  # noqa: E731
    digests = [f"{hmac(typed_column(c))} as h__{c.name}" for c in contract.pseudonymised]
    if digests:
        hashed = ", " + ", ".join(digests)
    selects = ["cast($stichtag as date) as stichtag"]
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
            digest = f"h__{keys[0]}"  # the pseudonym's HMAC has bits to spare: no second hash
        else:
            parts = ", ".join(f"cast({typed_column(by_name[k])} as varchar)" for k in keys) or "_line"
            digest = hmac(f"concat_ws('|', '{contract.source}', {parts})")
        selects.append(f"{record_key_sql(digest)} as _record_key")
    selects += [
        "$file as _source_file",
        "$sha as _source_sha256",
        "_line as _source_line",
        "cast($loaded_at as timestamp) as _loaded_at",
    ]
    con.execute("begin transaction")
    try:
        if contract.period == "reference":
            con.execute(f"delete from {contract.table}")
        else:
            con.execute(f"delete from {contract.table} where stichtag = ?", [extract.stichtag])
        con.execute(
            f"insert into {contract.table} select {', '.join(selects)} from (select *{hashed} from {TYPED})",
            params,
        )
        rows = con.execute(f"select count(*) from {TYPED}").fetchone()[0]
        con.execute(
            f"insert into {LOG_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                extract.source,
                extract.stichtag,
                name,
                sha,
                rows,
                footer_rows,
                datetime.now(),
                time.perf_counter() - started,
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
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target = folder / f"{stamp}_{extract.path.name}"
    counter = 1
    while target.exists():
        target = folder / f"{stamp}_{counter}_{extract.path.name}"
        counter += 1
    shutil.move(str(extract.path), target)
    report = [
        f"Source:     {extract.contract.title} ({extract.source})",
        f"File:       {extract.path}",
        f"SHA-256:    {sha}",
        f"Stichtag:   {extract.stichtag or '—'}",
        f"Rejected:   {datetime.now().isoformat(timespec='seconds')}",
        f"Contract:   orchestration/contracts/{extract.source}.yml",
        "",
        "Nothing of this file was loaded. Problems:",
        *[f"- {v}" for v in violations],
        "",
        f"After fixing, put the corrected file back into {extract.path.parent} and run the pipeline again.",
    ]
    target.with_name(target.name + ".error.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
    return target


ProgressCallback = Callable[[str, Extract, LoadResult | None], None]


def ingest(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    sources: Iterable[str] | None = None,
    stichtage: Iterable[date] | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    raise_on_reject: bool = True,
    released: Released | None = None,
) -> IngestReport:
    """Load every extract in raw/ (or those of `sources` / `stichtage`). `released`: the inputs of
    the releases made so far; a different file for one of their Stichtage is refused."""
    contracts = load_contracts(settings.contracts_dir)
    key = load_key(settings.raw_dir)  # before anything is touched: no key, no load
    check_fingerprint(con, key)
    ensure_schema(con, contracts.values())
    extracts, unrecognised = discover(settings, contracts)
    wanted_sources = set(sources) if sources is not None else None
    wanted_days = set(stichtage) if stichtage is not None else None
    results: list[LoadResult] = []
    for extract in extracts:
        if wanted_sources is not None and extract.source not in wanted_sources:
            continue
        if wanted_days is not None and extract.stichtag is not None and extract.stichtag not in wanted_days:
            continue
        if progress:
            progress("start", extract, None)
        result = load_extract(con, settings, extract, force=force, released=released, key=key)
        results.append(result)
        if result.status == "loaded":
            checkpoint("ingest:after-first-load")
        if progress:
            progress("done", extract, result)
    report = IngestReport(results, unrecognised)
    if raise_on_reject and report.rejected:
        raise IngestFailed(report)
    return report
