"""The Dagster code location: it loads and shows the whole graph from raw extracts to the release;
a failing blocking quality gate stops the release; a failing step ends its run failed. (The raw/
sensor's runs and `publish_job` on the test city: tests/orchestration/test_one_pipeline.py.)"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from data_quality import SUITE_NAMES
from orchestration.defs.partitions import STICHTAG_PARTITIONS
from orchestration.ingest.contracts import load_contracts
from orchestration.pipeline import run_dbt
from orchestration.release import list_releases
from tests.conftest import seed_pattern_memo
from tests.helpers import recording_proxy, settings_for, tree_digest


@pytest.fixture
def dagster_city(tmp_path, city_raw, built_city, monkeypatch):
    """A fresh copy of the test city's raw/ and a new warehouse that knows the built city's
    disclosure patterns (`seed_pattern_memo`: these tests are about Dagster's runs, the pattern's
    own solve is tested on the session city, the Dagster build of test_one_pipeline and the second
    city)."""
    shutil.copytree(city_raw, tmp_path / "raw")
    settings = settings_for(tmp_path)
    seed_pattern_memo(settings, built_city)
    for key, value in settings.env().items():
        monkeypatch.setenv(key, value)
    run_dbt(settings, ["parse", "--quiet"])
    from orchestration.definitions import build_definitions

    return settings, build_definitions(settings)


def test_definitions_show_the_whole_graph(dagster_city):
    settings, defs = dagster_city
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for source in load_contracts(settings.contracts_dir, settings.project_vars):
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
    # raw period sources and the release are partitioned by Stichtag (partitions added by the sensor)
    assert graph.get(dg.AssetKey(["raw", "register_persons"])).partitions_def == STICHTAG_PARTITIONS
    assert graph.get(dg.AssetKey(["raw", "geo_addresses"])).partitions_def is None
    # … → marts → public → release, with the quality gates as blocking checks on the marts
    release = graph.get(dg.AssetKey(["release"]))
    assert release.group_name == "release" and release.partitions_def == STICHTAG_PARTITIONS
    parents = {k.to_user_string() for k in release.parent_keys}
    assert {"marts/fct_indicator_values", "public/pub_indicator_values", "public/pub_areas"} <= parents
    # ... and on every table of `public` the release may publish (read from the dbt manifest, so the
    # series and the indices are there without a list written here)
    public = {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "public"}
    assert {"public/pub_indicator_series", "public/pub_index_composite", "public/pub_index_status_dynamics"} <= public
    assert public <= parents, sorted(public - parents)
    assert graph.get(dg.AssetKey(["public", "pub_indicator_values"])).group_name == "public"
    gates = {key.name: key.asset_key.to_user_string() for key in graph.asset_check_keys if key.name in SUITE_NAMES}
    assert gates.keys() == set(SUITE_NAMES)
    assert gates["address_assignment"] == "marts/fct_address_assignment"
    # each check reads its suite's dbt model in schema gates (a view on the mart) and runs after it
    reads = {
        key.name: {dep.asset_key.to_user_string() for dep in graph.get_check_spec(key).additional_deps}
        for key in graph.asset_check_keys
        if key.name in SUITE_NAMES
    }
    assert reads["completeness"] == {"gates/gate_completeness"}
    assert graph.get(dg.AssetKey(["gates", "gate_completeness"])).group_name == "gates"
    assert list(defs.get_assets_def(dg.AssetKey(["release"])).check_specs) == []  # the checks are the marts'
    assert defs.resolve_sensor_def("raw_extracts").job_name == "warehouse_job"
    assert defs.resolve_schedule_def("regular_run").cron_schedule == "0 6 * * 1"
    # the BA's area codes are checked against the Baublock list, so that loads first
    ba_parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["raw", "ba_labour_market"])).parent_keys}
    assert ba_parents == {"raw/geo_block_membership"}
    for job in ("warehouse_job", "publish_job"):
        assert defs.resolve_job_def(job).asset_layer.selected_asset_keys, job
    # every job runs its steps in the run's own process, the jobs the UI makes from the asset graph
    # too: a process per step loaded the code location again for each (definitions.py)
    implicit = defs.resolve_implicit_global_asset_job_def()
    for job in [defs.resolve_job_def(j) for j in ("warehouse_job", "publish_job")] + [implicit]:
        assert job.executor_def is dg.in_process_executor, job.name


def test_a_failing_blocking_check_stops_the_release(dagster_city, tmp_path, monkeypatch):
    settings, defs = dagster_city
    config = (settings.project_dir / "data_quality" / "gates.yml").read_text()
    strict = tmp_path / "strict_gates.yml"
    strict.write_text(config.replace("block_below: 97.0", "block_below: 99.99"))
    monkeypatch.setenv("SOZIALMONITOR_GATES_CONFIG", str(strict))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("stichtag", ["2024-12-31"])
    before = tree_digest(settings.releases_dir)

    job = defs.resolve_job_def("warehouse_job")
    result = job.execute_in_process(partition_key="2024-12-31", instance=instance, raise_on_error=False)
    gate = next(c for c in result.get_asset_check_evaluations() if c.check_name == "address_assignment")
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
    assert not result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "marts/fct_indicator_values" in materialized and "release" not in materialized
    assert list_releases(settings.releases_dir) == [] and tree_digest(settings.releases_dir) == before
    # an operator who publishes anyway is refused: the release gates what it publishes again
    publish = defs.resolve_job_def("publish_job")
    refused = publish.execute_in_process(partition_key="2024-12-31", instance=instance, raise_on_error=False)
    assert not refused.success and not refused.get_asset_materialization_events()
    assert list_releases(settings.releases_dir) == []
    assert [p for p in settings.releases_dir.rglob("*") if not p.is_dir()] == []  # not a file written
    # both runs are in the run log as failed Dagster runs, with the reason
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute("select run_id, status, trigger, message from ops.pipeline_runs").fetchall()
    finally:
        con.close()
    runs = {r[0]: r[1:] for r in rows}
    built, published = runs[result.run_id[:12]], runs[refused.run_id[:12]]
    assert len(runs) == 2
    assert built[:2] == ("failed", "dagster") and "quality gate" in built[2]
    assert published[:2] == ("failed", "dagster") and "nothing was released" in published[2]


def _run_rows(settings) -> dict[str, tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute(
            "select run_id, status, trigger, message, pid, finished_at from ops.pipeline_runs"
        ).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def test_a_run_whose_step_fails_ends_failed_in_the_run_log(dagster_city, monkeypatch):
    """A broken raw extract fails its step: the run's row ends 'failed' with the error's headline, as
    a failed `sozialmonitor run` does; so does a step that stays busy until Dagster's retries are
    used up. No row is left 'running' with the pid of a step that no longer works."""
    from orchestration.defs import transient

    settings, defs = dagster_city
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("stichtag", ["2024-12-31"])
    job = defs.resolve_job_def("warehouse_job")
    extract = next((settings.raw_dir / "wohngeld").glob("Wohngeld_20241231.csv"))
    extract.write_text("this is no Wohngeld extract\n", encoding="utf-8")
    broken = job.execute_in_process(
        partition_key="2024-12-31",
        instance=instance,
        raise_on_error=False,
        asset_selection=[dg.AssetKey(["raw", "wohngeld"])],
    )
    assert not broken.success
    status, trigger, message, pid, finished = _run_rows(settings)[broken.run_id[:12]]
    assert (status, trigger, pid) == ("failed", "dagster", None) and finished is not None
    assert message.splitlines()[0] == "1 extract(s) broke their contract; nothing downstream was run.", message

    # the warehouse stays busy (DuckDB's file lock held elsewhere) through every retry Dagster makes
    monkeypatch.setattr(transient, "SECONDS_TO_WAIT", 0)
    attempts = []

    def busy(*args, **kwargs):
        attempts.append(1)
        raise duckdb.IOException('IO Error: Could not set lock on file "sozialmonitor.duckdb": Conflicting lock')

    monkeypatch.setattr("orchestration.defs.ingest.assets.ingest", busy)
    stuck = job.execute_in_process(
        partition_key="2024-12-31",
        instance=instance,
        raise_on_error=False,
        asset_selection=[dg.AssetKey(["raw", "jobcenter_sgb2"])],
    )
    assert not stuck.success and len(attempts) == transient.MAX_RETRIES + 1
    status, trigger, message, pid, finished = _run_rows(settings)[stuck.run_id[:12]]
    assert (status, trigger, pid) == ("failed", "dagster", None) and finished is not None
    assert f"after {transient.MAX_RETRIES} retries" in message and "Could not set lock" in message, message


def test_a_spark_result_event_is_pointed_at_the_node_the_assets_were_made_from():
    from orchestration.defs.dbt.assets import _as_duckdb_node

    def event(unique_id: str, name: str) -> dict:
        return {"info": {"name": "LogTestResult"}, "data": {"node_info": {"unique_id": unique_id, "node_name": name}}}

    quoted = "not_null_int_current_gebietsstand__current_date_"
    manifest = {
        "nodes": {
            "model.sozialmonitor.int_current_gebietsstand": {
                "resource_type": "model",
                "name": "int_current_gebietsstand",
            },
            f"test.sozialmonitor.{quoted}.6de22df671": {"resource_type": "test", "name": quoted},
        }
    }
    model = event("model.sozialmonitor.int_current_gebietsstand", "int_current_gebietsstand")
    assert _as_duckdb_node(model, manifest)
    assert model["data"]["node_info"]["unique_id"] == "model.sozialmonitor.int_current_gebietsstand"
    # the same test on Spark: another hash (it covers the column as quoted), the same name
    test = event(f"test.sozialmonitor.{quoted}.06ab30ea6f", quoted)
    assert _as_duckdb_node(test, manifest)
    assert test["data"]["node_info"]["unique_id"] == f"test.sozialmonitor.{quoted}.6de22df671"
    # a node the assets do not know, or a model whose name only a test has: none
    assert not _as_duckdb_node(event("test.sozialmonitor.other.0123456789", "other"), manifest)
    assert not _as_duckdb_node(event(f"model.sozialmonitor.{quoted}", quoted), manifest)


def test_the_instance_settings_of_make_dev_load(tmp_path, monkeypatch):
    """orchestration/dagster.yaml, which `make dev` copies into a new DAGSTER_HOME, loads as
    Dagster's instance: one step at a time in the pool `duckdb`, no telemetry, and the daemon's
    run monitoring frees the pool slots of a run whose process died in a step (every step runs in
    the run's process)."""
    shutil.copy(Path(__file__).parents[2] / "orchestration" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = dg.DagsterInstance.get()
    try:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert (
            instance.run_monitoring_enabled and instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
        )
        assert instance.run_monitoring_max_resume_run_attempts == 0  # the default launcher cannot resume a run
        assert "MONITORING" in instance.get_required_daemon_types()
        assert not instance.telemetry_enabled
    finally:
        instance.dispose()


def test_dbts_version_is_told_without_the_network():
    """dagster-dbt asks dbt's version in every Dagster dbt step; dbt's own answer asks PyPI for the
    latest versions. `sozialmonitor-dbt --version` answers from the installed packages, in the form
    dagster-dbt reads, and nothing reaches the proxy that every HTTP client of the child is pointed
    at; dbt's own command, run the same way, does reach it (the check can fail)."""
    from importlib.metadata import version

    from dagster_dbt import DbtCliResource

    from orchestration.settings import Settings

    bin_dir = Path(sys.executable).parent
    with recording_proxy() as (environment, seen):
        env = {**os.environ, **environment}
        ours = subprocess.run(
            [bin_dir / "sozialmonitor-dbt", "--version"], env=env, capture_output=True, text=True, check=True
        )
        assert seen == []
        dbts = subprocess.run([bin_dir / "dbt", "--version"], env=env, capture_output=True, text=True, check=True)
        assert any("pypi.org" in line for line in seen), (seen, dbts.stdout)
    assert ours.stdout.splitlines()[:2] == ["Core:", f"  - installed: {version('dbt-core')}"]
    assert f"  - duckdb: {version('dbt-duckdb')}" in ours.stdout.splitlines()
    # read as dagster-dbt reads it, with the executable the Dagster dbt resource is given
    resource = DbtCliResource(
        project_dir=str(Settings.from_env().dbt_project_dir), dbt_executable=str(bin_dir / "sozialmonitor-dbt")
    )
    assert str(resource._cli_version) == version("dbt-core")


class _Invocation:
    """What `streamed` uses of dagster-dbt's DbtCliInvocation: the child process (a real one,
    standing in for dbt: it runs until it is stopped) and the events taken from it."""

    def __init__(self, code: str):
        # as dbt: an interrupt ends it (a child inherits an ignored SIGINT, as under pytest-xdist's
        # workers, and Python then installs no handler of its own)
        interruptible = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)"
        ready = "import sys; sys.stdout.write('ready\\n'); sys.stdout.flush(); import time; time.sleep(600)"
        self.process = subprocess.Popen(
            [sys.executable, "-c", f"{interruptible}; {code}; {ready}"], stdout=subprocess.PIPE
        )
        assert self.process.stdout.readline() == b"ready\n"  # it has set up what it does on SIGTERM

    def stream(self):
        while True:
            yield "an event"


@pytest.mark.parametrize(
    ("code", "signalled"),
    [
        ("pass", -signal.SIGINT),
        # a child that does not end when asked is killed
        ("import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)", -signal.SIGKILL),
    ],
    ids=["asked", "killed"],
)
def test_a_dbt_child_is_stopped_when_taking_its_events_fails(code, signalled, monkeypatch):
    """A failure while the Dagster step takes dbt's events (dagster-dbt meeting a node its manifest
    lacks) ends the dbt child before the failure goes on: left running, it held the warehouse's
    lock and every retry of the step failed on it."""
    from orchestration.defs.dbt import assets

    monkeypatch.setattr(assets, "STOP_SECONDS", 1)
    invocation = again = _Invocation(code)
    try:
        events = assets.streamed(invocation)
        assert next(events) == "an event"
        assert invocation.process.poll() is None
        with pytest.raises(KeyError, match="test.sozialmonitor"):
            events.throw(KeyError("test.sozialmonitor.unique_combination_indicators_kreis_area_id__stichtag"))
        assert invocation.process.poll() == signalled
        # closed without a failure (the step given up): stopped as well
        again = _Invocation("pass")
        events = assets.streamed(again)
        next(events)
        events.close()
        assert again.process.poll() == -signal.SIGINT
    finally:
        for child in (invocation, again):
            child.process.kill()
            child.process.wait()
