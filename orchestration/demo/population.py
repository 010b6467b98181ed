"""The population of Musterstadt and its yearly dynamics.

State is columnar (numpy arrays indexed by person id and household id; ids are positions and are
never reused). One call of `City.step(year)` moves the city from 31.12. of the previous year to
31.12. of `year` and returns that year's register events:

1. nest leavers: adult children leave the parental household (a new single household in the city,
   UMZUG, or out of the city, FORTZUG); their parents' household does not move that year;
2. households move out of the city (FORTZUG) or within it (UMZUG, to a new address);
3. deaths (age-dependent); a person who dies before the household's move date dies at the old
   address and does not move;
4. births to women of 16–49 (the child joins the mother's household; born before the household's
   move date it moves along);
5. new households move in (ZUZUG) to addresses drawn by household type.

Hence persons(t) = persons(t-1) + GEBURT + ZUZUG − STERBEFALL − FORTZUG holds exactly, and all
members of a household always share its address.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import households as hhmod
from .geography import Geography
from .streams import Streams, case_numbers, day_month_year, year_end, year_start

GEBURT, STERBEFALL, ZUZUG, FORTZUG, UMZUG = range(5)
EVENT_TYPES = ("GEBURT", "STERBEFALL", "ZUZUG", "FORTZUG", "UMZUG")

# yearly probabilities per household type (see households.SINGLE_YOUNG …)
P_MOVE_OUT = np.array([0.11, 0.05, 0.008, 0.055, 0.035, 0.045, 0.006])
P_MOVE_WITHIN = np.array([0.14, 0.07, 0.025, 0.08, 0.06, 0.09, 0.02])
# address preference per household type: exponents on (age profile, poverty, density)
ADDRESS_COEF = hhmod.TRAIT_COEF
GROWTH_RATE = 0.003
P_PARTNERING = 0.06
IN_MIGRANT_FOREIGN = 0.22


@dataclass
class People:
    key: np.ndarray  # uint64, shown as 16 hex digits
    birth_year: np.ndarray
    birth_month: np.ndarray
    birth_day: np.ndarray  # day number
    sex: np.ndarray
    nat1: np.ndarray  # index into households.NATIONALITY_CODES (0 = German)
    nat2: np.ndarray  # -1 = none
    migbg: np.ndarray
    secondary: np.ndarray  # residence_status 'N'
    child: np.ndarray  # role in the household
    hh: np.ndarray
    moved_in: np.ndarray  # day number
    active: np.ndarray
    # SGB XII case state (kept across years for Aktenzeichen and Leistungsbeginn)
    s12_type: np.ndarray  # 0 none, 1 GSiAE, 2 HLU
    s12_case: np.ndarray
    s12_start: np.ndarray

    def extend(self, other: People) -> None:
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))

    def __len__(self) -> int:
        return len(self.key)


@dataclass
class Households:
    addr: np.ndarray
    z: np.ndarray  # latent economic score (higher = poorer), persistent
    foreign: np.ndarray
    active: np.ndarray
    # SGB II state
    sgb2_months: np.ndarray  # months in receipt at the last Stichtag, 0 = not receiving

    def extend(self, other: Households) -> None:
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))

    def __len__(self) -> int:
        return len(self.addr)


@dataclass
class YearEvents:
    """Register events of one calendar year (address indices, -1 = outside the city)."""

    year: int
    pid: np.ndarray
    event: np.ndarray
    day: np.ndarray
    from_addr: np.ndarray
    to_addr: np.ndarray


@dataclass
class Snapshot:
    """The register population at a 31.12.: active persons in id order."""

    year: int
    pid: np.ndarray
    hh: np.ndarray
    addr: np.ndarray
    moved_in: np.ndarray
    age: np.ndarray


def _empty_people(n: int) -> dict:
    return {
        "s12_type": np.zeros(n, dtype=np.int8),
        "s12_case": np.full(n, -1, dtype=np.int64),
        "s12_start": np.zeros(n, dtype=np.int64),
    }


class City:
    """Population state plus the machinery to advance it year by year."""

    def __init__(self, geo: Geography, streams: Streams) -> None:
        self.geo = geo
        self.streams = streams
        self.people: People | None = None
        self.households: Households | None = None
        self._choosers = self._address_choosers()
        self._key_constants = key_constants(streams.get("person_keys"))

    # ----------------------------------------------------------------------------------------------
    # address choice

    def _address_choosers(self) -> dict[tuple[int, bool], np.ndarray]:
        """Cumulative address weights per (household type, foreign)."""
        g = self.geo
        tb = g.addr_trait_block
        traits = np.stack([g.age_profile[tb], g.poverty[tb], g.density[tb]], 1)
        foreign_pull = g.foreign_share[tb] / g.foreign_share.mean()
        out = {}
        for t in range(hhmod.N_TYPES):
            base = g.addr_weight * np.exp(traits @ ADDRESS_COEF[t])
            out[(t, False)] = np.cumsum(base)
            out[(t, True)] = np.cumsum(base * foreign_pull)
        return out

    def choose_addresses(self, rng: np.random.Generator, htype: np.ndarray, foreign: np.ndarray) -> np.ndarray:
        addr = np.empty(len(htype), dtype=np.int64)
        u = rng.random(len(htype))
        for (t, f), cum in self._choosers.items():  # 14 groups, fixed order
            mask = (htype == t) & (foreign == f)
            if mask.any():
                addr[mask] = np.searchsorted(cum, u[mask] * cum[-1], side="right")
        return np.minimum(addr, len(self.geo.addr_weight) - 1)

    # ----------------------------------------------------------------------------------------------
    # keys

    def _new_keys(self, n: int) -> np.ndarray:
        """Person keys for the next n person ids: a seeded bijective scramble of the id.

        Being a bijection on 64-bit integers, distinct ids can never get the same key.
        """
        first = len(self.people) if self.people is not None else 0
        return scramble_ids(np.arange(first, first + n, dtype=np.uint64), self._key_constants)

    def household_codes(self, hh: np.ndarray) -> np.ndarray:
        """The 8-digit number behind household_key 'H…' (collision-free)."""
        return case_numbers(hh, 10**8, self.streams.get("household_codes"), *self.geo.gemeinde.numbering)

    # ----------------------------------------------------------------------------------------------
    # creating households

    def _add_households(
        self,
        rng: np.random.Generator,
        htype: np.ndarray,
        addr: np.ndarray,
        foreign: np.ndarray,
        persons: hhmod.NewPersons,
        moved_in_hh: np.ndarray,
        z: np.ndarray,
    ) -> np.ndarray:
        """Append households and their members; returns the new person ids."""
        hh_offset = len(self.households) if self.households is not None else 0
        new_h = Households(
            addr=addr.astype(np.int64),
            z=z.astype(np.float64),
            foreign=foreign.astype(bool),
            active=np.ones(len(htype), dtype=bool),
            sgb2_months=np.zeros(len(htype), dtype=np.int64),
        )
        n = len(persons.hh)
        moved_in = np.maximum(moved_in_hh[persons.hh], persons.birth_day)
        new_p = People(
            key=self._new_keys(n),
            birth_year=persons.birth_year,
            birth_month=persons.birth_month,
            birth_day=persons.birth_day,
            sex=persons.sex,
            nat1=persons.nat1,
            nat2=persons.nat2,
            migbg=persons.migbg,
            secondary=persons.secondary,
            child=persons.child,
            hh=persons.hh + hh_offset,
            moved_in=moved_in.astype(np.int64),
            active=np.ones(n, dtype=bool),
            **_empty_people(n),
        )
        p_offset = len(self.people) if self.people is not None else 0
        if self.households is None:
            self.households, self.people = new_h, new_p
        else:
            self.households.extend(new_h)
            self.people.extend(new_p)
        return np.arange(p_offset, p_offset + n)

    def populate(self, residents: int, ref_year: int) -> None:
        """The initial population on 31.12. of `ref_year`, about `residents` persons."""
        rng = self.streams.get("initial")
        g = self.geo
        n_est = int(residents / 1.3) + 50
        cum = np.cumsum(g.addr_weight)
        addr = np.minimum(np.searchsorted(cum, rng.random(n_est) * cum[-1], side="right"), len(cum) - 1)
        tb = g.addr_trait_block[addr]
        htype = hhmod.draw_types(rng, g.age_profile[tb], g.poverty[tb], g.density[tb])
        foreign = hhmod.draw_foreign(rng, htype, g.foreign_share[tb])
        children = hhmod.draw_children(rng, htype, g.poverty[tb], foreign)
        size = hhmod.ADULTS[htype] + children
        n_h = int(np.searchsorted(np.cumsum(size), residents)) + 1
        if n_h > n_est:
            raise RuntimeError("initial household estimate too small")
        htype, addr, tb, foreign, children = htype[:n_h], addr[:n_h], tb[:n_h], foreign[:n_h], children[:n_h]
        persons = hhmod.build_members(rng, htype, children, foreign, g.foreign_share[tb], ref_year)

        # time at the address: long for the elderly, never before the youngest adult turned 18
        mean_years = np.array([3.0, 8.0, 20.0, 6.0, 7.0, 5.0, 25.0])[htype]
        adult_age = np.where(persons.child, 200, persons.age)
        youngest_adult = np.full(n_h, 200, dtype=np.int64)
        np.minimum.at(youngest_adult, persons.hh, adult_age)
        years = np.minimum(rng.exponential(mean_years), np.maximum(youngest_adult - 18, 0) + rng.random(n_h))
        ref_end = year_end(ref_year)
        moved_in_hh = ref_end - np.floor(years * 365.25).astype(np.int64)
        z = rng.normal(0.0, 1.0, n_h) + 0.3 * foreign
        self._add_households(rng, htype, addr, foreign, persons, moved_in_hh, z)

    # ----------------------------------------------------------------------------------------------
    # composition

    def household_types(self, pids: np.ndarray, age: np.ndarray) -> np.ndarray:
        """Current type of every household (indexed by household id) from its members' ages and roles."""
        p = self.people
        n_h = len(self.households)
        hh = p.hh[pids]
        size = np.bincount(hh, minlength=n_h)
        minors = np.bincount(hh, weights=age < 18, minlength=n_h)
        parents = np.bincount(hh, weights=~p.child[pids], minlength=n_h)
        head_age = np.zeros(n_h, dtype=np.int64)
        np.maximum.at(head_age, hh, np.where(p.child[pids], 0, age))
        single_type = np.select(
            [head_age < 35, head_age < 65], [hhmod.SINGLE_YOUNG, hhmod.SINGLE_MIDDLE], hhmod.SINGLE_OLD
        )
        no_minor_type = np.where(size == 1, single_type, np.where(head_age >= 65, hhmod.OLD_COUPLE, hhmod.COUPLE))
        return np.where(minors > 0, np.where(parents >= 2, hhmod.FAMILY, hhmod.SINGLE_PARENT), no_minor_type)

    # ----------------------------------------------------------------------------------------------
    # one year

    def step(self, year: int) -> YearEvents:
        rng = self.streams.get("year", year)
        p, h = self.people, self.households
        ys, ye = year_start(year), year_end(year)
        ndays = ye - ys + 1
        alive = np.flatnonzero(p.active)
        age_start = (year - 1) - p.birth_year[alive]
        htype = self.household_types(alive, age_start)
        size = np.bincount(p.hh[alive], minlength=len(h))
        minors = np.bincount(p.hh[alive], weights=age_start < 18, minlength=len(h))
        ev: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]] = []

        # 1. nest leavers
        cand = alive[p.child[alive] & (age_start >= 18) & (size[p.hh[alive]] >= 2)]
        cand_age = (year - 1) - p.birth_year[cand]
        p_leave = np.select([cand_age < 21, cand_age < 26], [0.10, 0.22], 0.35)
        leavers = cand[rng.random(len(cand)) < p_leave]
        leave_day = ys + rng.integers(0, ndays, len(leavers))
        within = rng.random(len(leavers)) < 0.7
        parent_hh = p.hh[leavers]
        blocked = np.zeros(len(h), dtype=bool)
        blocked[parent_hh] = True
        old_addr_leavers = h.addr[parent_hh]
        # out of the city
        out_l = ~within
        ev.append((leavers[out_l], FORTZUG, leave_day[out_l], old_addr_leavers[out_l], np.full(out_l.sum(), -1)))
        p.active[leavers[out_l]] = False
        # own household in the city
        in_l = leavers[within]
        n_new = len(in_l)
        new_type = np.where((year - p.birth_year[in_l]) < 35, hhmod.SINGLE_YOUNG, hhmod.SINGLE_MIDDLE)
        new_foreign = h.foreign[p.hh[in_l]] & (p.nat1[in_l] > 0)
        new_addr = self.choose_addresses(rng, new_type, new_foreign)
        new_addr = self._avoid_same(rng, new_addr, old_addr_leavers[within], new_type, new_foreign)
        hh_offset = len(h)
        h.extend(
            Households(
                addr=new_addr,
                z=0.6 * h.z[p.hh[in_l]] + 0.8 * rng.normal(0.0, 1.0, n_new),
                foreign=new_foreign,
                active=np.ones(n_new, dtype=bool),
                sgb2_months=np.zeros(n_new, dtype=np.int64),
            )
        )
        ev.append((in_l, UMZUG, leave_day[within], old_addr_leavers[within], new_addr))
        p.hh[in_l] = hh_offset + np.arange(n_new)
        p.child[in_l] = False
        p.moved_in[in_l] = leave_day[within]
        is_leaver = np.zeros(len(p), dtype=bool)
        is_leaver[leavers] = True
        blocked = np.concatenate([blocked, np.ones(n_new, dtype=bool)])

        # 1b. couples form: a single woman moves in with a single man of about her age
        settled = ~is_leaver[alive]
        single = alive[settled & (age_start >= 20) & (age_start <= 50)]
        single = single[(size[p.hh[single]] == 1) & ~blocked[p.hh[single]]]
        women = single[(p.sex[single] == hhmod.SEX_W) & (rng.random(len(single)) < P_PARTNERING)]
        men = single[(p.sex[single] == hhmod.SEX_M) & (rng.random(len(single)) < P_PARTNERING)]
        k = min(len(women), len(men))
        women = np.sort(rng.choice(women, k, replace=False)) if k < len(women) else women
        men = np.sort(rng.choice(men, k, replace=False)) if k < len(men) else men
        women = women[np.argsort(p.birth_year[women], kind="stable")]
        men = men[np.argsort(p.birth_year[men], kind="stable")]
        couple_day = ys + rng.integers(0, ndays, k)
        ev.append((women, UMZUG, couple_day, h.addr[p.hh[women]], h.addr[p.hh[men]]))
        blocked[p.hh[women]] = True
        blocked[p.hh[men]] = True
        p.hh[women] = p.hh[men]
        p.moved_in[women] = couple_day
        is_leaver[women] = True  # no second event for them this year

        # 2. household moves (not for households that just lost or gained a leaver)
        hh_ids = np.flatnonzero(size > 0)
        hh_ids = hh_ids[~blocked[hh_ids]]
        u = rng.random(len(hh_ids))
        t = htype[hh_ids]
        out_h = hh_ids[u < P_MOVE_OUT[t]]
        move_mask = (u >= P_MOVE_OUT[t]) & (u < P_MOVE_OUT[t] + P_MOVE_WITHIN[t])
        move_h = hh_ids[move_mask]
        hh_day = np.zeros(len(h), dtype=np.int64)
        hh_day[out_h] = ys + rng.integers(0, ndays, len(out_h))
        hh_day[move_h] = ys + rng.integers(1, ndays, len(move_h))
        leaving_hh = np.zeros(len(h), dtype=bool)
        leaving_hh[out_h] = True
        moving_hh = np.zeros(len(h), dtype=bool)
        moving_hh[move_h] = True
        move_to = np.full(len(h), -1, dtype=np.int64)
        mt = htype[move_h]
        chosen = self.choose_addresses(rng, mt, h.foreign[move_h])
        move_to[move_h] = self._avoid_same(rng, chosen, h.addr[move_h], mt, h.foreign[move_h])

        stay = alive[~is_leaver[alive]]
        goes = stay[leaving_hh[p.hh[stay]]]
        ev.append((goes, FORTZUG, hh_day[p.hh[goes]], h.addr[p.hh[goes]], np.full(len(goes), -1)))
        p.active[goes] = False
        remaining = stay[~leaving_hh[p.hh[stay]]]

        # 3. deaths
        rem_age = (year - 1) - p.birth_year[remaining]
        q = np.minimum(0.5, np.exp(-10.4 + 0.094 * rem_age)) + 0.003 * (rem_age == 0)
        dies = rng.random(len(remaining)) < q
        dead = remaining[dies]
        death_day = ys + rng.integers(0, ndays, len(dead))
        dead_hh = p.hh[dead]
        moved_first = moving_hh[dead_hh] & (hh_day[dead_hh] < death_day)
        death_addr = np.where(moved_first, move_to[dead_hh], h.addr[dead_hh])
        ev.append((dead, STERBEFALL, death_day, death_addr, np.full(len(dead), -1)))
        survivors = remaining[~dies]

        # 4. births
        s_age = year - p.birth_year[survivors]
        mothers_c = survivors[(p.sex[survivors] == hhmod.SEX_W) & ~p.child[survivors] & (s_age >= 16) & (s_age <= 49)]
        m_age = year - p.birth_year[mothers_c]
        m_type = htype[p.hh[mothers_c]]
        m_minors = minors[p.hh[mothers_c]]
        factor = np.select(
            [m_type == hhmod.COUPLE, (m_type == hhmod.FAMILY) & (m_minors <= 1), m_type == hhmod.FAMILY],
            [1.6, 1.2, 0.45],
            0.3,
        )
        rate = 0.145 * np.exp(-(((m_age - 31.5) / 5.5) ** 2)) * factor
        mothers = mothers_c[rng.random(len(mothers_c)) < rate]
        n_b = len(mothers)
        birth_day = ys + rng.integers(0, ndays, n_b)
        b_hh = p.hh[mothers]
        born_before_move = moving_hh[b_hh] & (birth_day < hh_day[b_hh])
        birth_addr = np.where(moving_hh[b_hh] & ~born_before_move, move_to[b_hh], h.addr[b_hh])
        _d, b_month, _y = day_month_year(birth_day)
        ius_soli = (p.nat1[mothers] > 0) & (rng.random(n_b) < 0.45)
        babies_nat1 = np.where(ius_soli, 0, p.nat1[mothers]).astype(np.int16)
        babies_nat2 = np.where(ius_soli, p.nat1[mothers], p.nat2[mothers]).astype(np.int16)
        baby_moved_in = np.where(born_before_move, hh_day[b_hh], birth_day)
        babies = People(
            key=self._new_keys(n_b),
            birth_year=np.full(n_b, year, dtype=np.int64),
            birth_month=b_month.astype(np.int64),
            birth_day=birth_day.astype(np.int64),
            sex=np.where(rng.random(n_b) < 0.513, hhmod.SEX_M, hhmod.SEX_W).astype(np.int8),
            nat1=babies_nat1,
            nat2=babies_nat2,
            migbg=p.migbg[mothers] | (p.nat1[mothers] > 0),
            secondary=p.secondary[mothers],
            child=np.ones(n_b, dtype=bool),
            hh=b_hh,
            moved_in=baby_moved_in.astype(np.int64),
            active=np.ones(n_b, dtype=bool),
            **_empty_people(n_b),
        )
        first_baby = len(p)
        p.extend(babies)
        baby_ids = np.arange(first_baby, first_baby + n_b)
        ev.append((baby_ids, GEBURT, birth_day, np.full(n_b, -1), birth_addr))

        # 5. household moves within the city: everyone present on the move date
        dead_after = dead[moved_first]
        movers = np.concatenate([survivors[moving_hh[p.hh[survivors]]], dead_after, baby_ids[born_before_move]])
        movers.sort()
        m_hh = p.hh[movers]
        ev.append((movers, UMZUG, hh_day[m_hh], h.addr[m_hh], move_to[m_hh]))
        p.moved_in[movers] = hh_day[m_hh]
        h.addr[move_h] = move_to[move_h]
        p.active[dead] = False

        # 6. moving into the city
        out_persons = int(out_l.sum()) + len(goes)
        alive_start = len(alive)
        target = out_persons + len(dead) - n_b + int(round(GROWTH_RATE * alive_start))
        target = int(max(0, target * np.exp(rng.normal(0.0, 0.03))))
        if target > 0:
            ids = self._move_in(rng, year, target)
            ev.append((ids, ZUZUG, p.moved_in[ids], np.full(len(ids), -1), h.addr[p.hh[ids]]))

        # households without members are gone
        still = np.bincount(p.hh[p.active], minlength=len(h)) > 0
        h.active = still
        return _collect(year, ev)

    def _avoid_same(
        self, rng: np.random.Generator, chosen: np.ndarray, old: np.ndarray, htype: np.ndarray, foreign: np.ndarray
    ) -> np.ndarray:
        same = chosen == old
        rounds = 0
        while same.any():
            chosen[same] = self.choose_addresses(rng, htype[same], foreign[same])
            same = chosen == old
            rounds += 1
            if rounds > 50:
                chosen[same] = (chosen[same] + 1) % self.geo.n_real_addresses
                break
        return chosen

    def _move_in(self, rng: np.random.Generator, year: int, target: int) -> np.ndarray:
        g = self.geo
        n_est = int(target / 1.3) + 20
        htype = hhmod.draw_in_migrant_types(rng, n_est)
        foreign = rng.random(n_est) < IN_MIGRANT_FOREIGN * hhmod.FOREIGN_FACTOR[htype]
        addr = self.choose_addresses(rng, htype, foreign)
        tb = g.addr_trait_block[addr]
        children = hhmod.draw_children(rng, htype, g.poverty[tb], foreign)
        size = hhmod.ADULTS[htype] + children
        n_h = int(np.searchsorted(np.cumsum(size), target)) + 1
        n_h = min(n_h, n_est)
        htype, foreign, addr, tb, children = htype[:n_h], foreign[:n_h], addr[:n_h], tb[:n_h], children[:n_h]
        persons = hhmod.build_members(rng, htype, children, foreign, g.foreign_share[tb], year)
        ys, ye = year_start(year), year_end(year)
        day = ys + rng.integers(0, ye - ys + 1, n_h)
        # babies born this year came with their parents: born before the move
        born_late = persons.birth_day > day[persons.hh]
        if born_late.any():
            hd = day[persons.hh]
            fixed = ys + np.floor(rng.random(len(hd)) * (hd - ys + 1)).astype(np.int64)
            persons.birth_day = np.where(born_late, np.minimum(fixed, hd), persons.birth_day)
            _d, month, _y = day_month_year(persons.birth_day)
            persons.birth_month = np.where(born_late, month, persons.birth_month)
        z = rng.normal(0.2, 1.0, n_h) + 0.3 * foreign
        return self._add_households(rng, htype, addr, foreign, persons, day, z)

    # ----------------------------------------------------------------------------------------------

    def snapshot(self, year: int) -> Snapshot:
        p = self.people
        pid = np.flatnonzero(p.active)
        hh = p.hh[pid]
        return Snapshot(
            year=year,
            pid=pid,
            hh=hh,
            addr=self.households.addr[hh],
            moved_in=p.moved_in[pid].copy(),
            age=(year - p.birth_year[pid]).astype(np.int64),
        )


