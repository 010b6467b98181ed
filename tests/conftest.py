"""Session fixtures: one small Musterstadt, generated once, ingested once, built once per test run
(shared by the xdist workers: tests/shared.py); tests copy what they change so that they never
disturb each other."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestration.demo import DemoConfig, generate, simulate
from orchestration.pipeline import run_ingest, run_pipeline
from tests.helpers import settings_for
from tests.shared import build_log, run_root, shared_build

# Small enough for a quick suite, large enough that every level has several units.
TEST_CITY = DemoConfig(residents=20_000, seed=424242)

# Tests that need a generated city (built, ingested or only generated) or build one of their own
# are marked `slow`; `make test-fast` runs the others (unit, model and format tests).
CITY_FIXTURES = {
    "city_truth", "city_raw", "ingested_city", "built_city", "released_city", "released_copy", "city_copy",
    "second_city", "dagster_city", "generated", "kreis", "kreis_truth",
}  # fmt: skip


# The test files that take longest (each runs whole pipelines of its own), longest first. `make test`
# hands whole files to its two workers in collection order (--dist loadfile --no-loadscope-reorder):
# started first, they never leave one worker alone with a long file at the end. The first two need
# different cities (the Spark builds from city_raw, asking for built_city only at their end; the
# releases' built_city), so both workers build from the start.
RUN_FIRST = (
    "tests/engines/test_spark_dagster.py",
    "tests/release/test_releases.py",
    "tests/orchestration/test_one_pipeline.py",
    "tests/kreis/test_musterkreis.py",
    "tests/orchestration/test_dagster.py",
    "tests/release/test_faults.py",
    "tests/disclosure/test_independent_attacker.py",
    "tests/orchestration/test_incremental_stichtage.py",
    "tests/disclosure/test_release_disclosure.py",
    "tests/ingest/test_broken_extracts.py",
    "tests/engines/test_spark_connect.py",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if CITY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    rank = {path: i for i, path in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: file order kept


@pytest.fixture(scope="session")
def city_truth():
    return simulate(TEST_CITY)


# The session cities are built once per test run and shared by the xdist workers (tests/shared.py):
# no test may change them; a test that changes a city takes a copy (`released_copy`, `city_copy`).
@pytest.fixture(scope="session")
def city_raw(tmp_path_factory) -> Path:
    return shared_build(run_root(tmp_path_factory), "generated", lambda base: generate(base / "raw", TEST_CITY)) / "raw"


def _city_from(city_raw: Path, run) -> Callable[[Path], None]:
    def build(base: Path) -> None:
        shutil.copytree(city_raw, base / "raw")
        run(settings_for(base))

    return build


@pytest.fixture(scope="session")
def ingested_city(tmp_path_factory, city_raw):
    """raw/ plus a warehouse into which every extract was loaded (no dbt): its folder."""
    return shared_build(run_root(tmp_path_factory), "ingested", _city_from(city_raw, run_ingest))


@pytest.fixture(scope="session")
def built_city(tmp_path_factory, city_raw):
    """The whole pipeline run on the test city (gates and release included): its settings."""
    return settings_for(shared_build(run_root(tmp_path_factory), "built", _city_from(city_raw, run_pipeline)))


@pytest.fixture(scope="session")
def released_city(built_city) -> Path:
    """The folder of the built city: raw/, warehouse and its first release."""
    return built_city.raw_dir.parent


@pytest.fixture
def released_copy(tmp_path, released_city):
    """A private copy of the built and released city, to break things in: its settings."""
    base = tmp_path / "city"
    # dbt_target included: its manifest says what the warehouse's schema `public` may publish
    shutil.copytree(released_city, base, symlinks=True, ignore=shutil.ignore_patterns("*.lock"))
    return settings_for(base)


def seed_pattern_memo(target, source) -> int:
    """Copy the disclosure pattern memo of the built city (`source`, settings) into the warehouse of
    `target` (settings): the patterns are keyed by the checksum of their inputs, so a copy of the
    ingested city then solves only what its test changed (a first pattern costs minutes). The
    memo itself is tested in tests/disclosure; the Dagster build of the test city, which must publish
    the CLI's release byte for byte, runs without one (tests/orchestration/test_one_pipeline.py)."""
    import duckdb

    from orchestration.disclosure.pattern import DuckDBMemo
    from orchestration.warehouse import private_dir

    private_dir(target.warehouse_path.parent)  # as the pipeline makes it: owner only
    con = duckdb.connect(str(target.warehouse_path))
    try:
        DuckDBMemo(con)  # the table, as the pipeline makes it
        con.execute(f"attach '{source.warehouse_path}' as built (read_only)")
        con.execute(f"insert or replace into {DuckDBMemo.TABLE} select * from built.{DuckDBMemo.TABLE}")
        return con.execute(f"select count(*) from {DuckDBMemo.TABLE}").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def city_copy(tmp_path, ingested_city, built_city):
    """A private copy of the ingested city (raw/ and warehouse) to break things in; it knows the
    built city's disclosure patterns (`seed_pattern_memo`)."""
    base = tmp_path / "city"
    shutil.copytree(ingested_city, base, ignore=shutil.ignore_patterns("*.lock"))
    settings = settings_for(base)
    seed_pattern_memo(settings, built_city)
    return settings


def pytest_terminal_summary(terminalreporter, config):
    """Which worker built each shared session city, in how long, and who reused it (a city built
    twice in one run would show here)."""
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None or getattr(factory, "_basetemp", None) is None:  # no test made a temp folder
        return
    log = build_log(run_root(factory))
    if log:
        terminalreporter.section("shared session data (tests/shared.py)")
    for name, entries in log.items():
        made = ", ".join(f"{e['worker']} in {e['seconds']} s" for e in entries if e["event"] == "built")
        reused = ", ".join(f"{e['worker']} (waited {e['waited_s']} s)" for e in entries if e["event"] == "reused")
        terminalreporter.write_line(f"{name}: built by {made}; reused by {reused or 'nobody'}")
