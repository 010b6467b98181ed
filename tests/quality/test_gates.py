"""The quality gates: they pass on a sound warehouse, and each suite catches the fault it exists
for (a tampered copy of the built warehouse per fault), blocking or warning as configured."""

from __future__ import annotations

import html
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from data_quality import SUITE_NAMES, gates, run_gates
from data_quality.beside import FOLDER_PREFIX, GatesBeside, remove_leftovers
from orchestration.warehouse import connect
from tests.helpers import json_keys, settings_for


def test_the_gates_pass_on_the_built_city_and_report_the_same_beside_the_release(built_city):
    with connect(built_city.warehouse_path, read_only=True, extensions=()) as con:
        report = run_gates(con)
    # the release runs the gates in a child process (data_quality.beside): the same report, example
    # rows and observed values included, and the same public report
    beside = GatesBeside(built_city)
    there = beside()
    assert beside() is there and beside.seconds > 0

    def as_written(gates):
        return json.loads(json.dumps({**gates.to_dict(), "checked_at": ""}, default=str))

    assert as_written(there) == as_written(report)
    assert json.dumps(there.redacted().to_dict()) == json.dumps(report.redacted().to_dict())

    assert report.outcome in ("passed", "passed_with_warnings"), [
        (r.description, r.observed) for r in report.blocking_failures
    ]
    assert set(report.summary()["suites"]) == set(SUITE_NAMES)
    # one plausible-range and two year-over-year expectations per indicator, two per source
    with connect(built_city.warehouse_path, read_only=True, extensions=()) as con:
        indicators = con.execute("select count(*) from reference.indicator_catalogue").fetchone()[0]
    assert len(report.for_suite("plausible_ranges")) == indicators
    assert len(report.for_suite("year_over_year")) == 2 * indicators
    assert len(report.for_suite("address_assignment")) == 10


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; nobody may be left to reap it in a container


def _open_files(pid: int) -> set[str]:
    files = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            files.add(os.readlink(fd))
        except OSError:
            continue
    return files


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")
def test_the_gates_beside_a_killed_run_end_with_it(built_city):
    """A run killed while its gates run must not leave them reading the warehouse: the rerun opens it
    for writing. Their folder, left behind, is removed by the next gates on that warehouse."""
    code = (
        "import sys, time\n"
        "from data_quality.beside import GatesBeside\n"
        "from tests.helpers import settings_for\n"
        "from pathlib import Path\n"
        "gates = GatesBeside(settings_for(Path(sys.argv[1])))\n"
        "print(gates._child.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    run = subprocess.Popen(
        [sys.executable, "-c", code, str(built_city.raw_dir.parent)], stdout=subprocess.PIPE, text=True
    )
    child = int(run.stdout.readline())
    # once the child has the warehouse open it is past its start-up checks and reading
    warehouse = str(built_city.warehouse_path.resolve())
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline and warehouse not in _open_files(child):
        time.sleep(0.02)
    assert _alive(child) and warehouse in _open_files(child)  # Great Expectations takes seconds to import
    run.kill()
    run.wait()
    deadline = time.monotonic() + 2  # its own work would take longer: importing GX alone takes 3 s
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
    beside = built_city.warehouse_path.parent
    [left] = beside.glob(f"{FOLDER_PREFIX}{run.pid}-*")
    assert left in remove_leftovers(beside) and not left.exists()


