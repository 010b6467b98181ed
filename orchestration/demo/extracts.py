"""`generate()`: write every department extract of Musterstadt as its source contract describes it.

Files (under the raw/ folder), per contract in orchestration/contracts/:
- gebiete/adressen.csv, gebietsgliederung.csv, baublock_zuordnung.csv (UTF-8, ';', LF),
  gebiete/baubloecke.geojson (EPSG:25832);
- einwohner/EWR_Bestand_YYYYMMDD.csv and bewegungen/EWR_Bewegungen_YYYY.csv (cp1252, ';', CRLF);
- arbeitsagentur/BA_Arbeitsmarkt_Baublock_YYYY12.xlsx (title block, header, blocks, total, footnotes);
- jobcenter/JC_SGB2_Personen_YYYYMMDD.csv (UTF-8 with BOM, ';', CRLF, total row at the end);
- sozialamt/SGB12_Faelle_YYYYMMDD.xlsx (sheet Fallliste, real date cells);
- wohngeld/Wohngeld_YYYYMMDD.csv (cp1252, ';', CRLF);
- gesundheitsamt/SEU_Einschulung_YYYY.csv (cp1252, ';', CRLF);
- jugendamt/Kita_Belegung_YYYYMMDD.csv (UTF-8 with BOM, ';', CRLF);
- schulamt/Uebergaenge_Sek1_YYYY.csv (cp1252, ';', CRLF, total row at the end);
- planung/Wohnungsbestand_Stadtviertel_YYYY.csv (cp1252, ';', decimal comma, thousands point, CRLF,
  total row and source note; one row per Stadtviertel of the Gebietsstand at the Stichtag);
- umwelt/Umwelt_Baublock_YYYY.csv (UTF-8, ',', decimal point, LF).

Deliberate mess that the contracts tolerate: register header Haushalts_ID → Haushaltsnummer from
2022, register street keys without leading zeros in 2019/2020, Wohngeld header Haushaltsgroesse →
Anzahl_Haushaltsmitglieder from 2023, BA block codes as numbers in 2019–2021, addresses typed in many
spellings, a few addresses that no register knows, SEU header Familiensprache → Erstsprache from 2022,
Stadtviertel codes without the leading zero in the housing files of 2019/2020, '-' for zero counts.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from . import households as hhmod
from .config import RECUT_DATE, DemoConfig
from .population import EVENT_TYPES
from .truth import Simulation, movement_order, simulate
from .xlsx import save_reproducibly

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
ADDRESS_HEADERS = [
    "Adress_ID", "Strassenschluessel", "Strassenname", "Hausnummer", "Zusatz", "Baublock", "PLZ",
    "Rechtswert", "Hochwert", "Gueltig_ab", "Gueltig_bis",
]
AREA_HEADERS = ["Ebene", "Schluessel", "Name", "Oberbezirk", "Gueltig_ab", "Gueltig_bis"]
MEMBERSHIP_HEADERS = ["Baublock", "Ebene", "Schluessel", "Gueltig_ab", "Gueltig_bis"]
BA_HEADERS = [
    "Baublock", "Arbeitslose insgesamt", "Arbeitslose SGB III", "Arbeitslose SGB II", "Langzeitarbeitslose",
    "SV-Beschäftigte am Wohnort", "Geringverdiener am Wohnort",
]
JOBCENTER_HEADERS = [
    "BG_Nummer", "Person_lfd", "Alter", "Geschlecht", "Erwerbsfaehig", "Strasse", "Hausnummer", "PLZ",
    "Leistungsmonate", "Leistungsanspruch_EUR",
]
SOZIALAMT_HEADERS = [
    "Aktenzeichen", "Leistungsart", "Geburtsjahr", "Geschlecht", "Strasse", "Hausnummer", "Leistungsbeginn",
]
WOHNGELD_HEADERS = ["Antragsnummer", "Strasse", "Hausnummer", "Haushaltsgroesse", "Wohngeld_EUR", "Bewilligt_bis"]
SEU_HEADERS = [
    "Untersuchungsnummer", "Geburtsmonat", "Geschlecht", "Strasse", "Hausnummer", "Sprachfoerderbedarf",
    "Gewichtsstatus", "Koerperkoordination", "Vorsorgeheft", "Familiensprache",
]
KITA_HEADERS = ["Kind_Nr", "Geburtsdatum", "Strasse", "Hausnummer", "Betreuungsumfang_Std", "Einrichtung"]
TRANSITION_HEADERS = ["Schueler_Nr", "Strasse", "Hausnummer", "Schulform"]
HOUSING_HEADERS = ["Stadtviertel", "Wohnungen", "Wohnflaeche_m2", "Sozialwohnungen", "Fertigstellungen"]
ENVIRONMENT_HEADERS = ["Baublock", "Flaeche_m2", "Gruenflaeche_m2", "Laermbelastete_Flaeche_m2"]
# fmt: on

# the deliberate mess, by year
HOUSEHOLD_HEADER_RENAMED_FROM = 2022  # Haushalts_ID → Haushaltsnummer
STREET_KEY_UNPADDED_UNTIL = 2020  # Strassenschluessel '123' instead of '00123'
WOHNGELD_HEADER_RENAMED_FROM = 2023  # Haushaltsgroesse → Anzahl_Haushaltsmitglieder
BA_CODES_NUMERIC_UNTIL = 2021  # Baublock 1 instead of '00001'
SEU_LANGUAGE_HEADER_RENAMED_FROM = 2022  # Familiensprache → Erstsprache
HOUSING_CODES_UNPADDED_UNTIL = 2020  # Stadtviertel '111' instead of '0111'

CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}


DEMO_MARKER = ".demo-city"
GENERATING_MARKER = ".demo-generating"


def generate(out_dir: Path, cfg: DemoConfig | None = None) -> list[Path]:
    """Simulate Musterstadt and write all extracts under `out_dir` (the raw/ folder).

    Existing files of the same names are overwritten; other files are left alone. Returns the
    written paths, sorted.
    """
    cfg = cfg or DemoConfig()
    out = Path(out_dir)
    # Written first and removed last: a generation killed halfway leaves it behind, and the next
    # run regenerates instead of stopping at half a city without its marker.
    out.mkdir(parents=True, exist_ok=True)
    (out / GENERATING_MARKER).write_text("the demo generator is writing this folder\n", encoding="utf-8")
    sim = simulate(cfg)
    written: list[Path] = []
    written += write_geography(out / "gebiete", sim)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    try:
        for stichtag in cfg.stichtag_dates:
            year = stichtag.year
            stamp = stichtag.strftime("%Y%m%d")
            written.append(write_register(con, out / "einwohner" / f"EWR_Bestand_{stamp}.csv", sim, year))
            written.append(write_movements(con, out / "bewegungen" / f"EWR_Bewegungen_{year}.csv", sim, year))
            ba_path = out / "arbeitsagentur" / f"BA_Arbeitsmarkt_Baublock_{year}12.xlsx"
            written.append(write_labour_market(ba_path, sim, stichtag))
            written.append(write_jobcenter(out / "jobcenter" / f"JC_SGB2_Personen_{stamp}.csv", sim, stichtag))
            written.append(write_sozialamt(out / "sozialamt" / f"SGB12_Faelle_{stamp}.xlsx", sim, stichtag))
            written.append(write_wohngeld(out / "wohngeld" / f"Wohngeld_{stamp}.csv", sim, stichtag))
            written.append(write_school_entry(out / "gesundheitsamt" / f"SEU_Einschulung_{year}.csv", sim, stichtag))
            written.append(write_daycare(out / "jugendamt" / f"Kita_Belegung_{stamp}.csv", sim, stichtag))
            written.append(write_transitions(out / "schulamt" / f"Uebergaenge_Sek1_{year}.csv", sim, stichtag))
            housing_path = out / "planung" / f"Wohnungsbestand_Stadtviertel_{year}.csv"
            written.append(write_housing(housing_path, sim, stichtag))
            written.append(write_environment(out / "umwelt" / f"Umwelt_Baublock_{year}.csv", sim, stichtag))
    finally:
        con.close()
    # Marks raw/ as the demo city: only then may ingestion fall back to the published demo key.
    # It lists every written file with its SHA-256: the demo key is refused for any other file.
    listing = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out).as_posix()}\n" for p in sorted(written)
    )
    (out / DEMO_MARKER).write_text(
        "Musterstadt: simulated extracts. Ingestion pseudonymises them with the published demo key\n"
        "(orchestration/demo/demo_pseudonym.key), and only the files listed below, unchanged.\n"
        "Never put real extracts into this folder.\n" + listing,
        encoding="utf-8",
    )
    (out / GENERATING_MARKER).unlink()
    return sorted(written)


# --------------------------------------------------------------------------------------------------
# text helpers


def german_decimal(values: np.ndarray | pd.Series, thousands: bool) -> np.ndarray:
    """1234.5 → '1.234,50' (or '1234,50' without thousands separator), vectorised; below one million."""
    cents = np.rint(np.asarray(values, dtype=float) * 100).astype(np.int64)
    if (cents < 0).any() or (cents >= 100_000_000_000).any():
        raise ValueError("german_decimal expects amounts from 0 to below one million (or coordinates)")
    units, fraction = np.divmod(cents, 100)
    whole = units.astype(str)
    if thousands:
        high, low = np.divmod(units, 1000)
        if (high >= 1000).any():
            raise ValueError("german_decimal with thousands separator expects amounts below one million")
        grouped = np.char.add(np.char.add(high.astype(str), "."), np.char.zfill(low.astype(str), 3))
        whole = np.where(high > 0, grouped, whole)
    return np.char.add(np.char.add(whole, ","), np.char.zfill(fraction.astype(str), 2)).astype(object)


def german_date(values: pd.Series) -> pd.Series:
    return pd.Series(values).dt.strftime("%d.%m.%Y")


def _write_csv(path: Path, frame: pd.DataFrame, encoding: str, newline: str, sep: str = ";") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = frame.to_csv(sep=sep, index=False, lineterminator=newline, na_rep="")
    path.write_bytes(text.encode(encoding))
    return path


def _copy_csv(con: duckdb.DuckDBPyConnection, path: Path, query: str, encoding: str) -> Path:
    """Write a query result with DuckDB (fast), then CRLF line ends and the target encoding."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    target = tmp.as_posix().replace("'", "''")
    con.execute(f"COPY ({query}) TO '{target}' (FORMAT csv, HEADER true, DELIMITER ';')")
    data = tmp.read_bytes().replace(b"\n", b"\r\n")
    if not data.isascii():
        data = data.decode("utf-8").encode(encoding)
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------------------------
# gebiete


