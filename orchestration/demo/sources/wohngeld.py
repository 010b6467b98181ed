"""Wohngeldstelle: Wohngeld per household (contract wohngeld).

Truth: `wohngeld` (one row per household per Stichtag). File: wohngeld/Wohngeld_YYYYMMDD.csv
(cp1252, ';', CRLF); the address as typed.

Deliberate mess: header Haushaltsgroesse → Anzahl_Haushaltsmitglieder from 2023.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..files import german_date, german_decimal, write_csv
from ..frames import Labels, concat, datetimes, stichtag_of, typed_columns

if TYPE_CHECKING:
    import duckdb

    from ..simulation import RawData, Simulation
    from ..streams import Streams

CONTRACTS = ("wohngeld",)  # orchestration/contracts/*.yml

WOHNGELD_HEADERS = ["Antragsnummer", "Strasse", "Hausnummer", "Haushaltsgroesse", "Wohngeld_EUR", "Bewilligt_bis"]
WOHNGELD_HEADER_RENAMED_FROM = 2023  # Haushaltsgroesse → Anzahl_Haushaltsmitglieder


def truth(raw: RawData, labels: Labels, streams: Streams) -> dict[str, pd.DataFrame]:
    parts = []
    for year in sorted(raw.benefits):
        w = raw.benefits[year].wohngeld
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(w.hh), stichtag_of(year)),
                "application_number": np.char.add("WG", np.char.zfill(w.application_code.astype(str), 7)).astype(
                    object
                ),
                "household_key": labels.household[w.hh],
                "household_size": w.size.astype(np.int64),
                "benefit_eur": w.amount,
                "approved_until": datetimes(w.approved_until),
                **typed_columns(labels, streams, "wohngeld", year, w.address, w.hh),
            }
        )
        parts.append(frame.sort_values("application_number", kind="stable"))
    return {"wohngeld": concat(parts, []).reset_index(drop=True)}


def write(out: Path, sim: Simulation, con: duckdb.DuckDBPyConnection) -> list[Path]:
    return [
        write_wohngeld(out / "wohngeld" / f"Wohngeld_{stichtag:%Y%m%d}.csv", sim, stichtag)
        for stichtag in sim.config.stichtag_dates
    ]


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
    return write_csv(path, frame, "cp1252", "\r\n")
