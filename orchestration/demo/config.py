"""Configuration of the demo city and the sizes derived from it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date

from . import names

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
# A Gemeinde without Stadtbezirke: its north and south halves (internal only, never published) hold
# three Gemeindeteile each.
STADTTEILE_WITHOUT_BEZIRKE: tuple[int, ...] = (3, 3)
RESIDENTS_PER_BLOCK = 100
RESIDENTS_PER_ADDRESS = 6.5
MIN_BLOCKS = 120
MIN_VIERTEL_RESIDENTS = 10 * RESIDENTS_PER_BLOCK


@dataclass(frozen=True)
class Gemeinde:
    """Who the simulated Stadt is. The default is Musterstadt alone; a Stadt of a Kreis (kreis.py)
    gets its AGS and a code prefix, so that simulating it yields Kreis-unique codes directly.

    ags: Amtlicher Gemeindeschlüssel (8 digits), the code of the Gemeinde unit.
    name: the Stadt's name (Gebietsgliederung, BA title, planning note).
    code_prefix: '' or three digits put before every area code below the Gemeinde ('004' + '01'),
        every Baublock code ('004' + '00001') and every address id ('A' + '004' + '000001').
    offset_m: (east, north) shift of the whole Stadt in metres (EPSG:25832), so that the Städte of
        a Kreis lie side by side.
    stadtbezirke: whether the Stadt has Stadtbezirke; without, its Stadtteile (Gemeindeteile, six of
        them) have the Gemeinde as parent.
    stadtviertel: whether the Stadt has Stadtviertel; without, its Baublöcke are assigned directly to
        the Stadtteile (and no Stadtviertel is recut).
    postcode_base: a Baublock's postcode is this + 100 × its (internal) Stadtbezirk's number + 10 ×
        half its Stadtteil's rank in the Stadtbezirk: Städte of a Kreis get their own postcodes.
    number_slot: None, or the slot (0 to number_slots - 1) that leads every case, household, child
        and pupil number of the Stadt, so that a Kreis-wide department's numbers never collide
        between its Städte.
    number_slots: how many slots the numbers are split into: 10 (one leading digit, a Kreis of up
        to ten Städte), 100 (two leading digits, up to 100 Städte, each with a hundredth of the
        numbers) or 1000 (three, more Städte, each with a thousandth).
    sozialraum_columns: Sozialräume per row (two rows).
    sozialraum_codes: the code of each Sozialraum (north row west to east, then the south row);
        None = 'SR01'…. A Kreis gives two neighbouring Städte one shared code: a Sozialraum across the
        Gemeinde border.
    """

    ags: str = names.GEMEINDE_CODE
    name: str = names.GEMEINDE_NAME
    code_prefix: str = ""
    offset_m: tuple[float, float] = (0.0, 0.0)
    stadtbezirke: bool = True
    stadtviertel: bool = True
    postcode_base: int = 98_000
    number_slot: int | None = None
    number_slots: int = 10
    sozialraum_columns: int = N_SOZIALRAUM_COLUMNS
    sozialraum_codes: tuple[str, ...] | None = None
    # Stadtteile per Stadtbezirk (an even number of Stadtbezirke, two rows), or per internal half
    # without Stadtbezirke; None: Musterstadt's 20 Stadtteile (STADTTEILE_PER_BEZIRK), or six
    # Gemeindeteile without Stadtbezirke. A small Stadt of a Kreis has fewer.
    stadtteile: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{8}", self.ags):
            raise ValueError(f"ags={self.ags!r}: an Amtlicher Gemeindeschlüssel has 8 digits")
        if not re.fullmatch(r"(\d{3})?", self.code_prefix):
            raise ValueError(f"code_prefix={self.code_prefix!r}: empty or three digits")
        if self.number_slots not in (10, 100, 1_000):
            raise ValueError(f"number_slots={self.number_slots}: 10, 100 or 1000")
        if self.number_slot is not None and not 0 <= self.number_slot < self.number_slots:
            raise ValueError(f"number_slot={self.number_slot}: from 0 to {self.number_slots - 1}")
        if not 1 <= self.sozialraum_columns <= 6:
            raise ValueError(f"sozialraum_columns={self.sozialraum_columns}: from 1 to 6")
        n = self.sozialraum_columns * N_SOZIALRAUM_ROWS
        if self.sozialraum_codes is not None and len(self.sozialraum_codes) != n:
            raise ValueError(f"sozialraum_codes: {len(self.sozialraum_codes)} codes for {n} Sozialräume")
        if self.stadtteile is not None and (
            len(self.stadtteile) < 2 or len(self.stadtteile) % 2 or min(self.stadtteile) < 1 or max(self.stadtteile) > 9
        ):
            raise ValueError(
                f"stadtteile={self.stadtteile}: an even number (at least two) of groups of 1 to 9 Stadtteile"
            )

    @property
    def numbering(self) -> tuple[int | None, int]:
        """The slot and the number of slots of its case numbers (streams.case_numbers)."""
        return self.number_slot, self.number_slots

    @property
    def levels(self) -> tuple[str, ...]:
        """The nested levels the Stadt has, smallest first."""
        return tuple(
            level
            for level, present in (
                ("stadtviertel", self.stadtviertel),
                ("stadtteil", True),
                ("stadtbezirk", self.stadtbezirke),
                ("gemeinde", True),
            )
            if present
        )

    @property
    def stadtteile_per_bezirk(self) -> tuple[int, ...]:
        if self.stadtteile is not None:
            return self.stadtteile
        return STADTTEILE_PER_BEZIRK if self.stadtbezirke else STADTTEILE_WITHOUT_BEZIRKE


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
    gemeinde: who the Stadt is (default: Musterstadt alone; see `Gemeinde`).
    """

    residents: int = 100_000
    seed: int = 20241231
    stichtage: tuple[str, ...] = DEFAULT_STICHTAGE
    viertel_residents: int | None = None
    gemeinde: Gemeinde = field(default_factory=Gemeinde)

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
    viertel = max(2, round(residents / (viertel_residents * N_STADTTEILE)))  # the demo's 20 Stadtteile
    return Sizes(nx=nx, ny=ny, n_addresses=addresses, viertel_per_stadtteil=viertel, max_viertel_per_stadtteil=99)
