"""DuckDB's memory limit: one setting for the CLI's connections and dbt's, checked when read; and the
memory freed between steps handed back."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.settings import PROJECT_DIR
from orchestration.warehouse import (
    DEFAULT_MEMORY_LIMIT,
    MEMORY_LIMIT_SETTING,
    connect,
    memory_limit,
    scratch,
    share_of_memory_limit,
)


def _limit(con) -> str:
    return con.execute("select current_setting('memory_limit')").fetchone()[0]


def _as_duckdb_shows(value: str) -> str:
    """DuckDB's own rendering of a limit (it shows truncated GiB), for comparison."""
    con = duckdb.connect()
    try:
        con.execute(f"set memory_limit = '{value}'")
        return _limit(con)
    finally:
        con.close()


def test_connections_take_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_SETTING, "1500MB")
    # the warehouse's connections, and the in-memory ones that work on a release's files
    for con in (connect(tmp_path / "wh" / "a.duckdb"), scratch()):
        try:
            assert _limit(con) == _as_duckdb_shows("1500MB") != _as_duckdb_shows("3GB")
        finally:
            con.close()


def test_default_when_unset(tmp_path, monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_SETTING, raising=False)
    assert memory_limit() == DEFAULT_MEMORY_LIMIT
    con = connect(tmp_path / "wh" / "b.duckdb")
    try:
        assert _limit(con) == _as_duckdb_shows(DEFAULT_MEMORY_LIMIT)
    finally:
        con.close()


@pytest.mark.parametrize("value", ["lots", "2", "-1GB", "2 GB; drop table x"])
def test_a_wrong_value_is_refused_naming_the_setting(monkeypatch, value):
    monkeypatch.setenv(MEMORY_LIMIT_SETTING, value)
    with pytest.raises(ValueError, match=MEMORY_LIMIT_SETTING):
        memory_limit()


def test_dbt_profile_reads_the_same_setting_and_default():
    profile = yaml.safe_load((PROJECT_DIR / "dbt_project" / "profiles.yml").read_text(encoding="utf-8"))
    settings = profile["sozialmonitor"]["outputs"]["local"]["settings"]
    assert settings["memory_limit"] == f"{{{{ env_var('{MEMORY_LIMIT_SETTING}', '{DEFAULT_MEMORY_LIMIT}') }}}}"


@pytest.mark.parametrize(
    ("limit", "quarter"),
    [("2GB", "500MB"), ("1500MB", "375MB"), ("4GiB", "1073MB"), ("600MB", "256MB"), ("100MB", "100MB")],
)
def test_the_gates_beside_the_release_get_a_share_of_the_limit(monkeypatch, limit, quarter):
    """data_quality.beside: a quarter of the limit, at least 256 MB, never more than the limit."""
    monkeypatch.setenv(MEMORY_LIMIT_SETTING, limit)
    assert share_of_memory_limit(0.25) == quarter


