"""The lake Spark reads (issue 19, orchestration/engines.py `sync_lake`): each delivery of a raw table
lands as a Parquet file of its own, at ingest when the engine is Spark; a later sync writes only
what is new, removes what left the warehouse, and keeps the rest byte for byte. No Spark here: the
Spark builds of tests/engines read what this writes."""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.engines import (
    COLUMNS_FILE,
    LAKE_MARKER,
    WHOLE_TABLE,
    LakeRefused,
    claim_lake,
    delivery_file,
    owned_lake,
    sync_lake,
)
from orchestration.ingest.unload import unload
from orchestration.pipeline import run_ingest
from orchestration.spark_build import (
    BUILT_MARKER,
    BY_STICHTAG_LAYOUT,
    BY_STICHTAG_MARKER,
    NULL_PARTITION,
    REMOTE_SETTING,
    SERVED_FOLDER,
    _by_stichtag,
    _select,
    last_serving,
    mark_built,
    metastore_for,
    stale_tables,
)
from tests.helpers import settings_for


def _rows(con, folder) -> list[tuple]:
    return sorted(con.execute(f"select * from read_parquet('{folder}/*.parquet')").fetchall(), key=repr)


def _table(con, relation) -> list[tuple]:
    return sorted(con.execute(f"select * from {relation}").fetchall(), key=repr)


def _parts(folder) -> set[str]:
    return {p.name for p in folder.iterdir() if p.name != COLUMNS_FILE}


