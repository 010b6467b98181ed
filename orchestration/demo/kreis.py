"""The Musterkreis: a seeded, deterministic demo Kreis of 4 to 600 Städte, written as a Kreis
deployment folder (issue 18, "A Kreis and its Städte": its shared design).

    from orchestration.demo.kreis import KreisConfig, generate_kreis, simulate_kreis
    kreis = simulate_kreis(KreisConfig())               # the truth, per Stadt and Kreis-wide
    paths = generate_kreis(Path("musterkreis"), KreisConfig())

Each Stadt is simulated on its own (its own seed and size) as Musterstadt is, with a `Gemeinde`
identity (config.py) that makes its codes Kreis-unique from the start: area codes below the Gemeinde
and Baublock codes carry the last three digits of the AGS ('004' + '01' Stadtbezirk, '00400001'
Baublock), address ids too ('A004000001'); case, household, child and pupil numbers are led by the
Stadt's digit (two digits in a Kreis of more than ten Städte, three beyond 100), so a Kreis-wide department's numbers
never collide. The Städte lie side by side from
west to east (EPSG:25832) and do not overlap; a Kreis of more than 40 Städte lays them out in rows of
20, north to south. Street keys stay local: they collide between Städte.

A Kreis of up to 600 Städte (`KreisConfig.uniform`) is what a Land's statistics office runs in one
warehouse (issue 19): several hundred Gemeinden. Beyond 100 Städte each Stadt has a thousandth of
every case number range (at most 6,000 residents each), and beyond 40 the Städte's postcodes follow
one another from 10000 on, as many as each Stadt's structure needs.

The default Musterkreis (code '05999', NRW, fictional):
- Lindenstadt (05999004, 80,000 residents): Stadtbezirke, Stadtteile and Stadtviertel, like Musterstadt;
- Bergheide (05999008, 45,000): Stadtbezirke and Stadtteile, no Stadtviertel: its Baublöcke belong
  directly to the Stadtteile;
- Talhausen (05999012, 30,000): like Lindenstadt;
- Wiesenau (05999016, 20,000): no Stadtbezirke: six Gemeindeteile (Stadtteile whose parent is the
  Gemeinde, Oberebene 'gemeinde') with Stadtviertel.
`KreisConfig.small()` is the same Kreis with 6,000 to 12,000 residents per Stadt, for tests.

Sozialräume are Kreis-wide ('SR01'…, parent the Kreis, Oberebene 'kreis'): each Stadt is tiled into
two rows of them (one column for a Stadt without Stadtbezirke, three below 50,000 residents, else
four; fewer where a small Stadt's Stadtteile do not allow that many that each cross a Stadtteil
border), numbered through from west to east; the north-east Sozialraum of the first Stadt and the
north-west one of the second are one Sozialraum across their Gemeinde border.

The folder DIR:
- DIR/raw/: the extracts (SOZIALMONITOR_RAW_DIR), each source in Musterstadt's format but for the
  additions the design names:
  - once for the Kreis: gebiete/gebietsgliederung.csv (with the column Oberebene and the unit of
    level kreis), gebiete/baublock_zuordnung.csv, gebiete/baubloecke.geojson;
  - per Stadt, the AGS in the file name: gebiete/adressen_<AGS>.csv,
    einwohner/EWR_Bestand_<AGS>_<YYYYMMDD>.csv, bewegungen/EWR_Bewegungen_<AGS>_<YYYY>.csv,
    wohngeld/Wohngeld_<AGS>_<YYYYMMDD>.csv, arbeitsagentur/BA_Arbeitsmarkt_Baublock_<AGS>_<YYYY>12.xlsx,
    planung/Wohnungsbestand_Stadtviertel_<AGS>_<YYYY>.csv. A Stadt without Stadtviertel delivers no
    planning file: its planning office counts per Stadtviertel and it has none (a missing delivery);
  - Kreis-wide, one file for all Städte, each record with a first column Gemeinde (AGS):
    jobcenter/JC_SGB2_Personen_<YYYYMMDD>.csv, sozialamt/SGB12_Faelle_<YYYYMMDD>.xlsx,
    gesundheitsamt/SEU_Einschulung_<YYYY>.csv, jugendamt/Kita_Belegung_<YYYYMMDD>.csv,
    schulamt/Uebergaenge_Sek1_<YYYY>.csv; and umwelt/Umwelt_Baublock_<YYYY>.csv (per Baublock, no
    Gemeinde column: the Baublock code tells it);
  - .demo-city, the demo marker listing every file (ingestion may use the published demo key).
- DIR/contracts/: the copies of orchestration/contracts/*.yml adapted to the Kreis (`kreis_contracts`),
  and the contract variants of Bergheide, whose register software is another vendor's: it delivers
  its register and movements in that software's format (OTHER_SOFTWARE: other headers, UTF-8 with
  commas, ISO dates, its own codes), read with register_persons@05999008.yml and
  register_movements@05999008.yml over the common contracts.
- DIR/vars.yml: dbt vars over dbt_project.yml's (SOZIALMONITOR_VARS_FILE): the levels with kreis.

Reads the warehouse's contracts as YAML files only: the generator imports nothing of the warehouse.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

from .config import DEFAULT_STICHTAGE, N_SOZIALRAUM_ROWS, DemoConfig, Gemeinde, sizes_for
from .extracts import GENERATING_MARKER, listed_demo_files, remove_stale_demo_files, write_demo_marker
from .files import write_csv
from .geography import sozialraum_columns_that_fit
from .simulation import Simulation
from .sources import (
    arbeitsagentur,
    geo,
    gesundheitsamt,
    jobcenter,
    jugendamt,
    planung,
    register,
    schulamt,
    sozialamt,
    umwelt,
    wohngeld,
)
from .streams import Streams
from .truth import simulate

__all__ = [
    "KREIS_WIDE_FRAMES",
    "KreisConfig",
    "KreisSimulation",
    "Stadt",
    "generate_kreis",
    "kreis_contracts",
    "other_software_variants",
    "simulate_kreis",
    "write_in_other_software",
]

CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "contracts"  # orchestration/contracts, read as YAML
GATES_FILE = Path(__file__).resolve().parents[2] / "data_quality" / "gates.yml"  # read as text
# A Stadt's own register and movements are a few thousand records: their count swings more from
# year to year than a city's, so the Kreis compares record counts from this many records on.
KREIS_MIN_RECORDS = 2_000
NESTED_LEVELS = ("stadtviertel", "stadtteil", "stadtbezirk", "gemeinde", "kreis")
SOZIALRAUM_LEVEL = "sozialraum"
# metres of open land between two neighbouring Städte (beyond the blocks' own spread)
GAP_M = 400.0
# widest column of Baublöcke (geography._grid draws 110 to 170 m)
MAX_COLUMN_M = 170.0
POSTCODE_BASE = 57_000  # + 1,000 per Stadt: the Städte have postcodes of their own
# Up to this many Städte lie in one row west to east, each with POSTCODE_BASE + 1,000 × its place
# (five digits): every Kreis of up to 40 Städte is generated as it always was.
ONE_ROW = 40
# Beyond ONE_ROW: rows of this many Städte, north to south, and postcodes one after the other from
# FIRST_POSTCODE on (a Stadt's postcodes are its base + 100 × (group + 1) + 10 × (rank // 2), for
# each of its Stadtbezirke, or internal halves, and the Stadtteil's rank in it: geography.py).
ROW_LENGTH = 20
FIRST_POSTCODE = 10_000
# At most this many Städte (a Kreis of more is refused; 999 would be the AGS's limit). Up to ten
# number their cases with one leading digit each, up to 100 with two, more with three
# (config.Gemeinde.number_slots). The postcodes stay five digits: beyond 100 Städte each has at most
# 6,000 residents and so two Stadtbezirke or halves, 150 postcodes apart (the 600th Stadt's base is
# 99,750, its postcodes at most base + 240); up to 100 Städte at most six, 550 apart.
MAX_STAEDTE = 600
# Beyond ten Städte each has a hundredth of every number range: its daycare numbers (one per child
# who ever lived there over the Stichtage, about 1.35 per resident over six) run out from about
# 74,000 residents. With a margin for more Stichtage:
MAX_RESIDENTS_BEYOND_TEN = 60_000
# Beyond 100 Städte a thousandth: the daycare numbers run out from about 7,400 residents.
MAX_RESIDENTS_BEYOND_HUNDRED = 6_000
# a Stadt is simulated as Musterstadt is, which needs at least this many (config.DemoConfig)
MIN_RESIDENTS = 1_000
# the highest row of Baublöcke (geography._grid draws 90 to 140 m)
MAX_ROW_M = 140.0

# The sources delivered per Stadt: contract → file pattern with the AGS group (the original pattern
# each replaces is checked, so that a change of the warehouse's contract is noticed here).
PER_STADT_PATTERNS: dict[str, tuple[str, str]] = {
    "geo_addresses": (r"adressen\.csv", r"adressen_(?P<gemeinde>\d{8})\.csv"),
    "register_persons": (
        r"EWR_Bestand_(?P<stichtag>\d{8})\.csv",
        r"EWR_Bestand_(?P<gemeinde>\d{8})_(?P<stichtag>\d{8})\.csv",
    ),
    "register_movements": (
        r"EWR_Bewegungen_(?P<year>\d{4})\.csv",
        r"EWR_Bewegungen_(?P<gemeinde>\d{8})_(?P<year>\d{4})\.csv",
    ),
    "wohngeld": (r"Wohngeld_(?P<stichtag>\d{8})\.csv", r"Wohngeld_(?P<gemeinde>\d{8})_(?P<stichtag>\d{8})\.csv"),
    "ba_labour_market": (
        r"BA_Arbeitsmarkt_Baublock_(?P<year>\d{4})12\.xlsx",
        r"BA_Arbeitsmarkt_Baublock_(?P<gemeinde>\d{8})_(?P<year>\d{4})12\.xlsx",
    ),
    "planung_wohnen": (
        r"Wohnungsbestand_Stadtviertel_(?P<year>\d{4})\.csv",
        r"Wohnungsbestand_Stadtviertel_(?P<gemeinde>\d{8})_(?P<year>\d{4})\.csv",
    ),
}
# The Stadt whose register software is another vendor's (Bergheide): it delivers its register and
# its movements in that software's format, read with a contract variant <source>@<AGS>.yml beside
# the Kreis's contract (docs/ingestion.md): its own headers (with umlauts), UTF-8, commas, ISO dates,
# sex as 1/2/3, the residence status as HW/NW and short codes for the movements. The same records
# as in the Musterstadt format: only how they are written differs.
OTHER_SOFTWARE_AGS = "05999008"
OTHER_SOFTWARE: dict[str, dict] = {
    "register_persons": {
        "description": "Bergheide's register software (another vendor): its own headers, UTF-8 with commas, "
        "ISO dates, sex as 1/2/3, the residence status as HW/NW.",
        "encoding": "utf-8",
        "delimiter": ",",
        "columns": [
            {"name": "person_key", "header": "Personennummer"},
            {"name": "sex", "header": "Geschlecht_Schlüssel", "recode": {"1": "m", "2": "w", "3": "d"}},
            {"name": "nationality_1", "header": "Staatsangehörigkeit"},
            {"name": "nationality_2", "header": "Zweite_Staatsangehörigkeit"},
            {"name": "street_key", "header": "Straßenschlüssel"},
            {"name": "house_number_suffix", "header": "Hausnummer_Zusatz"},
            {"name": "household_key", "header": "Haushalt_Nr", "aliases": []},
            {"name": "moved_in_date", "header": "Einzug_am", "date_format": "%Y-%m-%d"},
            {"name": "residence_status", "header": "Wohnsitz", "recode": {"HW": "H", "NW": "N"}},
        ],
    },
    "register_movements": {
        "description": "Bergheide's register software (another vendor): its own headers, UTF-8 with commas, "
        "ISO dates, short codes for the kinds of movement.",
        "encoding": "utf-8",
        "delimiter": ",",
        "columns": [
            {"name": "person_key", "header": "Personennummer"},
            {
                "name": "event_type",
                "header": "Vorgang",
                "recode": {"GEB": "GEBURT", "TOD": "STERBEFALL", "ZU": "ZUZUG", "FORT": "FORTZUG", "UM": "UMZUG"},
            },
            {"name": "event_date", "header": "Datum", "date_format": "%Y-%m-%d"},
            {"name": "from_street_key", "header": "Straßenschlüssel_bisher"},
            {"name": "from_house_number", "header": "Hausnummer_bisher"},
            {"name": "from_house_number_suffix", "header": "Zusatz_bisher"},
            {"name": "to_street_key", "header": "Straßenschlüssel_neu"},
            {"name": "to_house_number", "header": "Hausnummer_neu"},
            {"name": "to_house_number_suffix", "header": "Zusatz_neu"},
        ],
    },
}
# Kreis-wide sources whose records carry addresses: a column Gemeinde (AGS) in front.
KREIS_WIDE_WITH_GEMEINDE = (
    "jobcenter_sgb2",
    "sozialamt_sgb12",
    "gesundheitsamt_seu",
    "jugendamt_kita",
    "schulamt_uebergaenge",
)
GEMEINDE_COLUMN = {"name": "gemeinde", "header": "Gemeinde", "type": "code", "required": True, "pattern": r"^\d{8}$"}
# Truth frames of the Kreis-wide files (KreisSimulation.combined gives them with a gemeinde column).
KREIS_WIDE_FRAMES = ("sgb2", "sgb12", "school_entry", "daycare", "school_transitions", "environment")


@dataclass(frozen=True)
class Stadt:
    """One Stadt of the Kreis: its name, AGS (8 digits, starting with the Kreis's code), size, seed and
    which levels it has."""

    name: str
    ags: str
    residents: int
    seed: int
    stadtbezirke: bool = True
    stadtviertel: bool = True

    @property
    def levels(self) -> tuple[str, ...]:
        return Gemeinde(ags=self.ags, stadtbezirke=self.stadtbezirke, stadtviertel=self.stadtviertel).levels


MUSTERKREIS: tuple[Stadt, ...] = (
    Stadt("Lindenstadt", "05999004", 80_000, 5_999_004),
    Stadt("Bergheide", "05999008", 45_000, 5_999_008, stadtviertel=False),
    Stadt("Talhausen", "05999012", 30_000, 5_999_012),
    Stadt("Wiesenau", "05999016", 20_000, 5_999_016, stadtbezirke=False),
)
SMALL_RESIDENTS = (12_000, 9_000, 8_000, 6_000)
# About this many residents per Stadtteil: a small Stadt has fewer Stadtteile than Musterstadt's 20,
# so that its units stay large enough to publish (secondary suppression needs room).
RESIDENTS_PER_STADTTEIL = 1_500


def stadtteile_for(residents: int, stadtbezirke: bool) -> tuple[int, ...]:
    """Stadtteile per Stadtbezirk (two rows of Stadtbezirke), or per internal half without
    Stadtbezirke: about RESIDENTS_PER_STADTTEIL each, 4 to 20 in all (18 without Stadtbezirke)."""
    # without Stadtbezirke two groups of at most nine (config.Gemeinde: 1 to 9 Stadtteile per group)
    n = min(20 if stadtbezirke else 18, max(4, round(residents / RESIDENTS_PER_STADTTEIL)))
    groups = max(2, 2 * round(n / 6)) if stadtbezirke else 2
    base, extra = divmod(n, groups)
    return tuple(base + (1 if g < extra else 0) for g in range(groups))


@dataclass(frozen=True)
class KreisConfig:
    """What to generate: the Kreis's code and name, its Städte (west to east) and the Stichtage. The
    same configuration always gives byte-identical files."""

    staedte: tuple[Stadt, ...] = MUSTERKREIS
    stichtage: tuple[str, ...] = DEFAULT_STICHTAGE
    code: str = "05999"
    name: str = "Musterkreis"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{5}", self.code):
            raise ValueError(f"code={self.code!r}: a Kreis code has 5 digits")
        if not 4 <= len(self.staedte) <= MAX_STAEDTE:
            raise ValueError(f"{len(self.staedte)} Städte: a Musterkreis has 4 to {MAX_STAEDTE}")
        small = [f"{s.name} ({s.residents:,})" for s in self.staedte if s.residents < MIN_RESIDENTS]
        if small:
            raise ValueError(f"{', '.join(small[:5])}: a Stadt needs at least {MIN_RESIDENTS:,} residents")
        if self.number_slots > 10:
            most, part, beyond = (
                (MAX_RESIDENTS_BEYOND_TEN, "a hundredth", "ten")
                if self.number_slots == 100
                else (MAX_RESIDENTS_BEYOND_HUNDRED, "a thousandth", "100")
            )
            large = [f"{s.name} ({s.residents:,})" for s in self.staedte if s.residents > most]
            if large:
                raise ValueError(
                    f"{', '.join(large[:5])}{' …' if len(large) > 5 else ''}: a Kreis of more than {beyond} "
                    f"Städte gives each Stadt {part} of every case number range, enough for at most "
                    f"{most:,} residents per Stadt"
                )
        for stadt in self.staedte:
            if not re.fullmatch(rf"{self.code}\d{{3}}", stadt.ags):
                raise ValueError(f"{stadt.name}: AGS {stadt.ags!r} is not 8 digits starting with {self.code}")
        for what, values in (("AGS", [s.ags for s in self.staedte]), ("name", [s.name for s in self.staedte])):
            if len(set(values)) != len(values):
                raise ValueError(f"two Städte share a {what}: {values}")

    @property
    def number_slots(self) -> int:
        """Into how many parts every case number range is split (config.Gemeinde.number_slots): one
        per leading digit for up to ten Städte, one per two leading digits up to 100, one per three
        beyond."""
        n = len(self.staedte)
        return 10 if n <= 10 else 100 if n <= 100 else 1_000

    @property
    def postcode_bases(self) -> list[int]:
        """Each Stadt's postcode base (config.Gemeinde.postcode_base): POSTCODE_BASE + 1,000 × its
        place up to ONE_ROW Städte; beyond, one after the other from FIRST_POSTCODE on, each Stadt's
        lowest postcode (base + 100) right above the previous Stadt's highest (base + 100 × groups + 40)."""
        if len(self.staedte) <= ONE_ROW:
            return [POSTCODE_BASE + 1_000 * k for k in range(len(self.staedte))]
        bases, base = [], FIRST_POSTCODE - 100
        for stadt in self.staedte:
            bases.append(base)
            base += 100 * len(self._stadtteile(stadt)) - 50
        return bases

    @staticmethod
    def _stadtteile(stadt: Stadt) -> tuple[int, ...]:
        return stadtteile_for(stadt.residents, stadt.stadtbezirke)

    def offsets(self) -> list[tuple[float, float]]:
        """Each Stadt's (east, north) offset in metres from Musterstadt's centre (config.Gemeinde.offset_m):
        side by side west to east, GAP_M apart; beyond ONE_ROW Städte in rows of ROW_LENGTH, the rows
        north to south, GAP_M apart. The Kreis is centred where Musterstadt is."""
        n = len(self.staedte)
        rows = [range(n)] if n <= ONE_ROW else [range(i, min(i + ROW_LENGTH, n)) for i in range(0, n, ROW_LENGTH)]
        sizes = [sizes_for(s.residents) for s in self.staedte]
        heights = [max(MAX_ROW_M * sizes[k].ny for k in row) for row in rows]
        norths = 0.0 - _side_by_side(heights)  # the first row northernmost (0.0, not -0.0, for one row)
        out: list[tuple[float, float]] = []
        for row, north in zip(rows, norths, strict=True):
            out += [(float(x), float(north)) for x in _side_by_side([MAX_COLUMN_M * sizes[k].nx for k in row])]
        return out

    @classmethod
    def small(cls, stichtage: tuple[str, ...] = DEFAULT_STICHTAGE) -> KreisConfig:
        """The Musterkreis with 6,000 to 12,000 residents per Stadt (SMALL_RESIDENTS): fast, for tests."""
        staedte = tuple(
            Stadt(s.name, s.ags, residents, s.seed, s.stadtbezirke, s.stadtviertel)
            for s, residents in zip(MUSTERKREIS, SMALL_RESIDENTS, strict=True)
        )
        return cls(staedte=staedte, stichtage=stichtage)

    @classmethod
    def uniform(
        cls,
        n: int,
        residents: int,
        stichtage: tuple[str, ...] = DEFAULT_STICHTAGE,
        code: str = "05999",
        name: str = "Musterkreis",
        seed: int = 5_999_000,
    ) -> KreisConfig:
        """A Kreis of `n` Städte of `residents` each ('Gemeinde 1'…, AGS the Kreis's code + 001…,
        seeds `seed` + 1…), every fourth without Stadtbezirke and every third without Stadtviertel:
        the shape of a Land's many Gemeinden in one warehouse, for benchmarks (issue 19). From eight
        Städte on, 'Gemeinde 8' has the AGS of the Stadt whose register software is another
        vendor's (OTHER_SOFTWARE_AGS): it delivers in that software's format, as Bergheide does."""
        staedte = tuple(
            Stadt(
                f"Gemeinde {k}",
                f"{code}{k:03d}",
                residents,
                seed + k,
                stadtbezirke=k % 4 != 0,
                stadtviertel=k % 3 != 0,
            )
            for k in range(1, n + 1)
        )
        return cls(staedte=staedte, stichtage=stichtage, code=code, name=name)

    def demo_configs(self) -> list[DemoConfig]:
        """One DemoConfig per Stadt, with the identity that gives it Kreis-unique codes."""
        offsets, postcodes = self.offsets(), self.postcode_bases
        gemeinden = [
            Gemeinde(
                ags=s.ags,
                name=s.name,
                code_prefix=s.ags[5:],
                offset_m=offsets[k],
                stadtbezirke=s.stadtbezirke,
                stadtviertel=s.stadtviertel,
                postcode_base=postcodes[k],
                number_slot=k,
                number_slots=self.number_slots,
                sozialraum_columns=self._sozialraum_columns(s),
                stadtteile=self._stadtteile(s),
            )
            for k, s in enumerate(self.staedte)
        ]
        # as many columns as each Stadt's Stadtteile allow (a small Stadt with Stadtbezirke has
        # fewer), known before the Kreis-wide codes are numbered through
        columns = [
            sozialraum_columns_that_fit(sizes_for(s.residents), Streams(s.seed), g, g.sozialraum_columns)
            for s, g in zip(self.staedte, gemeinden, strict=True)
        ]
        codes = self._sozialraum_codes(columns)
        return [
            DemoConfig(
                residents=s.residents,
                seed=s.seed,
                stichtage=self.stichtage,
                gemeinde=replace(g, sozialraum_columns=columns[k], sozialraum_codes=codes[k]),
            )
            for k, (s, g) in enumerate(zip(self.staedte, gemeinden, strict=True))
        ]

    @staticmethod
    def _sozialraum_columns(stadt: Stadt) -> int:
        if not stadt.stadtbezirke:
            return 1
        return 4 if stadt.residents >= 50_000 else 3

    @staticmethod
    def _sozialraum_codes(columns: list[int]) -> list[tuple[str, ...]]:
        """Kreis-wide codes, numbered through west to east; the second Stadt's north-west Sozialraum
        is the first Stadt's north-east one (north row first in each Stadt)."""
        out: list[tuple[str, ...]] = []
        number = 0
        for k, n_cols in enumerate(columns):
            codes = []
            for local in range(n_cols * N_SOZIALRAUM_ROWS):
                if k == 1 and local == 0:
                    codes.append(out[0][columns[0] - 1])
                    continue
                number += 1
                codes.append(f"SR{number:02d}")
            out.append(tuple(codes))
        return out


def _side_by_side(lengths: list[float]) -> np.ndarray:
    """The centres of pieces of these lengths laid one after the other, GAP_M apart, centred on 0."""
    centres = np.cumsum([0.0] + [(a + b) / 2 + GAP_M for a, b in zip(lengths, lengths[1:], strict=False)])
    return centres - (centres[0] + centres[-1]) / 2


@dataclass
class KreisSimulation:
    """The Musterkreis's truth.

    staedte: AGS → the Stadt's `Simulation` (its frames as for Musterstadt, codes Kreis-unique; its
        `areas` name the Gemeinde as parent of its Sozialräume, the Kreis's `areas` below do not).
    areas: the Kreis's Gebietsgliederung, typed: level, area_code, area_name, parent_code,
        parent_level (None = the next nested level up; 'gemeinde' for the Stadtteile of a Stadt
        without Stadtbezirke, 'kreis' for the Sozialräume), valid_from, valid_to. One unit of level
        kreis, one of level gemeinde per Stadt (parent the Kreis).
    membership: the Kreis's Baublock membership (every Stadt's rows).
    blocks: every Stadt's `blocks` with a first column gemeinde (AGS).
    """

    config: KreisConfig
    staedte: dict[str, Simulation]
    areas: pd.DataFrame
    membership: pd.DataFrame
    blocks: pd.DataFrame
    _combined: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def combined(self, frame: str) -> pd.DataFrame:
        """A truth frame of every Stadt (`persons`, `sgb2`, …) with a first column gemeinde (AGS),
        the Städte in the Kreis's order; categorical columns become plain ones."""
        if frame not in self._combined:
            parts = []
            for ags, sim in self.staedte.items():
                part = getattr(sim, frame).copy()
                part.insert(0, "gemeinde", ags)
                parts.append(part)
            self._combined[frame] = pd.concat(parts, ignore_index=True)
        return self._combined[frame]


def simulate_kreis(cfg: KreisConfig | None = None) -> KreisSimulation:
    """Simulate every Stadt of the Kreis and assemble the Kreis-wide spatial frames; pure."""
    cfg = cfg or KreisConfig()
    staedte = {c.gemeinde.ags: simulate(c) for c in cfg.demo_configs()}
    return KreisSimulation(
        config=cfg,
        staedte=staedte,
        areas=_kreis_areas(cfg, staedte),
        membership=pd.concat([s.membership for s in staedte.values()], ignore_index=True),
        blocks=pd.concat(
            [s.blocks.assign(gemeinde=ags)[["gemeinde", *s.blocks.columns]] for ags, s in staedte.items()],
            ignore_index=True,
        ),
    )


def _kreis_areas(cfg: KreisConfig, staedte: dict[str, Simulation]) -> pd.DataFrame:
    first = next(iter(staedte.values())).areas
    base = first.loc[first["level"] == "gemeinde", "valid_from"].iloc[0]
    kreis = pd.DataFrame(
        [{"level": "kreis", "area_code": cfg.code, "area_name": cfg.name, "parent_code": None, "valid_from": base}]
    )
    parts = [kreis]
    sozialraeume: dict[str, list[str]] = {}
    for sim in staedte.values():
        gemeinde = sim.config.gemeinde
        areas = sim.areas.copy()
        areas["parent_level"] = None
        areas.loc[areas["level"] == "gemeinde", "parent_code"] = cfg.code
        if not gemeinde.stadtbezirke:
            areas.loc[areas["level"] == "stadtteil", "parent_level"] = "gemeinde"
        sr = areas["level"] == SOZIALRAUM_LEVEL
        for code, name in zip(areas.loc[sr, "area_code"], areas.loc[sr, "area_name"], strict=True):
            sozialraeume.setdefault(code, []).append(f"{name} ({gemeinde.name})")
        parts.append(areas[~sr])
    parts.append(
        pd.DataFrame(
            {
                "level": SOZIALRAUM_LEVEL,
                "area_code": list(sozialraeume),
                "area_name": [" / ".join(names) for names in sozialraeume.values()],
                "parent_code": cfg.code,
                "parent_level": "kreis",
                "valid_from": base,
            }
        )
    )
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[["level", "area_code", "area_name", "parent_code", "parent_level", "valid_from", "valid_to"]]
    frame["valid_from"] = pd.to_datetime(frame["valid_from"]).astype("datetime64[s]")
    frame["valid_to"] = pd.to_datetime(frame["valid_to"]).astype("datetime64[s]")
    return frame


# --------------------------------------------------------------------------------------------------
# the deployment folder


def generate_kreis(out_dir: Path, cfg: KreisConfig | None = None, contracts_dir: Path | None = None) -> list[Path]:
    """Simulate the Kreis and write its deployment folder `out_dir`: raw/ (the extracts), contracts/
    (adapted copies of `contracts_dir`, default orchestration/contracts) and vars.yml. Files of the
    same names are overwritten, files of an earlier generation this one does not write are removed
    (extracts.remove_stale_demo_files); contracts/ is replaced. Returns the written paths, sorted."""
    cfg = cfg or KreisConfig()
    out = Path(out_dir)
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / GENERATING_MARKER).write_text("the demo generator is writing this folder\n", encoding="utf-8")
    earlier = listed_demo_files(raw)
    kreis = simulate_kreis(cfg)
    written = write_kreis_extracts(raw, kreis)
    remove_stale_demo_files(earlier, written)  # another Kreis's Städte, generated here before
    write_demo_marker(raw, written, cfg.name)
    (raw / GENERATING_MARKER).unlink()
    contracts = kreis_contracts(contracts_dir or CONTRACTS_DIR, out / "contracts")
    if OTHER_SOFTWARE_AGS in {s.ags for s in cfg.staedte}:
        contracts += other_software_variants(out / "contracts")
    vars_file = out / "vars.yml"
    vars_file.write_text(kreis_vars(cfg), encoding="utf-8")
    gates_file = out / "gates.yml"
    gates_file.write_text(kreis_gates(GATES_FILE.read_text(encoding="utf-8")), encoding="utf-8")
    return sorted([*written, raw / ".demo-city", *contracts, vars_file, gates_file])


