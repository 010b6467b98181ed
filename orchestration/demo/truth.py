"""`simulate()`: the Musterstadt microdata ("truth") that every extract is written from.

Tests and analysts recompute indicators from these frames and compare them with what the warehouse
derives from the messy extracts. String columns with many repeats are pandas categoricals (compare
them with plain strings as usual; use `.astype(str)` before string methods).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from . import children as kids
from . import households as hhmod
from .benefits import Benefits, BenefitYear, TypedAddress
from .children import Children, ChildrenYear
from .config import BASE_VALID_FROM, RECUT_DATE, DemoConfig, sizes_for
from .geography import Geography, areas_frame, build_geography, membership_frame
from .housing import EnvironmentYear, HousingYear, simulate_environment, simulate_housing
from .population import EVENT_TYPES, City, People, Snapshot, YearEvents
from .spelling import spell, street_variants
from .streams import Streams


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


def simulate(cfg: DemoConfig) -> Simulation:
    """Run the seeded simulation in memory; pure (no files, no global state)."""
    streams = Streams(cfg.seed)
    geo = build_geography(sizes_for(cfg.residents), streams)
    city = City(geo, streams)
    years = cfg.years
    city.populate(cfg.residents, years[0] - 1)
    benefits = Benefits(city, streams)
    wanted = {d.year for d in cfg.stichtag_dates}
    snapshots: dict[int, Snapshot] = {}
    events: dict[int, YearEvents] = {}
    results: dict[int, BenefitYear] = {}
    for year in years:
        year_events = city.step(year)
        snap = city.snapshot(year)
        result = benefits.year(snap)
        if year in wanted:
            snapshots[year], events[year], results[year] = snap, year_events, result
    children = Children(city, benefits, streams)  # after the last step: every person id exists
    stichtag_years = sorted(snapshots)
    housing = simulate_housing(geo, snapshots[stichtag_years[0]], city.people.secondary, years, streams)
    people = city.people
    raw = RawData(
        geo=geo,
        people=people,
        person_hex=hex_keys(people.key),
        household_code=city.household_codes(np.arange(len(city.households))),
        snapshots=snapshots,
        events=events,
        benefits=results,
        children={year: children.year(snapshots[year]) for year in stichtag_years},
        housing={year: housing[year] for year in stichtag_years},
        environment=simulate_environment(geo, tuple(stichtag_years), streams),
    )
    return _frames(cfg, raw, streams)


def hex_keys(keys: np.ndarray) -> np.ndarray:
    """uint64 → 16 lowercase hex digits, vectorised."""
    raw = np.asarray(keys, dtype=">u8").tobytes().hex().encode("ascii")
    return np.frombuffer(raw, dtype="S16").astype(str).astype(object)


# --------------------------------------------------------------------------------------------------
# frames


def _cat(codes: np.ndarray, categories: np.ndarray | list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=pd.Index(categories, dtype=object))


def _dates(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]")


def _stichtag(year: int) -> np.datetime64:
    return np.datetime64(date(year, 12, 31).isoformat(), "s")


class _Labels:
    """Category tables shared by all frames."""

    def __init__(self, raw: RawData) -> None:
        g = raw.geo
        self.block = g.block_codes
        self.address = g.address_ids
        self.street_key = np.array([f"{k:05d}" for k in g.street_keys], dtype=object)
        self.person = raw.person_hex
        codes = np.char.zfill(raw.household_code.astype(str), 8)
        self.household = np.char.add("H", codes).astype(object)
        self.nationality = hhmod.NATIONALITY_CODES
        self.sex = np.array(hhmod.SEX_CODES, dtype=object)
        self.suffix = np.array(list("abcdefghijklmnopqrstuvwxyz"), dtype=object)
        self.variants = street_variants(g.street_names)


def _optional_int(values: np.ndarray, present: np.ndarray) -> pd.api.extensions.ExtensionArray:
    out = pd.array(np.asarray(values, dtype=np.int64), dtype="Int64")
    out[~present] = pd.NA
    return out


def _address_columns(prefix: str, addr: np.ndarray, g: Geography, labels: _Labels) -> dict[str, object]:
    """address_id, block_code, street_key, house_number, suffix for address indices (-1 = none)."""
    has = addr >= 0
    a = np.where(has, addr, 0)
    block = np.where(has, g.addr_block[a], -1)
    return {
        f"{prefix}address_id": _cat(np.where(has, a, -1), labels.address),
        f"{prefix}block_code": _cat(block, labels.block),
        f"{prefix}street_key": _cat(np.where(has, g.addr_street[a], -1), labels.street_key),
        f"{prefix}house_number": _optional_int(g.addr_number[a], has),
        f"{prefix}house_number_suffix": _cat(np.where(has, g.addr_suffix[a], 0) - 1, labels.suffix),
    }


def _frames(cfg: DemoConfig, raw: RawData, streams: Streams) -> Simulation:
    g = raw.geo
    labels = _Labels(raw)
    return Simulation(
        config=cfg,
        blocks=_blocks(g, labels),
        areas=areas_frame(g),
        membership=membership_frame(g),
        addresses=_addresses(g, labels, registered=True),
        unregistered_addresses=_addresses(g, labels, registered=False),
        persons=_persons(raw, labels),
        movements=_movements(raw, labels),
        sgb2=_sgb2(raw, labels, streams),
        sgb12=_sgb12(raw, labels, streams),
        wohngeld=_wohngeld(raw, labels, streams),
        unemployment=_unemployment(raw, labels, streams),
        school_entry=_school_entry(raw, labels, streams),
        daycare=_daycare(raw, labels, streams),
        school_transitions=_school_transitions(raw, labels, streams),
        housing_blocks=_housing_blocks(raw, labels),
        housing=_housing(raw),
        environment=_environment(raw, labels),
        raw=raw,
    )


def _blocks(g: Geography, labels: _Labels) -> pd.DataFrame:
    v = np.array(g.viertel_codes, dtype=object)
    centroid = g.polygons[:, :4, :].mean(1)
    return pd.DataFrame(
        {
            "block_code": labels.block,
            "stadtviertel_code_before": v[g.viertel_before],
            "stadtviertel_code_after": v[g.viertel_after],
            "stadtteil_code": np.array(g.stadtteil_codes, dtype=object)[g.stadtteil],
            "stadtbezirk_code": np.array(g.bezirk_codes, dtype=object)[g.bezirk],
            "sozialraum_code": np.array(g.sozialraum_codes, dtype=object)[g.sozialraum],
            "residential": g.residential,
            "postcode": g.postcode.astype(str).astype(object),
            "x": centroid[:, 0],
            "y": centroid[:, 1],
            "poverty": g.poverty,
            "age_profile": g.age_profile,
            "foreign_share": g.foreign_share,
            "density": g.density,
        }
    ).sort_values("block_code", kind="stable", ignore_index=True)


def _addresses(g: Geography, labels: _Labels, registered: bool) -> pd.DataFrame:
    idx = np.arange(g.n_real_addresses) if registered else np.arange(g.n_real_addresses, len(g.addr_street))
    suffix = g.addr_suffix[idx]
    frame = pd.DataFrame(
        {
            "address_id": labels.address[idx],
            "street_key": labels.street_key[g.addr_street[idx]],
            "street_name": g.street_names[g.addr_street[idx]],
            "house_number": g.addr_number[idx],
            "house_number_suffix": np.where(suffix > 0, labels.suffix[np.maximum(suffix - 1, 0)], None),
            "block_code": np.where(g.addr_block[idx] >= 0, labels.block[np.maximum(g.addr_block[idx], 0)], None),
            "postcode": g.addr_postcode[idx].astype(str).astype(object),
            "x": g.addr_x[idx],
            "y": g.addr_y[idx],
            "valid_from": np.datetime64(BASE_VALID_FROM.isoformat(), "s"),
            "valid_to": np.datetime64("NaT", "s"),
        }
    )
    return frame


def _persons(raw: RawData, labels: _Labels) -> pd.DataFrame:
    g, p = raw.geo, raw.people
    snaps = [raw.snapshots[y] for y in sorted(raw.snapshots)]
    pid = np.concatenate([s.pid for s in snaps])
    addr = np.concatenate([s.addr for s in snaps])
    stichtag = np.concatenate([np.full(len(s.pid), _stichtag(s.year)) for s in snaps])
    block = g.addr_block[addr]
    columns: dict[str, object] = {
        "stichtag": stichtag,
        "person_key": _cat(pid, labels.person),
        "birth_year": p.birth_year[pid].astype(np.int64),
        "birth_month": p.birth_month[pid].astype(np.int64),
        "age": np.concatenate([s.age for s in snaps]),
        "sex": _cat(p.sex[pid], labels.sex),
        "nationality_1": _cat(p.nat1[pid], labels.nationality),
        "nationality_2": _cat(p.nat2[pid], labels.nationality),
        "migration_background": _cat(np.where(p.migbg[pid], 0, 1), ["j", "n"]),
        "address_id": _cat(addr, labels.address),
        "block_code": _cat(block, labels.block),
        "street_key": _cat(g.addr_street[addr], labels.street_key),
        "house_number": g.addr_number[addr].astype(np.int64),
        "house_number_suffix": _cat(g.addr_suffix[addr] - 1, labels.suffix),
        "household_key": _cat(np.concatenate([s.hh for s in snaps]), labels.household),
        "moved_in_date": _dates(np.concatenate([s.moved_in for s in snaps])),
        "residence_status": _cat(p.secondary[pid].astype(np.int64), ["H", "N"]),
        "address_known": block >= 0,
    }
    return pd.DataFrame(columns)


def movement_order(ev: YearEvents, person_key: np.ndarray) -> np.ndarray:
    """File order of a year's events: by date, then person key, then event type."""
    return np.lexsort((ev.event, person_key[ev.pid], ev.day))