def test_each_delivery_is_a_file_and_a_sync_writes_only_what_changed(tmp_path):
    lake = tmp_path / "lake"
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema raw")
    con.execute(
        "create table raw.persons (stichtag date, person_key varchar, _source_file varchar, "
        "_source_sha256 varchar, _loaded_at timestamp)"
    )
    con.execute("create table raw._load_log (source varchar, file varchar)")
    con.execute("create table raw.nothing_yet (stichtag date, _source_file varchar, _source_sha256 varchar, "
                "_loaded_at timestamp)")  # fmt: skip
    first = datetime(2025, 1, 2, 3, 4, 5, 678901)

    def deliver(year: int, loaded_at: datetime, persons: int = 3) -> None:
        con.execute(
            "insert into raw.persons select make_date(?, 12, 31), 'p' || i, ?, ?, ? from range(?) as r(i)",
            [year, f"einwohner/EWR_{year}.csv", f"sha-{year}", loaded_at, persons],
        )
        con.execute("insert into raw._load_log values ('persons', ?)", [f"einwohner/EWR_{year}.csv"])

    deliver(2023, first)
    deliver(2024, first.replace(second=6))
    done = sync_lake(con, lake, schemas=("raw",))
    persons = lake / "raw" / "persons"
    assert _parts(persons) == {
        delivery_file("einwohner/EWR_2023.csv", "sha-2023", first),
        delivery_file("einwohner/EWR_2024.csv", "sha-2024", first.replace(second=6)),
    }
    assert _rows(con, persons) == _table(con, "raw.persons")
    # a table without delivery columns, and one without rows, as one file each (Spark needs a file
    # to know the columns)
    assert _parts(lake / "raw" / "_load_log") == {WHOLE_TABLE} == _parts(lake / "raw" / "nothing_yet")
    empty = con.execute(f"select * from read_parquet('{lake}/raw/nothing_yet/*.parquet')")
    assert empty.fetchall() == [] and [d[0] for d in empty.description][:2] == ["stichtag", "_source_file"]
    assert len(done.written) == 4 and not done.kept and not done.removed

    # a new Stichtag: its file is written, the others are kept as they were
    before = {p.name: p.stat().st_mtime_ns for p in persons.iterdir() if p.suffix == ".parquet"}
    deliver(2025, first.replace(second=7))
    again = sync_lake(con, lake, schemas=("raw",))
    assert [p.name for p in again.written if p.parent == persons] == [
        delivery_file("einwohner/EWR_2025.csv", "sha-2025", first.replace(second=7))
    ]
    assert {p.name for p in again.kept} == set(before)
    assert all((persons / name).stat().st_mtime_ns == ns for name, ns in before.items())
    assert _rows(con, persons) == _table(con, "raw.persons")

    # a correction of 2023 (its rows replaced by a new load) and 2024 unloaded: their files go
    con.execute("delete from raw.persons where stichtag <= date '2024-12-31'")
    deliver(2023, datetime(2025, 6, 1), persons=2)
    (persons / ".left-by-a-killed-sync.parquet.writing").write_bytes(b"half")
    fixed = sync_lake(con, lake, schemas=("raw",))
    assert len([p for p in fixed.written if p.parent == persons]) == 1
    assert {p.name for p in fixed.removed if p.parent == persons} == set(before) | {
        ".left-by-a-killed-sync.parquet.writing"
    }
    assert len(_parts(persons)) == 2 and _rows(con, persons) == _table(con, "raw.persons")

    # a contract that adds a column: the table's folder is written anew, no file of the old shape stays
    con.execute("alter table raw.persons add column sex varchar")
    con.execute("update raw.persons set sex = 'w'")
    changed = sync_lake(con, lake, schemas=("raw",), tables={"raw.persons"})
    assert len(changed.written) == 2 and not changed.kept
    assert _rows(con, persons) == _table(con, "raw.persons")
    assert "sex" in (persons / COLUMNS_FILE).read_text()

    # the DuckDB pattern's proofs (true values moved; only the release reads them) never go to the lake
    con.execute("create schema ops")
    con.execute("create table ops.disclosure_pattern_proofs (number bigint)")
    con.execute("create table ops.disclosure_pattern_proof_tables (number bigint)")
    con.execute("create table ops.disclosure_pattern_memo (fingerprint varchar)")
    sync_lake(con, lake)
    assert (lake / "ops" / "disclosure_pattern_memo").is_dir()
    assert not (lake / "ops" / "disclosure_pattern_proofs").exists()
    assert not (lake / "ops" / "disclosure_pattern_proof_tables").exists()
    con.close()


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_ingest_lands_each_delivery_in_the_lake_when_spark_builds(engine, city_raw, tmp_path):
    settings = replace(settings_for(tmp_path), engine=engine)
    shutil.copytree(city_raw, settings.raw_dir)
    first_five = [date(year, 12, 31) for year in range(2019, 2024)]
    run_ingest(settings, stichtage=first_five)
    persons = settings.lake / "raw" / "register_persons"
    if engine == "duckdb":  # a DuckDB build reads its own file: no lake
        assert not settings.lake.exists()
        return
    assert len(_parts(persons)) == 5
    written_first = {p.name: p.stat().st_mtime_ns for p in persons.iterdir()}
    # the ingest claimed the lake for this warehouse: owner only, its marker names the warehouse
    assert stat.S_IMODE(settings.lake.stat().st_mode) == 0o700
    assert owned_lake(settings.lake, settings.warehouse_path)

    report = run_ingest(settings)  # the sixth Stichtag
    assert {r.extract.stichtag for r in report.results if r.status == "loaded"} == {date(2024, 12, 31)}
    assert len(_parts(persons)) == 6
    assert all((persons / name).stat().st_mtime_ns == ns for name, ns in written_first.items())

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        # what a Spark build's sync then has to write: no delivery, only the small whole tables
        done = sync_lake(con, settings.lake)
        assert done.written and all(p.name == WHOLE_TABLE for p in done.written)
        assert len([p for p in done.kept if p.parent == persons]) == 6
        for table in ("register_persons", "register_movements", "ba_labour_market", "geo_addresses"):
            assert _rows(con, settings.lake / "raw" / table) == _table(con, f"raw.{table}"), table
    finally:
        con.close()

    # a Stichtag unloaded leaves the lake too: its deliveries' files, its rows of the load log
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        result = unload(settings, con, date(2024, 12, 31), "a test delivery")
        assert result.rows and result.lakes == [settings.lake]
        assert {p.name for p in persons.iterdir()} == set(written_first) | {COLUMNS_FILE}
        for table in ("register_persons", "_load_log"):
            assert _rows(con, settings.lake / "raw" / table) == _table(con, f"raw.{table}"), table
        days = con.execute(f"select distinct stichtag from read_parquet('{persons}/*.parquet')").fetchall()
        assert {day for (day,) in days} == set(first_five)
    finally:
        con.close()


