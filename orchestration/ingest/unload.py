"""Taking a wrongly loaded Stichtag back out of the warehouse, with a record of who did it and why.

A Stichtag that should never have been loaded (a file named for the wrong date, a test delivery,
a Stichtag in the future loaded before the loader refused those) is removed from every raw table
and the load log in one transaction; its files leave raw/ for `quarantine/_unloaded/<time>/` so the
next run does not load them again; `ops.unloads` records the Stichtag, sources, rows, files, the
user and the reason. The lakes of this warehouse (the Spark engine's, and the engine check's in it)
lose its deliveries' Parquet files too; Spark's tables and the files served from them drop its rows
with the next build, which rebuilds the Stichtag. Releases are never touched (they are immutable);
unloading a Stichtag that a release was made from needs `force`, since the next release will then
differ from it.
"""

from __future__ import annotations

import getpass
import json
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from ..engines import ENGINE_CHECK_LAKE, owned_lake, sync_lake
from ..errors import SozialmonitorError
from ..settings import Settings
from ..warehouse import private_dir
from .contracts import load_contracts
from .loader import LOG_TABLE, control_file, discover, source_of

UNLOADS_TABLE = "ops.unloads"


class UnloadRefused(SozialmonitorError):
    exit_code = 2
    headline = "Not unloaded:"


@dataclass
class UnloadResult:
    stichtag: date
    rows: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    moved_to: Path | None = None
    lakes: list[Path] = field(default_factory=list)  # the lakes whose copies of the deliveries went


def unload(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    stichtag: date,
    reason: str,
    sources: list[str] | None = None,
    released: dict[tuple[str, str], tuple[str, str]] | None = None,
    force: bool = False,
) -> UnloadResult:
    if not reason.strip():
        raise UnloadRefused("say why the Stichtag is unloaded (--reason): the record is for the next person")
    all_contracts = load_contracts(settings.contracts_dir, settings.project_vars)
    contracts = {name: c for name, c in all_contracts.items() if c.period == "stichtag"}
    unknown = sorted(set(sources or []) - set(contracts))
    if unknown:
        raise UnloadRefused(f"unknown source(s) {unknown}; Stichtag sources are {sorted(contracts)}")
    chosen = sources or sorted(contracts)
    published = sorted(
        {
            rel
            for (delivery, day), (_, rel) in (released or {}).items()
            if day == stichtag.isoformat() and source_of(delivery) in chosen
        }
    )
    if published and not force:
        raise UnloadRefused(
            f"Stichtag {stichtag.isoformat()} was published in release(s) {', '.join(published)}. Releases stay "
            "as they are; the next one will differ from them. If that is intended, run again with --force."
        )
    tables = {
        r[0]
        for r in con.execute("select table_name from information_schema.tables where table_schema = 'raw'").fetchall()
    }
    result = UnloadResult(stichtag)
    con.execute("create schema if not exists ops")
    con.execute(
        f"""create table if not exists {UNLOADS_TABLE} (
            unloaded_at timestamp, stichtag date, sources varchar, rows bigint, files varchar,
            moved_to varchar, unloaded_by varchar, reason varchar)"""
    )
    con.execute("begin transaction")
    try:
        for source in chosen:
            if source not in tables:
                continue
            n = con.execute(f"select count(*) from raw.{source} where stichtag = ?", [stichtag]).fetchone()[0]
            if n:
                con.execute(f"delete from raw.{source} where stichtag = ?", [stichtag])
                result.rows[source] = int(n)
            if "_load_log" in tables:
                con.execute(f"delete from {LOG_TABLE} where source = ? and stichtag = ?", [source, stichtag])
        extracts, _ = discover(settings, all_contracts, today=date.max)
        files = [e.path for e in extracts if e.stichtag == stichtag and e.source in chosen]
        if files:
            result.files = files
            result.moved_to = settings.quarantine_dir / "_unloaded" / datetime.now().strftime("%Y%m%dT%H%M%S")
        con.execute(
            f"insert into {UNLOADS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                datetime.now(),
                stichtag,
                ",".join(sorted(result.rows)) or ",".join(chosen),
                sum(result.rows.values()),
                json.dumps([str(p.relative_to(settings.raw_dir)) for p in files]),
                str(result.moved_to) if result.moved_to else None,
                _user(),
                reason.strip(),
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    # After the commit: a failure here leaves files in raw/ that the next run loads again (and
    # says so), never rows without their files.
    if result.moved_to is not None:
        for folder in (settings.quarantine_dir, result.moved_to.parent, result.moved_to):
            private_dir(folder)
        for path in result.files:
            for item in (path, control_file(path)):
                if item.exists() or item.is_symlink():
                    dest = result.moved_to / item.relative_to(settings.raw_dir)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(item), dest)
    # the lakes' copies of its deliveries (nothing where no lake of this warehouse is)
    unloaded = {f"raw.{source}" for source in result.rows} | {LOG_TABLE}
    for lake, purpose in ((settings.lake, "pipeline"), (settings.lake / ENGINE_CHECK_LAKE, "engine-check")):
        if owned_lake(lake, settings.warehouse_path, purpose):
            result.lakes.append(lake)
            sync_lake(con, lake, schemas=("raw",), tables=unloaded)
    return result


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
