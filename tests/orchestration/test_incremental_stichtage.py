"""Incremental Stichtage (issue 17, goal 3) on the test city: adding the sixth Stichtag to five
rebuilds that Stichtag only, a corrected old file rebuilds its Stichtag and those that read it
through lagged measures, and either way every table of the marts, disclosure, public (and
intermediate) schemas and the release's content are those of a build from scratch.

Every warehouse here knows the built city's disclosure patterns (`seed_pattern_memo`): the
patterns are a cache keyed by their inputs, so equal tables stay a proof of the dbt build."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.build_plan import BUILDS_TABLE, add_years, lag_years
from orchestration.ingest.unload import unload
from orchestration.locking import run_lock
from orchestration.pipeline import RunSummary, run_pipeline
from orchestration.release import list_releases, released_inputs
from orchestration.settings import Settings
from orchestration.warehouse import connect
from tests.conftest import seed_pattern_memo
from tests.helpers import accept_as_demo, settings_for, warehouse_frame

SCHEMAS = ("marts", "disclosure", "public", "intermediate")
LATEST = date(2024, 12, 31)
CORRECTED = date(2019, 12, 31)


def differing_tables(a, b, schemas=SCHEMAS) -> dict[str, tuple[int, int]]:
    """Tables of the two warehouses that differ: rows only in a, rows only in b (bags)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{a}' as a (read_only)")
        con.execute(f"attach '{b}' as b (read_only)")
        names = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables where table_catalog = 'a' "
            f"and table_type = 'BASE TABLE' and table_schema in ({', '.join('?' for _ in schemas)}) order by 1",
            list(schemas),
        ).fetchall()
        assert names
        out = {}
        for (name,) in names:
            only_a, only_b = (
                con.execute(
                    f"select count(*) from (select * from {x}.{name} except all select * from {y}.{name})"
                ).fetchone()[0]
                for x, y in (("a", "b"), ("b", "a"))
            )
            if only_a or only_b:
                out[name] = (only_a, only_b)
        return out
    finally:
        con.close()


def content_sha256(settings) -> str:
    (release,) = list_releases(settings.releases_dir)
    return release.manifest()["content_sha256"]


@dataclass
class FiveThenSix:
    settings: Settings  # the city: five Stichtage built from scratch, then the sixth added and released
    added: RunSummary  # the run that added the sixth
    five: Path  # the warehouse as the build of five Stichtage from scratch left it
    six_unreleased: Settings  # a copy of the city with six Stichtage, taken before the release was made


@pytest.fixture(scope="module")
def five_then_six(tmp_path_factory, city_raw, built_city) -> FiveThenSix:
    """The test city built on five Stichtage (no release), then run again with the sixth's files
    added (released in the same run). Kept beside, for the unload test: the five Stichtage's
    warehouse, and a copy of the city taken in the second run between its dbt build and its release
    (an unloaded Stichtag of a release would change the cells of earlier releases, which the
    disclosure pattern keeps to, and so the tables a build from scratch would give)."""
    base = tmp_path_factory.mktemp("incremental")
    settings = settings_for(base / "city")
    latest = {p for p in city_raw.rglob("*") if p.is_file() and LATEST.strftime("%Y") in p.name}
    assert len(latest) >= 10
    shutil.copytree(city_raw, settings.raw_dir, ignore=lambda d, names: [n for n in names if (Path(d) / n) in latest])
    settings.warehouse_path.parent.mkdir(parents=True)
    seed_pattern_memo(settings, built_city)
    first = run_pipeline(settings, release=False)
    assert first.build.full and LATEST not in first.stichtage
    unlocked = shutil.ignore_patterns("*.lock")
    shutil.copytree(settings.warehouse_path.parent, base / "five", ignore=unlocked)
    for path in latest:
        shutil.copy2(path, settings.raw_dir / path.relative_to(city_raw))
    six = settings_for(base / "six")

    def before_the_release(stage: str) -> None:
        if stage == "release":  # dbt has built the sixth Stichtag; nothing is written until the release
            shutil.copytree(settings.raw_dir.parent, six.raw_dir.parent, ignore=unlocked)

    added = run_pipeline(settings, on_stage=before_the_release)
    assert six.warehouse_path.is_file()
    return FiveThenSix(settings, added, base / "five" / settings.warehouse_path.name, six)


