"""What a dbt build rebuilds: every Stichtag, or only those whose inputs changed since the last
build (incremental Stichtage, docs/architecture.md).

The microdata-sized dbt models are incremental by Stichtag (dbt_project/macros/
incremental_stichtage.sql). Each planned build is recorded in ops.dbt_builds with the loads it was
built from (source, Stichtag, and the load: the SHA-256 of the file and when it was loaded, from
the ingest's load log) and the project state (`project_fingerprint`). The next build compares:

- no earlier build, or one that did not finish as a full build, or a build outside the plan (a
  Dagster build of some of the dbt assets, a dbt command with a selection) since the last recorded
  one → full refresh (Dagster's build of all of them follows the plan);
- a different project state (any file of the dbt project but its tests, the catalogue, the
  contracts, the vars given on the command line, the dbt and DuckDB versions) → full refresh;
- a reference source (Gebietsgliederung, addresses: period `reference`) loaded anew → full refresh;
- otherwise the Stichtage of files loaded since (new, corrected, or the same file loaded again:
  `run --force-reload` after a change to the reading code gives other rows), plus those of an earlier build
  that failed; the models that read a Baublock's value some years before (the catalogue's
  `lag_years`) also rebuild the Stichtage that many years later, named here as `lag_dependants`.
- nothing loaded since, no earlier build unfinished, and the cells of earlier releases (which the
  disclosure pattern keeps to) those the last build saw → nothing to build (`unchanged`): the
  same inputs and the same code give the same tables, so `sozialmonitor run` does not call dbt.
  A release published from the last build counts as seen by it (`adopt_release`): its cells are
  the build's own, so the run after a release does not rebuild for them.

An incremental build also tests only the rows it rebuilt (the plan's `test_rebuilt_stichtage_only`,
dbt_project/macros/tested_stichtage.sql) when the data tests are those of the last build
(`tests_fingerprint`): the other rows passed them then and are unchanged.

The same inputs give the same tables either way: a rebuilt Stichtag is computed by the same SQL
from the same rows as in a full build, and the other Stichtage's rows do not depend on it.
"""

from __future__ import annotations

import calendar
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .catalogue import default_path
from .catalogue import load as load_catalogue
from .dbt_runner import plan_environment
from .disclosure.history import TABLE as RELEASED_TABLE
from .ingest import load_contracts
from .ingest.loader import LATEST_LOAD_FIRST, LOG_TABLE, delivery_name, migrate_load_log, source_of
from .project_state import project_fingerprint, tests_fingerprint
from .settings import Settings
from .warehouse import connect, table_exists

