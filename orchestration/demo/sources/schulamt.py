"""Schulamt: transitions from grade 4 to a secondary school (contract schulamt_uebergaenge).

Truth: `school_transitions` (one row per pupil per Stichtag). File:
schulamt/Uebergaenge_Sek1_YYYY.csv (cp1252, ';', CRLF, total row at the end); the address as typed.
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

CONTRACTS = ("schulamt_uebergaenge",)  # orchestration/contracts/*.yml

TRANSITION_HEADERS = ["Schueler_Nr", "Strasse", "Hausnummer", "Schulform"]


def truth(raw: RawData, labels: Labels, streams: Streams) -> dict[str, pd.DataFrame]:
    parts = []
    for year in sorted(raw.children):
        t = raw.children[year].transitions
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(t.pid), stichtag_of(year)),
                "pupil_number": codes("S", t.pupil_code, 6),
                "person_key": labels.person[t.pid],
                "school_type": np.array(kids.SCHOOL_TYPES, dtype=object)[t.school_type],
                **typed_columns(labels, streams, "schulamt", year, t.address, t.pid),
            }
        )
        parts.append(frame.sort_values("pupil_number", kind="stable"))
    return {"school_transitions": concat(parts, []).reset_index(drop=True)}


def write(out: Path, sim: Simulation, con: duckdb.DuckDBPyConnection) -> list[Path]:
    return [
        write_transitions(out / "schulamt" / f"Uebergaenge_Sek1_{stichtag.year}.csv", sim.school_transitions, stichtag)
        for stichtag in sim.config.stichtag_dates
    ]


def write_transitions(path: Path, transitions: pd.DataFrame, stichtag: date) -> Path:
    """The Stichtag's rows of `transitions`; a Kreis-wide file (frame with a `gemeinde` column)
    starts with the column Gemeinde."""
    t = transitions[transitions["stichtag"] == pd.Timestamp(stichtag)]
    frame = pd.DataFrame(
        {
            **({"Gemeinde": t["gemeinde"]} if "gemeinde" in t else {}),
            "Schueler_Nr": t["pupil_number"],
            "Strasse": t["street_name"],
            "Hausnummer": t["house_number_text"],
            "Schulform": t["school_type"],
        }
    ).astype(object)
    total = pd.DataFrame([{name: None for name in frame.columns} | {"Schueler_Nr": "Summe", "Schulform": str(len(t))}])
    return write_csv(path, pd.concat([frame, total], ignore_index=True), "cp1252", "\r\n")
