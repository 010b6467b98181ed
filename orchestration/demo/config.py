"""Configuration of the demo city and the sizes derived from it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

DEFAULT_STICHTAGE: tuple[str, ...] = (
    "2019-12-31",
    "2020-12-31",
    "2021-12-31",
    "2022-12-31",
    "2023-12-31",
    "2024-12-31",
)

# The one Stadtviertel that is recut, and when (Gebietsstand change).
RECUT_DATE = date(2022, 1, 1)
# Validity start of every other spatial unit and of every address.
BASE_VALID_FROM = date(2000, 1, 1)

N_BEZIRKE = 6
STADTTEILE_PER_BEZIRK: tuple[int, ...] = (3, 4, 3, 4, 3, 3)  # 20 Stadtteile
N_STADTTEILE = sum(STADTTEILE_PER_BEZIRK)
N_SOZIALRAUM_COLUMNS = 4
N_SOZIALRAUM_ROWS = 2  # 8 Sozialräume
RESIDENTS_PER_BLOCK = 100
RESIDENTS_PER_ADDRESS = 6.5
MIN_BLOCKS = 120
MIN_VIERTEL_RESIDENTS = 10 * RESIDENTS_PER_BLOCK


@dataclass(frozen=True)
class DemoConfig:
    """What to generate. The same configuration always gives byte-identical files.

    residents: size of the population at the start of the simulation (31.12. before the first
        Stichtag); the first Stichtag differs from it by one year of births, deaths and migration.
    seed: seed of every random stream.
    stichtage: reporting dates, each a 31 December (ISO strings), ascending.
    viertel_residents: residents per Stadtviertel, about (Berlin's 542 Planungsräume hold about
        7,200 each). Default (None): the demo's structure, 2 to 7 Stadtviertel per Stadtteil,
        growing with the square root of the residents. Stadtviertel codes get two digits where a
        Stadtteil has more than nine.
    """

    residents: int = 100_000
    seed: int = 20241231
    stichtage: tuple[str, ...] = DEFAULT_STICHTAGE
    viertel_residents: int | None = None

    def __post_init__(self) -> None:
        if self.residents < 1_000:
            raise ValueError(f"residents={self.residents}: Musterstadt needs at least 1,000 residents")
        if not self.stichtage:
            raise ValueError("stichtage is empty: give at least one reporting date")
        parsed = [date.fromisoformat(s) for s in self.stichtage]
        for text, day in zip(self.stichtage, parsed, strict=True):
            if (day.month, day.day) != (12, 31):
                raise ValueError(f"Stichtag {text} is not a 31 December; the simulation steps by calendar year")
        if parsed != sorted(set(parsed)):
            raise ValueError(f"stichtage {self.stichtage} must be ascending and distinct")
        if self.viertel_residents is not None and self.viertel_residents < MIN_VIERTEL_RESIDENTS:
            raise ValueError(
                f"viertel_residents={self.viertel_residents}: a Stadtviertel needs at least "
                f"{MIN_VIERTEL_RESIDENTS:,} residents (ten Baublöcke)"
            )

    @property
    def stichtag_dates(self) -> tuple[date, ...]:
        return tuple(date.fromisoformat(s) for s in self.stichtage)

    @property
    def years(self) -> tuple[int, ...]:
        """Every simulated calendar year, from the first Stichtag's year to the last one's."""
        dates = self.stichtag_dates
        return tuple(range(dates[0].year, dates[-1].year + 1))


@dataclass(frozen=True)
class Sizes:
    """Counts derived from the number of residents."""

    nx: int  # grid columns of Baublöcke
    ny: int  # grid rows
    n_addresses: int
    viertel_per_stadtteil: int
    # the demo's structure caps a Stadtteil at 7 Stadtviertel; a given Stadtviertel size does not
    max_viertel_per_stadtteil: int = 7

    @property
    def n_blocks(self) -> int:
        return self.nx * self.ny


def sizes_for(residents: int, viertel_residents: int | None = None) -> Sizes:
    """About 100 residents per Baublock and 6–7 per address; Stadtviertel grow with the square root
    of the residents (2 to 7 per Stadtteil), or have about `viertel_residents` each."""
    n_blocks = max(MIN_BLOCKS, round(residents / RESIDENTS_PER_BLOCK))
    nx = math.ceil(math.sqrt(n_blocks * 1.2))
    ny = max(2, round(n_blocks / nx))
    addresses = round(residents / RESIDENTS_PER_ADDRESS)
    if viertel_residents is None:
        viertel = min(7, max(2, round(4 * math.sqrt(residents / 100_000))))
        return Sizes(nx=nx, ny=ny, n_addresses=addresses, viertel_per_stadtteil=viertel)
    viertel = max(2, round(residents / (viertel_residents * N_STADTTEILE)))
    return Sizes(nx=nx, ny=ny, n_addresses=addresses, viertel_per_stadtteil=viertel, max_viertel_per_stadtteil=99)
