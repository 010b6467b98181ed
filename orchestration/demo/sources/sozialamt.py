"""Amt für Soziales: SGB XII cases, Grundsicherung im Alter und bei Erwerbsminderung and Hilfe zum
Lebensunterhalt (contract sozialamt_sgb12).

Truth: `sgb12` (one row per case per Stichtag). File: sozialamt/SGB12_Faelle_YYYYMMDD.xlsx (sheet
Fallliste, real date cells); the address as typed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ..frames import Labels, concat, datetimes, stichtag_of, typed_columns
from ..xlsx import save_reproducibly

if TYPE_CHECKING:
    import duckdb

    from ..simulation import RawData, Simulation
    from ..streams import Streams

CONTRACTS = ("sozialamt_sgb12",)  # orchestration/contracts/*.yml

SOZIALAMT_HEADERS = [
    "Aktenzeichen",
    "Leistungsart",
    "Geburtsjahr",
    "Geschlecht",
    "Strasse",
    "Hausnummer",
    "Leistungsbeginn",
]


def truth(raw: RawData, labels: Labels, streams: Streams) -> dict[str, pd.DataFrame]:
    p = raw.people
    parts = []
    for year in sorted(raw.benefits):
        s = raw.benefits[year].sgb12
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(s.pid), stichtag_of(year)),
                "case_number": np.char.add("S12-", np.char.zfill(s.case_code.astype(str), 6)).astype(object),
                "benefit_type": np.where(s.kind == 1, "GSiAE", "HLU").astype(object),
                "person_key": labels.person[s.pid],
                "birth_year": p.birth_year[s.pid].astype(np.int64),
                "sex": labels.sex[p.sex[s.pid]],
                **typed_columns(labels, streams, "sozialamt", year, s.address, s.pid),
                "benefit_start": datetimes(s.start),
            }
        )
        parts.append(frame.sort_values("case_number", kind="stable"))
    return {"sgb12": concat(parts, []).reset_index(drop=True)}


def write(out: Path, sim: Simulation, con: duckdb.DuckDBPyConnection) -> list[Path]:
    return [
        write_sozialamt(out / "sozialamt" / f"SGB12_Faelle_{stichtag:%Y%m%d}.xlsx", sim.sgb12, stichtag)
        for stichtag in sim.config.stichtag_dates
    ]


def write_sozialamt(path: Path, sgb12: pd.DataFrame, stichtag: date) -> Path:
    """The Stichtag's rows of `sgb12`; a Kreis-wide file (frame with a `gemeinde` column) starts with
    the column Gemeinde."""
    s = sgb12[sgb12["stichtag"] == pd.Timestamp(stichtag)]
    kreis = "gemeinde" in s
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Fallliste")
    ws.append(["Gemeinde", *SOZIALAMT_HEADERS] if kreis else SOZIALAMT_HEADERS)
    gemeinden = s["gemeinde"].tolist() if kreis else [None] * len(s)
    starts = [d.date() for d in pd.to_datetime(s["benefit_start"]).dt.to_pydatetime()]
    records = zip(
        s["case_number"].tolist(),
        s["benefit_type"].tolist(),
        s["birth_year"].tolist(),
        s["sex"].tolist(),
        s["street_name"].tolist(),
        s["house_number_text"].tolist(),
        starts,
        gemeinden,
        strict=True,
    )
    for case, kind, birth_year, sex, street, number, start, gemeinde in records:  # one row per case
        cell = WriteOnlyCell(ws, value=start)
        cell.number_format = "DD.MM.YYYY"
        row = [case, kind, int(birth_year), sex, street, number, cell]
        ws.append([gemeinde, *row] if kreis else row)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_reproducibly(wb, path)
    return path