def write_geography(folder: Path, sim: Simulation) -> list[Path]:
    g = sim.raw.geo
    a = sim.addresses
    addresses = pd.DataFrame(
        {
            "Adress_ID": a["address_id"],
            "Strassenschluessel": a["street_key"],
            "Strassenname": a["street_name"],
            "Hausnummer": a["house_number"],
            "Zusatz": a["house_number_suffix"],
            "Baublock": a["block_code"],
            "PLZ": a["postcode"],
            "Rechtswert": german_decimal(a["x"], thousands=False),
            "Hochwert": german_decimal(a["y"], thousands=False),
            "Gueltig_ab": german_date(a["valid_from"]),
            "Gueltig_bis": german_date(a["valid_to"]),
        }
    )
    ar = sim.areas
    areas = pd.DataFrame(
        {
            "Ebene": ar["level"],
            "Schluessel": ar["area_code"],
            "Name": ar["area_name"],
            "Oberbezirk": ar["parent_code"],
            "Gueltig_ab": german_date(ar["valid_from"]),
            "Gueltig_bis": german_date(ar["valid_to"]),
        }
    )
    m = sim.membership
    membership = pd.DataFrame(
        {
            "Baublock": m["block_code"],
            "Ebene": m["level"],
            "Schluessel": m["area_code"],
            "Gueltig_ab": german_date(m["valid_from"]),
            "Gueltig_bis": german_date(m["valid_to"]),
        }
    )
    paths = [
        _write_csv(folder / "adressen.csv", addresses, "utf-8", "\n"),
        _write_csv(folder / "gebietsgliederung.csv", areas, "utf-8", "\n"),
        _write_csv(folder / "baublock_zuordnung.csv", membership, "utf-8", "\n"),
    ]
    order = np.argsort(g.block_number, kind="stable")
    rings = np.round(g.polygons, 2)
    features = [
        {
            "type": "Feature",
            "properties": {"Baublock": f"{int(g.block_number[b]):05d}"},
            "geometry": {"type": "Polygon", "coordinates": [rings[b].tolist()]},
        }
        for b in order
    ]
    collection = {"type": "FeatureCollection", "name": "baubloecke", "crs": CRS, "features": features}
    geojson = folder / "baubloecke.geojson"
    geojson.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    paths.append(geojson)
    return paths


