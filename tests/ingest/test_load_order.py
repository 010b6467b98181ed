"""Which load of a delivery is the latest: its number, not its local time.

The load log keeps every load of a delivery; the latest one says which file the raw rows come
from. Its time is local and naive: in the hour the clocks go back (25.10.2026, 03:00 -> 02:00) a
correction loaded at 02:10 after its file was loaded at 02:50 has the earlier time. Ordered by
time, the release would name the replaced file as its input and the build plan would not see the
correction. Real cp1252 files, a real warehouse."""

from __future__ import annotations

from datetime import date, datetime

import duckdb

import orchestration.ingest.loader as loader
from orchestration.build_plan import current_loads
from orchestration.ingest import ingest
from orchestration.ingest.loader import LOG_TABLE, latest_load_order, sha256_file
from orchestration.pseudonyms import ENV_KEY
from orchestration.release.build import _inputs
from orchestration.warehouse import connect
from tests.helpers import earlier_load_log
from tests.ingest.test_deliveries_per_gemeinde import TEST_KEY, _persons, kreis_with_registers

STICHTAG = date(2024, 12, 31)
FILE = "EWR_Bestand_05999004_20241231.csv"
DELIVERY = "register_persons@05999004"


class Clock(datetime):
    """datetime whose now() is what the test sets: the local time of the loads."""

    at = datetime(2026, 10, 25, 2, 50)

    @classmethod
    def now(cls, tz=None):
        return cls.at


def _load(settings, at: datetime) -> str:
    """Ingest the register (and the Gebietsgliederung) with the clock at `at`: the register's status."""
    Clock.at = at
    con = connect(settings.warehouse_path)
    try:
        report = ingest(settings, con, sources=["geo_areas", "register_persons"])
    finally:
        con.close()
    [register] = [r for r in report.results if r.extract.gemeinde]
    return register.status


def _release_inputs(settings) -> dict[str, str]:
    """The release's inputs (file → SHA-256) as publish() reads them: the warehouse attached read-only."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{settings.warehouse_path}' as wh (read_only)")
        return {i["file"]: i["sha256"] for i in _inputs(con, STICHTAG) if i["source"] == "register_persons"}
    finally:
        con.close()


def test_a_correction_loaded_in_the_hour_the_clocks_go_back_is_the_latest_load(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_KEY, TEST_KEY)
    monkeypatch.setattr(loader, "datetime", Clock)
    settings = kreis_with_registers(tmp_path)
    path = settings.raw_dir / "einwohner" / FILE
    path.write_bytes(_persons("00000000000000aa"))
    first = sha256_file(path)
    assert _load(settings, datetime(2026, 10, 25, 2, 50)) == "loaded"  # 02:50 summer time
    path.write_bytes(_persons("00000000000000aa", "00000000000000bb"))  # the correction
    corrected = sha256_file(path)
    assert _load(settings, datetime(2026, 10, 25, 2, 10)) == "loaded"  # 40 minutes later, winter time

    con = connect(settings.warehouse_path)
    try:
        log = con.execute(
            f"select sha256, loaded_at, load_no from {LOG_TABLE} where gemeinde is not null order by load_no"
        ).fetchall()
        persons = con.execute("select count(*) from raw.register_persons").fetchone()[0]
        loads = dict(((d, s), load) for d, s, load in current_loads(con))
    finally:
        con.close()
    # the correction's load has the earlier time and the higher number
    assert [(sha, number) for sha, _at, number in log] == [(first, 1), (corrected, 2)]
    assert log[1][1] < log[0][1]
    assert persons == 2  # the raw rows are the correction's
    # the build plan sees the correction (by time it would see the first file, which the last
    # build was made from, and build nothing)
    assert loads[(DELIVERY, STICHTAG)].startswith(f"{corrected}@")
    # the release names the file its numbers come from
    assert _release_inputs(settings) == {f"einwohner/{FILE}": corrected}
    # and the correction, delivered again, is already loaded (by time the first file would be the
    # latest load, and the correction would be loaded again)
    assert _load(settings, datetime(2026, 10, 25, 2, 20)) == "unchanged"


def test_a_load_log_of_an_earlier_version_gets_numbers_after_its_loads(tmp_path, monkeypatch):
    """A warehouse of an earlier version: its loads have no number. They come first, by their time;
    the first load after the update gets number 1 and is the latest, whatever its time. A reader
    that may not change the warehouse orders such a log by time alone."""
    monkeypatch.setenv(ENV_KEY, TEST_KEY)
    monkeypatch.setattr(loader, "datetime", Clock)
    settings = kreis_with_registers(tmp_path)
    loads = [("register_persons", STICHTAG, "f", sha, 1, 0, datetime(2026, 10, 25, 2, minute), 0, "05999004")
             for sha, minute in (("old1", 40), ("old2", 50))]  # fmt: skip
    earlier_load_log(settings.warehouse_path, loads, gemeinde=True)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert latest_load_order(con) == "loaded_at desc"
    con.close()
    path = settings.raw_dir / "einwohner" / FILE
    path.write_bytes(_persons("00000000000000aa"))
    assert _load(settings, datetime(2026, 10, 25, 2, 10)) == "loaded"  # after the update, winter time

    con = connect(settings.warehouse_path)
    try:
        assert latest_load_order(con) == loader.LATEST_LOAD_FIRST
        order = con.execute(
            f"select sha256, load_no from {LOG_TABLE} where gemeinde is not null order by {loader.LATEST_LOAD_FIRST}"
        ).fetchall()
        loads = dict(((d, s), load) for d, s, load in current_loads(con))
    finally:
        con.close()
    assert order == [(sha256_file(path), 1), ("old2", None), ("old1", None)]
    assert loads[(DELIVERY, STICHTAG)].startswith(f"{sha256_file(path)}@")
    assert _release_inputs(settings) == {f"einwohner/{FILE}": sha256_file(path)}
