"""Ingest loads two sources at once (orchestration/ingest/loader.py, `load_in_parallel`): the sources
others are checked against first, then each other source on one thread, its files in order. The raw
tables hold the same rows in the same order as after a serial load."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

import orchestration.ingest.loader as loader
from orchestration.ingest import ingest
from orchestration.warehouse import connect
from tests.helpers import settings_for


@dataclass(frozen=True)
class FakeExtract:
    source: str
    path: Path
    problem: None = None


def _extracts(tmp_path: Path, plan: dict[str, int]) -> list[FakeExtract]:
    out = []
    for source, files in plan.items():
        for n in range(files):
            path = tmp_path / f"{source}_{n}.csv"
            path.write_bytes(b"x" * (100 * files))  # more files: more bytes, so it starts first
            out.append(FakeExtract(source, path))
    return out


def test_the_sources_checked_against_load_first_then_the_others_side_by_side(tmp_path):
    extracts = _extracts(tmp_path, {"geo_areas": 2, "register": 3, "jobcenter": 2, "kita": 1})
    both_running = threading.Barrier(2, timeout=20)
    log: list[tuple[str, str, str]] = []
    lock = threading.Lock()
    con = duckdb.connect()

    def load(cursor, extract):
        with lock:
            log.append(("start", extract.path.name, threading.current_thread().name))
        if extract.path.name in ("register_0.csv", "jobcenter_0.csv"):
            both_running.wait()  # only passes when the two largest sources load at the same time
        with lock:
            log.append(("done", extract.path.name, threading.current_thread().name))
        return extract.path.name

    results = loader.load_in_parallel(con, extracts, {"geo_areas"}, load, workers=2)

    assert results == [e.path.name for e in extracts]  # in the order given, whoever loaded them
    assert [name for _, name, _ in log[:4]] == ["geo_areas_0.csv"] * 2 + ["geo_areas_1.csv"] * 2
    assert {thread for _, name, thread in log if name.startswith("geo_areas")} == {"MainThread"}
    for source, files in (("register", 3), ("jobcenter", 2)):
        started = [name for event, name, _ in log if event == "start" and name.startswith(source)]
        assert started == [f"{source}_{n}.csv" for n in range(files)]  # a source's files in order
        assert len({thread for _, name, thread in log if name.startswith(source)}) == 1  # on one thread


def test_after_a_failure_no_new_source_is_begun_and_the_failure_is_raised(tmp_path):
    extracts = _extracts(tmp_path, {"register": 3, "jobcenter": 2, "kita": 1, "wohngeld": 1})
    begun: list[str] = []
    broke, beside = threading.Event(), threading.Event()

    def load(cursor, extract):
        begun.append(extract.path.name)
        if extract.path.name == "register_0.csv":
            assert beside.wait(20)
            broke.set()
            raise RuntimeError("the register broke the loader")
        if extract.path.name == "jobcenter_0.csv":  # the other thread is busy while the register breaks
            beside.set()
            assert broke.wait(20)
            time.sleep(0.2)
        return extract.path.name

    with pytest.raises(RuntimeError, match="the register broke"):
        loader.load_in_parallel(duckdb.connect(), extracts, set(), load, workers=2)
    # the broken source stops at its broken file; the source begun beside it is finished; no other is begun
    assert sorted(begun) == ["jobcenter_0.csv", "jobcenter_1.csv", "register_0.csv"]


def test_one_worker_loads_everything_on_the_callers_connection(tmp_path):
    extracts = _extracts(tmp_path, {"register": 2, "kita": 1})
    con = duckdb.connect()
    seen = []
    assert loader.load_in_parallel(
        con, extracts, set(), lambda cursor, e: seen.append(cursor) or e.path.name, workers=1
    ) == [e.path.name for e in extracts]
    assert all(cursor is con for cursor in seen)


def _table_rows(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw' and not starts_with(table_name, '_') "
                "order by table_name"
            ).fetchall()
        ]
        # in the order DuckDB stores them (rowid), without the load time
        return {t: con.execute(f"select * exclude (_loaded_at) from raw.{t} order by rowid").fetchall() for t in tables}
    finally:
        con.close()


def _as_duckdb_shows(threshold: str) -> str:
    con = duckdb.connect()
    con.execute(f"set checkpoint_threshold = '{threshold}'")
    return con.execute("select current_setting('checkpoint_threshold')").fetchone()[0]


def test_a_parallel_load_stores_the_same_rows_in_the_same_order_as_a_serial_one(tmp_path, city_raw, monkeypatch):
    stores = {}
    load_extract = loader.load_extract
    while_loading: set[str] = set()

    def spied(cursor, *args, **kwargs):  # the checkpoint threshold each file is loaded under
        while_loading.add(cursor.execute("select current_setting('checkpoint_threshold')").fetchone()[0])
        return load_extract(cursor, *args, **kwargs)

    monkeypatch.setattr(loader, "load_extract", spied)
    for workers in (1, 2):
        monkeypatch.setattr(loader, "INGEST_WORKERS", workers)
        settings = settings_for(tmp_path / f"workers_{workers}")
        shutil.copytree(city_raw, settings.raw_dir)
        con = connect(settings.warehouse_path)
        try:
            [default] = con.execute("select current_setting('checkpoint_threshold')").fetchone()
            report = ingest(settings, con)
            # raised while the files load (fewer checkpoints of the growing raw tables), then restored
            assert con.execute("select current_setting('checkpoint_threshold')").fetchone()[0] == default
        finally:
            con.close()
        assert not report.rejected and len(report.results) > 20
        assert while_loading == {_as_duckdb_shows(loader.INGEST_CHECKPOINT_THRESHOLD)} != {default}, while_loading
        stores[workers] = _table_rows(settings.warehouse_path)
    assert stores[1].keys() == stores[2].keys() and len(stores[1]) >= 15
    for table, rows in stores[1].items():
        assert rows == stores[2][table], table
