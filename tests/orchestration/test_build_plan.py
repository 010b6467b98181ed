"""What a dbt build rebuilds (issue 17, goal 3; orchestration.build_plan), decided from the load log
and the recorded builds, without dbt: new and corrected Stichtage with their lag dependants,
reference data, a changed project, unfinished and unplanned builds."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import duckdb
import pytest

from orchestration.build_plan import (
    BUILDS_TABLE,
    add_years,
    lag_years,
    plan_build,
    record_build,
    record_unplanned_build,
)
from orchestration.ingest.loader import LOG_TABLE
from tests.helpers import settings_for

DAYS = [date(y, 12, 31) for y in range(2019, 2024)]


@pytest.fixture
def settings(tmp_path):
    settings = settings_for(tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("create schema raw")
    con.execute(
        f"""create table {LOG_TABLE} (source varchar, stichtag date, file varchar, sha256 varchar, rows bigint,
            footer_rows bigint, loaded_at timestamp, seconds double)"""
    )
    con.close()
    load(settings, "geo_addresses", None, "a0")
    for day in DAYS:
        load(settings, "register_persons", day, f"p{day.year}")
        load(settings, "jobcenter_sgb2", day, f"j{day.year}")
    return settings


_clock = [datetime(2026, 1, 1)]


def load(settings, source, day, sha):
    _clock[0] += timedelta(seconds=1)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute(f"insert into {LOG_TABLE} values (?, ?, 'f', ?, 1, 0, ?, 0)", [source, day, sha, _clock[0]])
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
    assert first.dbt_arguments() == ["--full-refresh"] and first.dbt_vars() == {}
    again = plan_build(settings)
    assert not again.full and again.stichtage == () and again.dbt_vars() == {"rebuild_stichtage": []}
    assert "no Stichtag rebuilt" in again.describe()


def test_a_new_stichtag_is_rebuilt_alone(settings):
    built(settings)
    new = date(2024, 12, 31)
    load(settings, "register_persons", new, "p2024")
    load(settings, "jobcenter_sgb2", new, "j2024")
    plan = plan_build(settings)
    assert not plan.full
    assert plan.stichtage == (new,) and plan.lag_dependants == ()
    assert plan.dbt_vars() == {"rebuild_stichtage": ["2024-12-31"]}
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
    # the same file loaded again is no change
    built(settings)
    load(settings, "jobcenter_sgb2", date(2019, 12, 31), "j2019-corrected")
    assert plan_build(settings).stichtage == ()


def test_reference_data_the_project_or_the_vars_changed_refresh_fully(settings, tmp_path):
    built(settings)
    assert plan_build(settings, full_refresh=True).full
    assert plan_build(settings, {"minor_age_limit": 17}).full
    # the Stichtage to rebuild are not part of the project's state
    assert not plan_build(settings, {"rebuild_stichtage": ["2019-12-31"]}).full
    load(settings, "geo_addresses", None, "a1")
    plan = plan_build(settings)
    assert plan.full and "reference data" in plan.describe() and "geo_addresses" in plan.describe()


def test_a_changed_model_or_macro_refreshes_fully_a_changed_data_test_does_not(settings, tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    copied = settings.with_paths(dbt_project_dir=project)
    built(copied)
    assert not plan_build(copied).full
    test_file = next((project / "tests").rglob("*.sql"))
    test_file.write_text(test_file.read_text() + "\n-- a changed data test\n")
    assert not plan_build(copied).full
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
    # the file is put back as it was: the failed build's Stichtag is still rebuilt
    load(settings, "register_persons", date(2021, 12, 31), "p2021")
    plan = plan_build(settings)
    assert plan.stichtage == (date(2021, 12, 31),) and "did not finish" in plan.describe()
    # a full build that did not finish: full again
    full = plan_build(settings, full_refresh=True)
    record_build(settings, full, "run2", "running")
    assert plan_build(settings).full


def test_a_build_outside_the_plan_makes_the_next_one_full(settings):
    built(settings)
    record_unplanned_build(settings, "dagster1", "Dagster dbt build")
    plan = plan_build(settings)
    assert plan.full and "outside the plan" in plan.describe()
    built(settings)
    assert not plan_build(settings).full
    con = duckdb.connect(str(settings.warehouse_path))
    statuses = [r[0] for r in con.execute(f"select status from {BUILDS_TABLE} order by started_at").fetchall()]
    con.close()
    assert statuses == ["succeeded", "unplanned", "succeeded"]


def test_years_are_added_as_duckdb_adds_them():
    assert add_years(date(2019, 12, 31), 5) == date(2024, 12, 31)
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert add_years(date(2024, 2, 29), -4) == date(2020, 2, 29)
