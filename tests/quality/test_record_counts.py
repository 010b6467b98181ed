"""The record-count gate (issue 15, incomplete deliveries): a register cut by 5 % at a row
boundary passes every contract check, and is stopped here before anything is published."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from data_quality.gates import load_config, run_suite
from data_quality.suites import SUITES, Catalogue
from orchestration.ingest import ingest
from orchestration.pipeline import run_dbt
from orchestration.pseudonyms import ENV_KEY
from orchestration.warehouse import connect
from tests.helpers import earlier_load_log, settings_for
from tests.ingest.test_hostile_inputs import register


def _gate(con, config):
    import great_expectations as gx

    suite = next(s for s in SUITES if s.name == "record_counts")
    [result] = run_suite(gx.get_context(mode="ephemeral"), con, suite, config, Catalogue([]))
    return result


@pytest.fixture
def loaded(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_KEY, "record-count-test-key-0123")
    settings = settings_for(tmp_path)
    (settings.raw_dir / "einwohner").mkdir(parents=True)
    for day, rows in (("20201231", 1200), ("20211231", 1206), ("20221231", 1146)):  # 2022: -5 %
        (settings.raw_dir / "einwohner" / f"EWR_Bestand_{day}.csv").write_bytes(register(rows=rows))
    con = connect(settings.warehouse_path)
    try:
        ingest(settings, con)
    finally:
        con.close()
    # the gate reads its dbt model (gates.gate_record_counts, a view over the load log)
    run_dbt(settings, ["run", "--select", "gate_record_counts"])
    con = connect(settings.warehouse_path)
    yield con
    con.close()


def test_an_unexplained_drop_of_the_register_blocks(loaded):
    result = _gate(loaded, load_config())
    assert not result.success and result.outcome == "blocked"
    [example] = result.examples
    assert example["source"] == "register_persons" and str(example["stichtag"]).startswith("2022-12-31")
    assert example["change_pct"] == pytest.approx(-4.98) and example["limit_pct"] == 3.0


def test_an_explained_change_passes_and_a_looser_limit_too(loaded):
    config = load_config()
    config["record_counts"]["explained"] = [
        {"source": "register_persons", "stichtag": "2022-12-31", "reason": "Registerbereinigung"}
    ]
    assert _gate(loaded, config).success
    config = load_config()
    config["record_counts"]["sources"]["register_persons"] = {"block_change_pct": 6}
    assert _gate(loaded, config).success
    config["record_counts"]["min_records"] = 5000  # too small to compare: not checked
    config["record_counts"]["sources"]["register_persons"] = {"block_change_pct": 1}
    assert _gate(loaded, config).success


def test_the_gate_counts_the_latest_load_when_it_was_loaded_in_the_hour_the_clocks_go_back(tmp_path, monkeypatch):
    """The 2022 register cut by 5 % is loaded at 02:50 summer time, its full correction 40 minutes
    later, at 02:10 winter time: the gate counts the correction (the latest load by its number),
    and passes."""
    import orchestration.ingest.loader as loader

    class Clock(datetime):
        at = datetime(2026, 10, 25, 2, 50)

        @classmethod
        def now(cls, tz=None):
            return cls.at

    monkeypatch.setenv(ENV_KEY, "record-count-test-key-0123")
    monkeypatch.setattr(loader, "datetime", Clock)
    settings = settings_for(tmp_path)
    folder = settings.raw_dir / "einwohner"
    folder.mkdir(parents=True)
    for day, rows in (("20201231", 1200), ("20211231", 1206), ("20221231", 1146)):
        (folder / f"EWR_Bestand_{day}.csv").write_bytes(register(rows=rows))

    def load() -> None:
        con = connect(settings.warehouse_path)
        try:
            ingest(settings, con)
        finally:
            con.close()

    load()
    Clock.at = datetime(2026, 10, 25, 2, 10)
    (folder / "EWR_Bestand_20221231.csv").write_bytes(register(rows=1206))  # the correction
    load()
    run_dbt(settings, ["run", "--select", "gate_record_counts"])
    con = connect(settings.warehouse_path)
    try:
        [(rows,)] = con.execute(
            "select rows from gates.gate_record_counts where source = 'register_persons' and stichtag = '2022-12-31'"
        ).fetchall()
        assert rows == 1206
        assert _gate(con, load_config()).success
    finally:
        con.close()


def test_a_build_of_the_gate_alone_brings_an_earlier_versions_load_log_up_to_date(tmp_path):
    """A build of some models is not planned, and nothing may have been loaded since the update: the
    load log of an earlier version (no Gemeinde, no load numbers) gets its columns before dbt reads it."""
    settings = settings_for(tmp_path)
    loads = [("wohngeld", date(year, 12, 31), "f", sha, rows, 0, datetime(2026, 1, day), 0)
             for year, sha, rows, day in ((2023, "a", 100, 1), (2024, "b", 104, 2))]  # fmt: skip
    earlier_load_log(settings.warehouse_path, loads)
    run_dbt(settings, ["run", "--select", "gate_record_counts"])
    con = connect(settings.warehouse_path)
    try:
        rows = con.execute("select stichtag, rows from gates.gate_record_counts order by stichtag").fetchall()
    finally:
        con.close()
    assert [r[1] for r in rows] == [100, 104]