# --------------------------------------------------------------------------------------------------
# register


def _list_literal(values: list[str] | np.ndarray) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


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
    nat = _list_literal(hhmod.NATIONALITY_CODES)
    query = f"""
        SELECT lpad(lower(to_hex(k)), 16, '0') AS Personen_ID,
               birth_year AS Geburtsjahr,
               birth_month AS Geburtsmonat,
               {_list_literal(hhmod.SEX_CODES)}[sex + 1] AS Geschlecht,
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
        return _copy_csv(con, path, query, "cp1252")
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
               {_list_literal(list(EVENT_TYPES))}[event + 1] AS Bewegungsart,
               strftime(day, '%d.%m.%Y') AS Datum,{columns("from", "Von")},{columns("to", "Nach")}
        FROM movement_frame
    """
    con.register("movement_frame", frame)
    try:
        return _copy_csv(con, path, query, "cp1252")
    finally:
        con.unregister("movement_frame")


# --------------------------------------------------------------------------------------------------
# Bundesagentur für Arbeit


def _ba_cell(value: int) -> int | str:
    if value == 0:
        return "-"
    if value in (1, 2):
        return "*"
    return int(value)


def write_labour_market(path: Path, sim: Simulation, stichtag: date, low_earners: bool = True) -> Path:
    """The BA workbook; `low_earners=False` writes the older layout without 'Geringverdiener am Wohnort'."""
    year = stichtag.year
    u = sim.unemployment
    rows = u[u["stichtag"] == pd.Timestamp(stichtag)]
    columns = ["unemployed_total", "unemployed_sgb3", "unemployed_sgb2", "long_term_unemployed", "employees_svb"]
    headers = BA_HEADERS[: len(columns) + 1]
    if low_earners:
        columns.append("low_earners")
        headers = BA_HEADERS
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Arbeitsmarkt")
    ws.append(["Arbeitsmarktstatistik nach Baublöcken"])
    ws.append([f"Musterstadt, Dezember {year}"])
    ws.append([])
    ws.append(headers)
    numeric = year <= BA_CODES_NUMERIC_UNTIL
    codes = rows["block_code"].astype(str).tolist()
    values = rows[columns].to_numpy(dtype=np.int64)
    for code, counts in zip(codes, values, strict=True):  # one row per block
        ws.append([int(code) if numeric else code, *(_ba_cell(v) for v in counts)])
    ws.append(["Insgesamt", *(int(v) for v in values.sum(0))])
    ws.append(["*) Aus Datenschutzgründen werden Werte von 1 und 2 anonymisiert."])
    ws.append(["Quelle: Statistik der Bundesagentur für Arbeit"])
    path.parent.mkdir(parents=True, exist_ok=True)
    save_reproducibly(wb, path)
    return path