BUILDS_TABLE = "ops.dbt_builds"
# What an incremental build's models and tests read (dbt_project/macros/build_plan.sql), passed to
# dbt as JSON in dbt_runner.PLAN_ENVIRONMENT, which the macros read only while dbt executes: not
# as --vars, since dbt parses the whole project again whenever its vars differ from those of its
# saved parse (on the 20k test city 7 s of a rerun's dbt stage instead of 1 s).
# The Stichtage the incremental models rebuild (a list of ISO dates):
REBUILD_KEY = "rebuild_stichtage"
# that the data tests check only the rebuilt Stichtage (macros/tested_stichtage.sql):
TEST_SCOPE_KEY = "test_rebuilt_stichtage_only"
# that the models on today's Gebietsstand rebuild only the chosen Stichtage:
KEPT_KEY = "current_gebietsstand_kept"
# the Stichtage the warehouse reports on, and so the default date of today's Gebietsstand (the
# latest of them): those of the register extract (models/intermediate/int_stichtage.sql reads
# them through its staging view). Read from the raw table as loaded: on Spark the warehouse's
# staging view reads the rows of the last serving, which lack what was loaded since.
STICHTAGE_TABLE = "raw.register_persons"
MEMBERSHIPS_TABLE = "intermediate.int_block_memberships"
CURRENT_TABLE = "intermediate.int_current_gebietsstand"
# delivery (the source, or source@gemeinde: loader.delivery_name), Stichtag (None for reference
# data), sha256
Load = tuple[str, date | None, str]


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
    # the data tests as they are (`tests_fingerprint`); an incremental build whose tests equal
    # those of the last build tests only the rows it rebuilt (the others passed them then)
    tests_fingerprint: str = ""
    tests_scoped: bool = False
    # the date whose boundaries are today's Gebietsstand in this build (None: not known before it),
    # and whether the Baublöcke's memberships valid then are those of the last build's date: then
    # the models on today's Gebietsstand rebuild only the chosen Stichtage too, else all of them
    gebietsstand_date: date | None = None
    gebietsstand_kept: bool = False
    # dbt selectors of an incremental build: what lies downstream of a source other than reference
    # data (`data_selection`); empty = the whole project
    selection: tuple[str, ...] = ()
    # the releases whose cells the build's disclosure pattern keeps to (`released_state`)
    released: str = ""
    # nothing has changed since the last build that succeeded: its tables are those this build
    # would make (the pipeline does not call dbt)
    unchanged: bool = False
    build_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    # an incremental build: the build it adds to (the last that succeeded), whose tables it keeps
    last_build: str | None = None

    def dbt_arguments(self, command: str = "build", select: bool = True) -> list[str]:
        """What the dbt `command` (build or run) gets besides the vars: --full-refresh; in an
        incremental build whose data tests are those of the last one, only the nodes downstream of
        data that can have changed (`selection`) and no unit tests (they read fixtures, not the
        data, and passed on the same code then: the fingerprint covers models, macros and their
        YAML, the tests fingerprint the fixtures). `select`: False where the caller selects (Dagster)."""
        if self.full:
            return ["--full-refresh"]
        if not self.tests_scoped:
            return []
        skipped = ["--exclude-resource-type", "unit_test"] if command == "build" else []
        return skipped + (["--select", *self.selection] if self.selection and select else [])

    def choices(self) -> dict[str, Any]:
        """What the models and tests read of the plan (empty for a full build: every Stichtag)."""
        if self.full:
            return {}
        chosen: dict[str, Any] = {REBUILD_KEY: [d.isoformat() for d in self.stichtage]}
        if self.tests_scoped:
            chosen[TEST_SCOPE_KEY] = True
        if self.gebietsstand_kept:
            chosen[KEPT_KEY] = True
        return chosen

    def dbt_environment(self) -> dict[str, str]:
        """The environment of the dbt build that carries out this plan."""
        return plan_environment(self.choices())

    def describe(self) -> str:
        """One line for the run summary: what is rebuilt and why."""
        why = "; ".join(self.reasons)
        if self.full:
            return f"full rebuild: {why}"
        if self.unchanged:
            return f"nothing to build: {why}"
        if not self.stichtage:
            text = "no Stichtag rebuilt"
        else:
            text = f"rebuilt Stichtage {', '.join(d.strftime('%d.%m.%Y') for d in self.stichtage)}"
        if self.lag_dependants:
            later = ", ".join(d.strftime("%d.%m.%Y") for d in self.lag_dependants)
            text += f" (and {later} in the models with lagged measures)"
        if not self.gebietsstand_kept:
            text += " (every Stichtag on today's Gebietsstand: its boundaries changed)"
        if not self.tests_scoped:
            text += " (data tests on every Stichtag: changed since the last build)"
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


def data_selection(settings: Settings, reference: set[str]) -> tuple[str, ...]:
    """dbt selectors for the nodes downstream of any source but reference data (the loaded
    extracts, the load log, the released cells), from the manifest of the last dbt command (the
    same project: the fingerprint is unchanged). The others (seeds, the geography, the catalogue
    models and their tests) read only what an incremental build leaves as it was, so they are not
    built again. Empty (the whole project) when there is no manifest."""
    try:
        manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text(encoding="utf-8"))
        sources = [(s["source_name"], s["name"]) for s in manifest["sources"].values()]
    except (OSError, ValueError, KeyError, TypeError):
        return ()
    return tuple(sorted(f"source:{source}.{name}+" for source, name in sources if name not in reference))


# the order of the builds: by their number (`seq`, one more than the highest so far), not by their
# start time, which is local and naive (in the hour the clocks go back, a later build would sort
# first); builds recorded before the number came first
BUILD_ORDER = "seq nulls first, started_at"


def ensure_builds_table(con) -> None:
    con.execute("create schema if not exists ops")
    con.execute(
        f"""create table if not exists {BUILDS_TABLE} (
            build_id varchar primary key, run_id varchar, started_at timestamp, finished_at timestamp,
            status varchar, mode varchar, fingerprint varchar, loads varchar, stichtage varchar,
            lag_dependants varchar, reasons varchar)"""
    )
    con.execute(f"alter table {BUILDS_TABLE} add column if not exists tests_fingerprint varchar")
    con.execute(f"alter table {BUILDS_TABLE} add column if not exists gebietsstand_date date")
    con.execute(f"alter table {BUILDS_TABLE} add column if not exists released varchar")
    # the dbt target the build ran on (profiles.yml: local = DuckDB, spark, spark_connect)
    con.execute(f"alter table {BUILDS_TABLE} add column if not exists dbt_target varchar")
    con.execute(f"alter table {BUILDS_TABLE} add column if not exists seq bigint")


