"""Stadtplanungsamt: housing stock per Stadtviertel (contract planung_wohnen).

Truth: `housing_blocks` (the stock per Baublock, which no department delivers) and `housing` (exactly
what the file says: the block stock summed per Stadtviertel of the Gebietsstand valid at the
Stichtag). The stock itself is simulated in `housing.py`. File:
planung/Wohnungsbestand_Stadtviertel_YYYY.csv (cp1252, ';', decimal comma, thousands point, CRLF,
total row and source note).

A Gemeinde without Stadtviertel has no such file: its planning office counts per Stadtviertel and it
has none (a missing delivery; its `housing` truth is empty, `housing_blocks` is there all the same).

Deliberate mess: Stadtviertel codes without the leading zero in 2019/2020, '-' for zero counts.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..config import RECUT_DATE
from ..files import german_number, write_csv
from ..frames import Labels, concat, stichtag_of, sum_by

if TYPE_CHECKING:
    import duckdb

    from ..simulation import RawData, Simulation
    from ..streams import Streams

CONTRACTS = ("planung_wohnen",)  # orchestration/contracts/*.yml

HOUSING_HEADERS = ["Stadtviertel", "Wohnungen", "Wohnflaeche_m2", "Sozialwohnungen", "Fertigstellungen"]
HOUSING_COLUMNS = ["dwellings", "living_space_m2", "social_dwellings", "completions"]
HOUSING_CODES_UNPADDED_UNTIL = 2020  # Stadtviertel '111' instead of '0111'


def truth(raw: RawData, labels: Labels, streams: Streams) -> dict[str, pd.DataFrame]:
    return {"housing_blocks": housing_blocks(raw, labels), "housing": housing(raw)}


def housing_blocks(raw: RawData, labels: Labels) -> pd.DataFrame:
    parts = []
    for year in sorted(raw.housing):
        h = raw.housing[year]
        parts.append(
            pd.DataFrame(
                {
                    "stichtag": np.full(len(h.dwellings), stichtag_of(year)),
                    "block_code": labels.block,
                    "dwellings": h.dwellings,
                    "living_space_m2": h.living_space,
                    "social_dwellings": h.social,
                    "completions": h.completions,
                }
            ).sort_values("block_code", kind="stable")
        )
    return concat(parts, ["stichtag", "block_code", *HOUSING_COLUMNS]).reset_index(drop=True)


def housing(raw: RawData) -> pd.DataFrame:
    """The housing stock per Stadtviertel of the Gebietsstand valid at each Stichtag."""
    g = raw.geo
    viertel_codes = np.array(g.viertel_codes, dtype=object)
    parts = []
    if not g.gemeinde.stadtviertel:
        return concat([], ["stichtag", "area_code", *HOUSING_COLUMNS])
    for year in sorted(raw.housing):
        h = raw.housing[year]
        viertel = g.viertel_after if date(year, 12, 31) >= RECUT_DATE else g.viertel_before
        present = np.unique(viertel)
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(present), stichtag_of(year)),
                "area_code": viertel_codes[present],
                "dwellings": sum_by(viertel, present, h.dwellings).round().astype(np.int64),
                "living_space_m2": sum_by(viertel, present, h.living_space).round(2),
                "social_dwellings": sum_by(viertel, present, h.social).round().astype(np.int64),
                "completions": sum_by(viertel, present, h.completions).round().astype(np.int64),
            }
        )
        parts.append(frame.sort_values("area_code", kind="stable"))
    return concat(parts, ["stichtag", "area_code", *HOUSING_COLUMNS]).reset_index(drop=True)


def write(out: Path, sim: Simulation, con: duckdb.DuckDBPyConnection) -> list[Path]:
    if not sim.config.gemeinde.stadtviertel:
        return []  # a missing delivery: see the module docstring
    return [
        write_housing(out / "planung" / f"Wohnungsbestand_Stadtviertel_{stichtag.year}.csv", sim, stichtag)
        for stichtag in sim.config.stichtag_dates
    ]


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
        [code, _count_cell(dw), german_number(space, 2), _count_cell(social), _count_cell(done)]
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
            german_number(float(h["living_space_m2"].sum()), 2),
            str(int(total["social_dwellings"])),
            str(int(total["completions"])),
        ]
    )
    note = (
        f"Quelle: Stadtplanungsamt {sim.config.gemeinde.name}, "
        f"Fortschreibung des Gebäude- und Wohnungsbestands {gebietsstand}"
    )
    rows.append([note, "", "", "", ""])
    return write_csv(path, pd.DataFrame(rows, columns=HOUSING_HEADERS), "cp1252", "\r\n")