def kreis_gates(shipped: str) -> str:
    """gates.yml of the Kreis: the shipped thresholds, with record counts compared from
    KREIS_MIN_RECORDS on (each Stadt's deliveries are compared on their own)."""
    old = "  min_records: 1000\n"
    if shipped.count(old) != 1:
        raise ValueError(f"{GATES_FILE}: expected one line {old.strip()!r} under record_counts")
    head = (
        "# The Musterkreis's gate thresholds (SOZIALMONITOR_GATES_CONFIG, or gates.yml in the folder of\n"
        "# SOZIALMONITOR_DEPLOYMENT_DIR): data_quality/gates.yml, with record counts compared from\n"
        f"# {KREIS_MIN_RECORDS} records on. Written by the demo generator (orchestration/demo/kreis.py).\n"
    )
    return head + shipped.replace(old, f"  min_records: {KREIS_MIN_RECORDS}\n")


def write_kreis_extracts(raw: Path, kreis: KreisSimulation) -> list[Path]:
    """Every extract of the Kreis under `raw` (see the module docstring for the names)."""
    cfg = kreis.config
    stichtage = [date.fromisoformat(s) for s in cfg.stichtage]
    written: list[Path] = []
    gebiete = raw / "gebiete"
    written += [
        write_csv(gebiete / "gebietsgliederung.csv", geo.areas_table(kreis.areas), "utf-8", "\n"),
        write_csv(gebiete / "baublock_zuordnung.csv", geo.membership_table(kreis.membership), "utf-8", "\n"),
        geo.write_polygons(
            gebiete / "baubloecke.geojson",
            np.concatenate([s.raw.geo.block_codes for s in kreis.staedte.values()]),
            np.concatenate([s.raw.geo.polygons for s in kreis.staedte.values()]),
        ),
    ]
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    try:
        for ags, sim in kreis.staedte.items():
            written.append(
                write_csv(gebiete / f"adressen_{ags}.csv", geo.addresses_table(sim.addresses), "utf-8", "\n")
            )
            for stichtag in stichtage:
                year, stamp = stichtag.year, f"{stichtag:%Y%m%d}"
                persons = register.write_register(con, raw / "einwohner" / f"EWR_Bestand_{ags}_{stamp}.csv", sim, year)
                movements = register.write_movements(
                    con, raw / "bewegungen" / f"EWR_Bewegungen_{ags}_{year}.csv", sim, year
                )
                if ags == OTHER_SOFTWARE_AGS:
                    persons = write_in_other_software(persons, "register_persons")
                    movements = write_in_other_software(movements, "register_movements")
                written += [
                    persons,
                    movements,
                    wohngeld.write_wohngeld(raw / "wohngeld" / f"Wohngeld_{ags}_{stamp}.csv", sim, stichtag),
                    arbeitsagentur.write_labour_market(
                        raw / "arbeitsagentur" / f"BA_Arbeitsmarkt_Baublock_{ags}_{year}12.xlsx", sim, stichtag
                    ),
                ]
                if sim.config.gemeinde.stadtviertel:  # else a missing delivery (module docstring)
                    path = raw / "planung" / f"Wohnungsbestand_Stadtviertel_{ags}_{year}.csv"
                    written.append(planung.write_housing(path, sim, stichtag))
    finally:
        con.close()
    for stichtag in stichtage:
        year, stamp = stichtag.year, f"{stichtag:%Y%m%d}"
        written += [
            jobcenter.write_jobcenter(
                raw / "jobcenter" / f"JC_SGB2_Personen_{stamp}.csv", kreis.combined("sgb2"), stichtag
            ),
            sozialamt.write_sozialamt(
                raw / "sozialamt" / f"SGB12_Faelle_{stamp}.xlsx", kreis.combined("sgb12"), stichtag
            ),
            gesundheitsamt.write_school_entry(
                raw / "gesundheitsamt" / f"SEU_Einschulung_{year}.csv", kreis.combined("school_entry"), stichtag
            ),
            jugendamt.write_daycare(
                raw / "jugendamt" / f"Kita_Belegung_{stamp}.csv", kreis.combined("daycare"), stichtag
            ),
            schulamt.write_transitions(
                raw / "schulamt" / f"Uebergaenge_Sek1_{year}.csv", kreis.combined("school_transitions"), stichtag
            ),
            umwelt.write_environment(
                raw / "umwelt" / f"Umwelt_Baublock_{year}.csv",
                kreis.combined("environment").drop(columns="gemeinde"),
                stichtag,
            ),
        ]
    return sorted(written)


