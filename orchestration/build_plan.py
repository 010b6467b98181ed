"""What a dbt build rebuilds: every Stichtag, or only those whose inputs changed since the last
build (incremental Stichtage, docs/architecture.md).

The microdata-sized dbt models are incremental by Stichtag (dbt_project/macros/
incremental_stichtage.sql). Each planned build is recorded in ops.dbt_builds with the loads it was
built from (source, Stichtag, SHA-256 of the file, from the ingest's load log) and the project
state (`project_fingerprint`). The next build compares:

- no earlier build, or one that did not finish as a full build, or a build outside the plan
  (Dagster, a dbt command with a selection) since the last recorded one → full refresh;
- a different project state (any file of the dbt project but its tests, the catalogue, the
  contracts, the vars given on the command line, the dbt and DuckDB versions) → full refresh;
- a reference source (Gebietsgliederung, addresses: period `reference`) loaded anew → full refresh;
- otherwise the Stichtage of files loaded since (new or corrected), plus those of an earlier build
  that failed; the models that read a Baublock's value some years before (the catalogue's
  `lag_years`) also rebuild the Stichtage that many years later, named here as `lag_dependants`.

The same inputs give the same tables either way: a rebuilt Stichtag is computed by the same SQL
from the same rows as in a full build, and the other Stichtage's rows do not depend on it.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .catalogue import default_path
from .catalogue import load as load_catalogue
from .ingest import load_contracts
from .ingest.loader import LOG_TABLE
from .settings import Settings
from .warehouse import connect

BUILDS_TABLE = "ops.dbt_builds"
# the dbt var the incremental models read (a list of ISO dates)
REBUILD_VAR = "rebuild_stichtage"
# top folders of the dbt project that do not shape a table: data tests, lint configuration, dbt's output
_NOT_SHAPING = frozenset({"tests", "lint", "target", "logs", "dbt_packages"})
_VERSIONED = ("dbt-core", "dbt-duckdb", "duckdb")

Load = tuple[str, date | None, str]  # source, Stichtag (None for reference data), sha256


@dataclass(frozen=True)
class BuildPlan:
    full: bool
    reasons: tuple[str, ...]
    fingerprint: str
    loads: tuple[Load, ...]
    # Stichtage rebuilt by every incremental model (empty for a full build: all are)
    stichtage: tuple[date, ...] = ()
    # Stichtage rebuilt only by the models that read lags, because an earlier one changed
    lag_dependants: tuple[date, ...] = ()
    build_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def dbt_arguments(self) -> list[str]:
        """What the dbt command gets: --full-refresh, or the Stichtage to rebuild."""
        if self.full:
            return ["--full-refresh"]
        return []

    def dbt_vars(self) -> dict[str, Any]:
        if self.full:
            return {}
        return {REBUILD_VAR: [d.isoformat() for d in self.stichtage]}

    def describe(self) -> str:
        """One line for the run summary: what is rebuilt and why."""
        why = "; ".join(self.reasons)
        if self.full:
            return f"full rebuild: {why}"
        if not self.stichtage:
            return f"no Stichtag rebuilt: {why}"
        days = ", ".join(d.strftime("%d.%m.%Y") for d in self.stichtage)
        text = f"rebuilt Stichtage {days}"
        if self.lag_dependants:
            later = ", ".join(d.strftime("%d.%m.%Y") for d in self.lag_dependants)
            text += f" (and {later} in the models with lagged measures)"
        return f"{text}: {why}"


def add_years(day: date, years: int) -> date:
    """`day` that many years later (earlier when negative), the 29 February becoming the 28th, as
    DuckDB's date + interval does (dbt.dateadd in the models)."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def lag_years(settings: Settings) -> tuple[int, ...]:
    """The years the catalogue's lagged measures look back."""
    catalogue = load_catalogue(default_path(settings.dbt_project_dir))
    return tuple(sorted({m.lag_years for m in catalogue.measures if m.lag_years is not None}))