def test_a_lake_is_one_warehouses_and_a_folder_that_is_none_is_refused_untouched(tmp_path):
    warehouse = tmp_path / "city" / "warehouse" / "sozialmonitor.duckdb"
    warehouse.parent.mkdir(parents=True)
    warehouse.touch()
    lake = tmp_path / "city" / "lake"

    # a new folder becomes the lake: owner only, with the marker naming the warehouse (absolute)
    assert claim_lake(lake, warehouse) == lake
    assert stat.S_IMODE(lake.stat().st_mode) == 0o700
    assert json.loads((lake / LAKE_MARKER).read_text()) == {
        "warehouse": str(warehouse.resolve()),
        "purpose": "pipeline",
        "lake": str(lake.resolve()),
    }
    assert owned_lake(lake, warehouse) and not owned_lake(lake, warehouse, "engine-check")
    (lake / "raw").mkdir()
    claim_lake(lake, warehouse)  # again: the same lake

    # the same warehouse by another spelling of its path (a symlink) is the same warehouse
    (tmp_path / "link").symlink_to(tmp_path / "city")
    claim_lake(tmp_path / "link" / "lake", tmp_path / "link" / "warehouse" / "sozialmonitor.duckdb")
    # a copy of the warehouse with the same lake: refused while the original is there
    copy = warehouse.with_name("copy.duckdb")
    shutil.copy(warehouse, copy)
    with pytest.raises(LakeRefused, match=f"lake of the warehouse {warehouse}, which is still there"):
        claim_lake(lake, copy)
    # a deployment copied with its lake: the copy's lake is the copy's
    shutil.copytree(tmp_path / "city", tmp_path / "city2", symlinks=True)
    claim_lake(tmp_path / "city2" / "lake", tmp_path / "city2" / "warehouse" / "sozialmonitor.duckdb")
    assert owned_lake(tmp_path / "city2" / "lake", tmp_path / "city2" / "warehouse" / "sozialmonitor.duckdb")
    assert owned_lake(lake, warehouse)  # and the original's is still the original's
    # the pipeline's lake as an engine check's, and an engine check's as the pipeline's
    with pytest.raises(LakeRefused, match="is the pipeline lake of the warehouse"):
        claim_lake(lake, warehouse, "engine-check")
    check = claim_lake(lake / "engine-check", warehouse, "engine-check")
    with pytest.raises(LakeRefused, match="is the engine-check lake"):
        claim_lake(check, warehouse)
    # the warehouse moved away (its old path gone): its lake is taken over
    warehouse.rename(copy)
    claim_lake(lake, copy)
    assert owned_lake(lake, copy) and not owned_lake(lake, warehouse)

    # a folder that is no lake (a deployment folder, a typo in SOZIALMONITOR_LAKE) is refused, and
    # nothing in it is removed; an empty one becomes a lake
    deployment = tmp_path / "musterkreis"
    (deployment / "raw" / "einwohner").mkdir(parents=True)
    (deployment / "vars.yml").write_text("levels: []\n")
    before = sorted(str(p.relative_to(deployment)) for p in deployment.rglob("*"))
    with pytest.raises(LakeRefused, match="holds what a lake does not: raw/einwohner, vars.yml"):
        claim_lake(deployment, copy)
    assert sorted(str(p.relative_to(deployment)) for p in deployment.rglob("*")) == before
    assert not (deployment / LAKE_MARKER).exists()
    # nor is a folder of deliveries whose top looks like a lake's (raw/ without the lake's tables)
    deliveries = tmp_path / "share"
    (deliveries / "raw" / "gebiete").mkdir(parents=True)
    with pytest.raises(LakeRefused, match="holds what a lake does not: raw/gebiete"):
        claim_lake(deliveries, copy)
    assert not (deliveries / LAKE_MARKER).exists()
    # an empty folder, and a new file system's, becomes a lake
    empty = tmp_path / "empty"
    (empty / "lost+found").mkdir(parents=True)
    assert claim_lake(empty, copy) == empty and owned_lake(empty, copy)

    # a lake from before the marker (it holds only what a lake holds), readable by others as the
    # engine check made its parent: taken over, and nobody else may read it any more
    old = tmp_path / "old_lake"
    (old / "raw" / "register_persons").mkdir(parents=True)
    (old / "raw" / "register_persons" / COLUMNS_FILE).write_text("[]")
    (old / "engine-check").mkdir()
    old.chmod(0o755)
    claim_lake(old, copy)
    assert stat.S_IMODE(old.stat().st_mode) == 0o750 and owned_lake(old, copy)
    # a marker the project did not write is not taken for one, nor a folder of the marker's name
    (empty / LAKE_MARKER).write_text("[1]")
    with pytest.raises(LakeRefused, match="not a lake marker"):
        claim_lake(empty, copy)
    (empty / LAKE_MARKER).unlink()
    (empty / LAKE_MARKER).mkdir()
    with pytest.raises(LakeRefused, match="not a lake marker this project wrote \\(not a file\\)"):
        claim_lake(empty, copy)


