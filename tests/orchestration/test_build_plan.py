"""What a dbt build rebuilds (issue 17, goal 3; orchestration.build_plan), decided from the load log
and the recorded builds, without dbt: new and corrected Stichtage with their lag dependants,
reference data, a changed project, unfinished and unplanned builds."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import duckdb
import pytest

from orchestration.build_plan import (
    BUILDS_TABLE,
    add_years,
    adopt_release,
    built_on,
    lag_dependants,
    lag_years,
    plan_build,
    record_build,
    record_unplanned_build,
)
from orchestration.dbt_runner import PLAN_ENVIRONMENT
from orchestration.disclosure.history import TABLE as RELEASED_TABLE
from orchestration.ingest.loader import LOG_TABLE
from tests.helpers import earlier_load_log, settings_for

DAYS = [date(y, 12, 31) for y in range(2019, 2024)]


@pytest.fixture
def settings(tmp_path):
    settings = settings_for(tmp_path)
    earlier_load_log(settings.warehouse_path)  # the plan brings it up to date
    load(settings, "geo_addresses", None, "a0")
    for day in DAYS:
        load(settings, "register_persons", day, f"p{day.year}")
        load(settings, "jobcenter_sgb2", day, f"j{day.year}")
    return settings


_clock = [datetime(2026, 1, 1)]


def load(settings, source, day, sha):
    _clock[0] += timedelta(seconds=1)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute(
        f"insert into {LOG_TABLE} (source, stichtag, file, sha256, rows, footer_rows, loaded_at, seconds) "
        "values (?, ?, 'f', ?, 1, 0, ?, 0)",
        [source, day, sha, _clock[0]],
    )
    con.close()


def built(settings, **kwargs):
    """Plan and record a build that succeeded: the plan."""
    plan = plan_build(settings, **kwargs)
    record_build(settings, plan, "run", "running")
    record_build(settings, plan, "run", "succeeded")
    return plan


def test_the_first_build_is_full_and_the_next_rebuilds_nothing_unchanged(settings):
    first = built(settings)
    assert first.full and "no earlier build" in first.describe()
    assert first.dbt_arguments() == ["--full-refresh"] and first.choices() == {}
    assert first.dbt_environment() == {PLAN_ENVIRONMENT: ""}
    again = plan_build(settings)
    assert not again.full and again.stichtage == ()
    assert again.choices() == {"rebuild_stichtage": [], "test_rebuilt_stichtage_only": True}
    # handed to dbt in its environment, not as vars (which would make dbt parse the project again)
    assert json.loads(again.dbt_environment()[PLAN_ENVIRONMENT]) == again.choices()
    assert again.dbt_arguments() == ["--exclude-resource-type", "unit_test"]
    assert "no Stichtag rebuilt" in again.describe()


def test_a_new_stichtag_is_rebuilt_alone(settings):
    built(settings)
    new = date(2024, 12, 31)
    load(settings, "register_persons", new, "p2024")
    load(settings, "jobcenter_sgb2", new, "j2024")
    plan = plan_build(settings)
    assert not plan.full
    assert plan.stichtage == (new,) and plan.lag_dependants == ()
    assert plan.choices() == {"rebuild_stichtage": ["2024-12-31"], "test_rebuilt_stichtage_only": True}
    assert "register_persons new" in plan.describe()


def test_a_corrected_old_file_rebuilds_its_stichtag_and_the_lagged_ones(settings):
    built(settings)
    load(settings, "jobcenter_sgb2", date(2019, 12, 31), "j2019-corrected")
    plan = plan_build(settings)
    assert plan.stichtage == (date(2019, 12, 31),)
    # the catalogue's lags (1 and 5 years in the Musterstadt catalogue), among the loaded Stichtage
    lags = lag_years(settings)
    assert lags
    expected = {add_years(date(2019, 12, 31), y) for y in lags} & set(DAYS)
    assert set(plan.lag_dependants) == expected and date(2020, 12, 31) in expected
    assert "jobcenter_sgb2 corrected" in plan.describe()
    # the same file loaded again (`run --force-reload`, as after a change to the reading code) may
    # give other rows: its Stichtag is rebuilt too
    built(settings)
    load(settings, "jobcenter_sgb2", date(2019, 12, 31), "j2019-corrected")
    again = plan_build(settings)
    assert again.stichtage == (date(2019, 12, 31),) and "jobcenter_sgb2 loaded again" in again.describe()
    # a build recorded before loads had their time (the file's SHA-256 alone) saw the same loads
    built(settings)
    con = duckdb.connect(str(settings.warehouse_path))
    [loads] = con.execute(f"select loads from {BUILDS_TABLE} order by started_at desc limit 1").fetchone()
    by_sha = json.dumps([[source, day, sha.split("@")[0]] for source, day, sha in json.loads(loads)])
    con.execute(f"update {BUILDS_TABLE} set loads = ?", [by_sha])
    con.close()
    same = plan_build(settings)
    assert same.stichtage == () and "nothing loaded since" in same.describe()


def test_an_unloaded_stichtag_is_rebuilt_and_so_are_the_stichtage_whose_lag_read_it(settings):
    """`unload` takes a Stichtag's rows out of the raw tables and the load log
    (orchestration/ingest/unload.py): the next build rebuilds it, without rows, and the Stichtage
    whose lagged measures read it (a year later, the residents a year before are then unknown, as
    in a build from scratch without it). tests/orchestration/test_incremental_stichtage.py builds
    the unload of the newest Stichtag and compares it with a build from scratch."""
    built(settings)
    gone = date(2019, 12, 31)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute(f"delete from {LOG_TABLE} where stichtag = ?", [gone])  # what `unload` leaves of its loads
    con.close()
    plan = plan_build(settings)
    assert not plan.full and plan.stichtage == (gone,)
    expected = {add_years(gone, y) for y in lag_years(settings)} & set(DAYS)
    assert set(plan.lag_dependants) == expected == {date(2020, 12, 31)}
    assert "register_persons removed" in plan.describe() and "jobcenter_sgb2 removed" in plan.describe()
    # dbt is told the rebuilt Stichtag; the models with lagged measures add 2020 by the catalogue's
    # lags themselves (dbt_project/macros/incremental_stichtage.sql, stichtag_rebuilt)
    assert plan.choices()["rebuild_stichtage"] == ["2019-12-31"]


def test_reference_data_the_project_or_the_vars_changed_refresh_fully(settings, tmp_path):
    built(settings)
    assert plan_build(settings, full_refresh=True).full
    assert plan_build(settings, {"minor_age_limit": 17}).full
    load(settings, "geo_addresses", None, "a1")
    plan = plan_build(settings)
    assert plan.full and "reference data" in plan.describe() and "geo_addresses" in plan.describe()


def test_a_changed_model_or_macro_refreshes_fully_a_changed_data_test_does_not(settings, tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(
        settings.dbt_project_dir,
        project,
        symlinks=True,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
    )
    copied = settings.with_paths(dbt_project_dir=project)
    built(copied)
    assert not plan_build(copied).full
    test_file = next((project / "tests").rglob("*.sql"))
    test_file.write_text(test_file.read_text() + "\n-- a changed data test\n")
    # incremental, but the changed tests check every Stichtag (the rows of the others were tested
    # by other tests); once a build with them succeeded, only the rebuilt ones
    plan = plan_build(copied)
    assert not plan.full and not plan.tests_scoped and "test_rebuilt_stichtage_only" not in plan.choices()
    assert plan.dbt_arguments() == []  # the unit tests run too
    assert "data tests on every Stichtag" in plan.describe()
    built(copied)
    assert plan_build(copied).tests_scoped
    macro = project / "macros" / "validity.sql"
    macro.write_text(macro.read_text() + "\n")
    plan = plan_build(copied)
    assert plan.full and "dbt project" in plan.describe()
    built(copied)
    model = project / "models" / "intermediate" / "int_households.sql"
    model.write_text(model.read_text() + "\n-- changed\n")
    assert plan_build(copied).full


def test_a_failed_build_is_made_good_by_the_next(settings):
    built(settings)
    load(settings, "register_persons", date(2021, 12, 31), "p2021-corrected")
    failed = plan_build(settings)
    record_build(settings, failed, "run1", "running")
    record_build(settings, failed, "run1", "failed")
    # the file is put back as it was: loaded again, and the failed build's Stichtag still rebuilt
    load(settings, "register_persons", date(2021, 12, 31), "p2021")
    plan = plan_build(settings)
    assert plan.stichtage == (date(2021, 12, 31),) and "register_persons loaded again" in plan.describe()
    # a full build that did not finish: full again
    full = plan_build(settings, full_refresh=True)
    record_build(settings, full, "run2", "running")
    assert plan_build(settings).full


def test_a_build_outside_the_plan_makes_the_next_one_full(settings):
    built(settings)
    record_unplanned_build(settings, "dagster1", "Dagster dbt build", "local")
    plan = plan_build(settings)
    assert plan.full and "outside the plan" in plan.describe()
    built(settings)
    assert not plan_build(settings).full
    con = duckdb.connect(str(settings.warehouse_path))
    statuses = [r[0] for r in con.execute(f"select status from {BUILDS_TABLE} order by started_at").fetchall()]
    con.close()
    assert statuses == ["succeeded", "unplanned", "succeeded"]


def test_the_warehouse_says_which_dbt_target_built_its_tables(settings):
    """The release's manifest names the engine that built what it publishes (build_plan.built_on):
    the target of the newest build that succeeded, not of one that failed or still runs."""
    assert built_on(settings) is None  # nothing built yet
    first = plan_build(settings)
    record_build(settings, first, "run1", "running", dbt_target="local")
    assert built_on(settings) is None  # not finished
    record_build(settings, first, "run1", "succeeded")
    assert built_on(settings) == "local"
    spark = plan_build(settings, full_refresh=True)
    record_build(settings, spark, "run2", "running", dbt_target="spark_connect")
    record_build(settings, spark, "run2", "failed")
    assert built_on(settings) == "local"  # the tables are still those the DuckDB build made
    again = plan_build(settings, full_refresh=True)
    record_build(settings, again, "run3", "running", dbt_target="spark_connect")
    record_build(settings, again, "run3", "succeeded")
    assert built_on(settings) == "spark_connect"
    # some models rebuilt on DuckDB after it (a dbt command with a selection): its tables are
    # partly DuckDB's now, and both are named, in the order they built, each once
    record_unplanned_build(settings, "run4", "dbt build -s pub_indicator_values", "local")
    assert built_on(settings) == "spark_connect+local"
    record_unplanned_build(settings, "run5", "dbt build -s pub_indicator_series", "local")
    assert built_on(settings) == "spark_connect+local"
    # the next planned build (a full one, after a selection) makes every table again
    full = plan_build(settings)
    assert full.full
    record_build(settings, full, "run6", "running", dbt_target="local")
    record_build(settings, full, "run6", "succeeded")
    assert built_on(settings) == "local"


def test_the_release_names_every_engine_that_built_its_tables():
    from orchestration.release.build import SPARK_TOOLS, _Build, _tool_versions

    def engine(built_on):
        return _Build.engine.fget(SimpleNamespace(built_on=built_on, settings=SimpleNamespace(engine="duckdb")))

    assert engine(None) == "duckdb"  # not recorded: the setting's
    assert engine("local") == "duckdb" and engine("spark_connect") == "spark"
    assert engine("spark+local") == "spark+duckdb"
    assert engine("spark+spark_connect") == "spark"
    mixed = _tool_versions(engine("spark+local"), "spark+local")
    assert mixed["engine"] == "spark+duckdb" and mixed["dbt_target"] == "spark+local"
    assert set(SPARK_TOOLS) <= set(mixed)
    assert not set(SPARK_TOOLS) & set(_tool_versions("duckdb", "local"))


def test_years_are_added_as_duckdb_adds_them():
    assert add_years(date(2019, 12, 31), 5) == date(2024, 12, 31)
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert add_years(date(2024, 2, 29), -4) == date(2020, 2, 29)


def test_the_lag_dependants_are_the_stichtage_whose_lag_reads_a_rebuilt_one():
    """As the models select them (the Stichtag's date so many years earlier, in DuckDB's arithmetic):
    the 29 February 2024 reads the 28 February 2023, and so does the 29 February 2028 five years on,
    which adding the years to the 28 February 2023 would miss."""
    known = {date(2023, 2, 28), date(2024, 2, 29), date(2025, 2, 28), date(2028, 2, 29)}
    assert lag_dependants({date(2023, 2, 28)}, known, (1, 5)) == {date(2024, 2, 29), date(2028, 2, 29)}
    # the 28 February 2025 reads the 28 February 2024, no Stichtag: it depends on no 29 February
    assert lag_dependants({date(2024, 2, 29)}, known, (1, 4)) == {date(2028, 2, 29)}
    assert lag_dependants({date(2019, 12, 31)}, {date(2020, 12, 31), date(2024, 12, 31)}, (1, 5)) == {
        date(2020, 12, 31),
        date(2024, 12, 31),
    }


def gebietsstand(settings, recut: date | None = None):
    """What the plan reads of a built warehouse for today's Gebietsstand: the register's Stichtage
    (its raw table), the Baublöcke's memberships (one block moves to another Stadtviertel on
    `recut`) and the date the last build took."""
    con = duckdb.connect(str(settings.warehouse_path))
    for schema in ("staging", "intermediate"):
        con.execute(f"create schema if not exists {schema}")
    days = [
        r[0]
        for r in con.execute(f"select distinct stichtag from {LOG_TABLE} where source = 'register_persons'").fetchall()
    ]
    con.execute("create or replace table raw.register_persons as select unnest(?::date[]) as stichtag", [days])
    con.execute(
        "create or replace table intermediate.int_block_memberships (block_id varchar, level varchar, area_id varchar,"
        " valid_from date, valid_to date)"
    )
    con.execute(
        "insert into intermediate.int_block_memberships values ('b1', 'stadtviertel', 'v1', '2000-01-01', null)"
    )
    if recut:
        con.execute(
            "insert into intermediate.int_block_memberships values ('b2', 'stadtviertel', 'v1', '2000-01-01', ?),"
            " ('b2', 'stadtviertel', 'v2', ?, null)",
            [recut - timedelta(days=1), recut],
        )
    con.execute(
        'create or replace table intermediate.int_current_gebietsstand as select max(stichtag) as "current_date"'
        " from raw.register_persons"
    )
    con.close()


def test_the_series_on_todays_gebietsstand_is_incremental_while_its_blocks_stay(settings):
    gebietsstand(settings, recut=date(2022, 1, 1))
    first = built(settings)
    assert first.full
    new = date(2024, 12, 31)
    load(settings, "register_persons", new, "p2024")
    gebietsstand(settings, recut=date(2022, 1, 1))
    # on Spark the warehouse's staging view reads the rows of the last serving, without 2024: the
    # plan takes the date from the raw table as loaded
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute(
        "create table staging.stg_register__persons as select * from raw.register_persons where stichtag < ?", [new]
    )
    con.close()
    plan = plan_build(settings)
    # the recut lies before both dates: today's Gebietsstand of 31.12.2023 is that of 31.12.2024
    assert plan.gebietsstand_date == new and plan.gebietsstand_kept
    assert plan.choices()["current_gebietsstand_kept"] is True
    assert "today's Gebietsstand" not in plan.describe()
    # the Gebietsgliederung (loaded before) moves a block between the two dates: every Stichtag of
    # those models is rebuilt
    gebietsstand(settings, recut=date(2024, 6, 1))
    moved = plan_build(settings)
    assert not moved.full and moved.stichtage == (new,) and not moved.gebietsstand_kept
    assert "current_gebietsstand_kept" not in moved.choices()
    assert "every Stichtag on today's Gebietsstand" in moved.describe()
    # a correction of an old file keeps today's date
    built(settings)
    load(settings, "register_persons", date(2019, 12, 31), "p2019-corrected")
    assert plan_build(settings).gebietsstand_kept


def test_an_incremental_build_leaves_out_what_reads_only_reference_data(settings):
    built(settings)
    assert plan_build(settings).selection == ()  # no manifest: the whole project
    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
    sources = [("melderegister", "register_persons"), ("gebiete", "geo_addresses"), ("ops", "released_cells")]
    manifest = {"sources": {f"source.p.{s}.{n}": {"source_name": s, "name": n} for s, n in sources}}
    (settings.dbt_target_dir / "manifest.json").write_text(json.dumps(manifest))
    plan = plan_build(settings)
    # the addresses are reference data: what reads only them (and seeds) is as the last build left it
    assert plan.selection == ("source:melderegister.register_persons+", "source:ops.released_cells+")
    assert plan.dbt_arguments() == [
        "--exclude-resource-type", "unit_test", "--select", *plan.selection,
    ]  # fmt: skip
    assert plan.dbt_arguments("run") == ["--select", *plan.selection]
    assert plan_build(settings, full_refresh=True).dbt_arguments() == ["--full-refresh"]


def released(settings, *release_ids: str) -> None:
    """ops.released_cells as `pipeline.prepare_dbt` refreshes it: a cell of each release."""
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("create schema if not exists ops")
    con.execute(f"create or replace table {RELEASED_TABLE} (release_id varchar, measure varchar)")
    for release_id in release_ids:
        con.execute(f"insert into {RELEASED_TABLE} values (?, 'residents')", [release_id])
    con.close()


def test_nothing_to_build_when_nothing_changed_since_the_last_build(settings):
    gebietsstand(settings)
    settings.dbt_target_dir.mkdir()
    (settings.dbt_target_dir / "manifest.json").write_text("{}")
    released(settings)
    built(settings)
    built(settings)  # the first was full: today's Gebietsstand was not known before it
    plan = plan_build(settings)
    assert plan.unchanged and plan.stichtage == () and "nothing to build" in plan.describe()
    # a release published since: the disclosure pattern keeps to its cells, so dbt builds again
    released(settings, "2023-12-31/v1")
    plan = plan_build(settings)
    assert not plan.unchanged and "cells of earlier releases changed" in plan.describe()
    built(settings)
    assert plan_build(settings).unchanged
    # a file loaded since, a build that did not finish, no manifest of the last build: dbt runs
    load(settings, "jobcenter_sgb2", DAYS[-1], "j-corrected")
    assert not plan_build(settings).unchanged
    load(settings, "jobcenter_sgb2", DAYS[-1], f"j{DAYS[-1].year}")
    assert not plan_build(settings).unchanged  # the file put back is loaded again: its Stichtag too
    built(settings)
    assert plan_build(settings).unchanged
    unfinished = plan_build(settings)
    record_build(settings, unfinished, "killed", "running")
    assert not plan_build(settings).unchanged
    built(settings)
    (settings.dbt_target_dir / "manifest.json").unlink()
    assert not plan_build(settings).unchanged


def test_a_release_made_from_the_last_build_needs_no_rebuild_for_its_own_cells(settings):
    gebietsstand(settings)
    settings.dbt_target_dir.mkdir()
    (settings.dbt_target_dir / "manifest.json").write_text("{}")
    released(settings)
    built(settings)
    built(settings)
    # published from this build: its cells are the build's own, so its pattern keeps to them
    assert adopt_release(settings, "2023-12-31/v1", ["2023-12-31/v1"])
    released(settings, "2023-12-31/v1")  # as the next run's prepare_dbt refreshes them
    plan = plan_build(settings)
    assert plan.unchanged and "nothing to build" in plan.describe()
    # another Stichtag released from the same build, without a build between (release create)
    assert adopt_release(settings, "2022-12-31/v1", ["2022-12-31/v1", "2023-12-31/v1"])
    released(settings, "2022-12-31/v1", "2023-12-31/v1")
    assert plan_build(settings).unchanged
    # a release from elsewhere, which the build did not keep to: not adopted, and dbt builds again
    everything = ["2022-12-31/v1", "2023-12-31/v1", "2023-12-31/v2", "2023-12-31/v3"]
    assert not adopt_release(settings, "2023-12-31/v3", everything)
    assert not adopt_release(settings, "2023-12-31/v4", ["2023-12-31/v1"])  # not among the published
    released(settings, *everything)
    assert not plan_build(settings).unchanged
    # a build that kept to them adopts the next release; one that did not finish after it, none
    built(settings)
    assert adopt_release(settings, "2024-12-31/v1", [*everything, "2024-12-31/v1"])
    record_build(settings, plan_build(settings), "killed", "running")
    assert not adopt_release(settings, "2024-12-31/v2", [*everything, "2024-12-31/v1", "2024-12-31/v2"])
    con = duckdb.connect(str(settings.warehouse_path))
    kept = con.execute(f"select released from {BUILDS_TABLE} where status = 'succeeded' order by started_at")
    last = kept.fetchall()[-1]
    con.close()
    assert last == (",".join(sorted([*everything, "2024-12-31/v1"])),)


def test_a_part_of_the_project_however_spelled_is_unplanned_and_a_run_leaves_its_rows_untested(settings, monkeypatch):
    """A build of some nodes is recorded outside the plan (the next build is full), whichever way its
    selecting flag is written; a planned `dbt run` rebuilds as planned but tests nothing, so the
    build after it tests every row, not only those it rebuilds."""
    from orchestration import pipeline

    for command in (["build", "--select", "x"], ["build", "--select=x"], ["run", "-sx"], ["build", "-m", "x"],
                    ["build", "-xs", "x"], ["build", "--exclude-resource-type", "test"],
                    ["build", "--empty"]):  # fmt: skip
        assert pipeline.selects_part(command), command
    for command in (["build"], ["build", "--full-refresh"], ["run", "--vars", "{}"], ["build", "--threads", "2"],
                    ["build", "-x"], ["build", "-tspark"], ["build", "--target", "spark_connect"]):  # fmt: skip
        assert not pipeline.selects_part(command), command

    monkeypatch.setattr(pipeline, "prepare_dbt", lambda *a, **k: [])
    monkeypatch.setattr(pipeline.dbt_runner, "run_dbt", lambda *a, **k: SimpleNamespace(success=True))
    built(settings)
    built(settings)
    load(settings, "register_persons", DAYS[0], "p-corrected")
    _result, plan = pipeline.planned_dbt(settings, ["run"], run_id="r1")
    assert plan.stichtage == (DAYS[0],)
    after = plan_build(settings)
    assert after.stichtage == () and not after.tests_scoped and not after.unchanged
    assert "test_rebuilt_stichtage_only" not in after.choices()  # the tests' scope (macros/tested_stichtage.sql)
    # a build's tests then pass on every row: the next one is scoped again
    record_build(settings, after, "r2", "running")
    record_build(settings, after, "r2", "succeeded")
    assert plan_build(settings).tests_scoped


def test_the_builds_keep_their_order_when_the_clocks_go_back(settings, monkeypatch):
    """Start times are local: in the hour the clocks go back (25.10.2026, 03:00 → 02:00) a full build
    that failed after the last good one started "earlier" than it. The plan still sees it: its
    tables may be half rebuilt, so the next build is full again."""
    import orchestration.build_plan as build_plan

    times = iter(
        [datetime(2026, 10, 25, 1, 50), datetime(2026, 10, 25, 1, 55),  # the first, full build
         datetime(2026, 10, 25, 2, 50), datetime(2026, 10, 25, 2, 55),  # the next, before the change
         datetime(2026, 10, 25, 2, 10), datetime(2026, 10, 25, 2, 15)]  # a full one after it: fails
    )  # fmt: skip

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return next(times)

    monkeypatch.setattr(build_plan, "datetime", Clock)
    built(settings)
    built(settings)
    failed = plan_build(settings, full_refresh=True)
    record_build(settings, failed, "r3", "running")
    record_build(settings, failed, "r3", "failed")
    plan = plan_build(settings)
    assert plan.full and "did not finish" in plan.describe()
    con = duckdb.connect(str(settings.warehouse_path))
    order = [r[0] for r in con.execute(f"select status from {BUILDS_TABLE} order by seq").fetchall()]
    con.close()
    assert order == ["succeeded", "succeeded", "failed"]