def _movements(raw: RawData, labels: _Labels) -> pd.DataFrame:
    g = raw.geo
    parts = []
    for year in sorted(raw.events):
        ev = raw.events[year]
        order = movement_order(ev, raw.people.key)
        parts.append((year, ev.pid[order], ev.event[order], ev.day[order], ev.from_addr[order], ev.to_addr[order]))
    year = np.concatenate([np.full(len(p[1]), p[0]) for p in parts])
    pid, event, day, from_addr, to_addr = (np.concatenate([p[k] for p in parts]) for k in range(1, 6))
    columns: dict[str, object] = {
        "year": year.astype(np.int64),
        "person_key": _cat(pid, labels.person),
        "event_type": _cat(event, list(EVENT_TYPES)),
        "event_date": _dates(day),
    }
    columns.update(_address_columns("from_", from_addr, g, labels))
    columns.update(_address_columns("to_", to_addr, g, labels))
    return pd.DataFrame(columns)


def _typed_columns(
    labels: _Labels, streams: Streams, source: str, year: int, typed: TypedAddress, unit: np.ndarray
) -> dict[str, object]:
    """The address as the department typed it (spelling seeded per source and year) and the truth."""
    rng = streams.get(f"spelling_{source}", year)
    street_text, number_text = spell(rng, labels.variants, typed.street, typed.number, typed.suffix, unit)
    return {
        "street_name": street_text,
        "house_number_text": number_text,
        "postcode": typed.postcode.astype(str).astype(object),
        "address_id": labels.address[typed.addr],
        "block_code": np.where(typed.block >= 0, labels.block[np.maximum(typed.block, 0)], None),
        "address_known": typed.known,
    }


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def _sgb2(raw: RawData, labels: _Labels, streams: Streams) -> pd.DataFrame:
    p = raw.people
    parts = []
    for year in sorted(raw.benefits):
        s = raw.benefits[year].sgb2
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(s.pid), _stichtag(year)),
                "bg_number": np.char.add("BG", np.char.zfill(s.bg_code.astype(str), 7)).astype(object),
                "member_number": s.member.astype(np.int64),
                "person_key": labels.person[s.pid],
                "household_key": labels.household[s.hh],
                "age": s.age.astype(np.int64),
                "sex": labels.sex[p.sex[s.pid]],
                "employable": np.where(s.employable, "j", "n").astype(object),
                "months_in_receipt": s.months.astype(np.int64),
                "entitlement_eur": s.entitlement,
                **_typed_columns(labels, streams, "jobcenter", year, s.address, s.hh),
            }
        )
        parts.append(frame.sort_values(["bg_number", "member_number"], kind="stable"))
    return _concat(parts, []).reset_index(drop=True)