def test_the_lake_is_an_absolute_path_whatever_the_setting_says(tmp_path, monkeypatch):
    """The warehouse's views of a Spark build read the served Parquet by the lake's path: a relative
    one would be read from wherever a reader opens the warehouse."""
    monkeypatch.chdir(tmp_path)
    settings = replace(settings_for(tmp_path), lake_dir=Path("musterkreis") / "lake")
    assert settings.lake == tmp_path / "musterkreis" / "lake" and settings.lake.is_absolute()
    beside = replace(settings, lake_dir=None).with_paths(warehouse_path=Path("warehouse") / "w.duckdb")
    assert beside.lake == Path(os.getcwd()) / "lake"


def test_an_incremental_spark_build_needs_the_tables_of_the_last_build_in_the_lake(tmp_path, monkeypatch):
    monkeypatch.delenv(REMOTE_SETTING, raising=False)
    settings = replace(settings_for(tmp_path / "city"), engine="spark")
    assert "holds no Spark tables of a finished build" in stale_tables(settings, "b1")
    metastore = metastore_for(settings, "b1", incremental=False)
    assert metastore == settings.lake / "metastore" / "b1"
    metastore.mkdir(parents=True)
    mark_built(settings, "b1", metastore)
    assert stale_tables(settings, "b1") is None
    assert metastore_for(settings, "b2", incremental=True) == metastore  # an incremental build keeps it
    # a later build elsewhere, or one that did not finish here
    assert "those of build b1, not of the last build b2" in stale_tables(settings, "b2")
    # tables built in local mode are not those of a Spark Connect server (whose catalog
    # tests/engines/test_spark_connect.py asks)
    monkeypatch.setenv(REMOTE_SETTING, "sc://localhost:15002")
    assert "built with the target spark, not spark_connect" in stale_tables(settings, "b1")
    monkeypatch.delenv(REMOTE_SETTING)
    # a copied or moved lake: its metastore names the old paths
    moved = replace(settings, lake_dir=tmp_path / "elsewhere")
    shutil.copytree(settings.lake, moved.lake)
    assert f"built in {settings.lake.resolve()}, not in {moved.lake.resolve()}" in stale_tables(moved, "b1")
    (settings.lake / BUILT_MARKER).write_text("{not json", encoding="utf-8")
    assert "holds no Spark tables of a finished build" in stale_tables(settings, "b1")
    mark_built(settings, "b1", metastore)
    shutil.rmtree(metastore)
    assert "is gone" in stale_tables(settings, "b1")


