"""Children in the department extracts: day care, the school-entry examination, the move to secondary school.

All three are drawn from the register population at a Stichtag (main residence only, `residence_status`
'H'), per child, from the traits of the block the child lives in (poverty, share of foreigners), the
household's persistent economic score `z` and the child's migration background:

- Jugendamt, Kindertagesbetreuung: children aged 0–5 in day care at the Stichtag. Every child has a
  persistent propensity, so a child in day care at 3 is very likely there at 4 and 5 as well; take-up
  rises steeply with age (under 3 about a third, 3–5 about nine in ten) and is lower in poorer blocks.
  A child attends one of the three facilities nearest to its block, mostly the nearest.
- Gesundheitsamt, Schuleingangsuntersuchung: about 95 % of the children aged 6 at the Stichtag, with
  family language (tied to the migration background), need of language support (higher without day
  care at 5 and with another family language), weight status, motor findings and check-up booklet.
- Schulamt, Übergänge in die Sekundarstufe I: about 98 % of the children aged 10, with the school type;
  the Gymnasium share falls with block poverty and the household's economic score.

Every record carries the address as the department typed it (`Benefits._typed`: the household's
address, or for a few records a house number that no register knows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from . import households as hhmod
from .benefits import Benefits, TypedAddress
from .population import City, Snapshot
from .streams import Streams, case_numbers

# code lists, in the order of the integer codes below
LANGUAGE_SUPPORT = ("ja", "nein")
WEIGHT_STATUS = ("untergewichtig", "normalgewichtig", "uebergewichtig", "adipoes")
MOTOR_FINDINGS = ("unauffaellig", "auffaellig")
CHECKUP_BOOKLET = ("vollstaendig", "unvollstaendig", "nicht_vorgelegt")
FAMILY_LANGUAGE = ("deutsch", "nicht_deutsch")
SCHOOL_TYPES = ("GY", "GE", "RS", "HS", "SK", "FS", "SO")
CARE_HOURS = np.array([25, 35, 45])

SCHOOL_ENTRY_AGE = 6
TRANSITION_AGE = 10
DAYCARE_MAX_AGE = 5
P_EXAMINED = 0.95
P_TRANSITION_LISTED = 0.98
# logit of day-care take-up by age 0…5 for a child of an average block (poverty 0)
DAYCARE_LOGIT = np.array([-3.0, -0.45, 0.75, 2.6, 3.3, 3.6])
BLOCKS_PER_FACILITY = 20
FACILITY_CHOICE_P = np.array([0.65, 0.25, 0.10])  # nearest, second, third nearest facility
# weights of the school types other than Gymnasium (GE, RS, HS, SK, FS, SO)
OTHER_SCHOOL_WEIGHTS = np.array([0.45, 0.28, 0.08, 0.10, 0.06, 0.03])


@dataclass
class SchoolEntryYear:
    pid: np.ndarray
    exam_code: np.ndarray  # 5-digit number behind 'SEUyy-…'
    language_support: np.ndarray  # index into LANGUAGE_SUPPORT
    weight_status: np.ndarray
    motor_findings: np.ndarray
    checkup_booklet: np.ndarray
    family_language: np.ndarray
    address: TypedAddress


@dataclass
class DaycareYear:
    pid: np.ndarray
    child_code: np.ndarray  # 7-digit number behind 'K…', the same for a child every year
    care_hours: np.ndarray
    facility: np.ndarray  # facility number (1-based)
    address: TypedAddress


@dataclass
class TransitionYear:
    pid: np.ndarray
    pupil_code: np.ndarray  # 6-digit number behind 'S…'
    school_type: np.ndarray  # index into SCHOOL_TYPES
    address: TypedAddress


@dataclass
class ChildrenYear:
    year: int
    school_entry: SchoolEntryYear
    daycare: DaycareYear
    transitions: TransitionYear


class Children:
    """Draws the three children's extracts per Stichtag, after the population has been simulated.

    Persistent per-person propensities are drawn once for every person id, so call it after the last
    `City.step` (the ids of all Stichtage exist then).
    """

    def __init__(self, city: City, benefits: Benefits, streams: Streams) -> None:
        self.city = city
        self.benefits = benefits
        self.streams = streams
        n = len(city.people)
        rng = streams.get("children_propensity")
        self._daycare_u = rng.random(n)
        self._hours_u = rng.random(n)
        self._facility_u = rng.random(n)
        self._nearest = self._facilities()
        self._pupils = 0

    def _facilities(self) -> np.ndarray:
        """The three nearest day-care facilities (1-based numbers) of every block."""
        g = self.city.geo
        centroid = g.polygons[:, :4, :].mean(1)
        residential = np.flatnonzero(g.residential)
        n_sites = max(3, len(residential) // BLOCKS_PER_FACILITY)
        rng = self.streams.get("daycare_sites")
        sites = np.sort(rng.choice(residential, n_sites, replace=False))
        sites = sites[np.argsort(g.block_number[sites], kind="stable")]  # numbered like the blocks
        _dist, nearest = cKDTree(centroid[sites]).query(centroid, k=len(FACILITY_CHOICE_P))
        return nearest.astype(np.int64) + 1

    def year(self, snap: Snapshot) -> ChildrenYear:
        return ChildrenYear(
            year=snap.year,
            school_entry=self._school_entry(snap),
            daycare=self._daycare(snap),
            transitions=self._transitions(snap),
        )

    # ----------------------------------------------------------------------------------------------

    def _children(self, snap: Snapshot, ages: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows of the snapshot (main residence, age in `ages`) and their block poverty and foreign share."""
        p, g = self.city.people, self.city.geo
        rows = np.flatnonzero(np.isin(snap.age, ages) & ~p.secondary[snap.pid])
        trait_block = g.addr_trait_block[snap.addr[rows]]
        return rows, g.poverty[trait_block], g.foreign_share[trait_block]

    def _daycare_p(self, age: np.ndarray, poverty: np.ndarray, migbg: np.ndarray) -> np.ndarray:
        return _sigmoid(DAYCARE_LOGIT[age] - 0.5 * poverty - 0.35 * migbg)

    def _daycare(self, snap: Snapshot) -> DaycareYear:
        p, g = self.city.people, self.city.geo
        rows, poverty, _foreign = self._children(snap, np.arange(DAYCARE_MAX_AGE + 1))
        pid, age = snap.pid[rows], snap.age[rows]
        attends = self._daycare_u[pid] < self._daycare_p(age, poverty, p.migbg[pid])
        rows, pid, age, poverty = rows[attends], pid[attends], age[attends], poverty[attends]
        # contracted hours: 25, 35 or 45 per week, longer in better-off blocks
        p25 = np.clip(0.15 + 0.07 * poverty, 0.05, 0.35)
        p45 = np.clip(0.38 - 0.10 * poverty, 0.10, 0.65)
        u = self._hours_u[pid]
        hours = CARE_HOURS[np.where(u < p25, 0, np.where(u < 1.0 - p45, 1, 2))]
        choice = np.searchsorted(np.cumsum(FACILITY_CHOICE_P), self._facility_u[pid] * FACILITY_CHOICE_P.sum())
        choice = np.minimum(choice, len(FACILITY_CHOICE_P) - 1)
        facility = self._nearest[g.addr_trait_block[snap.addr[rows]], choice]
        child_code = case_numbers(pid, 10**7, self.streams.get("daycare_numbers"), *self.city.geo.gemeinde.numbering)
        rng = self.streams.get("daycare", snap.year)
        address = self.benefits._typed(rng, snap.addr[rows], pid)
        return DaycareYear(pid=pid, child_code=child_code, care_hours=hours, facility=facility, address=address)

    def _school_entry(self, snap: Snapshot) -> SchoolEntryYear:
        p, h = self.city.people, self.city.households
        rng = self.streams.get("school_entry", snap.year)
        rows, poverty, foreign_share = self._children(snap, np.array([SCHOOL_ENTRY_AGE]))
        examined = rng.random(len(rows)) < np.clip(P_EXAMINED - 0.01 * poverty, 0.85, 0.99)
        rows, poverty, foreign_share = rows[examined], poverty[examined], foreign_share[examined]
        pid = snap.pid[rows]
        n = len(pid)
        migbg, foreign = p.migbg[pid], p.nat1[pid] > 0
        z = h.z[snap.hh[rows]]

        p_other_language = np.where(
            migbg, np.clip(0.32 + 0.30 * foreign + 0.6 * (foreign_share - 0.13), 0.05, 0.95), 0.015
        )
        other_language = rng.random(n) < p_other_language
        # day care at 5 (the propensity behind the day-care extract, at today's block)
        no_daycare = self._daycare_u[pid] >= self._daycare_p(np.full(n, 5), poverty, migbg)
        language = _sigmoid(
            -1.8 + 1.8 * other_language + 0.4 * poverty + 1.5 * (foreign_share - 0.13) + 0.9 * no_daycare + 0.2 * z
        )
        needs_support = rng.random(n) < language

        f = np.exp(0.25 * poverty + 0.1 * z)
        weight_p = np.stack([np.full(n, 0.05), np.zeros(n), 0.075 * f, 0.045 * f], 1)
        weight_p[:, 1] = 1.0 - weight_p.sum(1)
        weight = _categorical(rng, weight_p)

        boys = p.sex[pid] == hhmod.SEX_M
        motor = rng.random(n) < np.clip(0.15 * np.exp(0.25 * poverty) * np.where(boys, 1.25, 0.8), 0.02, 0.6)

        not_presented = 0.04 * np.exp(0.3 * poverty) * np.where(other_language, 1.6, 1.0)
        incomplete = 0.13 * np.exp(0.25 * poverty + 0.1 * z) * np.where(other_language, 1.3, 1.0)
        booklet_p = np.stack([np.zeros(n), incomplete, not_presented], 1)
        booklet_p[:, 0] = 1.0 - booklet_p.sum(1)
        booklet = _categorical(rng, booklet_p)

        order = np.argsort(p.key[pid], kind="stable")
        exam_code = np.empty(n, dtype=np.int64)
        exam_code[order] = case_numbers(
            np.arange(n), 10**5, self.streams.get("school_entry_numbers", snap.year), *self.city.geo.gemeinde.numbering
        )
        address = self.benefits._typed(rng, snap.addr[rows], pid)
        return SchoolEntryYear(
            pid=pid,
            exam_code=exam_code,
            language_support=np.where(needs_support, 0, 1),
            weight_status=weight,
            motor_findings=motor.astype(np.int64),
            checkup_booklet=booklet,
            family_language=other_language.astype(np.int64),
            address=address,
        )

    def _transitions(self, snap: Snapshot) -> TransitionYear:
        p, h = self.city.people, self.city.households
        rng = self.streams.get("school_transitions", snap.year)
        rows, poverty, _foreign = self._children(snap, np.array([TRANSITION_AGE]))
        listed = rng.random(len(rows)) < P_TRANSITION_LISTED
        rows, poverty = rows[listed], poverty[listed]
        pid = snap.pid[rows]
        n = len(pid)
        z = h.z[snap.hh[rows]]
        girls = p.sex[pid] == hhmod.SEX_W
        gymnasium = rng.random(n) < _sigmoid(0.05 - 0.55 * poverty - 0.45 * z + 0.2 * girls - 0.2 * p.migbg[pid])
        weights = np.broadcast_to(OTHER_SCHOOL_WEIGHTS, (n, len(OTHER_SCHOOL_WEIGHTS))).copy()
        weights[:, 0] *= np.exp(0.15 * poverty)  # Gesamtschule
        weights[:, 2] *= np.exp(0.45 * poverty)  # Hauptschule
        weights[:, 4] *= np.exp(0.45 * poverty + 0.2 * z)  # Förderschule
        school = np.where(gymnasium, 0, 1 + _categorical(rng, weights))
        order = np.argsort(p.key[pid], kind="stable")
        index = np.empty(n, dtype=np.int64)
        index[order] = self._pupils + np.arange(n)  # numbers are never given twice, across years too
        self._pupils += n
        pupil_code = case_numbers(index, 10**6, self.streams.get("pupil_numbers"), *self.city.geo.gemeinde.numbering)
        address = self.benefits._typed(rng, snap.addr[rows], pid)
        return TransitionYear(pid=pid, pupil_code=pupil_code, school_type=school, address=address)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _categorical(rng: np.random.Generator, prob: np.ndarray) -> np.ndarray:
    """One category per row of a (rows × categories) probability table (rows need not sum to 1)."""
    cum = np.cumsum(prob, 1)
    u = rng.random(len(prob))[:, None] * cum[:, -1:]
    return np.minimum((cum <= u).sum(1), prob.shape[1] - 1)