def write_in_other_software(path: Path, source: str, contracts_dir: Path = CONTRACTS_DIR) -> Path:
    """Rewrite the file `path` of `source`, written in the Musterstadt format (its contract in
    `contracts_dir`), as Bergheide's software writes it (OTHER_SOFTWARE): the same records and
    columns in the same order, the software's headers, codes, date formats, encoding and separator."""
    common = yaml.safe_load((Path(contracts_dir) / f"{source}.yml").read_text(encoding="utf-8"))
    variant = OTHER_SOFTWARE[source]
    frame = pd.read_csv(
        path, sep=common["delimiter"], encoding=common["encoding"], dtype=str, keep_default_na=False, na_filter=False
    )
    by_header = {h: c for c in common["columns"] for h in [c["header"], *c.get("aliases", [])]}
    changes = {c["name"]: c for c in variant["columns"]}
    renamed = {}
    for header in frame.columns:
        column = by_header[header]
        change = changes.get(column["name"], {})
        renamed[header] = change.get("header", header)
        if "recode" in change:
            theirs = {ours: code for code, ours in change["recode"].items()}
            frame[header] = frame[header].map(lambda v, t=theirs: t[v] if v else v)
        if "date_format" in change:
            days = pd.to_datetime(frame[header].replace("", None), format=column["date_format"])
            frame[header] = days.dt.strftime(change["date_format"]).fillna("")
    frame = frame.rename(columns=renamed)
    text = frame.to_csv(sep=variant["delimiter"], index=False, lineterminator="\n")
    path.write_bytes(text.encode(variant["encoding"]))
    return path


