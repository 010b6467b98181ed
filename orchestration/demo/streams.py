"""Seeded random streams and calendar helpers.

Every random draw of the generator comes from a stream derived from the configured seed and a
purpose name (plus optional integers such as the year), never from the global RNG. The purpose name
is turned into an integer with CRC-32, which does not depend on Python's hash seed, so the same seed
always gives the same draws regardless of the order in which streams are requested.
"""

from __future__ import annotations

import zlib
from datetime import date

import numpy as np

EPOCH = date(1970, 1, 1)


class Streams:
    """Factory of independent `numpy.random.Generator`s (PCG64), one per purpose."""

    def __init__(self, seed: int) -> None:
        self._seed = int(seed)

    def get(self, purpose: str, *index: int) -> np.random.Generator:
        spawn_key = (zlib.crc32(purpose.encode("utf-8")), *(int(i) for i in index))
        sequence = np.random.SeedSequence(self._seed, spawn_key=spawn_key)
        return np.random.Generator(np.random.PCG64(sequence))


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the integer behind numpy's datetime64[D])."""
    return (day - EPOCH).days


def year_start(year: int) -> int:
    return day_number(date(year, 1, 1))


def year_end(year: int) -> int:
    return day_number(date(year, 12, 31))


def days_to_dates(days: np.ndarray) -> np.ndarray:
    """Integer day numbers → numpy datetime64[D]."""
    return np.asarray(days, dtype="int64").astype("datetime64[D]")


def day_month_year(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer day numbers → (day, month, year) integer arrays, vectorised."""
    d = days_to_dates(days)
    years = d.astype("datetime64[Y]")
    months = d.astype("datetime64[M]")
    day = (d - months).astype("int64") + 1
    month = (months - years).astype("int64") + 1
    year = years.astype("int64") + 1970
    return day, month, year


def month_start(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Day number of the first day of (year, month), vectorised."""
    months = (np.asarray(year, dtype="int64") - 1970) * 12 + (np.asarray(month, dtype="int64") - 1)
    return months.astype("datetime64[M]").astype("datetime64[D]").astype("int64")


def case_numbers(
    index: np.ndarray, modulus: int, rng: np.random.Generator, slot: int | None, slots: int = 10
) -> np.ndarray:
    """`affine_codes`; with a slot, within the slot's part of the modulus (a tenth, or with 100
    `slots` a hundredth, with 1000 a thousandth), led by the slot's digits: the Städte of a Kreis
    number their cases apart (Gemeinde.number_slot, Gemeinde.number_slots)."""
    if slot is None:
        return affine_codes(index, modulus, rng)
    part = modulus // slots
    return slot * part + affine_codes(index, part, rng)


def affine_codes(index: np.ndarray, modulus: int, rng: np.random.Generator) -> np.ndarray:
    """A pseudo-random but collision-free number in [0, modulus) for each index below `modulus`.

    Uses index → (a·index + b) mod modulus with a multiplier coprime to the modulus (a power of
    ten), so distinct indices always get distinct numbers.
    """
    a = int(rng.integers(modulus // 10, modulus - 1))
    while a % 2 == 0 or a % 5 == 0:
        a += 1
    b = int(rng.integers(0, modulus))
    idx = np.asarray(index, dtype="int64")
    if idx.size and int(idx.max()) >= modulus:
        raise ValueError(f"index {int(idx.max())} does not fit into {modulus} codes")
    return (idx * a + b) % modulus
