"""Pseudonymisation at ingestion: the warehouse holds keyed hashes, never the delivered keys."""

from __future__ import annotations

import csv
import hashlib
import hmac

import duckdb
import pytest

from orchestration.pipeline import run_ingest
from orchestration.pseudonyms import DEMO_KEY_FILE, ENV_KEY, ENV_KEY_FILE, KeyMissing, hmac_sql, load_key


def test_sql_hmac_equals_pythons(tmp_path):
    key = load_key(environ={ENV_KEY: "a-secret-of-sufficient-length"})
    con = duckdb.connect()
    outer, inner = key.pads
    values = ["0123456789abcdef", "H00000001", "ä-umlaut", ""]
    got = [con.execute(f"select {hmac_sql('?')}", [outer, inner, v]).fetchone()[0] for v in values]
    assert got == [hmac.new(key.secret, v.encode(), hashlib.sha256).hexdigest() for v in values]
    long_key = load_key(environ={ENV_KEY: "k" * 100})  # keys over 64 bytes are hashed first (RFC 2104)
    outer, inner = long_key.pads
    assert con.execute(f"select {hmac_sql('?')}", [outer, inner, "x"]).fetchone()[0] == long_key.hexdigest("x")


def test_key_comes_from_env_or_file_and_demo_key_only_for_the_marked_demo(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("file-secret-0123456789\n")
    for mode in (0o644, 0o666, 0o640, 0o604, 0o620):  # others (or the group) could read or swap the key
        secret.chmod(mode)
        with pytest.raises(KeyMissing, match=f"mode {mode:04o}.*chmod 600"):
            load_key(environ={ENV_KEY_FILE: str(secret)})
    secret.chmod(0o600)
    assert load_key(environ={ENV_KEY_FILE: str(secret)}).secret == b"file-secret-0123456789"
    assert (
        load_key(environ={ENV_KEY: "env-secret-0123456789", ENV_KEY_FILE: str(secret)}).secret
        == b"env-secret-0123456789"
    )
    raw = tmp_path / "raw"
    raw.mkdir()
    with pytest.raises(KeyMissing, match="SOZIALMONITOR_PSEUDONYM_KEY_FILE"):
        load_key(raw, environ={})
    (raw / ".demo-city").write_text("demo")
    demo = load_key(raw, environ={})
    assert demo.is_demo and demo.secret == DEMO_KEY_FILE.read_bytes().strip()
    with pytest.raises(KeyMissing, match="shorter"):
        load_key(environ={ENV_KEY: "short"})


def test_warehouse_holds_pseudonyms_not_the_delivered_keys(ingested_city):
    raw_file = sorted((ingested_city / "raw" / "einwohner").glob("EWR_Bestand_*.csv"))[-1]
    with raw_file.open(encoding="cp1252") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))[:50]
    delivered = {r["Personen_ID"] for r in rows}
    households = {r.get("Haushalts_ID") or r["Haushaltsnummer"] for r in rows}  # renamed between years
    key = load_key(ingested_city / "raw", environ={})
    con = duckdb.connect(str(ingested_city / "warehouse" / "sozialmonitor.duckdb"), read_only=True)
    try:
        stored = {r[0] for r in con.execute("select person_key from raw.register_persons").fetchall()}
        stored_households = {r[0] for r in con.execute("select household_key from raw.register_persons").fetchall()}
        record_keys = con.execute(
            "select min(_record_key), max(_record_key), avg(_record_key) from raw.register_persons"
        ).fetchone()
        # every text column of every raw table: no delivered person or household key anywhere
        leaks = []
        for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR' and table_schema not in ('information_schema', 'pg_catalog')"
        ).fetchall():
            hit = con.execute(
                f'select count(*) from "{schema}"."{table}" where "{column}" in (select unnest(?))',
                [sorted(delivered | households)],
            ).fetchone()[0]
            if hit:
                leaks.append(f"{schema}.{table}.{column}")
    finally:
        con.close()
    assert not leaks
    assert stored.isdisjoint(delivered)
    assert {key.pseudonym(k) for k in delivered} <= stored
    assert {key.pseudonym(h) for h in households} <= stored_households
    # record keys: in [0, 1), spread evenly
    assert record_keys[0] >= 0 and record_keys[1] < 1 and abs(record_keys[2] - 0.5) < 0.02


def test_record_key_is_stable_across_stichtage(ingested_city):
    con = duckdb.connect(str(ingested_city / "warehouse" / "sozialmonitor.duckdb"), read_only=True)
    try:
        unstable = con.execute(
            "select count(*) from (select person_key from raw.register_persons group by person_key "
            "having count(distinct _record_key) > 1)"
        ).fetchone()[0]
        several_years = con.execute(
            "select count(*) from (select person_key from raw.register_persons group by person_key "
            "having count(distinct stichtag) > 1)"
        ).fetchone()[0]
    finally:
        con.close()
    assert several_years > 1000 and unstable == 0


def test_a_changed_key_is_refused(city_copy, monkeypatch):
    monkeypatch.setenv(ENV_KEY, "another-secret-key-0123456789")
    with pytest.raises(KeyMissing, match="not the key this warehouse was loaded with"):
        run_ingest(city_copy)