# --------------------------------------------------------------------------------------------------
# Jobcenter, Sozialamt, Wohngeldstelle


def write_jobcenter(path: Path, sim: Simulation, stichtag: date) -> Path:
    s = sim.sgb2[sim.sgb2["stichtag"] == pd.Timestamp(stichtag)]
    frame = pd.DataFrame(
        {
            "BG_Nummer": s["bg_number"],
            "Person_lfd": s["member_number"].astype(str),
            "Alter": s["age"],
            "Geschlecht": s["sex"],
            "Erwerbsfaehig": s["employable"],
            "Strasse": s["street_name"],
            "Hausnummer": s["house_number_text"],
            "PLZ": s["postcode"],
            "Leistungsmonate": s["months_in_receipt"],
            "Leistungsanspruch_EUR": german_decimal(s["entitlement_eur"], thousands=True),
        }
    ).astype(object)
    total_row = {name: None for name in JOBCENTER_HEADERS} | {"BG_Nummer": "Summe", "Person_lfd": str(len(s))}
    total = pd.DataFrame([total_row])
    frame = pd.concat([frame, total], ignore_index=True)
    return _write_csv(path, frame, "utf-8-sig", "\r\n")


def write_sozialamt(path: Path, sim: Simulation, stichtag: date) -> Path:
    s = sim.sgb12[sim.sgb12["stichtag"] == pd.Timestamp(stichtag)]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Fallliste")
    ws.append(SOZIALAMT_HEADERS)
    starts = [d.date() for d in pd.to_datetime(s["benefit_start"]).dt.to_pydatetime()]
    records = zip(
        s["case_number"].tolist(),
        s["benefit_type"].tolist(),
        s["birth_year"].tolist(),
        s["sex"].tolist(),
        s["street_name"].tolist(),
        s["house_number_text"].tolist(),
        starts,
        strict=True,
    )
    for case, kind, birth_year, sex, street, number, start in records:  # one row per case
        cell = WriteOnlyCell(ws, value=start)
        cell.number_format = "DD.MM.YYYY"
        ws.append([case, kind, int(birth_year), sex, street, number, cell])
    path.parent.mkdir(parents=True, exist_ok=True)
    save_reproducibly(wb, path)
    return path