def _sgb12(raw: RawData, labels: _Labels, streams: Streams) -> pd.DataFrame:
    p = raw.people
    parts = []
    for year in sorted(raw.benefits):
        s = raw.benefits[year].sgb12
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(s.pid), _stichtag(year)),
                "case_number": np.char.add("S12-", np.char.zfill(s.case_code.astype(str), 6)).astype(object),
                "benefit_type": np.where(s.kind == 1, "GSiAE", "HLU").astype(object),
                "person_key": labels.person[s.pid],
                "birth_year": p.birth_year[s.pid].astype(np.int64),
                "sex": labels.sex[p.sex[s.pid]],
                **_typed_columns(labels, streams, "sozialamt", year, s.address, s.pid),
                "benefit_start": _dates(s.start),
            }
        )
        parts.append(frame.sort_values("case_number", kind="stable"))
    return _concat(parts, []).reset_index(drop=True)


def _wohngeld(raw: RawData, labels: _Labels, streams: Streams) -> pd.DataFrame:
    parts = []
    for year in sorted(raw.benefits):
        w = raw.benefits[year].wohngeld
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(w.hh), _stichtag(year)),
                "application_number": np.char.add("WG", np.char.zfill(w.application_code.astype(str), 7)).astype(
                    object
                ),
                "household_key": labels.household[w.hh],
                "household_size": w.size.astype(np.int64),
                "benefit_eur": w.amount,
                "approved_until": _dates(w.approved_until),
                **_typed_columns(labels, streams, "wohngeld", year, w.address, w.hh),
            }
        )
        parts.append(frame.sort_values("application_number", kind="stable"))
    return _concat(parts, []).reset_index(drop=True)


