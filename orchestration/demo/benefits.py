"""Transfer benefits and the labour market at each Stichtag.

Who receives what is decided by ranking latent scores, so overall rates hit their targets exactly
while areas differ through the block poverty level. Scores combine block poverty, household type,
the persistent per-household score `z` and yearly noise; receipt therefore persists across years.

- SGB II: whole households without members aged 65+ form a Bedarfsgemeinschaft (BG).
- BA labour market: per person aged 15–64, SGB II unemployed (BG members), SGB III unemployed
  (others), long-term unemployed, employees subject to social insurance; aggregated per block.
- SGB XII: GSiAE for persons aged 65+, HLU for a few aged 18–64 outside SGB II.
- Wohngeld: households outside SGB II and SGB XII.

Every address-carrying record also gets the address as the department typed it: the household's
address, or (for a few records per extract) a house number that no register knows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import households as hhmod
from .population import City, Snapshot
from .streams import Streams, case_numbers, month_start, year_end, year_start

SGB2_QUOTA = {2019: 0.102, 2020: 0.104, 2021: 0.101, 2022: 0.099, 2023: 0.106, 2024: 0.108}
GSIAE_QUOTA = 0.042  # of persons aged 65+
HLU_QUOTA = 0.0025  # of persons aged 18–64 outside SGB II
WOHNGELD_QUOTA = {2023: 0.03, 2024: 0.031}  # Wohngeld-Plus reform; before: 0.02
WOHNGELD_BEFORE_REFORM = 0.02
UNKNOWN_SHARE = 0.0038  # records per extract whose typed address is in no register
# Regelbedarf (adult, child 0–5, 6–13, 14–17) per year
REGELBEDARF = {  # fmt: skip
    2019: (424, 245, 302, 322),
    2020: (432, 250, 308, 328),
    2021: (446, 283, 309, 373),
    2022: (449, 285, 311, 376),
    2023: (502, 318, 348, 420),
    2024: (563, 357, 390, 471),
}


@dataclass
class TypedAddress:
    """The address as written in a department extract, per record."""

    addr: np.ndarray  # address where the unit really lives
    street: np.ndarray
    number: np.ndarray
    suffix: np.ndarray
    postcode: np.ndarray
    known: np.ndarray  # the written address exists in the address register
    block: np.ndarray  # block of the written address, -1 when unknown


@dataclass
class Sgb2Year:
    pid: np.ndarray
    hh: np.ndarray
    bg_code: np.ndarray  # 7-digit number behind 'BG…'
    member: np.ndarray
    age: np.ndarray
    employable: np.ndarray
    months: np.ndarray
    entitlement: np.ndarray  # EUR, 2 decimals
    address: TypedAddress


@dataclass
class LabourYear:
    block: np.ndarray  # blocks with residents
    unemployed_sgb3: np.ndarray
    unemployed_sgb2: np.ndarray
    long_term: np.ndarray
    employees: np.ndarray


@dataclass
class Sgb12Year:
    pid: np.ndarray
    kind: np.ndarray  # 1 GSiAE, 2 HLU
    case_code: np.ndarray  # 6-digit number behind 'S12-…'
    start: np.ndarray  # day number of Leistungsbeginn
    address: TypedAddress


@dataclass
class WohngeldYear:
    hh: np.ndarray
    application_code: np.ndarray  # 7-digit number behind 'WG…'
    size: np.ndarray
    amount: np.ndarray
    approved_until: np.ndarray  # day number
    address: TypedAddress


@dataclass
class BenefitYear:
    year: int
    sgb2: Sgb2Year
    labour: LabourYear
    sgb12: Sgb12Year
    wohngeld: WohngeldYear


class Benefits:
    """Decides benefit receipt year by year; keeps case numbers and durations across years."""

    def __init__(self, city: City, streams: Streams) -> None:
        self.city = city
        self.streams = streams
        self._s12_cases = 0
        self._first_year: int | None = None
        self._max_number = self._max_house_numbers()

    def _max_house_numbers(self) -> np.ndarray:
        g = self.city.geo
        out = np.zeros(len(g.street_names), dtype=np.int64)
        np.maximum.at(out, g.addr_street, g.addr_number)
        return out

    def year(self, snap: Snapshot) -> BenefitYear:
        year = snap.year
        if self._first_year is None:
            self._first_year = year
        rng = self.streams.get("benefits", year)
        city, g = self.city, self.city.geo
        p, h = city.people, city.households
        n_h = len(h)
        hh, age = snap.hh, snap.age
        size = np.bincount(hh, minlength=n_h)
        old = np.bincount(hh, weights=age >= 65, minlength=n_h)
        minors = np.bincount(hh, weights=age < 18, minlength=n_h)
        htype = city.household_types(snap.pid, age)
        poverty = g.poverty[g.addr_trait_block[h.addr]]
        eps = rng.normal(0.0, 1.0, n_h)

        # ---- SGB II
        score = (
            0.65 * poverty
            + 0.9 * (htype == hhmod.SINGLE_PARENT)
            + 0.5 * (minors >= 3)
            + 0.35 * (size == 1)
            + 0.5 * h.foreign
            + 1.0 * h.z
            + 0.3 * eps
        )
        eligible = np.flatnonzero((size > 0) & (old == 0))
        target = SGB2_QUOTA.get(year, 0.10) * float((age < 65).sum())
        in_bg = _top_until(eligible, score[eligible], size[eligible], target)
        bg_hh = np.zeros(n_h, dtype=bool)
        bg_hh[in_bg] = True
        prev = h.sgb2_months
        first = year == self._first_year
        initial = 1 + np.minimum(np.floor(rng.exponential(40.0, n_h)), 239).astype(np.int64)
        fresh = rng.integers(1, 13, n_h)
        months = np.where(prev > 0, np.minimum(prev + 12, 240), initial if first else fresh)
        h.sgb2_months = np.where(bg_hh, months, 0)
        sgb2 = self._sgb2_rows(rng, snap, bg_hh, size, year)

        # ---- labour market
        labour = self._labour(rng, snap, bg_hh, poverty)

        # ---- SGB XII
        sgb12 = self._sgb12(rng, snap, bg_hh, size, poverty, year)
        s12_hh = np.zeros(n_h, dtype=bool)
        s12_hh[p.hh[sgb12.pid]] = True

        # ---- Wohngeld
        wg_score = (
            0.8 * poverty
            + 0.6 * ((size == 1) & (old == 1))
            + 0.5 * (minors >= 1)
            + 0.6 * (htype == hhmod.SINGLE_PARENT)
            + 0.4 * h.foreign
            + 1.0 * h.z
            + 0.4 * rng.normal(0.0, 1.0, n_h)
        )
        wg_eligible = np.flatnonzero((size > 0) & ~bg_hh & ~s12_hh)
        n_households = int((size > 0).sum())
        quota = WOHNGELD_QUOTA.get(year, WOHNGELD_BEFORE_REFORM)
        wg = _top_until(wg_eligible, wg_score[wg_eligible], np.ones(len(wg_eligible)), quota * n_households)
        wohngeld = self._wohngeld(rng, wg, size, year)
        return BenefitYear(year=year, sgb2=sgb2, labour=labour, sgb12=sgb12, wohngeld=wohngeld)

    # ----------------------------------------------------------------------------------------------

    def _sgb2_rows(
        self, rng: np.random.Generator, snap: Snapshot, bg_hh: np.ndarray, size: np.ndarray, year: int
    ) -> Sgb2Year:
        p, h = self.city.people, self.city.households
        rows = np.flatnonzero(bg_hh[snap.hh])
        pid, hh, age = snap.pid[rows], snap.hh[rows], snap.age[rows]
        # members: adults first (oldest first), then children (oldest first)
        order = np.lexsort((pid, -age, p.child[pid], hh))
        pid, hh, age = pid[order], hh[order], age[order]
        first = np.ones(len(hh), dtype=bool)
        first[1:] = hh[1:] != hh[:-1]
        start = np.maximum.accumulate(np.where(first, np.arange(len(hh)), 0))
        member = np.arange(len(hh)) - start + 1
        lived = (year - p.birth_year[pid]) * 12 + (12 - p.birth_month[pid]) + 1
        months = np.clip(np.minimum(h.sgb2_months[hh], lived), 1, 240)
        adult, small, school, teen = REGELBEDARF.get(year, REGELBEDARF[max(REGELBEDARF)])
        base = np.select([age < 6, age < 14, age < 18], [small, school, teen], adult).astype(float)
        base = np.where((member == 2) & (age >= 18), 0.9 * base, base)
        rent_rng = self.streams.get("sgb2_rent", year)
        rent = (330.0 + 110.0 * size) * (1 + 0.025 * (year - 2019)) * np.exp(rent_rng.normal(0.0, 0.15, len(size)))
        income_cut = np.where(rent_rng.random(len(size)) < 0.25, rent_rng.uniform(0.2, 0.7, len(size)), 0.0)
        amount = (base + rent[hh] / size[hh]) * (1 - income_cut[hh]) * np.exp(rng.normal(0.0, 0.05, len(hh)))
        amount = np.round(np.maximum(amount, 0.0), 2)
        bg_code = case_numbers(hh, 10**7, self.streams.get("bg_numbers"), *self.city.geo.gemeinde.numbering)
        address = self._typed(rng, h.addr[hh], hh)
        return Sgb2Year(
            pid=pid,
            hh=hh,
            bg_code=bg_code,
            member=member,
            age=age,
            employable=age >= 15,
            months=months,
            entitlement=amount,
            address=address,
        )

    def _labour(self, rng: np.random.Generator, snap: Snapshot, bg_hh: np.ndarray, poverty: np.ndarray) -> LabourYear:
        g = self.city.geo
        n = len(snap.pid)
        age = snap.age
        working_age = (age >= 15) & (age <= 64)
        in_bg = bg_hh[snap.hh]
        pov = poverty[snap.hh]
        u1, u2, u3 = rng.random(n), rng.random(n), rng.random(n)
        sgb2 = working_age & in_bg & (u1 < 0.37)
        sgb3 = working_age & ~in_bg & (u1 < np.clip(0.021 * np.exp(0.35 * pov), 0.0, 0.1))
        long_term = np.where(sgb2, u2 < 0.45, sgb3 & (u2 < 0.12))
        base = np.select([age < 20, age < 25, age < 55, age < 60], [0.22, 0.55, 0.76, 0.68], 0.45)
        p_emp = np.clip(base * np.where(in_bg, 0.35, 1.0) * (1 - 0.06 * pov), 0.0, 0.95)
        employed = working_age & ~sgb2 & ~sgb3 & (u3 < p_emp)
        block = g.addr_block[snap.addr]
        known = block >= 0
        b = block[known]
        nb = g.n_blocks

        def count(flag: np.ndarray) -> np.ndarray:
            return np.bincount(b, weights=flag[known], minlength=nb).astype(np.int64)

        residents = np.bincount(b, minlength=nb)
        with_residents = np.flatnonzero(residents > 0)
        return LabourYear(
            block=with_residents,
            unemployed_sgb3=count(sgb3)[with_residents],
            unemployed_sgb2=count(sgb2)[with_residents],
            long_term=count(long_term)[with_residents],
            employees=count(employed)[with_residents],
        )

    def _sgb12(
        self,
        rng: np.random.Generator,
        snap: Snapshot,
        bg_hh: np.ndarray,
        size: np.ndarray,
        poverty: np.ndarray,
        year: int,
    ) -> Sgb12Year:
        p, h = self.city.people, self.city.households
        pid, hh, age = snap.pid, snap.hh, snap.age
        n = len(pid)
        score = (
            0.8 * poverty[hh]
            + 0.7 * (size[hh] == 1)
            + 0.3 * ((size[hh] == 1) & (p.sex[pid] == hhmod.SEX_W))
            + 0.9 * (p.nat1[pid] > 0)
            + 0.9 * h.z[hh]
            + 0.5 * rng.normal(0.0, 1.0, n)
        )
        elderly = np.flatnonzero(age >= 65)
        gsiae = _top_until(elderly, score[elderly], np.ones(len(elderly)), GSIAE_QUOTA * len(elderly))
        adults = np.flatnonzero((age >= 18) & (age <= 64) & ~bg_hh[hh])
        hlu = _top_until(adults, score[adults], np.ones(len(adults)), HLU_QUOTA * len(adults))
        rows = np.concatenate([gsiae, hlu])
        kind = np.concatenate([np.ones(len(gsiae), dtype=np.int8), np.full(len(hlu), 2, dtype=np.int8)])
        order = np.argsort(pid[rows], kind="stable")
        rows, kind = rows[order], kind[order]
        ids = pid[rows]

        # case state: same benefit as last year keeps case number and start date
        continuing = p.s12_type[ids] == kind
        new = ids[~continuing]
        first_case = self._s12_cases
        self._s12_cases += len(new)
        p.s12_case[new] = np.arange(first_case, self._s12_cases)
        ys, ye = year_start(year), year_end(year)
        k_new = kind[~continuing]
        birth = month_start(p.birth_year[new], p.birth_month[new])
        min_gsiae = np.maximum(month_start(p.birth_year[new] + 65, p.birth_month[new]), _day(2003, 1, 1))
        min_hlu = np.maximum(month_start(p.birth_year[new] + 18, p.birth_month[new]), _day(2005, 1, 1))
        earliest = np.where(k_new == 1, min_gsiae, min_hlu)
        if year == self._first_year:
            back = np.floor(rng.exponential(np.where(k_new == 1, 6.0, 2.5)) * 365.25).astype(np.int64)
            start = ye - back
        else:
            start = ys + rng.integers(0, ye - ys + 1, len(new))
        start = np.minimum(np.maximum(start, np.maximum(earliest, birth)), ye)
        p.s12_start[new] = start
        dropped = np.setdiff1d(np.flatnonzero(p.s12_type > 0), ids)
        p.s12_type[dropped] = 0
        p.s12_type[ids] = kind
        case_code = case_numbers(
            p.s12_case[ids], 10**6, self.streams.get("s12_numbers"), *self.city.geo.gemeinde.numbering
        )
        address = self._typed(rng, snap.addr[rows], ids)
        return Sgb12Year(pid=ids, kind=kind, case_code=case_code, start=p.s12_start[ids].copy(), address=address)

    def _wohngeld(self, rng: np.random.Generator, wg: np.ndarray, size: np.ndarray, year: int) -> WohngeldYear:
        h = self.city.households
        wg = np.sort(wg)
        hsize = size[wg]
        reform = 1.7 if year >= 2023 else 1.0
        amount = (150.0 + 60.0 * (hsize - 1)) * reform * np.exp(rng.normal(0.0, 0.3, len(wg)))
        amount = np.round(np.clip(amount, 20.0, 1500.0), 2)
        month = rng.integers(1, 13, len(wg))
        until = month_start(np.full(len(wg), year + 1), month + 1) - 1  # last day of that month
        code = case_numbers(wg, 10**7, self.streams.get("wg_numbers"), *self.city.geo.gemeinde.numbering)
        address = self._typed(rng, h.addr[wg], wg)
        return WohngeldYear(
            hh=wg, application_code=code, size=hsize, amount=amount, approved_until=until, address=address
        )

    # ----------------------------------------------------------------------------------------------

    def _typed(self, rng: np.random.Generator, addr: np.ndarray, unit: np.ndarray) -> TypedAddress:
        """Typed addresses for records grouped in units (a BG, a person, a household).

        Records at phantom addresses are unknown anyway; more units get a mistyped house number
        (beyond the street's last number) until about UNKNOWN_SHARE of the records are unknown.
        """
        g = self.city.geo
        n = len(addr)
        known = addr < g.n_real_addresses
        target = int(round(UNKNOWN_SHARE * n))
        missing = target - int((~known).sum())
        garbled = np.zeros(n, dtype=bool)
        if missing > 0:
            units, first, counts = np.unique(unit, return_index=True, return_counts=True)
            candidates = np.flatnonzero(known[first])
            picked = rng.permutation(candidates)
            cum = np.cumsum(counts[picked])
            take = picked[: int(np.searchsorted(cum, missing)) + 1]
            garbled = np.isin(unit, units[take])
        street = g.addr_street[addr]
        number = np.where(garbled, self._max_number[street] + rng.integers(1, 30, n), g.addr_number[addr])
        suffix = np.where(garbled, 0, g.addr_suffix[addr])
        ok = known & ~garbled
        return TypedAddress(
            addr=addr,
            street=street,
            number=number,
            suffix=suffix,
            postcode=g.addr_postcode[addr],
            known=ok,
            block=np.where(ok, g.addr_block[addr], -1),
        )


def _top_until(ids: np.ndarray, score: np.ndarray, weight: np.ndarray, target: float) -> np.ndarray:
    """The highest-scoring ids until their cumulative weight reaches `target` (ties: lower id first)."""
    order = np.argsort(-score, kind="stable")  # ids ascend, so ties keep the lower id first
    cum = np.cumsum(weight[order])
    return ids[order[: int(np.searchsorted(cum, target, side="right"))]]


def _day(year: int, month: int, day: int) -> int:
    return int(month_start(np.array([year]), np.array([month]))[0]) + day - 1