def test_the_lake_names_the_serving_whose_view_rows_an_incremental_serving_links(tmp_path):
    settings = replace(settings_for(tmp_path / "city"), engine="spark")
    metastore = metastore_for(settings, "b1", incremental=False)
    mark_built(settings, "b1", metastore)
    assert last_serving(settings) is None  # nothing served: every view is written whole
    served = settings.lake / SERVED_FOLDER / "abc123"
    view = served / "gates" / "gate_x"
    (view / "stichtag=2023-12-31").mkdir(parents=True)
    mark_built(settings, "b1", metastore)
    assert last_serving(settings) == served
    # a view's folder holds rows by Stichtag once serving marked it so, in this layout, and no
    # file lies at its top
    assert not _by_stichtag(view)
    (view / "_SUCCESS").write_text("")  # Spark's mark is no proof (a dynamic overwrite leaves none)
    assert not _by_stichtag(view)
    (view / BY_STICHTAG_MARKER).write_text(BY_STICHTAG_LAYOUT)
    assert _by_stichtag(view)
    (view / BY_STICHTAG_MARKER).write_text("0")  # another layout, of other code
    assert not _by_stichtag(view)
    (view / BY_STICHTAG_MARKER).write_text(BY_STICHTAG_LAYOUT)
    (view / "part-0.parquet").write_text("")  # a view an earlier serving wrote whole
    assert not _by_stichtag(view)
    shutil.rmtree(served)
    assert last_serving(settings) is None


def test_the_warehouse_reads_a_served_partition_of_rows_without_a_stichtag_as_null(tmp_path):
    folder = tmp_path / "view"
    con = duckdb.connect()
    try:
        for day, value in (("2023-12-31", 1), (NULL_PARTITION, 2)):
            (folder / f"stichtag={day}").mkdir(parents=True)
            con.execute(f"copy (select {value} as v) to '{folder / f'stichtag={day}' / 'part-0.parquet'}'")
        rows = con.execute(
            _select(folder, [("stichtag", "date"), ("v", "integer")], ["stichtag"]) + " order by v"
        ).fetchall()
    finally:
        con.close()
    assert rows == [(date(2023, 12, 31), 1), (None, 2)]


def test_a_delivery_without_a_name_and_a_table_that_left_the_warehouse(tmp_path):
    lake = tmp_path / "lake"
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        con.execute("create schema raw")
        con.execute("create table raw.t (v int, _source_file varchar, _source_sha256 varchar, _loaded_at timestamp)")
        con.execute(
            "insert into raw.t values (1, null, 'a', null), (2, 'f.csv', null, timestamp '2025-01-01'), "
            "(3, '', 'a', null)"  # an empty name is another delivery than a missing one
        )
        con.execute("create table raw.gone (v int)")
        sync_lake(con, lake, schemas=("raw",))
        assert len(_parts(lake / "raw" / "t")) == 3 and _rows(con, lake / "raw" / "t") == _table(con, "raw.t")
        con.execute("drop table raw.gone")
        (lake / "raw" / "stray.txt").write_text("x")
        # only some tables: nothing else is touched
        sync_lake(con, lake, schemas=("raw",), tables={"raw.t"})
        assert (lake / "raw" / "gone").is_dir()
        done = sync_lake(con, lake, schemas=("raw",))
        assert {p.name for p in done.removed} == {"gone", "stray.txt"}
        assert sorted(p.name for p in (lake / "raw").iterdir()) == ["t"]
    finally:
        con.close()