def _waits_on_its_stdin(pid: int) -> bool:
    """Whether process `pid` sleeps in a read of its stdin, a pipe (Linux: the system call it is in,
    read being number 0 on x86-64, else where the kernel has it wait)."""
    try:
        call = Path(f"/proc/{pid}/syscall").read_text().split()
        waits = Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False
    if platform.machine() == "x86_64":
        return call[:2] == ["0", "0x0"]
    return "pipe_read" in waits


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the child's state in /proc")
def test_held_gates_import_first_and_open_the_warehouse_only_once_let_go(built_city, tmp_path):
    """The pipeline starts the gates' process held before dbt's build, so that it imports Great
    Expectations beside the build, and lets it go once the build is done: until then it must not open
    the warehouse, which dbt writes, and it checks the warehouse as it is when let go. Its time counts
    from then. A held process never let go ends with nothing written."""
    settings = settings_for(tmp_path / "city")
    settings.warehouse_path.parent.mkdir(parents=True)
    shutil.copyfile(built_city.warehouse_path, settings.warehouse_path)
    started = time.perf_counter()
    gates = GatesBeside(settings, held=True)
    pid = gates._child.pid
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _waits_on_its_stdin(pid):
        time.sleep(0.05)
    assert _waits_on_its_stdin(pid) and gates.running
    # it has imported Great Expectations (which loads scipy's libraries) and not opened the warehouse
    assert "/scipy/" in Path(f"/proc/{pid}/maps").read_text()
    assert str(settings.warehouse_path.resolve()) not in _open_files(pid)
    # so a writer may open it meanwhile (DuckDB refuses one while another process reads the file)
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute(FAULTS["implausible_value"][1])
    finally:
        con.close()
    time.sleep(0.5)
    held = time.perf_counter() - started
    gates.start()
    report = gates()
    assert [r.suite for r in report.blocking_failures] == ["plausible_ranges"]
    assert 0 < gates.seconds < time.perf_counter() - started - held

    # held and stopped without being let go: it ends, and its folder goes with it
    gates = GatesBeside(settings, held=True)
    pid = gates._child.pid
    gates.stop()
    assert not _alive(pid)
    assert not list(settings.warehouse_path.parent.glob(f"{FOLDER_PREFIX}*"))


def test_a_held_gates_process_whose_parent_closes_its_stdin_ends_without_reading(tmp_path):
    """`python -m data_quality.beside --held` waits for its go; a parent that closes the pipe instead
    (it stopped before the gates) ends it at once, without touching the warehouse (here none exists:
    opening it would fail). Let go, the same process reads the warehouse."""
    missing = tmp_path / "none.duckdb"
    command = [sys.executable, "-m", "data_quality.beside", str(missing), "gemeinde", str(tmp_path)]
    for given, code in ((b"", 0), (b"go\n", 1)):
        run = subprocess.Popen(
            [*command, str(os.getpid()), "1GB", "--held"], stdin=subprocess.PIPE, stderr=subprocess.PIPE
        )
        _, error = run.communicate(given, timeout=120)
        assert run.returncode == code, error
    assert not missing.exists() and list(tmp_path.iterdir()) == []


# (suite, SQL that breaks the warehouse, expected outcome)
FAULTS = {
    "value_missing": (
        "completeness",
        "delete from marts.fct_indicator_values where level = 'stadtteil' and area_id = (select min(area_id) "
        "from marts.fct_indicator_values where level = 'stadtteil') and indicator_id = 'sgb2_quote'",
        "blocked",
    ),
    "level_without_units_at_a_stichtag": (
        "completeness",
        "update marts.dim_area set valid_from = date '2020-01-01' where level = 'stadtbezirk'",
        "blocked",
    ),
    "implausible_value": (
        "plausible_ranges",
        "update marts.fct_indicator_values set value = 75 where indicator_id = 'sgb2_quote' and level = 'stadtbezirk'",
        "blocked",
    ),
    "share_above_100": (
        "plausible_ranges",
        "update marts.fct_indicator_values set value = 101 where indicator_id = 'share_foreign' and level = 'gemeinde'",
        "blocked",
    ),
    "counts_do_not_add_up": (
        "hierarchy",
        "update marts.fct_indicator_values set numerator = numerator + 7 where indicator_id = 'residents' "
        "and level = 'stadtviertel' and area_id = (select min(area_id) from marts.fct_indicator_values "
        "where level = 'stadtviertel')",
        "blocked",
    ),
    # sgb2_recipients is sgb2_quote's numerator and sgb2_long_term_share's denominator: the sums still
    # add up (the other indicator's count stands for the measure), but the two no longer agree
    "a_shared_count_differs_between_indicators": (
        "hierarchy",
        "update marts.fct_indicator_values set numerator = null where indicator_id = 'sgb2_quote' "
        "and level = 'baublock' and area_id = (select min(area_id) from marts.fct_indicator_values "
        "where level = 'baublock' and indicator_id = 'sgb2_quote' and numerator > 0)",
        "blocked",
    ),
    "residents_lost_on_the_way": (
        "reconciliation",
        # a model that loses the residents without a Baublock (the persons' assignment is a view)
        "alter view intermediate.int_persons_assigned_to_blocks rename to int_persons_as_built; "
        "create view intermediate.int_persons_assigned_to_blocks as select * from intermediate.int_persons_as_built "
        "where not (is_resident and block_id is null)",
        "blocked",
    ),
    "assignment_rate_low": (
        "address_assignment",
        "update marts.fct_address_assignment set assignment_rate = 95 where source = 'wohngeld'",
        "blocked",
    ),
    "assignment_rate_lower_than_usual": (
        "address_assignment",
        "update marts.fct_address_assignment set assignment_rate = 98.5 where source = 'wohngeld'",
        "warning",
    ),
    "jump_against_last_year": (
        "year_over_year",
        "update marts.fct_indicator_values set value = value + 20 where indicator_id = 'share_foreign' "
        "and level = 'gemeinde' and stichtag = date '2024-12-31'",
        "blocked",
    ),
    "change_larger_than_usual": (
        "year_over_year",
        "update marts.fct_indicator_values set value = value + 5 where indicator_id = 'share_foreign' "
        "and level = 'gemeinde' and stichtag = date '2024-12-31'",
        "warning",
    ),
}