def test_a_gate_query_that_needs_more_than_the_share_runs_again_with_the_whole_limit():
    """data_quality.gates.suite_frame: the gates' process beside the release has a share of the limit;
    a query that needs more (the hierarchy of a Kreis of 300 Gemeinden) is run again with the whole
    limit instead of failing the gates, and gives the same rows. Without a limit to fall back on
    (`sozialmonitor gates` on its own has the whole) the error stands."""
    import duckdb

    from data_quality.gates import suite_frame

    sql = "select list(i order by i desc) as values_ from range(3000000) as r(i)"
    con = duckdb.connect()
    try:
        con.execute("set memory_limit = '20MB'")
        with pytest.raises(duckdb.OutOfMemoryException):
            suite_frame(con, sql)
        frame = suite_frame(con, sql, memory_when_short="1GB")
        assert list(frame["values_"][0][:3]) == [2999999, 2999998, 2999997] and len(frame["values_"][0]) == 3000000
        raised = con.execute("select current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()
    whole = duckdb.connect()
    whole.execute("set memory_limit = '1GB'")
    assert raised == whole.execute("select current_setting('memory_limit')").fetchone()[0]  # for the rest
    whole.close()


def test_the_gates_beside_the_release_get_the_share_and_the_whole_limit_to_fall_back_on(tmp_path, monkeypatch):
    """GatesBeside starts its child with the share in the environment and the whole limit as its last
    argument (suite_frame's fallback), both from this process's setting."""
    import data_quality.beside as beside
    from tests.helpers import settings_for

    started = {}

    class Recorded:
        def __init__(self, module, args, environment, stderr=None, held=False):
            started.update(module=module, args=args, environment=environment)

    monkeypatch.setattr(beside, "Beside", Recorded)
    monkeypatch.setenv(MEMORY_LIMIT_SETTING, "2GB")
    settings = settings_for(tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    settings.warehouse_path.write_bytes(b"")  # the gates only ask that it exists; nothing starts here
    beside.GatesBeside(settings)
    assert started["module"] == "data_quality.beside"
    assert started["environment"][MEMORY_LIMIT_SETTING] == "500MB" and started["args"][-1] == "2GB"
    # and the child reads them so (its argument parser, with nothing run)
    parsed = {}
    monkeypatch.setattr(beside, "die_with_parent", lambda pid: parsed.setdefault("parent", pid))
    monkeypatch.setattr(beside, "connect", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("stop")))
    with pytest.raises(RuntimeError, match="stop"):
        beside.main([str(settings.warehouse_path), "gemeinde", str(tmp_path), "1", started["args"][-1]])
    assert parsed == {"parent": 1}


def _resident_mb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident set from /proc (Linux)")
def test_memory_a_step_freed_goes_back_to_the_system_before_the_next():
    """Arrow's pool (mimalloc) keeps the pages of freed buffers for its own reuse; memory another
    library allocates (Typst's PDFs, DuckDB's buffers) would come on top. `release_unused_memory`,
    called after each release step and pipeline stage, hands them back: the release of a Kreis of
    100 Gemeinden peaked at 2.7 instead of 3.4 GB (docs/performance.md)."""
    import gc

    import numpy as np
    import pyarrow as pa

    from orchestration.timing import release_unused_memory

    if pa.default_memory_pool().backend_name not in ("mimalloc", "system"):  # jemalloc returns pages later
        pytest.skip(f"Arrow's pool here is {pa.default_memory_pool().backend_name} (the lock's pyarrow: mimalloc)")
    release_unused_memory()
    arrays = [pa.array(np.arange(i, i + 100_000)).cast(pa.string()) for i in range(60)]  # ~50 MB of buffers
    assert pa.total_allocated_bytes() > 40 * 2**20
    del arrays
    gc.collect()
    kept = _resident_mb()
    release_unused_memory()
    assert kept - _resident_mb() >= 20, "the freed buffers stayed resident"


def test_a_scratch_connection_spills_into_a_folder_of_its_own_and_removes_it(tmp_path, monkeypatch):
    """The release's in-memory connections keep to the limit and spill beyond it: never into the
    working directory (DuckDB's default, `.tmp`, perhaps not writable where a service runs), but
    into a folder of their own in the system's temporary directory, gone when they close."""
    import os
    import tempfile

    monkeypatch.setenv(MEMORY_LIMIT_SETTING, "20MB")
    monkeypatch.chdir(tmp_path)
    ours = f"sozialmonitor-scratch-{os.getpid()}-*"
    con = scratch()
    try:
        con.execute("set threads = 1")
        con.execute("create temp table t as select i, md5(i::varchar) as m from range(600000) as r(i) order by m")
        assert con.execute("select count(*) from t").fetchone()[0] == 600_000
        assert list(Path(tempfile.gettempdir()).glob(ours)), "it did not spill where it was told to"
    finally:
        con.close()
    assert not list(tmp_path.iterdir())
    assert not list(Path(tempfile.gettempdir()).glob(ours))


def test_the_gates_are_held_before_the_build_only_where_the_warehouse_is_small_against_the_limit(tmp_path, monkeypatch):
    """`sozialmonitor run` starts the gates' process held before dbt's build (about 300 MB of
    Python beside it) only while the warehouse is smaller than the gates' share of DuckDB's limit:
    a build beyond that fills the limit, and the held process would add to the run's peak."""
    from data_quality.beside import hold_before_build
    from tests.helpers import settings_for

    settings = settings_for(tmp_path)
    monkeypatch.setenv(MEMORY_LIMIT_SETTING, "2GB")
    assert not hold_before_build(settings)  # no warehouse (yet)
    settings.warehouse_path.parent.mkdir(parents=True)
    with settings.warehouse_path.open("wb") as file:
        file.truncate(400 * 10**6)  # sparse: its size is what counts
    assert hold_before_build(settings)
    with settings.warehouse_path.open("r+b") as file:
        file.truncate(600 * 10**6)
    assert not hold_before_build(settings)
    monkeypatch.setenv(MEMORY_LIMIT_SETTING, "4GB")
    assert hold_before_build(settings)
