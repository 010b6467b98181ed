"""Bürgeramt (Melderegister), prepared by the Statistikstelle: the population register (contracts
register_persons, register_movements).

Truth: `persons` (one row per person per Stichtag) and `movements` (one row per register event).
Files: einwohner/EWR_Bestand_YYYYMMDD.csv and bewegungen/EWR_Bewegungen_YYYY.csv (cp1252, ';', CRLF),
written with DuckDB (the biggest files of the city).

Deliberate mess: header Haushalts_ID → Haushaltsnummer from 2022, street keys without leading zeros
in 2019/2020 (the movements keep them padded).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import households as hhmod
from ..files import copy_csv, list_literal
from ..frames import Labels, address_columns, cat, datetimes, stichtag_of
from ..population import EVENT_TYPES, YearEvents

if TYPE_CHECKING:
    import duckdb

    from ..simulation import RawData, Simulation
    from ..streams import Streams

CONTRACTS = ("register_persons", "register_movements")  # orchestration/contracts/*.yml

# fmt: off
REGISTER_HEADERS = [
    "Personen_ID", "Geburtsjahr", "Geburtsmonat", "Geschlecht", "Staatsangehoerigkeit_1",
    "Staatsangehoerigkeit_2", "Migrationshintergrund", "Strassenschluessel", "Hausnummer",
    "Hausnummernzusatz", "Haushalts_ID", "Einzugsdatum", "Wohnungsstatus",
]
MOVEMENT_HEADERS = [
    "Personen_ID", "Bewegungsart", "Datum", "Von_Strassenschluessel", "Von_Hausnummer", "Von_Zusatz",
    "Nach_Strassenschluessel", "Nach_Hausnummer", "Nach_Zusatz",
]
# fmt: on

# the deliberate mess, by year
HOUSEHOLD_HEADER_RENAMED_FROM = 2022  # Haushalts_ID → Haushaltsnummer
STREET_KEY_UNPADDED_UNTIL = 2020  # Strassenschluessel '123' instead of '00123'


def truth(raw: RawData, labels: Labels, streams: Streams) -> dict[str, pd.DataFrame]:
    return {"persons": persons(raw, labels), "movements": movements(raw, labels)}


def persons(raw: RawData, labels: Labels) -> pd.DataFrame:
    g, p = raw.geo, raw.people
    snaps = [raw.snapshots[y] for y in sorted(raw.snapshots)]
    pid = np.concatenate([s.pid for s in snaps])
    addr = np.concatenate([s.addr for s in snaps])
    stichtag = np.concatenate([np.full(len(s.pid), stichtag_of(s.year)) for s in snaps])
    block = g.addr_block[addr]
    columns: dict[str, object] = {
        "stichtag": stichtag,
        "person_key": cat(pid, labels.person),
        "birth_year": p.birth_year[pid].astype(np.int64),
        "birth_month": p.birth_month[pid].astype(np.int64),
        "age": np.concatenate([s.age for s in snaps]),
        "sex": cat(p.sex[pid], labels.sex),
        "nationality_1": cat(p.nat1[pid], labels.nationality),
        "nationality_2": cat(p.nat2[pid], labels.nationality),
        "migration_background": cat(np.where(p.migbg[pid], 0, 1), ["j", "n"]),
        "address_id": cat(addr, labels.address),
        "block_code": cat(block, labels.block),
        "street_key": cat(g.addr_street[addr], labels.street_key),
        "house_number": g.addr_number[addr].astype(np.int64),
        "house_number_suffix": cat(g.addr_suffix[addr] - 1, labels.suffix),
        "household_key": cat(np.concatenate([s.hh for s in snaps]), labels.household),
        "moved_in_date": datetimes(np.concatenate([s.moved_in for s in snaps])),
        "residence_status": cat(p.secondary[pid].astype(np.int64), ["H", "N"]),
        "address_known": block >= 0,
    }
    return pd.DataFrame(columns)


def movement_order(ev: YearEvents, person_key: np.ndarray) -> np.ndarray:
    """File order of a year's events: by date, then person key, then event type."""
    return np.lexsort((ev.event, person_key[ev.pid], ev.day))


def movements(raw: RawData, labels: Labels) -> pd.DataFrame:
    g = raw.geo
    parts = []
    for year in sorted(raw.events):
        ev = raw.events[year]
        order = movement_order(ev, raw.people.key)
        parts.append((year, ev.pid[order], ev.event[order], ev.day[order], ev.from_addr[order], ev.to_addr[order]))
    year = np.concatenate([np.full(len(p[1]), p[0]) for p in parts])
    pid, event, day, from_addr, to_addr = (np.concatenate([p[k] for p in parts]) for k in range(1, 6))
    columns: dict[str, object] = {
        "year": year.astype(np.int64),
        "person_key": cat(pid, labels.person),
        "event_type": cat(event, list(EVENT_TYPES)),
        "event_date": datetimes(day),
    }
    columns.update(address_columns("from_", from_addr, g, labels))
    columns.update(address_columns("to_", to_addr, g, labels))
    return pd.DataFrame(columns)


