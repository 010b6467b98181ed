"""The Musterstadt truth as data: `Simulation` (the frames every extract is written from) and
`RawData` (the numeric working data behind them).

`truth.simulate()` fills it: the shared simulation (geography, addresses, population, households,
benefits, children, housing) gives the raw data, and each department's module in `sources/` turns
it into that department's truth frames. String columns with many repeats are pandas categoricals
(compare them with plain strings as usual; use `.astype(str)` before string methods).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .benefits import BenefitYear
from .children import ChildrenYear
from .config import DemoConfig
from .geography import Geography
from .housing import EnvironmentYear, HousingYear
from .population import People, Snapshot, YearEvents


@dataclass
class RawData:
    """Numeric working data behind the frames, used by the file writers (not a stable interface)."""

    geo: Geography
    people: People
    person_hex: np.ndarray  # str per person id
    household_code: np.ndarray  # 8-digit number per household id
    snapshots: dict[int, Snapshot]
    events: dict[int, YearEvents]
    benefits: dict[int, BenefitYear]
    children: dict[int, ChildrenYear]
    housing: dict[int, HousingYear]
    environment: dict[int, EnvironmentYear]


@dataclass
class Simulation:
    """The simulated truth of Musterstadt.

    Each frame is built by the module in `sources/` of the department that records it: blocks,
    areas, membership, addresses, unregistered_addresses (geo); persons, movements (register);
    unemployment (arbeitsagentur); sgb2 (jobcenter); sgb12 (sozialamt); wohngeld (wohngeld);
    school_entry (gesundheitsamt); daycare (jugendamt); school_transitions (schulamt);
    housing_blocks, housing (planung); environment (umwelt).

    blocks: one row per Baublock: block_code ('00001'…), stadtviertel_code_before (valid until
        31.12.2021), stadtviertel_code_after (from 01.01.2022; differs only in the recut Viertel),
        stadtteil_code, stadtbezirk_code, sozialraum_code, residential (False for parks and
        industrial estates: no addresses), postcode, x/y (centroid, EPSG:25832) and the latent
        traits poverty (≈ -2…2, higher = poorer), age_profile (-1 young … 1 old), foreign_share
        (expected share of foreign households) and density (0…1).
    areas: the content of gebietsgliederung.csv, typed: level, area_code, area_name, parent_code,
        valid_from, valid_to (NaT = open).
    membership: the content of baublock_zuordnung.csv, typed: block_code, level ('stadtviertel' or
        'sozialraum'), area_code, valid_from, valid_to.
    addresses: the address register (adressen.csv), typed: address_id, street_key, street_name,
        house_number, house_number_suffix, block_code, postcode, x, y, valid_from, valid_to.
    unregistered_addresses: addresses where people live that the register lacks (same columns,
        address_id 'U…', no block, no coordinates). Register persons living there, and their
        movements, carry such an address.
    persons: one row per person per Stichtag: stichtag, person_key, birth_year, birth_month, age
        (completed years at the Stichtag), sex, nationality_1, nationality_2 (NaN if none),
        migration_background ('j'/'n'), address_id, block_code (true block; NaN when the address is
        not in the address register), street_key (always 5 digits here, whatever a file says),
        house_number, house_number_suffix, household_key, moved_in_date, residence_status
        ('H'/'N'), address_known (bool).
    movements: one row per register event: year, person_key, event_type (GEBURT, STERBEFALL, ZUZUG,
        FORTZUG, UMZUG), event_date, from_/to_address_id, from_/to_block_code (NaN for outside the
        city or an address missing from the register), from_/to_street_key,
        from_/to_house_number, from_/to_house_number_suffix (as written).
    sgb2: one row per BG member per Stichtag: stichtag, bg_number, member_number, person_key,
        household_key, age, sex, employable ('j'/'n'), months_in_receipt, entitlement_eur,
        street_name and house_number_text (as written), postcode, address_id (where the BG
        lives), block_code (NaN when the written address is unknown), address_known.
    sgb12: one row per case per Stichtag: stichtag, case_number, benefit_type ('GSiAE'/'HLU'),
        person_key, birth_year, sex, street_name, house_number_text, benefit_start, address_id,
        block_code, address_known.
    wohngeld: one row per household per Stichtag: stichtag, application_number, household_key,
        household_size, benefit_eur, approved_until, street_name, house_number_text, address_id,
        block_code, address_known.
    unemployment: one row per block with residents per Stichtag, true counts before the BA's
        suppression: stichtag, block_code, unemployed_total, unemployed_sgb3, unemployed_sgb2,
        long_term_unemployed, employees_svb, low_earners (employees subject to social insurance at
        their residence earning below the low-wage threshold; ≤ employees_svb). Persons at
        unregistered addresses are not counted.
    school_entry: one row per examined child per Stichtag (Schuleingangsuntersuchung; main residents
        aged 6, about 95 % of them): stichtag, exam_number ('SEUyy-nnnnn'), person_key, birth_year,
        birth_month, age, sex, language_support ('ja'/'nein'), weight_status ('untergewichtig',
        'normalgewichtig', 'uebergewichtig', 'adipoes'), motor_findings ('unauffaellig'/'auffaellig'),
        checkup_booklet ('vollstaendig', 'unvollstaendig', 'nicht_vorgelegt'), family_language
        ('deutsch'/'nicht_deutsch'), street_name and house_number_text (as written), postcode,
        address_id, block_code (NaN when the written address is unknown), address_known.
    daycare: one row per child in day care at the Stichtag (main residents aged 0–5): stichtag,
        child_number ('K…', the same for a child every year), person_key, birth_date (within the true
        birth month), age, care_hours (25, 35 or 45), facility ('Kita 017'), street_name,
        house_number_text, postcode, address_id, block_code, address_known.
    school_transitions: one row per pupil moving from grade 4 to a secondary school in the summer of
        the Stichtag's year (main residents aged 10, about 98 % of them): stichtag, pupil_number
        ('S…'), person_key, school_type (GY Gymnasium, GE Gesamtschule, RS Realschule, HS Hauptschule,
        SK Sekundarschule, FS Förderschule, SO other), street_name, house_number_text, postcode,
        address_id, block_code, address_known.
    housing_blocks: housing stock per Baublock per Stichtag (every block; zeros for parks and industrial
        estates): stichtag, block_code, dwellings, living_space_m2, social_dwellings, completions
        (dwellings completed in that calendar year). No department delivers this: the extract is
        aggregated per Stadtviertel.
    housing: exactly what the Stadtplanungsamt file says: the block truth summed per Stadtviertel of
        the Gebietsstand valid at the Stichtag (stadtviertel_code_before until 2021,
        stadtviertel_code_after from 2022): stichtag, area_code, dwellings, living_space_m2,
        social_dwellings, completions.
    environment: one row per Baublock per Stichtag (Umweltamt): stichtag, block_code, area_m2 (of the
        block polygon), green_m2, noise_m2 (area with Lden ≥ 65 dB); green_m2, noise_m2 ≤ area_m2.
    """

    config: DemoConfig
    blocks: pd.DataFrame
    areas: pd.DataFrame
    membership: pd.DataFrame
    addresses: pd.DataFrame
    unregistered_addresses: pd.DataFrame
    persons: pd.DataFrame
    movements: pd.DataFrame
    sgb2: pd.DataFrame
    sgb12: pd.DataFrame
    wohngeld: pd.DataFrame
    unemployment: pd.DataFrame
    school_entry: pd.DataFrame
    daycare: pd.DataFrame
    school_transitions: pd.DataFrame
    housing_blocks: pd.DataFrame
    housing: pd.DataFrame
    environment: pd.DataFrame
    raw: RawData = field(repr=False)
