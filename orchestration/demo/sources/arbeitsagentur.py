"""Bundesagentur für Arbeit: labour market per Baublock (contract ba_labour_market).

Truth: `unemployment` (true counts per block with residents, before the BA's suppression). File:
arbeitsagentur/BA_Arbeitsmarkt_Baublock_YYYY12.xlsx (title block, header, one row per block, total,
footnotes); '-' for zero, '*' for 1 and 2.

Deliberate mess: block codes as numbers in 2019–2021.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl import Workbook

from ..frames import Labels, concat, stichtag_of
from ..xlsx import save_reproducibly

if TYPE_CHECKING:
    import duckdb

    from ..simulation import RawData, Simulation
    from ..streams import Streams

CONTRACTS = ("ba_labour_market",)  # orchestration/contracts/*.yml

BA_HEADERS = [
    "Baublock",
    "Arbeitslose insgesamt",
    "Arbeitslose SGB III",
    "Arbeitslose SGB II",
    "Langzeitarbeitslose",
    "SV-Beschäftigte am Wohnort",
    "Geringverdiener am Wohnort",
]
BA_CODES_NUMERIC_UNTIL = 2021  # Baublock 1 instead of '00001'


def truth(raw: RawData, labels: Labels, streams: Streams) -> dict[str, pd.DataFrame]:
    parts = []
    for year in sorted(raw.benefits):
        lab = raw.benefits[year].labour
        # low earners among the employees at their residence: more in poorer blocks
        share = np.clip(0.19 * np.exp(0.3 * raw.geo.poverty[lab.block]), 0.08, 0.45)
        low_earners = streams.get("low_earners", year).binomial(lab.employees, share).astype(np.int64)
        parts.append(
            pd.DataFrame(
                {
                    "stichtag": np.full(len(lab.block), stichtag_of(year)),
                    "block_code": labels.block[lab.block],
                    "unemployed_total": lab.unemployed_sgb3 + lab.unemployed_sgb2,
                    "unemployed_sgb3": lab.unemployed_sgb3,
                    "unemployed_sgb2": lab.unemployed_sgb2,
                    "long_term_unemployed": lab.long_term,
                    "employees_svb": lab.employees,
                    "low_earners": low_earners,
                }
            ).sort_values("block_code", kind="stable")
        )
    return {"unemployment": concat(parts, []).reset_index(drop=True)}


def write(out: Path, sim: Simulation, con: duckdb.DuckDBPyConnection) -> list[Path]:
    folder = out / "arbeitsagentur"
    return [
        write_labour_market(folder / f"BA_Arbeitsmarkt_Baublock_{stichtag.year}12.xlsx", sim, stichtag)
        for stichtag in sim.config.stichtag_dates
    ]


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
    ws.append([f"{sim.config.gemeinde.name}, Dezember {year}"])
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