def test_adding_a_stichtag_rebuilds_it_alone_and_equals_a_build_from_scratch(five_then_six, built_city):
    settings, summary = five_then_six.settings, five_then_six.added
    assert not summary.build.full
    assert summary.build.stichtage == (LATEST,)
    assert summary.build.lag_dependants == ()  # nothing lies one or five years after the newest
    # the city's one recut lies before 31.12.2023: today's Gebietsstand keeps its Baublöcke, so the
    # series on it and the disclosure models rebuild 2024 alone too; the data tests are unchanged,
    # so they check 2024 alone, and what reads only reference data is not built again
    assert summary.build.gebietsstand_kept and summary.build.tests_scoped
    assert summary.build.selection and not any("geo_" in s for s in summary.build.selection)
    assert differing_tables(settings.warehouse_path, built_city.warehouse_path) == {}
    assert content_sha256(settings) == content_sha256(built_city)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute(f"select mode, stichtage, status from {BUILDS_TABLE} order by started_at").fetchall()
        rebuilt = con.execute("select dbt_rebuilt from ops.pipeline_runs order by started_at").fetchall()
    finally:
        con.close()
    assert rows == [("full", "", "succeeded"), ("incremental", "2024-12-31", "succeeded")]
    assert rebuilt[-1][0].startswith("rebuilt Stichtage 31.12.2024")
    # dbt carried the plan out (the same tables would come from a full build): the SQL it ran
    # replaced 2024 alone and tested 2024 alone
    rebuilt_only = "(stichtag in (cast('2024-12-31' as date)))"
    ran = settings.dbt_target_dir / "run" / "sozialmonitor" / "models" / "intermediate"
    replaced = (ran / "int_movements_assigned_to_blocks.sql").read_text(encoding="utf-8")
    assert f"where {rebuilt_only}" in " ".join(replaced.split())
    [tested] = (ran / "_intermediate.yml").glob("as_many_rows_per_stichtag_as_*.sql")
    # (the relation's alias: Spark does not reserve WHERE, macros/tested_stichtage.sql); the
    # persons' assignment is a view, its rows of 2024 counted against the register's of 2024
    tested_sql = " ".join(tested.read_text().split())
    assert f'int_persons_assigned_to_blocks" as dbt_where_source where {rebuilt_only}' in tested_sql
    assert f'stg_register__persons" where {rebuilt_only}' in tested_sql
    # a staging view of a Stichtag's extract (macros/incremental_stichtage.sql, stichtag_rows) is
    # tested on 2024's rows alone too: the others are the same files through the same SQL
    staged = settings.dbt_target_dir / "run" / "sozialmonitor" / "models" / "staging" / "_staging.yml"
    [tested] = staged.glob("unique_combination_stg_register__persons_*.sql")
    tested_sql = " ".join(tested.read_text().split())
    assert f'stg_register__persons" as dbt_where_source where {rebuilt_only}' in tested_sql


