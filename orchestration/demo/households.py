"""Household composition: types, members, ages, sexes and nationalities, all vectorised.

Used for the initial population (types depend on the traits of the block a household lives in) and
for households moving into the city (types of in-migrants). Members are ordered: the head (for
families and single parents the mother in most cases) first, then the partner, then children.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import names
from .streams import month_start

# household types
SINGLE_YOUNG, SINGLE_MIDDLE, SINGLE_OLD, COUPLE, FAMILY, SINGLE_PARENT, OLD_COUPLE = range(7)
N_TYPES = 7
ADULTS = np.array([1, 1, 1, 2, 2, 1, 2])

SEX_M, SEX_W, SEX_D = 0, 1, 2
SEX_CODES = ("m", "w", "d")

# base shares of household types and their response to block traits (age profile, poverty, density)
BASE_SHARE = np.array([0.15, 0.12, 0.135, 0.19, 0.15, 0.05, 0.135])
# fmt: off
TRAIT_COEF = np.array([
    # age, poverty, density
    [-0.75, 0.10, 0.7],  # single young
    [0.0, 0.15, 0.3],  # single middle
    [0.65, 0.05, 0.0],  # single old
    [-0.1, -0.20, 0.0],  # couple
    [-0.3, 0.10, -0.5],  # family
    [-0.1, 0.45, 0.0],  # single parent
    [0.65, -0.20, -0.4],  # old couple
])
# fmt: on
# household types of people moving into the city
IN_MIGRANT_SHARE = np.array([0.45, 0.15, 0.045, 0.21, 0.08, 0.025, 0.035])
# how often each type is foreign, relative to the block's share
FOREIGN_FACTOR = np.array([1.35, 1.0, 0.35, 1.0, 1.25, 1.1, 0.35])

NATIONALITY_CODES = np.array([code for code, _name, _w in names.NATIONALITIES], dtype=object)
_FOREIGN_WEIGHTS = np.array([w for _code, _name, w in names.NATIONALITIES[1:]])
_SECOND_INDEX = np.array([i for i, _w in names.SECOND_NATIONALITIES])
_SECOND_WEIGHTS = np.array([w for _i, w in names.SECOND_NATIONALITIES])


@dataclass
class NewPersons:
    """Columns of freshly generated persons (not yet keyed)."""

    hh: np.ndarray  # index into the generated households
    age: np.ndarray  # completed years at the reference year's end
    birth_year: np.ndarray
    birth_month: np.ndarray
    birth_day: np.ndarray  # day number
    sex: np.ndarray
    nat1: np.ndarray
    nat2: np.ndarray
    migbg: np.ndarray
    secondary: np.ndarray
    child: np.ndarray

    def take(self, mask: np.ndarray) -> NewPersons:
        return NewPersons(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})


def draw_types(rng: np.random.Generator, age: np.ndarray, poverty: np.ndarray, density: np.ndarray) -> np.ndarray:
    """Household type per household from the traits of its block (softmax over the types)."""
    traits = np.stack([age, poverty, density], 1)
    logits = np.log(BASE_SHARE)[None, :] + traits @ TRAIT_COEF.T
    prob = np.exp(logits - logits.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    return _categorical(rng, prob)


def draw_in_migrant_types(rng: np.random.Generator, n: int) -> np.ndarray:
    return _categorical(rng, np.broadcast_to(IN_MIGRANT_SHARE / IN_MIGRANT_SHARE.sum(), (n, N_TYPES)))


def _categorical(rng: np.random.Generator, prob: np.ndarray) -> np.ndarray:
    cum = np.cumsum(prob, 1)
    u = rng.random(len(prob))[:, None] * cum[:, -1:]
    return np.minimum((cum <= u).sum(1), prob.shape[1] - 1)


def draw_foreign(rng: np.random.Generator, htype: np.ndarray, foreign_share: np.ndarray) -> np.ndarray:
    return rng.random(len(htype)) < np.clip(foreign_share * FOREIGN_FACTOR[htype], 0.0, 0.95)


def draw_children(rng: np.random.Generator, htype: np.ndarray, poverty: np.ndarray, foreign: np.ndarray) -> np.ndarray:
    n = len(htype)
    extra = np.maximum(poverty, 0.0)
    family = 1 + np.minimum(rng.poisson(0.72 + 0.25 * extra + 0.35 * foreign), 5)
    single_parent = 1 + np.minimum(rng.poisson(0.45 + 0.15 * extra), 3)
    return np.select([htype == FAMILY, htype == SINGLE_PARENT], [family, single_parent], np.zeros(n, dtype=np.int64))


def build_members(
    rng: np.random.Generator,
    htype: np.ndarray,
    n_children: np.ndarray,
    foreign: np.ndarray,
    foreign_share: np.ndarray,
    ref_year: int,
) -> NewPersons:
    """Persons of the given households; ages are completed years on 31.12. of `ref_year`."""
    n_h = len(htype)
    n_adults = ADULTS[htype]
    size = n_adults + n_children
    hh = np.repeat(np.arange(n_h), size)
    starts = np.concatenate([[0], np.cumsum(size)[:-1]])
    member = np.arange(len(hh)) - np.repeat(starts, size)
    n = len(hh)

    # ages: head and partner per household, children per person
    u = rng.random(n_h)
    head_age = np.select(
        [htype == t for t in range(N_TYPES)],
        [
            18 + np.floor(rng.beta(2.0, 3.0, n_h) * 17),
            35 + np.floor(u * 30),
            65 + np.minimum(np.floor(rng.gamma(2.0, 5.5, n_h)), 37),
            22 + np.floor(rng.beta(1.6, 1.4, n_h) * 43),
            24 + np.floor(rng.beta(2.5, 2.5, n_h) * 26),
            22 + np.floor(rng.beta(2.0, 2.0, n_h) * 33),
            65 + np.minimum(np.floor(rng.gamma(2.0, 4.5, n_h)), 35),
        ],
    ).astype(np.int64)
    partner_offset = np.round(rng.normal(np.select([htype == FAMILY], [2.5], 1.5), 3.0)).astype(np.int64)
    partner_age = np.clip(head_age + partner_offset, np.where(htype == OLD_COUPLE, 60, 18), 102)
    span = np.clip(head_age - 18, 1, 25)
    child_age = np.floor(rng.random(n) * span[hh]).astype(np.int64)
    is_head = member == 0
    is_partner = (member == 1) & (n_adults[hh] == 2)
    child = member >= n_adults[hh]
    age = np.where(is_head, head_age[hh], np.where(is_partner, partner_age[hh], child_age))

    # sexes
    t = htype[hh]
    r = rng.random(n)
    head_w = np.select(
        [t == SINGLE_YOUNG, t == SINGLE_MIDDLE, t == SINGLE_OLD, t == SINGLE_PARENT], [0.48, 0.47, 0.66, 0.88], 1.0
    )
    sex = np.where(r < 0.4875, SEX_W, SEX_M)
    sex = np.where(is_head, np.where(r < head_w, SEX_W, SEX_M), sex)
    sex = np.where(is_partner, np.where(r < 0.03 * (t == COUPLE), SEX_W, SEX_M), sex)
    single = (t <= SINGLE_MIDDLE) & is_head
    sex = np.where(single & (rng.random(n) < 0.002), SEX_D, sex)

    # nationalities: one code per household; children of foreigners born here are often German
    foreign_p = _FOREIGN_WEIGHTS / _FOREIGN_WEIGHTS.sum()
    code = 1 + _categorical(rng, np.broadcast_to(foreign_p, (n_h, len(foreign_p))))
    migbg_h = foreign | (rng.random(n_h) < 0.08 + 0.25 * foreign_share)
    second_h = (~foreign) & migbg_h & (rng.random(n_h) < 0.35)
    second_code = _SECOND_INDEX[
        _categorical(rng, np.broadcast_to(_SECOND_WEIGHTS / _SECOND_WEIGHTS.sum(), (n_h, len(_SECOND_WEIGHTS))))
    ]
    ius_soli = foreign[hh] & child & (rng.random(n) < 0.3)
    person_foreign = foreign[hh] & ~ius_soli
    nat1 = np.where(person_foreign, code[hh], 0)
    nat2 = np.where(ius_soli, code[hh], np.where(second_h[hh], second_code[hh], -1))
    migbg = migbg_h[hh]

    secondary_p = np.where(child, 0.004, np.where(t == SINGLE_YOUNG, 0.06, 0.012))
    secondary = rng.random(n) < secondary_p

    birth_year = ref_year - age
    birth_month = rng.integers(1, 13, n)
    birth_day = month_start(birth_year, birth_month) + rng.integers(0, 28, n)
    return NewPersons(
        hh=hh,
        age=age,
        birth_year=birth_year.astype(np.int64),
        birth_month=birth_month.astype(np.int64),
        birth_day=birth_day.astype(np.int64),
        sex=sex.astype(np.int8),
        nat1=nat1.astype(np.int16),
        nat2=nat2.astype(np.int16),
        migbg=migbg,
        secondary=secondary,
        child=child,
    )