def released_state(con) -> str:
    """The releases whose cells ops.released_cells holds (refreshed before every build: `pipeline.
    prepare_dbt`), as their ids: a release never changes, so the ids name the cells."""
    if not table_exists(con, RELEASED_TABLE):
        return ""
    row = con.execute(f"select string_agg(distinct release_id, ',' order by release_id) from {RELEASED_TABLE}")
    return row.fetchone()[0] or ""


def adopt_release(settings: Settings, release_id: str, published: Iterable[str]) -> bool:
    """After `release_id` was published from the warehouse as the last build left it: that build's
    disclosure pattern keeps to the new release's cells, since they are its own cells. Record that,
    so that the next plan does not rebuild everything only because a release was made
    (`released_state` changes with every release: the first `sozialmonitor run` after a release
    rebuilt the whole project to publish the same numbers). `published`: the ids of every release
    in the releases folder, the new one included (what the next build's ops.released_cells holds).

    Only when the last build succeeded, no build came after it (a failed or unplanned build may have
    left other tables), and it kept to every other release there. Whatever else changed since (a
    file loaded, a release from elsewhere) still gives its own reason to build. The build's
    `disclosure_pattern.earlier` stays what it was: what releases before the build did with a cell.
    Returns whether the release was adopted."""
    published = set(published)
    if release_id not in published:
        return False
    con = connect(settings.warehouse_path, extensions=())
    try:
        ensure_builds_table(con)
        builds = con.execute(f"select build_id, status, released from {BUILDS_TABLE} order by {BUILD_ORDER}").fetchall()
        if not builds or builds[-1][1] != "succeeded" or builds[-1][2] is None:
            return False
        build_id, _, released = builds[-1]
        kept = {r for r in released.split(",") if r}
        if not published - {release_id} <= kept:
            return False
        # as released_state() lists them once the next build's refresh holds every published release
        con.execute(
            f"update {BUILDS_TABLE} set released = ? where build_id = ?",
            [",".join(sorted(kept | {release_id})), build_id],
        )
        return True
    finally:
        con.close()


def gebietsstand_date(settings: Settings, con, cli_vars: Mapping[str, Any] | None = None) -> date | None:
    """The date of today's Gebietsstand for the next build, as models/intermediate/
    int_current_gebietsstand.sql will take it: var current_gebietsstand, or the latest Stichtag of
    the register extract loaded; None when it cannot be known before the build."""
    fixed = (cli_vars or {}).get("current_gebietsstand") or getattr(settings.project_vars, "current_gebietsstand", None)
    if fixed:
        return date.fromisoformat(str(fixed))
    if not table_exists(con, STICHTAGE_TABLE):
        return None
    try:
        return con.execute(f"select max(stichtag) from {STICHTAGE_TABLE}").fetchone()[0]
    except Exception:  # noqa: BLE001 - a view the raw tables no longer fit: not known
        return None


def same_gebietsstand(con, days: Iterable[date | None]) -> bool:
    """Whether the Baublöcke's memberships (of every level) valid at each of `days` are the same
    rows (the last build's table of them: the plan refreshes fully when reference data changed)."""
    days = list(days)
    if not days or any(d is None for d in days) or not table_exists(con, MEMBERSHIPS_TABLE):
        return False
    first, *others = days
    valid = "(m.valid_from <= ? and coalesce(m.valid_to, date '9999-12-31') >= ?)"
    for other in set(others) - {first}:
        differing = con.execute(
            f"select count(*) from {MEMBERSHIPS_TABLE} as m where {valid} <> {valid}", [first, first, other, other]
        ).fetchone()[0]
        if differing:
            return False
    return True