def _files(folder: Path) -> Iterable[Path]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).parts
        skipped = relative[0] in _NOT_SHAPING or "__pycache__" in relative or path.name.startswith(".")
        if path.is_file() and not skipped:
            yield path


def project_fingerprint(settings: Settings, cli_vars: Mapping[str, Any] | None = None) -> str:
    """The state a build's tables follow from, apart from the data: every file of the dbt project
    that can shape a table (models, macros, seeds, the catalogue and the files generated from it,
    dbt_project.yml with its vars; not the data tests), the source contracts, the vars given on
    the command line (but the Stichtage to rebuild) and the versions of dbt and DuckDB. Files, not
    the manifest's node checksums: a model's checksum does not change when a macro it calls does."""
    digest = hashlib.sha256()
    for label, folder in (("dbt", settings.dbt_project_dir), ("contracts", settings.contracts_dir)):
        for path in _files(folder):
            digest.update(f"{label}/{path.relative_to(folder).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    chosen = {k: v for k, v in (cli_vars or {}).items() if k != REBUILD_VAR}
    digest.update(json.dumps(chosen, sort_keys=True, default=str).encode())
    for package in _VERSIONED:
        try:
            digest.update(f"{package}={version(package)}\0".encode())
        except PackageNotFoundError:  # pragma: no cover - pinned dependencies
            digest.update(f"{package}=?\0".encode())
    return digest.hexdigest()


def ensure_builds_table(con) -> None:
    con.execute("create schema if not exists ops")
    con.execute(
        f"""create table if not exists {BUILDS_TABLE} (
            build_id varchar primary key, run_id varchar, started_at timestamp, finished_at timestamp,
            status varchar, mode varchar, fingerprint varchar, loads varchar, stichtage varchar,
            lag_dependants varchar, reasons varchar)"""
    )


def current_loads(con) -> tuple[Load, ...]:
    """The file each raw table holds for each Stichtag: the latest load of the ingest's log."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema || '.' || table_name = ?", [LOG_TABLE]
    ).fetchone()[0]
    if not exists:
        return ()
    rows = con.execute(
        f"""select source, stichtag, sha256 from {LOG_TABLE}
            qualify row_number() over (partition by source, stichtag order by loaded_at desc) = 1
            order by source, stichtag nulls first"""
    ).fetchall()
    return tuple((source, stichtag, sha) for source, stichtag, sha in rows)


def _loads_from_json(text: str | None) -> dict[tuple[str, date | None], str]:
    out = {}
    for source, day, sha in json.loads(text or "[]"):
        out[(source, date.fromisoformat(day) if day else None)] = sha
    return out


def _loads_to_json(loads: Iterable[Load]) -> str:
    return json.dumps([[s, d.isoformat() if d else None, sha] for s, d, sha in loads])


def _dates(text: str | None) -> set[date]:
    return {date.fromisoformat(d) for d in (text or "").split(",") if d}


def plan_build(
    settings: Settings, cli_vars: Mapping[str, Any] | None = None, full_refresh: bool = False, reason: str = ""
) -> BuildPlan:
    """What the next dbt build of the whole project rebuilds, and why. `full_refresh`: asked for
    (`reason` says by whom)."""
    fingerprint = project_fingerprint(settings, cli_vars)
    contracts = load_contracts(settings.contracts_dir, settings.project_vars)
    reference = {name for name, c in contracts.items() if c.period == "reference"}
    con = connect(settings.warehouse_path, extensions=())
    try:
        ensure_builds_table(con)
        loads = current_loads(con)
        builds = con.execute(
            f"select build_id, run_id, status, mode, fingerprint, loads, stichtage from {BUILDS_TABLE} "
            "order by started_at"
        ).fetchall()
    finally:
        con.close()
    succeeded = [b for b in builds if b[2] == "succeeded"]
    last = succeeded[-1] if succeeded else None
    since = builds[builds.index(last) + 1 :] if last else builds

    def full(why: str) -> BuildPlan:
        return BuildPlan(full=True, reasons=(why,), fingerprint=fingerprint, loads=loads)

    if full_refresh:
        return full(reason or "asked for (--full-refresh)")
    if last is None:
        return full("no earlier build of this warehouse is recorded")
    unfinished_full = [b for b in since if b[3] == "full"]
    if unfinished_full:
        b = unfinished_full[-1]
        what = "a dbt build outside the plan" if b[2] == "unplanned" else f"the full build {b[0]} that did not finish"
        return full(f"{what} (run {b[1]}) came after the last recorded build")
    if last[4] != fingerprint:
        return full(
            "the dbt project, the catalogue, the contracts, the vars or the dbt/DuckDB version changed "
            f"since build {last[0]}"
        )
    before = _loads_from_json(last[5])
    now = {(s, d): sha for s, d, sha in loads}
    changed = sorted((k for k in before.keys() | now.keys() if before.get(k) != now.get(k)), key=str)
    reference_changed = sorted({s for s, _ in changed if s in reference})
    if reference_changed:
        return full(f"reference data loaded anew ({', '.join(reference_changed)})")
    reasons = []
    days: set[date] = set()
    for source, day in changed:
        if day is None:  # a source without Stichtag that is not reference data: cannot tell
            return full(f"{source} changed and has no Stichtag")
        days.add(day)
    if changed:
        by_day: dict[date, list[str]] = {}
        for source, day in changed:
            verb = "new" if (source, day) not in before else ("removed" if (source, day) not in now else "corrected")
            by_day.setdefault(day, []).append(f"{source} {verb}")
        reasons += [f"{d.isoformat()}: {', '.join(by_day[d])}" for d in sorted(by_day)]
    failed = set().union(*(_dates(b[6]) for b in since)) - days
    if failed:
        reasons.append(f"{', '.join(d.isoformat() for d in sorted(failed))}: an earlier build did not finish")
        days |= failed
    known = {d for _, d, _ in loads if d is not None}
    dependants = {add_years(d, y) for d in days for y in lag_years(settings)} & known
    return BuildPlan(
        full=False,
        reasons=tuple(reasons) or (f"nothing loaded since build {last[0]}",),
        fingerprint=fingerprint,
        loads=loads,
        stichtage=tuple(sorted(days)),
        lag_dependants=tuple(sorted(dependants - days)),
    )


def record_build(settings: Settings, plan: BuildPlan, run_id: str | None, status: str) -> None:
    """The build in ops.dbt_builds: made 'running' (or 'unplanned') before dbt, then marked
    'succeeded' or 'failed'."""
    con = connect(settings.warehouse_path, extensions=())
    try:
        ensure_builds_table(con)
        if status in ("running", "unplanned"):
            con.execute(
                f"insert into {BUILDS_TABLE} values (?, ?, ?, null, ?, ?, ?, ?, ?, ?, ?)",
                [
                    plan.build_id,
                    run_id,
                    datetime.now(),
                    status,
                    "full" if plan.full else "incremental",
                    plan.fingerprint,
                    _loads_to_json(plan.loads),
                    ",".join(d.isoformat() for d in plan.stichtage),
                    ",".join(d.isoformat() for d in plan.lag_dependants),
                    "; ".join(plan.reasons),
                ],
            )
        else:
            con.execute(
                f"update {BUILDS_TABLE} set status = ?, finished_at = ? where build_id = ?",
                [status, datetime.now(), plan.build_id],
            )
    finally:
        con.close()


def record_unplanned_build(settings: Settings, run_id: str | None, what: str) -> None:
    """A dbt build the plan did not choose (Dagster's, one with a selection): its tables may hold
    other inputs than the last recorded build's, so the next planned build refreshes fully."""
    plan = BuildPlan(full=True, reasons=(what,), fingerprint="", loads=())
    record_build(settings, plan, run_id, "unplanned")