def write_wohngeld(path: Path, sim: Simulation, stichtag: date) -> Path:
    w = sim.wohngeld[sim.wohngeld["stichtag"] == pd.Timestamp(stichtag)]
    size_header = "Anzahl_Haushaltsmitglieder" if stichtag.year >= WOHNGELD_HEADER_RENAMED_FROM else "Haushaltsgroesse"
    frame = pd.DataFrame(
        {
            "Antragsnummer": w["application_number"],
            "Strasse": w["street_name"],
            "Hausnummer": w["house_number_text"],
            size_header: w["household_size"],
            "Wohngeld_EUR": german_decimal(w["benefit_eur"], thousands=True),
            "Bewilligt_bis": german_date(w["approved_until"]),
        }
    )
    return _write_csv(path, frame, "cp1252", "\r\n")


# --------------------------------------------------------------------------------------------------
# Gesundheitsamt, Jugendamt, Schulamt


def write_school_entry(path: Path, sim: Simulation, stichtag: date) -> Path:
    s = sim.school_entry[sim.school_entry["stichtag"] == pd.Timestamp(stichtag)]
    language_header = "Erstsprache" if stichtag.year >= SEU_LANGUAGE_HEADER_RENAMED_FROM else "Familiensprache"
    birth_month = np.char.add(
        np.char.add(np.char.zfill(s["birth_month"].to_numpy().astype(str), 2), "."),
        s["birth_year"].to_numpy().astype(str),
    )
    frame = pd.DataFrame(
        {
            "Untersuchungsnummer": s["exam_number"],
            "Geburtsmonat": birth_month,
            "Geschlecht": s["sex"],
            "Strasse": s["street_name"],
            "Hausnummer": s["house_number_text"],
            "Sprachfoerderbedarf": s["language_support"],
            "Gewichtsstatus": s["weight_status"],
            "Koerperkoordination": s["motor_findings"],
            "Vorsorgeheft": s["checkup_booklet"],
            language_header: s["family_language"],
        }
    )
    return _write_csv(path, frame, "cp1252", "\r\n")