def other_software_variants(target: Path) -> list[Path]:
    """The contract variants of the Stadt with another software (OTHER_SOFTWARE), written into
    `target` beside the Kreis's contracts: `<source>@<AGS>.yml`."""
    written = []
    for source, variant in OTHER_SOFTWARE.items():
        out = target / f"{source}@{OTHER_SOFTWARE_AGS}.yml"
        out.write_text(
            f"# How Bergheide ({OTHER_SOFTWARE_AGS}) delivers {source}: a Stadt's variant over {source}.yml, written\n"
            "# by the demo generator (orchestration/demo/kreis.py). Only what its software writes differently.\n"
            + yaml.safe_dump(variant, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120),
            encoding="utf-8",
        )
        written.append(out)
    return written


def kreis_vars(cfg: KreisConfig) -> str:
    """vars.yml: the dbt vars of the Kreis over dbt_project.yml's."""
    body = {
        "nested_levels": list(NESTED_LEVELS),
        "public_levels": [*NESTED_LEVELS, SOZIALRAUM_LEVEL],
        "release_publisher": f"Kreis {cfg.name}",
    }
    return (
        f"# dbt vars of the {cfg.name} (SOZIALMONITOR_VARS_FILE), over dbt_project.yml's: the Kreis is a\n"
        "# nested level above its Gemeinden. Written by the demo generator (orchestration/demo/kreis.py).\n"
        + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120)
    )