def test_a_corrected_old_file_rebuilds_its_stichtag_and_lag_dependants_as_a_full_rebuild_would(
    five_then_six, built_city, tmp_path
):
    settings = five_then_six.settings
    register = next(settings.raw_dir.rglob(f"EWR_Bestand_{CORRECTED:%Y%m%d}.csv"))
    lines = register.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[1].split(";")
    fields[1] = str(int(fields[1]) - 30)  # Geburtsjahr: one resident 30 years older
    lines[1] = ";".join(fields)
    register.write_text("".join(lines), encoding="utf-8")
    accept_as_demo(settings.raw_dir, register)

    corrected = run_pipeline(settings, release=False, force_release=True)
    assert not corrected.build.full
    assert corrected.build.stichtage == (CORRECTED,)
    known = {date(y, 12, 31) for y in range(2019, 2025)}
    lags = lag_years(settings)
    assert set(corrected.build.lag_dependants) == {add_years(CORRECTED, y) for y in lags} & known
    assert set(corrected.build.lag_dependants) == {date(2020, 12, 31), date(2024, 12, 31)}
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        recorded = con.execute(
            f"select stichtage, lag_dependants, reasons from {BUILDS_TABLE} where build_id = ?",
            [corrected.build.build_id],
        ).fetchone()
    finally:
        con.close()
    assert recorded[:2] == ("2019-12-31", "2020-12-31,2024-12-31")
    assert "register_persons corrected" in recorded[2]

    # a wide indicator view's rows of a Stichtag follow from fct_indicator_values' rows of it
    # (stichtag_rows with the catalogue's lags): its test checks the corrected Stichtag and its
    # lag dependants, the rows an incremental build can change (and Spark's serving writes again)
    def scope(folder: str, pattern: str) -> str:
        [tested] = (settings.dbt_target_dir / "run" / "sozialmonitor" / "models" / "marts" / folder).glob(pattern)
        where = " ".join(tested.read_text().split()).split("as dbt_where_source where ", 1)[1]
        return where.split(") dbt_subquery", 1)[0]

    wide = scope("_marts.yml", "unique_combination_indicators_baublock_*.sql")
    assert wide == scope("_marts.yml", "not_null_fct_indicator_values_stichtag.sql")
    tested_days = warehouse_frame(settings, f"select distinct stichtag from marts.indicators_baublock where {wide}")
    assert set(tested_days["stichtag"].dt.date) == {CORRECTED, date(2020, 12, 31), date(2024, 12, 31)}
    # the correction changed the Stichtag's numbers (the comparison below is not vacuous)
    changed = differing_tables(settings.warehouse_path, built_city.warehouse_path, ("intermediate",))
    assert "intermediate.int_block_population_measures" in changed

    incremental = tmp_path / "incremental.duckdb"
    shutil.copy2(settings.warehouse_path, incremental)
    full = run_pipeline(settings, release=False, full_refresh=True)
    assert full.build.full and "asked for" in full.build.describe()
    assert differing_tables(incremental, settings.warehouse_path) == {}


def test_an_unloaded_stichtag_is_rebuilt_without_rows_as_a_build_without_it_from_scratch(five_then_six):
    """A Stichtag taken back out (`sozialmonitor unload`: a test delivery, a file named for the wrong
    date) is rebuilt by the next run without rows: every table partitioned by Stichtag loses its
    rows (the incremental models' delete of the rebuilt Stichtage), and the warehouse holds what the
    build of the other five Stichtage from scratch held."""
    settings = five_then_six.six_unreleased
    # the copy holds the sixth Stichtag, also in the incremental tables (the comparison is not vacuous)
    before = differing_tables(settings.warehouse_path, five_then_six.five)
    assert {"marts.fct_address_assignment", "intermediate.int_households", "disclosure.disclosure_pattern"} <= set(
        before
    )
    with run_lock(settings.warehouse_path, purpose="unload"):
        con = connect(settings.warehouse_path)
        try:
            unloaded = unload(settings, con, LATEST, "a test delivery", released=released_inputs(settings.releases_dir))
        finally:
            con.close()
    assert unloaded.rows["register_persons"] > 0 and len(unloaded.files) >= 10

    rebuilt = run_pipeline(settings, release=False)
    assert not rebuilt.build.full and rebuilt.build.stichtage == (LATEST,), rebuilt.build.describe()
    assert (
        f"{LATEST.isoformat()}: " in rebuilt.build.describe() and "register_persons removed" in rebuilt.build.describe()
    )
    assert differing_tables(settings.warehouse_path, five_then_six.five) == {}
    newest = warehouse_frame(settings, "select max(stichtag) as d, count(*) as n from marts.fct_address_assignment")
    assert newest.d[0].date() == date(2023, 12, 31) and newest.n[0] > 0
