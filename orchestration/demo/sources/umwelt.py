"""Umweltamt: green space and road noise per Baublock (contract umwelt_baublock).

Truth: `environment` (one row per Baublock per Stichtag); the figures are simulated in `housing.py`.
File: umwelt/Umwelt_Baublock_YYYY.csv (UTF-8, ',', decimal point, LF).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..files import write_csv
from ..frames import Labels, concat, stichtag_of

if TYPE_CHECKING:
    import duckdb

    from ..simulation import RawData, Simulation
    from ..streams import Streams

CONTRACTS = ("umwelt_baublock",)  # orchestration/contracts/*.yml

ENVIRONMENT_HEADERS = ["Baublock", "Flaeche_m2", "Gruenflaeche_m2", "Laermbelastete_Flaeche_m2"]


def truth(raw: RawData, labels: Labels, streams: Streams) -> dict[str, pd.DataFrame]:
    parts = []
    for year in sorted(raw.environment):
        e = raw.environment[year]
        parts.append(
            pd.DataFrame(
                {
                    "stichtag": np.full(len(e.area), stichtag_of(year)),
                    "block_code": labels.block,
                    "area_m2": e.area,
                    "green_m2": e.green,
                    "noise_m2": e.noise,
                }
            ).sort_values("block_code", kind="stable")
        )
    columns = ["stichtag", "block_code", "area_m2", "green_m2", "noise_m2"]
    return {"environment": concat(parts, columns).reset_index(drop=True)}


def write(out: Path, sim: Simulation, con: duckdb.DuckDBPyConnection) -> list[Path]:
    return [
        write_environment(out / "umwelt" / f"Umwelt_Baublock_{stichtag.year}.csv", sim.environment, stichtag)
        for stichtag in sim.config.stichtag_dates
    ]


def write_environment(path: Path, environment: pd.DataFrame, stichtag: date) -> Path:
    """The Stichtag's rows of `environment` (one Stadt's, or a Kreis's: the Baublock codes tell the
    Gemeinde, so the file has no Gemeinde column)."""
    e = environment[environment["stichtag"] == pd.Timestamp(stichtag)]
    frame = pd.DataFrame(
        {
            "Baublock": e["block_code"],
            "Flaeche_m2": e["area_m2"].map("{:.1f}".format),
            "Gruenflaeche_m2": e["green_m2"].map("{:.1f}".format),
            "Laermbelastete_Flaeche_m2": e["noise_m2"].map("{:.1f}".format),
        }
    )
    return write_csv(path, frame, "utf-8", "\n", sep=",")
