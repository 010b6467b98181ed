"""Gesundheitsamt: the Schuleingangsuntersuchung, one row per examined child (contract
gesundheitsamt_seu).

Truth: `school_entry` (one row per examined child per Stichtag). File:
gesundheitsamt/SEU_Einschulung_YYYY.csv (cp1252, ';', CRLF); the address as typed.

Deliberate mess: header Familiensprache → Erstsprache from 2022.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import children as kids
from ..files import write_csv
from ..frames import Labels, codes, concat, stichtag_of, typed_columns

if TYPE_CHECKING:
    import duckdb

    from ..simulation import RawData, Simulation
    from ..streams import Streams

CONTRACTS = ("gesundheitsamt_seu",)  # orchestration/contracts/*.yml

SEU_HEADERS = [
    "Untersuchungsnummer",
    "Geburtsmonat",
    "Geschlecht",
    "Strasse",
    "Hausnummer",
    "Sprachfoerderbedarf",
    "Gewichtsstatus",
    "Koerperkoordination",
    "Vorsorgeheft",
    "Familiensprache",
]
SEU_LANGUAGE_HEADER_RENAMED_FROM = 2022  # Familiensprache → Erstsprache


def truth(raw: RawData, labels: Labels, streams: Streams) -> dict[str, pd.DataFrame]:
    p = raw.people
    parts = []
    for year in sorted(raw.children):
        s = raw.children[year].school_entry
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(s.pid), stichtag_of(year)),
                "exam_number": codes(f"SEU{year % 100:02d}-", s.exam_code, 5),
                "person_key": labels.person[s.pid],
                "birth_year": p.birth_year[s.pid].astype(np.int64),
                "birth_month": p.birth_month[s.pid].astype(np.int64),
                "age": (year - p.birth_year[s.pid]).astype(np.int64),
                "sex": labels.sex[p.sex[s.pid]],
                "language_support": np.array(kids.LANGUAGE_SUPPORT, dtype=object)[s.language_support],
                "weight_status": np.array(kids.WEIGHT_STATUS, dtype=object)[s.weight_status],
                "motor_findings": np.array(kids.MOTOR_FINDINGS, dtype=object)[s.motor_findings],
                "checkup_booklet": np.array(kids.CHECKUP_BOOKLET, dtype=object)[s.checkup_booklet],
                "family_language": np.array(kids.FAMILY_LANGUAGE, dtype=object)[s.family_language],
                **typed_columns(labels, streams, "gesundheitsamt", year, s.address, s.pid),
            }
        )
        parts.append(frame.sort_values("exam_number", kind="stable"))
    return {"school_entry": concat(parts, []).reset_index(drop=True)}


def write(out: Path, sim: Simulation, con: duckdb.DuckDBPyConnection) -> list[Path]:
    return [
        write_school_entry(out / "gesundheitsamt" / f"SEU_Einschulung_{stichtag.year}.csv", sim.school_entry, stichtag)
        for stichtag in sim.config.stichtag_dates
    ]


def write_school_entry(path: Path, school_entry: pd.DataFrame, stichtag: date) -> Path:
    """The Stichtag's rows of `school_entry`; a Kreis-wide file (frame with a `gemeinde` column)
    starts with the column Gemeinde."""
    s = school_entry[school_entry["stichtag"] == pd.Timestamp(stichtag)]
    language_header = "Erstsprache" if stichtag.year >= SEU_LANGUAGE_HEADER_RENAMED_FROM else "Familiensprache"
    birth_month = np.char.add(
        np.char.add(np.char.zfill(s["birth_month"].to_numpy().astype(str), 2), "."),
        s["birth_year"].to_numpy().astype(str),
    )
    frame = pd.DataFrame(
        {
            **({"Gemeinde": s["gemeinde"]} if "gemeinde" in s else {}),
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
    return write_csv(path, frame, "cp1252", "\r\n")