@pytest.mark.parametrize(("denominator", "blocked"), [(9, False), (29, False), (30, True), (400, True)])
def test_a_rate_over_too_few_people_is_not_checked_for_plausibility(denominator, blocked, built_city, tmp_path):
    """A `count` rate over fewer people than the indicator's minimum population (30 by default) is
    withheld from every release (small_population), and its value is noise: an aging index of 2,500
    over 9 children under 15 stopped a Kreis of 100 Gemeinden. From the minimum on the range holds."""
    copy = tmp_path / built_city.warehouse_path.name
    shutil.copyfile(built_city.warehouse_path, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute(
            f"update marts.fct_indicator_values set value = 2500, denominator = {denominator} "
            "where indicator_id = 'aging_index' and level = 'stadtteil' and stichtag = date '2024-12-31' "
            "and area_id = (select min(area_id) from marts.fct_indicator_values where level = 'stadtteil')"
        )
        report = run_gates(con, suites=["plausible_ranges"])
    finally:
        con.close()
    failed = [r.description for r in report.results if not r.success]
    assert bool(report.blocking_failures) is blocked
    assert failed == (["aging_index lies within its plausible range [0, 2000] je 100."] if blocked else [])


def test_what_the_plausibility_gate_leaves_out_no_release_publishes(built_city):
    """The rates the gate does not check are withheld ones: at a public level, each is withheld
    (as `small_population`, or for disclosure where its denominator is withheld too), or not
    published at that level at all."""
    with connect(built_city.warehouse_path, read_only=True, extensions=()) as con:
        left_out = con.execute(
            """with left_out as (
                   select indicator_id, level, area_id, stichtag from marts.fct_indicator_values
                   where value is not null and level in (select distinct level from public.indicator_values)
                   except
                   select indicator_id, level, area_id, stichtag from gates.gate_plausible_ranges
               )
               select l.*, p.value as published, p.suppression_reason, p.indicator_id is not null as has_row
               from left_out as l
               left join public.indicator_values as p using (indicator_id, level, area_id, stichtag)"""
        ).df()
    assert len(left_out) > 0  # the test city has such small rates
    shown = left_out[left_out["has_row"]]
    # withheld: over too few people, or (where its denominator is withheld too) for disclosure
    assert shown["published"].isna().all() and shown["suppression_reason"].notna().all()
    assert "small_population" in set(shown["suppression_reason"])


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_suite_catches_its_fault(fault, built_city, tmp_path):
    suite, sql, expected = FAULTS[fault]
    copy = tmp_path / built_city.warehouse_path.name  # dbt views name the database by the file
    shutil.copyfile(built_city.warehouse_path, copy)
    con = duckdb.connect(str(copy))
    try:
        before = run_gates(con, suites=[suite])
        con.execute(sql)
        after = run_gates(con, suites=[suite])
    finally:
        con.close()
    assert not before.blocking_failures
    previous = {r.description: r for r in before.results}
    worse = [
        r
        for r in after.results
        if not r.success
        and (previous[r.description].success or (r.unexpected or 0) > (previous[r.description].unexpected or 0))
    ]
    outcomes = {r.outcome for r in worse}
    assert expected in outcomes, [(r.description, r.observed) for r in after.results if not r.success]
    if fault == "a_shared_count_differs_between_indicators":  # the sums still add up: the spread tells
        assert [r.description for r in worse] == [
            "The indicators that share a measure (a denominator) give the same sum over the member units."
        ]
    if expected == "warning":
        assert outcomes == {"warning"} and not after.blocking_failures
    # the report names the offending rows
    assert all(r.examples for r in worse if r.unexpected)


def _every_expectations_rows(context, suite, config, catalogue, batch, checked, items):
    """The report's example rows as the gates found them before: Great Expectations' SUMMARY format
    for every expectation of the suite, not only for those whose counts found unexpected rows."""
    import great_expectations as gx

    name = f"{suite.name}__every"
    every = context.suites.add(gx.ExpectationSuite(name=name, expectations=suite.expectations(config, catalogue)))
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=every))
    outcome = validation.run(batch_parameters={"dataframe": checked}, result_format={"result_format": "SUMMARY"})
    return {
        gates._key(item["expectation_config"]): item["result"].get("partial_unexpected_index_list") or []
        for item in outcome.to_json_dict()["results"]
    }