def _unemployment(raw: RawData, labels: _Labels, streams: Streams) -> pd.DataFrame:
    parts = []
    for year in sorted(raw.benefits):
        lab = raw.benefits[year].labour
        # low earners among the employees at their residence: more in poorer blocks
        share = np.clip(0.19 * np.exp(0.3 * raw.geo.poverty[lab.block]), 0.08, 0.45)
        low_earners = streams.get("low_earners", year).binomial(lab.employees, share).astype(np.int64)
        parts.append(
            pd.DataFrame(
                {
                    "stichtag": np.full(len(lab.block), _stichtag(year)),
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
    return _concat(parts, []).reset_index(drop=True)


def _codes(prefix: str, numbers: np.ndarray, digits: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.asarray(numbers).astype(str), digits)).astype(object)


def _school_entry(raw: RawData, labels: _Labels, streams: Streams) -> pd.DataFrame:
    p = raw.people
    parts = []
    for year in sorted(raw.children):
        s = raw.children[year].school_entry
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(s.pid), _stichtag(year)),
                "exam_number": _codes(f"SEU{year % 100:02d}-", s.exam_code, 5),
                "person_key": labels.person[s.pid],
                "birth_year": p.birth_year[s.pid].astype(np.int64),
                "birth_month": p.birth_month[s.pid].astype(np.int64),
                "age": (year - p.birth_year[s.pid]).astype(np.int64),
                "sex": labels.sex[p.sex[s.pid]],
                "language_support": np.array(kids.LANGUAGE_SUPPORT, dtype=object)[s.language_support],
                "weight_status": np.array(kids.WEIGHT_STATUS, dtype=object)[s.weight_status],
                "motor_findings": np.array(kids.MOTOR_FINDINGS, dtype=object)[s.motor_findings],
                "checkup_booklet": np.array(kids.CHECKUP_BOOKLET, dtype=object)[s.checkup_booklet],
                "family_language": np.array(kids.FAMILY_LANGUAGE, dtype=object)[s.family_language],
                **_typed_columns(labels, streams, "gesundheitsamt", year, s.address, s.pid),
            }
        )
        parts.append(frame.sort_values("exam_number", kind="stable"))
    return _concat(parts, []).reset_index(drop=True)