def current_loads(con) -> tuple[Load, ...]:
    """The load each raw table holds for each Stichtag, the latest of the ingest's log: the file's
    SHA-256 and when it was loaded (`sha@loaded_at`), so that a file loaded again is a change too."""
    if not table_exists(con, LOG_TABLE):
        return ()
    migrate_load_log(con)
    rows = con.execute(
        f"""select source, gemeinde, stichtag, sha256, loaded_at from {LOG_TABLE}
            qualify row_number() over (partition by source, stichtag, gemeinde order by {LATEST_LOAD_FIRST}) = 1
            order by source, stichtag nulls first, gemeinde nulls first"""
    ).fetchall()
    return tuple(
        (delivery_name(source, gemeinde), stichtag, f"{sha}@{loaded_at.isoformat() if loaded_at else ''}")
        for source, gemeinde, stichtag, sha, loaded_at in rows
    )


def _file_of(load: str) -> str:
    """The SHA-256 of the file of a load (`current_loads`)."""
    return load.split("@", 1)[0]


def _same_load(before: str | None, now: str | None) -> bool:
    """Whether a delivery's load is the one an earlier build saw (a build recorded before loads had
    their time: by the file's SHA-256 alone)."""
    if before is None or now is None or "@" in before:
        return before == now
    return before == _file_of(now)


def lag_dependants(days: set[date], known: set[date], lags: tuple[int, ...]) -> set[date]:
    """The Stichtage of `known` whose rows read a Baublock's value of one of `days` (`lags` years
    before them), as the models select them (a Stichtag whose date `lag` years earlier, with the
    29 February becoming the 28th, is one of `days`): so the 29.02.2024 depends on the 28.02.2023."""
    return {later for later in known for lag in lags if add_years(later, -lag) in days}


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
    tests = tests_fingerprint(settings)
    contracts = load_contracts(settings.contracts_dir, settings.project_vars)
    reference = {name for name, c in contracts.items() if c.period == "reference"}
    con = connect(settings.warehouse_path, extensions=())
    try:
        ensure_builds_table(con)
        loads = current_loads(con)
        builds = con.execute(
            "select build_id, run_id, status, mode, fingerprint, loads, stichtage, tests_fingerprint, "
            f"gebietsstand_date, released from {BUILDS_TABLE} order by {BUILD_ORDER}"
        ).fetchall()
        released = released_state(con)
        today = gebietsstand_date(settings, con, cli_vars)
        succeeded = [b for b in builds if b[2] == "succeeded"]
        last = succeeded[-1] if succeeded else None
        since = builds[builds.index(last) + 1 :] if last else builds
        # today's Gebietsstand of this build against that of the last one and of any that came after
        kept = last is not None and same_gebietsstand(con, [today] + [b[8] for b in [last, *since]])
    finally:
        con.close()

    def full(why: str) -> BuildPlan:
        return BuildPlan(
            full=True,
            reasons=(why,),
            fingerprint=fingerprint,
            loads=loads,
            tests_fingerprint=tests,
            gebietsstand_date=today,
            released=released,
        )

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
            "the dbt project, the catalogue, the contracts, the vars, the engine or the dbt/DuckDB version changed "
            f"since build {last[0]}"
        )
    before = _loads_from_json(last[5])
    now = {(s, d): sha for s, d, sha in loads}
    changed = sorted((k for k in before.keys() | now.keys() if not _same_load(before.get(k), now.get(k))), key=str)
    reference_changed = sorted({s for s, _ in changed if source_of(s) in reference})
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
            if (source, day) not in before:
                verb = "new"
            elif (source, day) not in now:
                verb = "removed"
            else:
                same_file = _file_of(before[(source, day)]) == _file_of(now[(source, day)])
                verb = "loaded again" if same_file else "corrected"
            by_day.setdefault(day, []).append(f"{source} {verb}")
        reasons += [f"{d.isoformat()}: {', '.join(by_day[d])}" for d in sorted(by_day)]
    failed = set().union(*(_dates(b[6]) for b in since)) - days
    if failed:
        reasons.append(f"{', '.join(d.isoformat() for d in sorted(failed))}: an earlier build did not finish")
        days |= failed
    known = {d for _, d, _ in loads if d is not None}
    dependants = lag_dependants(days, known, lag_years(settings))
    if not reasons:
        reasons.append(f"nothing loaded since build {last[0]}")
        if last[9] is not None and last[9] != released:
            reasons.append("the cells of earlier releases changed since (the disclosure pattern keeps to them)")
    unchanged = (
        not days
        and not since
        and last[7] == tests
        and last[9] == released
        and kept
        and (settings.dbt_target_dir / "manifest.json").is_file()  # what the release reads of the build
        # on Spark, the warehouse's views read the Parquet of the last serving (orchestration/spark_build.py)
        and (settings.engine == "duckdb" or (settings.lake / "served").is_dir())
    )
    return BuildPlan(
        full=False,
        unchanged=unchanged,
        released=released,
        reasons=tuple(reasons),
        fingerprint=fingerprint,
        loads=loads,
        stichtage=tuple(sorted(days)),
        lag_dependants=tuple(sorted(dependants - days)),
        tests_fingerprint=tests,
        tests_scoped=last[7] == tests,
        gebietsstand_date=today,
        gebietsstand_kept=kept,
        selection=data_selection(settings, reference),
        last_build=last[0],
    )


