"""The Dagster code location: it loads, shows the whole graph from raw extracts to marts, and a
run of the job for one Stichtag materialises everything against a real warehouse."""

from __future__ import annotations

import os
import shutil

import dagster as dg
import pytest

from orchestration.ingest.contracts import load_contracts
from orchestration.pipeline import run_dbt
from tests.helpers import settings_for


@pytest.fixture
def dagster_city(tmp_path, city_raw, monkeypatch):
    shutil.copytree(city_raw, tmp_path / "raw")
    settings = settings_for(tmp_path)
    for key, value in settings.env().items():
        monkeypatch.setenv(key, value)
    run_dbt(settings, ["parse", "--quiet"])
    from orchestration.definitions import build_definitions

    return settings, build_definitions(settings)


def test_definitions_show_the_whole_graph(dagster_city):
    settings, defs = dagster_city
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for source in load_contracts(settings.contracts_dir):
        assert f"raw/{source}" in keys
    # dbt models are keyed by their schema, i.e. their layer
    for model in (
        "staging/stg_register__persons",
        "intermediate/int_block_memberships",
        "marts/fct_indicator_values",
        "marts/dim_area",
        "reference/indicator_catalogue",
        "marts/indicators_sozialraum",
    ):
        assert model in keys, sorted(keys)
    # lineage runs unbroken from the raw extract to the marts
    staging = dg.AssetKey(["staging", "stg_register__persons"])
    assert {k.to_user_string() for k in graph.get(staging).parent_keys} == {"raw/register_persons"}
    assert graph.get(staging).group_name == "staging"
    assert graph.get(dg.AssetKey(["marts", "fct_indicator_values"])).group_name == "marts"
    assert graph.get(dg.AssetKey(["reference", "indicator_catalogue"])).group_name == "reference"
    assert "Every indicator of the catalogue" in graph.get(dg.AssetKey(["marts", "fct_indicator_values"])).description
    assert graph.get(dg.AssetKey(["raw", "register_persons"])).group_name == "raw"
    # raw period sources are partitioned by the Stichtage found in raw/
    partitions = graph.get(dg.AssetKey(["raw", "register_persons"])).partitions_def
    assert partitions.get_partition_keys() == [f"{y}-12-31" for y in range(2019, 2025)]
    assert graph.get(dg.AssetKey(["raw", "geo_addresses"])).partitions_def is None
    # the BA's area codes are checked against the Baublock list, so that loads first
    ba_parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["raw", "ba_labour_market"])).parent_keys}
    assert ba_parents == {"raw/geo_block_membership"}
    assert defs.resolve_job_def("warehouse_job") is not None


def test_the_job_runs_from_raw_files_to_marts(dagster_city):
    settings, defs = dagster_city
    job = defs.resolve_job_def("warehouse_job")
    result = job.execute_in_process(partition_key="2024-12-31", instance=dg.DagsterInstance.ephemeral())
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"raw/register_persons", "raw/geo_addresses", "marts/fct_indicator_values"} <= materialized
    checks = [e for e in result.get_asset_check_evaluations()]
    assert checks and all(c.passed for c in checks)
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        stichtage = con.execute("select distinct stichtag from marts.fct_indicator_values").fetchall()
    finally:
        con.close()
    assert [str(s[0]) for s in stichtage] == ["2024-12-31"]
    assert os.environ["SOZIALMONITOR_WAREHOUSE"] == str(settings.warehouse_path)
