"""The record-count gate (issue 15, incomplete deliveries): a register cut by 5 % at a row
boundary passes every contract check, and is stopped here before anything is published."""

from __future__ import annotations

import pytest

from data_quality.gates import load_config, run_suite
from data_quality.suites import SUITES, Catalogue
from orchestration.ingest import ingest
from orchestration.pipeline import run_dbt
from orchestration.pseudonyms import ENV_KEY
from orchestration.warehouse import connect
from tests.helpers import settings_for
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
