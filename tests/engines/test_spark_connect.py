"""The Spark build through Spark Connect (issue 19: the way to a cluster): with SPARK_REMOTE naming a
server, dbt builds with the target `spark_connect` (dbt-spark's session method, its session a Spark
Connect client), the dbt Python models run through that client, and serving reads what the server
wrote. The server here is a local one, started from pyspark's own jars (offline), as a cluster's
would be started by its operator.

Built: a selection that holds a dbt Python model and the SQL models it reads (a whole build through
Connect is measured in docs/deployment.md); every relation of it is served into a DuckDB file of its
own and compared with the test city's DuckDB build, value by value. The disclosure pattern's memo in
the lake (`LakeMemo`) is written and read back through the same client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration import spark_build
from orchestration.disclosure.pattern import LAKE_MEMO_FOLDER, LakeMemo
from orchestration.engine_check import compare_warehouses
from orchestration.pipeline import prepare_dbt
from tests.helpers import partition_files_but

pytest.importorskip("pyspark", reason="make spark installs dbt-spark and pyspark (make test does)")

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
PYTHON_MODEL = "int_public_index_catalogue"
LATEST = date(2024, 12, 31)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    """A Spark Connect server in local mode, its catalog in memory and its tables under a folder of
    its own: the address a client puts into SPARK_REMOTE."""
    import pyspark

    home = Path(pyspark.__file__).parent
    folder = tmp_path_factory.mktemp("spark_connect")
    port = _free_port()
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [str(home / "bin" / "spark-submit"), "--class", SERVER_CLASS, "--master", "local[2]",
         "--conf", f"spark.connect.grpc.binding.port={port}",
         "--conf", f"spark.sql.warehouse.dir={folder / 'spark-warehouse'}",
         "--conf", "spark.sql.catalogImplementation=in-memory",
         "--conf", "spark.sql.session.timeZone=UTC", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.driver.memory=1g", "spark-internal"],
        env={**os.environ, "SPARK_HOME": str(home)}, stdout=log, stderr=subprocess.STDOUT, cwd=folder,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (folder / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the Spark Connect server did not listen within 180 s"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        # killed outright: it keeps nothing (its catalog in memory, its tables in a temporary folder),
        # and on SIGTERM it took more than 30 s to end while the other worker's tests ran
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        log.close()


@pytest.fixture
def connect_client(connect_server, monkeypatch):
    """SPARK_REMOTE set for the test (a local session stopped first); afterwards the client session
    stopped and pyspark's own Connect mode switched off again (it sets SPARK_CONNECT_MODE_ENABLED for
    the process), so that a later Spark build in this process runs in local mode."""
    # a Spark session of this process's own (another Spark test's, in the same worker) stopped first:
    # pyspark starts no Connect session beside a running one
    spark_build.stop_spark()
    monkeypatch.setenv(spark_build.REMOTE_SETTING, connect_server)
    try:
        yield connect_server
    finally:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)


def test_through_spark_connect_a_python_model_is_built_served_and_equal_to_duckdb(
    connect_client, city_copy, built_city, tmp_path
):
    settings = replace(city_copy, engine="spark", lake_dir=tmp_path / "lake")
    assert spark_build.spark_target() == spark_build.CONNECT_TARGET
    prepare_dbt(settings)  # as a run does: the catalogue's files, and the released cells into ops
    # with the data tests of these models (those that read only them: --indirect-selection cautious)
    result = spark_build.build(settings, ["build", "--select", f"+{PYTHON_MODEL}", "--indirect-selection", "cautious"])
    assert result.success

    from pyspark.sql import SparkSession

    assert type(SparkSession.builder.getOrCreate()).__module__.startswith("pyspark.sql.connect")
    built = spark_build.built_relations(settings)
    names = {name for name, *_ in built}
    assert PYTHON_MODEL in names and "index_catalogue" in names  # the model and the seed it reads
    assert "fct_indicator_values" not in names  # what the selection left out is not served

    served_file = tmp_path / "served.duckdb"
    served = spark_build.serve(settings, into=served_file)
    assert sorted(relation for _name, relation in served) == sorted(f"{s}.{a}" for _n, s, a, _c in built)
    comparison = compare_warehouses(built_city.warehouse_path, served_file, served)
    assert [f"{d.relation}: {d.problem}" for d in comparison.differences] == []
    assert comparison.rows[PYTHON_MODEL] > 0 and comparison.equal
    # the model's table as the server wrote it, read in place through this serving's links
    con = duckdb.connect(str(served_file), read_only=True)
    try:
        [sql] = con.execute(
            "select sql from duckdb_views() where schema_name = 'intermediate' and view_name = ?", [PYTHON_MODEL]
        ).fetchone()
    finally:
        con.close()
    assert str(spark_build.served_folder(settings)) in sql

    # the pattern memo of a build on Spark, through the client (the server reads and writes the
    # files): none yet, then what one build flushed is what the next one reads, from one file
    folder = settings.lake / LAKE_MEMO_FOLDER
    session = SparkSession.builder.getOrCreate()
    memo = LakeMemo(session, str(folder))
    assert memo.known == {} and memo.get("b") is None
    memo.put("b", [7, 2])
    memo.put("a", [])
    assert memo.flush() == 2 and memo.flush() == 0
    assert LakeMemo(session, str(folder)).known == {"a": [], "b": [7, 2]}
    [written] = folder.glob("*.parquet")
    # a memo file that cannot be read (a disk fault) stops the model with what to do
    broken = settings.lake / "memo" / "broken"
    broken.mkdir(parents=True)
    (broken / "part-0.parquet").write_bytes(b"not parquet")
    with pytest.raises(RuntimeError, match="cannot be read .*delete that folder and build again"):
        LakeMemo(session, str(broken))
    assert duckdb.sql(f"select fingerprint, secondary from read_parquet('{written}') order by 1").fetchall() == [
        ("a", []),
        ("b", [7, 2]),
    ]


def test_through_spark_connect_a_stichtag_is_rebuilt_into_the_tables_the_servers_catalog_vouches_for(
    connect_client, city_copy, tmp_path
):
    """Incremental Stichtage on a cluster: the server's catalog says which build of which lake its
    tables are (`spark_build.SERVER_MARKER`), so the next build rebuilds only its Stichtage into them
    (dbt-spark's insert_overwrite through the client, the partitions of the others kept as they are);
    a server whose catalog forgot them gets a full build."""
    from pyspark.sql import SparkSession

    from orchestration.ingest.unload import unload

    settings = replace(city_copy, engine="spark", lake_dir=tmp_path / "lake")
    prepare_dbt(settings)
    command = ["build", "--select", "+int_movements_assigned_to_blocks", "--indirect-selection", "cautious"]
    first = spark_build.metastore_for(settings, "b1", incremental=False)
    assert spark_build.build(settings, command, metastore=first).success
    spark_build.mark_built(settings, "b1", first)
    assert spark_build.stale_tables(settings, "b1") is None  # the server vouches for its tables
    assert "not of the last build b2" in spark_build.stale_tables(settings, "b2")

    session = SparkSession.builder.getOrCreate()
    table = "intermediate.int_movements_assigned_to_blocks"
    location, partitions = spark_build._layout(session, table)
    assert partitions == ["stichtag"]

    earlier = partition_files_but(location, LATEST)
    assert len({name.split("/")[0] for name in earlier}) == 5

    # the newest Stichtag taken back out, and an incremental build through the client rebuilds it
    # (without rows: its partition goes) into the server's tables
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        unload(settings, con, LATEST, "a test delivery")
    finally:
        con.close()
    plan = {"rebuild_stichtage": [LATEST.isoformat()], "test_rebuilt_stichtage_only": True}
    second = spark_build.metastore_for(settings, "b2", incremental=True)
    assert spark_build.build(settings, command, plan=plan, incremental=True, metastore=second).success
    days = session.sql(f"select distinct cast(stichtag as string) from {table}").collect()
    assert sorted(row[0] for row in days) == [f"{year}-12-31" for year in range(2019, 2024)]
    assert partition_files_but(location, LATEST) == earlier  # the other Stichtage's files are the same files
    # until a build is noted as built, the server's note names none (a build that fails midway, or an
    # engine check's on the same server, leaves tables no build of ours vouches for)
    assert spark_build._server_marker()["sozialmonitor.build_id"] == ""

    spark_build.mark_built(settings, "b2", second)
    assert spark_build.stale_tables(settings, "b2") is None
    # another lake's build on the same server: its tables are not this lake's
    spark_build._mark_server({"sozialmonitor.build_id": "b2", "sozialmonitor.lake": "/srv/another/lake"})
    assert "of the lake /srv/another/lake, not of the last build b2 of this one" in spark_build.stale_tables(
        settings, "b2"
    )
    # a server restarted with its catalog in memory knows no build of ours: the next one is full
    session.sql(f"drop table {spark_build.SERVER_MARKER}")
    assert "has no default.sozialmonitor_build" in spark_build.stale_tables(settings, "b2")