def test_the_example_rows_are_those_of_every_expectation_that_found_some(built_city, tmp_path, monkeypatch):
    """The gates count with Great Expectations' BASIC format and ask for the unexpected rows' indexes
    (SUMMARY) only for the expectations that found some: the same report, counts and examples, as
    SUMMARY for every expectation, on a city with warnings and blocking failures of expectations
    per indicator column, over column pairs and with a row condition."""
    copy = tmp_path / built_city.warehouse_path.name
    shutil.copyfile(built_city.warehouse_path, copy)
    con = duckdb.connect(str(copy))
    try:
        for fault in ("implausible_value", "counts_do_not_add_up", "residents_lost_on_the_way", "assignment_rate_low"):
            con.execute(FAULTS[fault][1])
        report = run_gates(con)
        monkeypatch.setattr(gates, "COUNTS_FORMAT", "SUMMARY")
        monkeypatch.setattr(gates, "_unexpected_rows", _every_expectations_rows)
        reference = run_gates(con)
    finally:
        con.close()
    assert report.warnings
    with_examples = {r.suite for r in report.results if r.examples}
    assert {"plausible_ranges", "year_over_year", "hierarchy", "address_assignment"} <= with_examples, with_examples
    assert {**report.to_dict(), "checked_at": ""} == {**reference.to_dict(), "checked_at": ""}


def test_thresholds_come_from_configuration(built_city, tmp_path, monkeypatch):
    config = (built_city.project_dir / "data_quality" / "gates.yml").read_text()
    strict = tmp_path / "gates.yml"
    strict.write_text(config.replace("warn_below: 99.0", "warn_below: 99.999"))
    monkeypatch.setenv("SOZIALMONITOR_GATES_CONFIG", str(strict))
    with connect(built_city.warehouse_path, read_only=True, extensions=()) as con:
        report = run_gates(con, suites=["address_assignment"])
    assert report.warnings and not report.blocking_failures
    assert report.config_path == str(strict)


def test_the_report_reads_offline(built_city, tmp_path):
    with connect(built_city.warehouse_path, read_only=True, extensions=()) as con:
        report = run_gates(con, suites=["completeness", "address_assignment"])
    json_path, html_path = report.write(tmp_path)
    text = html_path.read_text(encoding="utf-8")
    assert "<style>" in text and "http" not in text.split("</style>")[1].split("<code>")[0]
    assert "completeness" in text and "address_assignment" in text
    assert '"outcome"' in json_path.read_text()


# What the gates compute from the data: none of it may reach the public report.
DATA_KEYS = {
    "observed",
    "observed_value",
    "unexpected",
    "unexpected_count",
    "unexpected_percent",
    "unexpected_percent_total",
    "unexpected_percent_nonmissing",
    "element_count",
    "missing_count",
    "missing_percent",
    "partial_unexpected_list",
    "partial_unexpected_counts",
    "partial_unexpected_index_list",
    "partial_missing_list",
    "examples",
    "details",
}
PUBLIC_RESULT_KEYS = {
    "suite",
    "target",
    "expectation",
    "description",
    "configuration",
    "severity",
    "success",
    "outcome",
}