def record_build(
    settings: Settings, plan: BuildPlan, run_id: str | None, status: str, dbt_target: str | None = None
) -> None:
    """The build in ops.dbt_builds: made 'running' (or 'unplanned') before dbt, then marked
    'succeeded' or 'failed'. `dbt_target`: the target of profiles.yml dbt builds on (given when
    the build is made 'running')."""
    con = connect(settings.warehouse_path, extensions=())
    try:
        ensure_builds_table(con)
        if status in ("running", "unplanned"):
            [seq] = con.execute(f"select coalesce(max(seq), 0) + 1 from {BUILDS_TABLE}").fetchone()
            con.execute(
                f"insert into {BUILDS_TABLE} (build_id, run_id, started_at, finished_at, status, mode, fingerprint,"
                " loads, stichtage, lag_dependants, reasons, tests_fingerprint, gebietsstand_date, released,"
                " dbt_target, seq) values (?, ?, ?, null, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    plan.tests_fingerprint,
                    plan.gebietsstand_date,
                    plan.released,
                    dbt_target,
                    seq,
                ],
            )
        else:
            con.execute(
                f"update {BUILDS_TABLE} set status = ?, finished_at = ? where build_id = ?",
                [status, datetime.now(), plan.build_id],
            )
            if status == "succeeded" and table_exists(con, CURRENT_TABLE):
                # the date the build took (the plan cannot know it before a first build)
                con.execute(
                    f'update {BUILDS_TABLE} set gebietsstand_date = (select max("current_date") from {CURRENT_TABLE})'
                    " where build_id = ?",
                    [plan.build_id],
                )
    finally:
        con.close()


def built_on(settings: Settings) -> str | None:
    """The dbt target(s) the warehouse's tables were last built on, or None: no build recorded one
    (none yet, or one made before targets were recorded). That is the target of the newest build
    that succeeded; when a build of a selection (recorded 'unplanned': a dbt command with a
    selection, Dagster's build of some assets) ran on another target after it, its tables are
    partly that one's, and every target is named, joined by '+' in the order they built (e.g.
    `spark+local`: a Spark build, then some models rebuilt on DuckDB)."""
    if not settings.warehouse_path.exists():
        return None
    con = connect(settings.warehouse_path, read_only=True, extensions=())
    try:
        if not table_exists(con, BUILDS_TABLE):
            return None
        columns = {r[0] for r in con.execute(f"describe {BUILDS_TABLE}").fetchall()}
        if "dbt_target" not in columns:
            return None
        # read-only: a warehouse of an older version may lack the builds' numbers (their start times then)
        order = BUILD_ORDER if "seq" in columns else "started_at"
        builds = con.execute(f"select status, dbt_target from {BUILDS_TABLE} order by {order}").fetchall()
        succeeded = [i for i, (status, _target) in enumerate(builds) if status == "succeeded"]
        if not succeeded or builds[succeeded[-1]][1] is None:
            return None
        newest = builds[succeeded[-1]][1]
        later = [t for status, t in builds[succeeded[-1] + 1 :] if status == "unplanned" and t is not None]
    finally:
        con.close()
    return "+".join(dict.fromkeys([newest, *later]))  # each once, in the order they built


def record_unplanned_build(settings: Settings, run_id: str | None, what: str, dbt_target: str) -> None:
    """A dbt build the plan did not choose (Dagster's of some of the dbt assets, a dbt command with
    a selection) on `dbt_target`: its tables may hold other inputs than the last recorded build's,
    so the next planned build refreshes fully; until then the release names its target too
    (`built_on`)."""
    plan = BuildPlan(full=True, reasons=(what,), fingerprint="", loads=())
    record_build(settings, plan, run_id, "unplanned", dbt_target=dbt_target)