def _daycare(raw: RawData, labels: _Labels, streams: Streams) -> pd.DataFrame:
    p = raw.people
    parts = []
    for year in sorted(raw.children):
        d = raw.children[year].daycare
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(d.pid), _stichtag(year)),
                "child_number": _codes("K", d.child_code, 7),
                "person_key": labels.person[d.pid],
                "birth_date": _dates(p.birth_day[d.pid]),
                "age": (year - p.birth_year[d.pid]).astype(np.int64),
                "care_hours": d.care_hours.astype(np.int64),
                "facility": _codes("Kita ", d.facility, 3),
                **_typed_columns(labels, streams, "jugendamt", year, d.address, d.pid),
            }
        )
        parts.append(frame.sort_values("child_number", kind="stable"))
    return _concat(parts, []).reset_index(drop=True)


def _school_transitions(raw: RawData, labels: _Labels, streams: Streams) -> pd.DataFrame:
    parts = []
    for year in sorted(raw.children):
        t = raw.children[year].transitions
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(t.pid), _stichtag(year)),
                "pupil_number": _codes("S", t.pupil_code, 6),
                "person_key": labels.person[t.pid],
                "school_type": np.array(kids.SCHOOL_TYPES, dtype=object)[t.school_type],
                **_typed_columns(labels, streams, "schulamt", year, t.address, t.pid),
            }
        )
        parts.append(frame.sort_values("pupil_number", kind="stable"))
    return _concat(parts, []).reset_index(drop=True)


HOUSING_COLUMNS = ["dwellings", "living_space_m2", "social_dwellings", "completions"]


def _housing_blocks(raw: RawData, labels: _Labels) -> pd.DataFrame:
    parts = []
    for year in sorted(raw.housing):
        h = raw.housing[year]
        parts.append(
            pd.DataFrame(
                {
                    "stichtag": np.full(len(h.dwellings), _stichtag(year)),
                    "block_code": labels.block,
                    "dwellings": h.dwellings,
                    "living_space_m2": h.living_space,
                    "social_dwellings": h.social,
                    "completions": h.completions,
                }
            ).sort_values("block_code", kind="stable")
        )
    return _concat(parts, ["stichtag", "block_code", *HOUSING_COLUMNS]).reset_index(drop=True)


def _housing(raw: RawData) -> pd.DataFrame:
    """The housing stock per Stadtviertel of the Gebietsstand valid at each Stichtag."""
    g = raw.geo
    codes = np.array(g.viertel_codes, dtype=object)
    parts = []
    for year in sorted(raw.housing):
        h = raw.housing[year]
        viertel = g.viertel_after if date(year, 12, 31) >= RECUT_DATE else g.viertel_before
        present = np.unique(viertel)
        frame = pd.DataFrame(
            {
                "stichtag": np.full(len(present), _stichtag(year)),
                "area_code": codes[present],
                "dwellings": _sum_by(viertel, present, h.dwellings).round().astype(np.int64),
                "living_space_m2": _sum_by(viertel, present, h.living_space).round(2),
                "social_dwellings": _sum_by(viertel, present, h.social).round().astype(np.int64),
                "completions": _sum_by(viertel, present, h.completions).round().astype(np.int64),
            }
        )
        parts.append(frame.sort_values("area_code", kind="stable"))
    return _concat(parts, ["stichtag", "area_code", *HOUSING_COLUMNS]).reset_index(drop=True)


def _sum_by(group: np.ndarray, present: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sums of `values` per group index, for the groups in `present`."""
    return np.bincount(group, weights=values, minlength=int(present.max()) + 1)[present]


def _environment(raw: RawData, labels: _Labels) -> pd.DataFrame:
    parts = []
    for year in sorted(raw.environment):
        e = raw.environment[year]
        parts.append(
            pd.DataFrame(
                {
                    "stichtag": np.full(len(e.area), _stichtag(year)),
                    "block_code": labels.block,
                    "area_m2": e.area,
                    "green_m2": e.green,
                    "noise_m2": e.noise,
                }
            ).sort_values("block_code", kind="stable")
        )
    return _concat(parts, ["stichtag", "block_code", "area_m2", "green_m2", "noise_m2"]).reset_index(drop=True)