def _numbers(node, path=()):
    """Every number in a JSON tree with the keys that lead to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _numbers(value, (*path, key))
    elif isinstance(node, list):
        for value in node:
            yield from _numbers(value, path)  # a list adds no key
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path, node


def _assert_public(report: dict) -> None:
    assert report["redacted"] is True
    assert not DATA_KEYS & set(json_keys(report)), DATA_KEYS & set(json_keys(report))
    for result in report["results"]:
        assert set(result) == PUBLIC_RESULT_KEYS
        assert result["outcome"] in ("passed", "warning", "blocked")
    # numbers only where they are configuration (thresholds) or count expectations (the summary)
    for path, _value in _numbers(report):
        assert path[0] == "summary" or path[:2] == ("results", "configuration"), path


def test_the_release_report_carries_nothing_computed_from_the_data(built_city):
    from orchestration.release import find_release

    release = find_release(built_city.releases_dir, "latest")
    report = json.loads((release.path / "quality" / "gates.json").read_text(encoding="utf-8"))
    _assert_public(report)
    assert len(report["results"]) == report["summary"]["expectations"]
    # thresholds are there: the year-over-year limits and plausible ranges come from the catalogue
    ranges = [r for r in report["results"] if r["suite"] == "plausible_ranges"]
    assert ranges and all(
        r["configuration"]["column"] == r["description"].split()[0]  # the indicator's own column
        and {"min_value", "max_value"} & set(r["configuration"])
        for r in ranges
    )
    page = (release.path / "quality" / "gates.html").read_text(encoding="utf-8")
    assert "rows outside the expectation" not in page and "<th>Observed</th>" not in page
    # the internal report of the same warehouse still has everything
    with connect(built_city.warehouse_path, read_only=True, extensions=()) as con:
        internal = run_gates(con, suites=["plausible_ranges"])
    assert all(r.observed for r in internal.results) and all(r.configuration for r in internal.results)
    assert "unexpected" in internal.to_dict()["results"][0]


def test_a_tampered_citys_public_report_still_names_the_failed_expectation(built_city, tmp_path):
    copy = tmp_path / built_city.warehouse_path.name
    shutil.copyfile(built_city.warehouse_path, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute(FAULTS["implausible_value"][1])
        con.execute(FAULTS["change_larger_than_usual"][1])
        report = run_gates(con, suites=["plausible_ranges", "year_over_year"])
    finally:
        con.close()
    failed = {r.description: r for r in report.results if not r.success}
    blocked = [d for d, r in failed.items() if r.outcome == "blocked" and d.startswith("sgb2_quote lies")]
    assert blocked and all(failed[d].unexpected for d in blocked)  # internally: how many rows

    json_path, html_path = report.redacted().write(tmp_path / "public")
    public = json.loads(json_path.read_text(encoding="utf-8"))
    _assert_public(public)
    assert public["summary"]["outcome"] == "blocked"
    said = {r["description"]: r for r in public["results"] if r["outcome"] != "passed"}
    assert set(said) == set(failed)
    assert said[blocked[0]]["outcome"] == "blocked" and said[blocked[0]]["severity"] == "block"
    assert said[blocked[0]]["configuration"]["column"] == "sgb2_quote"  # one column per indicator
    assert any(r["outcome"] == "warning" and r["description"].startswith("share_foreign") for r in said.values())
    page = html_path.read_text(encoding="utf-8")
    assert html.escape(blocked[0]) in page and "blocked" in page
    for r in failed.values():  # no observed figure of any failed expectation
        assert r.observed not in page
        for example in r.examples:
            assert json.dumps(example, ensure_ascii=False) not in page


def test_each_suite_reads_its_dbt_model():
    """The frames are dbt models (dbt_project/models/gates/): a suite only selects from its model."""
    from data_quality.gates import load_config
    from data_quality.suites import GATES_SCHEMA, SUITES, Catalogue

    models = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / GATES_SCHEMA
    for suite in SUITES:
        assert (models / f"{suite.model}.sql").is_file(), suite.name
        sql = suite.sql(load_config(), Catalogue([]))
        assert f" from {GATES_SCHEMA}.{suite.model} " in sql, suite.name
        assert " join " not in sql and " with " not in sql, suite.name


def test_the_dbt_hierarchy_test_catches_a_sum_that_is_off_and_a_measure_counted_two_ways(released_copy):
    """dbt's test assert_counts_add_up_the_hierarchy reads the view gate_hierarchy once for both of
    its checks: the children add up to their unit, and the view's key is unique. A measure that two
    indicators publish with different counts for the same unit (here the residents, as the
    denominator of another indicator) gives the unit two rows: the key check must say so."""
    from orchestration.dbt_runner import DbtFailed, run_dbt

    test = "assert_counts_add_up_the_hierarchy"
    run_dbt(released_copy, ["test", "--select", test])  # the built city passes
    con = duckdb.connect(str(released_copy.warehouse_path))
    try:
        other = con.execute(
            "select min(indicator_id) from reference.indicator_catalogue "
            "where denominator_measure = 'residents' and indicator_id <> 'residents'"
        ).fetchone()[0]
        con.execute(
            "update marts.fct_indicator_values set denominator = denominator + 5 "
            "where indicator_id = ? and level = 'stadtviertel' and stichtag = date '2024-12-31' and area_id = "
            "(select min(area_id) from marts.fct_indicator_values where level = 'stadtviertel')",
            [other],
        )
    finally:
        con.close()
    with pytest.raises(DbtFailed, match=test):
        run_dbt(released_copy, ["test", "--select", test, "--store-failures"])
    con = duckdb.connect(str(released_copy.warehouse_path), read_only=True)
    try:
        [schema] = con.execute(
            "select table_schema from information_schema.tables where table_name = ?", [test]
        ).fetchone()
        problems = dict(con.execute(f'select problem, count(*) from "{schema}".{test} group by problem').fetchall())
    finally:
        con.close()
    # the Stadtviertel has two counts of residents (key not unique), and its Stadtteil's children
    # no longer add up (both counts are summed)
    assert problems.get("key missing or not unique", 0) >= 1, problems
    assert problems.get("children do not add up", 0) >= 1, problems


def test_the_persons_address_assignment_is_tested_for_a_person_counted_twice_or_lost(released_copy):
    """int_persons_assigned_to_blocks is a view whose key is not grouped by a test: its test
    `as_many_rows_per_stichtag_as` compares its rows per Stichtag with the register's staging view
    (whose key is unique by its own test). An address delivered twice with overlapping validity
    gives its residents two rows from its first day on; a model that drops persons gives fewer.
    The staging view's test passes in both cases: only this test can tell (with it: the count
    makes the key unique only beside the staging view's key test)."""
    from orchestration.dbt_runner import DbtFailed, run_dbt

    persons = ["test", "--select", "int_persons_assigned_to_blocks", "stg_register__persons", "--store-failures"]
    run_dbt(released_copy, persons)  # the built city passes
    con = duckdb.connect(str(released_copy.warehouse_path))
    try:
        # a second record of an inhabited address, valid from 1.1.2023 while the first stays valid
        [address] = con.execute(
            "select min(address_id) from intermediate.int_persons_assigned_to_blocks "
            "where stichtag = date '2024-12-31' and address_id is not null"
        ).fetchone()
        con.execute(
            "insert into raw.geo_addresses select * replace (address_id || 'X' as address_id, "
            "date '2023-01-01' as valid_from) from raw.geo_addresses where address_id = ?",
            [address],
        )
    finally:
        con.close()
    with pytest.raises(DbtFailed, match="as_many_rows_per_stichtag_as_int_persons"):
        run_dbt(released_copy, persons)
    con = duckdb.connect(str(released_copy.warehouse_path))
    try:
        schema, table = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_name like 'as_many_rows_per_stichtag_as%'"
        ).fetchone()
        doubled = con.execute(f'select stichtag, model_rows - other_rows from "{schema}"."{table}" order by 1')
        doubled = doubled.fetchall()
        # and a model that loses the persons without an address
        con.execute("delete from raw.geo_addresses where address_id = ?", [address + "X"])
        con.execute(
            "alter view intermediate.int_persons_assigned_to_blocks rename to int_persons_as_built; "
            "create view intermediate.int_persons_assigned_to_blocks as select * from "
            "intermediate.int_persons_as_built where address_id is not null"
        )
    finally:
        con.close()
    # the Stichtage from 2023 on, each with the address's residents once more
    assert [d.year for d, _ in doubled] == [2023, 2024] and all(extra > 0 for _, extra in doubled), doubled
    with pytest.raises(DbtFailed, match="as_many_rows_per_stichtag_as_int_persons"):
        run_dbt(released_copy, persons)
    # the register's own key test still passes (the count test reads the register too: not it)
    run_dbt(released_copy, ["test", "--select", "stg_register__persons,test_name:unique_combination"])
    con = duckdb.connect(str(released_copy.warehouse_path), read_only=True)
    try:
        lost = con.execute(f'select stichtag, other_rows - model_rows from "{schema}"."{table}" order by 1').fetchall()
    finally:
        con.close()
    # every Stichtag, each short of its residents without an address
    assert len(lost) == 6 and all(missing > 0 for _, missing in lost), lost