def key_constants(rng: np.random.Generator) -> np.ndarray:
    """Two xor keys and two odd multipliers for `scramble_ids`."""
    values = rng.integers(0, 2**64 - 1, 4, dtype=np.uint64, endpoint=True)
    values[2:] |= np.uint64(1)
    return values


def scramble_ids(ids: np.ndarray, constants: np.ndarray) -> np.ndarray:
    """Bijective 64-bit mix (xor, odd multiply, xor-shift: each step invertible), vectorised."""
    x = ids.astype(np.uint64) ^ constants[0]
    with np.errstate(over="ignore"):
        x = x * constants[2]
        x ^= x >> np.uint64(31)
        x = x * constants[3]
        x ^= x >> np.uint64(29)
    return x ^ constants[1]


def _collect(year: int, parts: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]]) -> YearEvents:
    pid = np.concatenate([a for a, *_ in parts]).astype(np.int64)
    event = np.concatenate([np.full(len(a), e, dtype=np.int8) for a, e, *_ in parts])
    day = np.concatenate([np.asarray(d, dtype=np.int64) for _a, _e, d, _f, _t in parts])
    from_addr = np.concatenate([np.asarray(f, dtype=np.int64) for *_x, f, _t in parts])
    to_addr = np.concatenate([np.asarray(t, dtype=np.int64) for *_x, t in parts])
    return YearEvents(year=year, pid=pid, event=event, day=day, from_addr=from_addr, to_addr=to_addr)