def write_daycare(path: Path, sim: Simulation, stichtag: date) -> Path:
    d = sim.daycare[sim.daycare["stichtag"] == pd.Timestamp(stichtag)]
    frame = pd.DataFrame(
        {
            "Kind_Nr": d["child_number"],
            "Geburtsdatum": german_date(d["birth_date"]),
            "Strasse": d["street_name"],
            "Hausnummer": d["house_number_text"],
            "Betreuungsumfang_Std": d["care_hours"],
            "Einrichtung": d["facility"],
        }
    )
    return _write_csv(path, frame, "utf-8-sig", "\r\n")


def write_transitions(path: Path, sim: Simulation, stichtag: date) -> Path:
    t = sim.school_transitions[sim.school_transitions["stichtag"] == pd.Timestamp(stichtag)]
    frame = pd.DataFrame(
        {
            "Schueler_Nr": t["pupil_number"],
            "Strasse": t["street_name"],
            "Hausnummer": t["house_number_text"],
            "Schulform": t["school_type"],
        }
    ).astype(object)
    total = pd.DataFrame([{"Schueler_Nr": "Summe", "Strasse": None, "Hausnummer": None, "Schulform": str(len(t))}])
    return _write_csv(path, pd.concat([frame, total], ignore_index=True), "cp1252", "\r\n")


# --------------------------------------------------------------------------------------------------
# Stadtplanungsamt, Umweltamt


def _german_number(value: float, decimals: int) -> str:
    """12345.5 → '12.345,50' (thousands point, decimal comma), any size."""
    return f"{value:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _count_cell(value: int) -> str:
    return "-" if value == 0 else str(int(value))


def write_housing(path: Path, sim: Simulation, stichtag: date) -> Path:
    year = stichtag.year
    h = sim.housing[sim.housing["stichtag"] == pd.Timestamp(stichtag)]
    codes = h["area_code"].astype(str)
    if year <= HOUSING_CODES_UNPADDED_UNTIL:
        codes = codes.str.lstrip("0")
    counts = ["dwellings", "social_dwellings", "completions"]
    rows = [
        [code, _count_cell(dw), _german_number(space, 2), _count_cell(social), _count_cell(done)]
        for code, dw, space, social, done in zip(
            codes, h["dwellings"], h["living_space_m2"], h["social_dwellings"], h["completions"], strict=True
        )
    ]
    total = h[counts].sum()
    gebietsstand = "nach Gebietsstand 01.01.2022" if stichtag >= RECUT_DATE else "nach Gebietsstand bis 31.12.2021"
    rows.append(
        [
            "Gesamt",
            str(int(total["dwellings"])),
            _german_number(float(h["living_space_m2"].sum()), 2),
            str(int(total["social_dwellings"])),
            str(int(total["completions"])),
        ]
    )
    note = f"Quelle: Stadtplanungsamt Musterstadt, Fortschreibung des Gebäude- und Wohnungsbestands {gebietsstand}"
    rows.append([note, "", "", "", ""])
    return _write_csv(path, pd.DataFrame(rows, columns=HOUSING_HEADERS), "cp1252", "\r\n")


def write_environment(path: Path, sim: Simulation, stichtag: date) -> Path:
    e = sim.environment[sim.environment["stichtag"] == pd.Timestamp(stichtag)]
    frame = pd.DataFrame(
        {
            "Baublock": e["block_code"],
            "Flaeche_m2": e["area_m2"].map("{:.1f}".format),
            "Gruenflaeche_m2": e["green_m2"].map("{:.1f}".format),
            "Laermbelastete_Flaeche_m2": e["noise_m2"].map("{:.1f}".format),
        }
    )
    return _write_csv(path, frame, "utf-8", "\n", sep=",")
