"""Jugendamt: children in day care (Kita) at the Stichtag (contract jugendamt_kita).

Truth: `daycare` (one row per child in day care per Stichtag). File:
jugendamt/Kita_Belegung_YYYYMMDD.csv (UTF-8 with BOM, ';', CRLF); the address as typed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..files import german_date, write_csv
from ..frames import Labels, codes, concat, datetimes, stichtag_of, typed_columns

if TYPE_CHECKING:
    import duckdb

    from ..simulation import RawData, Simulation
    from ..streams import Streams

CONTRACTS = ("jugendamt_kita",)  # orchestration/contracts/*.yml

KITA_HEADERS = ["Kind_Nr", "Geburtsdatum", "Strasse", "Hausnummer", "Betreuungsumfang_Std", "Einrichtung"]


def truth(raw: RawData, labels: Labels, streams: Streams) -> dict[str, pd.DataFrame]:
    p = raw.people
    parts = []
    for year in sorted(raw.children):
        d = raw.children[year].daycare
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(d.pid), stichtag_of(year)),
                "child_number": codes("K", d.child_code, 7),
                "person_key": labels.person[d.pid],
                "birth_date": datetimes(p.birth_day[d.pid]),
                "age": (year - p.birth_year[d.pid]).astype(np.int64),
                "care_hours": d.care_hours.astype(np.int64),
                "facility": codes("Kita ", d.facility, 3),
                **typed_columns(labels, streams, "jugendamt", year, d.address, d.pid),
            }
        )
        parts.append(frame.sort_values("child_number", kind="stable"))
    return {"daycare": concat(parts, []).reset_index(drop=True)}


def write(out: Path, sim: Simulation, con: duckdb.DuckDBPyConnection) -> list[Path]:
    return [
        write_daycare(out / "jugendamt" / f"Kita_Belegung_{stichtag:%Y%m%d}.csv", sim.daycare, stichtag)
        for stichtag in sim.config.stichtag_dates
    ]


def write_daycare(path: Path, daycare: pd.DataFrame, stichtag: date) -> Path:
    """The Stichtag's rows of `daycare`; a Kreis-wide file (frame with a `gemeinde` column) starts
    with the column Gemeinde."""
    d = daycare[daycare["stichtag"] == pd.Timestamp(stichtag)]
    frame = pd.DataFrame(
        {
            **({"Gemeinde": d["gemeinde"]} if "gemeinde" in d else {}),
            "Kind_Nr": d["child_number"],
            "Geburtsdatum": german_date(d["birth_date"]),
            "Strasse": d["street_name"],
            "Hausnummer": d["house_number_text"],
            "Betreuungsumfang_Std": d["care_hours"],
            "Einrichtung": d["facility"],
        }
    )
    return write_csv(path, frame, "utf-8-sig", "\r\n")
