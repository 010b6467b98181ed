"""Jobcenter: SGB II (Grundsicherung für Arbeitsuchende) per person (contract jobcenter_sgb2).

Truth: `sgb2` (one row per member of a Bedarfsgemeinschaft per Stichtag). File:
jobcenter/JC_SGB2_Personen_YYYYMMDD.csv (UTF-8 with BOM, ';', CRLF, total row at the end); the
address as typed, in many spellings.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..files import german_decimal, write_csv
from ..frames import Labels, concat, stichtag_of, typed_columns

if TYPE_CHECKING:
    import duckdb

    from ..simulation import RawData, Simulation
    from ..streams import Streams

CONTRACTS = ("jobcenter_sgb2",)  # orchestration/contracts/*.yml

JOBCENTER_HEADERS = [
    "BG_Nummer",
    "Person_lfd",
    "Alter",
    "Geschlecht",
    "Erwerbsfaehig",
    "Strasse",
    "Hausnummer",
    "PLZ",
    "Leistungsmonate",
    "Leistungsanspruch_EUR",
]


def truth(raw: RawData, labels: Labels, streams: Streams) -> dict[str, pd.DataFrame]:
    p = raw.people
    parts = []
    for year in sorted(raw.benefits):
        s = raw.benefits[year].sgb2
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(s.pid), stichtag_of(year)),
                "bg_number": np.char.add("BG", np.char.zfill(s.bg_code.astype(str), 7)).astype(object),
                "member_number": s.member.astype(np.int64),
                "person_key": labels.person[s.pid],
                "household_key": labels.household[s.hh],
                "age": s.age.astype(np.int64),
                "sex": labels.sex[p.sex[s.pid]],
                "employable": np.where(s.employable, "j", "n").astype(object),
                "months_in_receipt": s.months.astype(np.int64),
                "entitlement_eur": s.entitlement,
                **typed_columns(labels, streams, "jobcenter", year, s.address, s.hh),
            }
        )
        parts.append(frame.sort_values(["bg_number", "member_number"], kind="stable"))
    return {"sgb2": concat(parts, []).reset_index(drop=True)}


def write(out: Path, sim: Simulation, con: duckdb.DuckDBPyConnection) -> list[Path]:
    return [
        write_jobcenter(out / "jobcenter" / f"JC_SGB2_Personen_{stichtag:%Y%m%d}.csv", sim.sgb2, stichtag)
        for stichtag in sim.config.stichtag_dates
    ]


def write_jobcenter(path: Path, sgb2: pd.DataFrame, stichtag: date) -> Path:
    """The Stichtag's rows of `sgb2`; a Kreis-wide file (frame with a `gemeinde` column) starts with
    the column Gemeinde."""
    s = sgb2[sgb2["stichtag"] == pd.Timestamp(stichtag)]
    frame = pd.DataFrame(
        {
            **({"Gemeinde": s["gemeinde"]} if "gemeinde" in s else {}),
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
    total_row = {name: None for name in frame.columns} | {"BG_Nummer": "Summe", "Person_lfd": str(len(s))}
    total = pd.DataFrame([total_row])
    frame = pd.concat([frame, total], ignore_index=True)
    return write_csv(path, frame, "utf-8-sig", "\r\n")