def kreis_contracts(contracts_dir: Path, target: Path) -> list[Path]:
    """Copies of the contracts in `contracts_dir` adapted to the Kreis, written into `target`
    (replaced): 8-digit Baublock codes, address ids with the Gemeinde's prefix, Stadtviertel codes of
    7 digits in the planning file, the column Oberebene in the Gebietsgliederung, file patterns with the
    AGS and `delivered_per: gemeinde` for the sources delivered per Stadt, a column Gemeinde for the
    Kreis-wide sources whose records carry addresses. Returns the written paths."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    written = []
    for path in sorted(Path(contracts_dir).glob("*.yml")):
        contract = yaml.safe_load(path.read_text(encoding="utf-8"))
        changes = _adapt(contract)
        header = (
            f"# {path.name} of the warehouse, adapted to a Kreis by the demo generator (orchestration/demo/kreis.py)"
        )
        if changes:
            header += ":\n# " + "; ".join(changes)
        out = target / path.name
        out.write_text(
            header
            + "\n"
            + yaml.safe_dump(contract, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120),
            encoding="utf-8",
        )
        written.append(out)
    for path in sorted(Path(contracts_dir).iterdir()):
        if path.is_file() and path.suffix != ".yml":  # the README
            shutil.copyfile(path, target / path.name)
            written.append(target / path.name)
    return written


def _adapt(contract: dict) -> list[str]:
    """Adapt one contract in place; returns what changed, in words."""
    source = contract["source"]
    changes = []
    for column in contract.get("columns", []):
        if column["name"] == "block_code":
            column["pad"], column["pattern"] = 8, r"^\d{8}$"
            changes.append("Baublock codes of 8 digits")
        elif source == "geo_addresses" and column["name"] == "address_id":
            column["pattern"] = r"^A\d{9}$"
            changes.append("address ids 'A' + Gemeinde prefix + 6 digits")
        elif source == "planung_wohnen" and column["name"] == "area_code":
            column["pad"], column["pattern"] = 7, r"^\d{7}$"
            changes.append("Stadtviertel codes of 7 digits (Gemeinde prefix + 4)")
    if source == "geo_areas":
        if not any(c["name"] == "parent_level" for c in contract["columns"]):
            raise ValueError("contract geo_areas: the column Oberebene (parent_level) is missing")
        contract["description"] = (
            "Every spatial unit above the Baublock with its name, its parent unit and its validity "
            "(Gebietsstand), for the whole Kreis. Oberebene names the parent's level where it is not the "
            "next nested level up (the Gemeindeteile of a Gemeinde without Stadtbezirke: gemeinde; the "
            "Kreis-wide Sozialräume: kreis)."
        )
    if source in PER_STADT_PATTERNS:
        old, new = PER_STADT_PATTERNS[source]
        if contract["file_pattern"] != old:
            raise ValueError(f"contract {source}: file_pattern {contract['file_pattern']!r}, expected {old!r}")
        contract["file_pattern"] = new
        contract = _insert_after(contract, "file_pattern", "delivered_per", "gemeinde")
        changes.append("delivered per Gemeinde (AGS in the file name)")
    if source in KREIS_WIDE_WITH_GEMEINDE:
        contract["columns"].insert(0, dict(GEMEINDE_COLUMN))
        changes.append("Kreis-wide: column Gemeinde (AGS)")
    return sorted(set(changes), key=changes.index)


def _insert_after(contract: dict, key: str, new_key: str, value: object) -> dict:
    """Put `new_key` right after `key` (in place: the dict keeps its identity)."""
    items = list(contract.items())
    contract.clear()
    for k, v in items:
        contract[k] = v
        if k == key:
            contract[new_key] = value
    return contract