def test_a_level_introduced_later_is_exempt_before_its_first_stichtag_only(built_city, tmp_path, monkeypatch):
    """gates.yml completeness.introduced names a level a city drew later: the Stichtage before its
    first one need no units of it, every later one does, and the report says who decided why."""
    copy = tmp_path / built_city.warehouse_path.name
    shutil.copyfile(built_city.warehouse_path, copy)
    config = (built_city.project_dir / "data_quality" / "gates.yml").read_text()
    introduced = tmp_path / "gates.yml"
    introduced.write_text(
        config.replace(
            "  introduced: []\n",
            "  introduced:\n    - level: stadtbezirk\n      from: 2020-12-31\n"
            "      reason: 'Stadtbezirke seit der Reform 2020'\n      by: Statistikstelle\n",
        )
    )
    assert introduced.read_text() != config
    monkeypatch.setenv("SOZIALMONITOR_GATES_CONFIG", str(introduced))

    def units_required(con):
        [result] = [r for r in run_gates(con, suites=["completeness"]).results if "units at every" in r.description]
        return result

    con = duckdb.connect(str(copy))
    try:
        # no Stadtbezirk at 2019-12-31: exempt, the level came with 2020
        con.execute("update marts.dim_area set valid_from = date '2020-01-01' where level = 'stadtbezirk'")
        exempt = units_required(con)
        assert exempt.success and "stadtbezirk only from 2020-12-31 on" in exempt.description
        assert "Statistikstelle" in exempt.description
        # none at 2020-12-31 either: that Stichtag is after the level's introduction, so it blocks
        con.execute("update marts.dim_area set valid_from = date '2021-01-01' where level = 'stadtbezirk'")
        missing = units_required(con)
        assert not missing.success and missing.outcome == "blocked" and missing.unexpected == 1
        assert "stadtbezirk" in json.dumps(missing.examples, default=str)
        assert "2020-12-31" in json.dumps(missing.examples, default=str)
        assert "2019-12-31" not in json.dumps(missing.examples, default=str)
    finally:
        con.close()
    # a misspelt level exempts nothing, and says so
    introduced.write_text(
        config.replace(
            "  introduced: []\n",
            "  introduced:\n    - level: stadtbezirke\n      from: 2020-12-31\n      reason: r\n      by: b\n",
        )
    )
    con = duckdb.connect(str(copy), read_only=True)
    try:
        report = run_gates(con, suites=["completeness"])
    finally:
        con.close()
    [misspelt] = [r for r in report.results if "is a level of the warehouse" in r.description]
    assert not misspelt.success and misspelt.outcome == "blocked"
    introduced.write_text(config.replace("  introduced: []\n", "  introduced:\n    - level: stadtbezirk\n"))
    con = duckdb.connect(str(copy), read_only=True)
    try:
        with pytest.raises(ValueError, match=r"entry 1: it needs from, reason, by"):
            run_gates(con, suites=["completeness"])
    finally:
        con.close()