def write(out: Path, sim: Simulation, con: duckdb.DuckDBPyConnection) -> list[Path]:
    paths = []
    for stichtag in sim.config.stichtag_dates:
        year, stamp = stichtag.year, stichtag.strftime("%Y%m%d")
        paths.append(write_register(con, out / "einwohner" / f"EWR_Bestand_{stamp}.csv", sim, year))
        paths.append(write_movements(con, out / "bewegungen" / f"EWR_Bewegungen_{year}.csv", sim, year))
    return paths


def write_register(con: duckdb.DuckDBPyConnection, path: Path, sim: Simulation, year: int) -> Path:
    raw = sim.raw
    g, p = raw.geo, raw.people
    snap = raw.snapshots[year]
    order = np.argsort(p.key[snap.pid], kind="stable")  # file order: by person key
    pid, addr, hh, moved_in = snap.pid[order], snap.addr[order], snap.hh[order], snap.moved_in[order]
    frame = pd.DataFrame(
        {
            "k": p.key[pid],
            "birth_year": p.birth_year[pid],
            "birth_month": p.birth_month[pid],
            "sex": p.sex[pid].astype(np.int64),
            "nat1": p.nat1[pid].astype(np.int64),
            "nat2": p.nat2[pid].astype(np.int64),
            "migbg": p.migbg[pid],
            "street_key": g.street_keys[g.addr_street[addr]],
            "house_number": g.addr_number[addr],
            "suffix": g.addr_suffix[addr],
            "household": raw.household_code[hh],
            "moved_in": moved_in.astype("datetime64[D]"),
            "secondary": p.secondary[pid],
        }
    )
    key_expr = "street_key::VARCHAR" if year <= STREET_KEY_UNPADDED_UNTIL else "lpad(street_key::VARCHAR, 5, '0')"
    household_header = "Haushaltsnummer" if year >= HOUSEHOLD_HEADER_RENAMED_FROM else "Haushalts_ID"
    nat = list_literal(hhmod.NATIONALITY_CODES)
    query = f"""
        SELECT lpad(lower(to_hex(k)), 16, '0') AS Personen_ID,
               birth_year AS Geburtsjahr,
               birth_month AS Geburtsmonat,
               {list_literal(hhmod.SEX_CODES)}[sex + 1] AS Geschlecht,
               {nat}[nat1 + 1] AS Staatsangehoerigkeit_1,
               CASE WHEN nat2 >= 0 THEN {nat}[nat2 + 1] END AS Staatsangehoerigkeit_2,
               CASE WHEN migbg THEN 'j' ELSE 'n' END AS Migrationshintergrund,
               {key_expr} AS Strassenschluessel,
               house_number AS Hausnummer,
               CASE WHEN suffix > 0 THEN chr(96 + suffix::INTEGER) END AS Hausnummernzusatz,
               'H' || lpad(household::VARCHAR, 8, '0') AS {household_header},
               strftime(moved_in, '%d.%m.%Y') AS Einzugsdatum,
               CASE WHEN secondary THEN 'N' ELSE 'H' END AS Wohnungsstatus
        FROM register_frame
    """
    con.register("register_frame", frame)
    try:
        return copy_csv(con, path, query, "cp1252")
    finally:
        con.unregister("register_frame")


def write_movements(con: duckdb.DuckDBPyConnection, path: Path, sim: Simulation, year: int) -> Path:
    raw = sim.raw
    g, p = raw.geo, raw.people
    ev = raw.events[year]
    order = movement_order(ev, p.key)

    def address(addr: np.ndarray) -> dict[str, np.ndarray]:
        has = addr >= 0
        a = np.where(has, addr, 0)
        return {
            "key": np.where(has, g.street_keys[g.addr_street[a]], -1),
            "number": np.where(has, g.addr_number[a], -1),
            "suffix": np.where(has, g.addr_suffix[a], 0),
        }

    src, dst = address(ev.from_addr[order]), address(ev.to_addr[order])
    frame = pd.DataFrame(
        {
            "k": p.key[ev.pid[order]],
            "event": ev.event[order].astype(np.int64),
            "day": ev.day[order].astype("datetime64[D]"),
            **{f"from_{name}": values for name, values in src.items()},
            **{f"to_{name}": values for name, values in dst.items()},
        }
    )

    def columns(prefix: str, label: str) -> str:
        return f"""
               CASE WHEN {prefix}_key >= 0 THEN lpad({prefix}_key::VARCHAR, 5, '0') END AS {label}_Strassenschluessel,
               CASE WHEN {prefix}_number >= 0 THEN {prefix}_number END AS {label}_Hausnummer,
               CASE WHEN {prefix}_suffix > 0 THEN chr(96 + {prefix}_suffix::INTEGER) END AS {label}_Zusatz"""

    query = f"""
        SELECT lpad(lower(to_hex(k)), 16, '0') AS Personen_ID,
               {list_literal(list(EVENT_TYPES))}[event + 1] AS Bewegungsart,
               strftime(day, '%d.%m.%Y') AS Datum,{columns("from", "Von")},{columns("to", "Nach")}
        FROM movement_frame
    """
    con.register("movement_frame", frame)
    try:
        return copy_csv(con, path, query, "cp1252")
    finally:
        con.unregister("movement_frame")
