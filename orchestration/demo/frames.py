"""Shared helpers of the truth frames: category tables, typed columns, dates, the address as typed.

Used by every module in `sources/` to turn the simulation's index arrays into the columns of its
frames, the same way for every department.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from . import households as hhmod
from .benefits import TypedAddress
from .geography import Geography
from .simulation import RawData
from .spelling import spell, street_variants
from .streams import Streams


def hex_keys(keys: np.ndarray) -> np.ndarray:
    """uint64 → 16 lowercase hex digits, vectorised."""
    raw = np.asarray(keys, dtype=">u8").tobytes().hex().encode("ascii")
    return np.frombuffer(raw, dtype="S16").astype(str).astype(object)


def cat(codes: np.ndarray, categories: np.ndarray | list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=pd.Index(categories, dtype=object))


def datetimes(days: np.ndarray) -> np.ndarray:
    """Integer day numbers → datetime64[s] (the resolution of every date column)."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]")


def stichtag_of(year: int) -> np.datetime64:
    return np.datetime64(date(year, 12, 31).isoformat(), "s")


class Labels:
    """Category tables shared by all frames."""

    def __init__(self, raw: RawData) -> None:
        g = raw.geo
        self.block = g.block_codes
        self.address = g.address_ids
        # Streets without addresses have key 0 and are never written; their labels only need to be
        # distinct (a small city has several such streets).
        self.street_key = np.array(
            [f"{k:05d}" if k else f"unused-{i}" for i, k in enumerate(g.street_keys)], dtype=object
        )
        self.person = raw.person_hex
        codes = np.char.zfill(raw.household_code.astype(str), 8)
        self.household = np.char.add("H", codes).astype(object)
        self.nationality = hhmod.NATIONALITY_CODES
        self.sex = np.array(hhmod.SEX_CODES, dtype=object)
        self.suffix = np.array(list("abcdefghijklmnopqrstuvwxyz"), dtype=object)
        self.variants = street_variants(g.street_names)


def optional_int(values: np.ndarray, present: np.ndarray) -> pd.api.extensions.ExtensionArray:
    out = pd.array(np.asarray(values, dtype=np.int64), dtype="Int64")
    out[~present] = pd.NA
    return out


def address_columns(prefix: str, addr: np.ndarray, g: Geography, labels: Labels) -> dict[str, object]:
    """address_id, block_code, street_key, house_number, suffix for address indices (-1 = none)."""
    has = addr >= 0
    a = np.where(has, addr, 0)
    block = np.where(has, g.addr_block[a], -1)
    return {
        f"{prefix}address_id": cat(np.where(has, a, -1), labels.address),
        f"{prefix}block_code": cat(block, labels.block),
        f"{prefix}street_key": cat(np.where(has, g.addr_street[a], -1), labels.street_key),
        f"{prefix}house_number": optional_int(g.addr_number[a], has),
        f"{prefix}house_number_suffix": cat(np.where(has, g.addr_suffix[a], 0) - 1, labels.suffix),
    }


def typed_columns(
    labels: Labels, streams: Streams, source: str, year: int, typed: TypedAddress, unit: np.ndarray
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


def concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def codes(prefix: str, numbers: np.ndarray, digits: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.asarray(numbers).astype(str), digits)).astype(object)


def sum_by(group: np.ndarray, present: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sums of `values` per group index, for the groups in `present`."""
    return np.bincount(group, weights=values, minlength=int(present.max()) + 1)[present]
