"""Addresses as clerks type them: 'Hauptstraße', 'Hauptstr.', 'Hauptstrasse', 'hauptstraße', extra
spaces; house number suffixes as '12a', '12 A' or '12A'."""

from __future__ import annotations

import numpy as np

# probabilities of: canonical, abbreviated, ss for ß, lower case, extra spaces
STREET_VARIANT_P = np.array([0.55, 0.20, 0.10, 0.07, 0.08])
# probabilities of: '12a', '12 A', '12A'
SUFFIX_STYLE_P = np.array([0.6, 0.2, 0.2])
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# house number tail per (style, suffix index): '', 'a'/' A'/'A', ...
SUFFIX_TAIL = np.array(
    [[""] + list(_LETTERS), [""] + [f" {c.upper()}" for c in _LETTERS], [""] + [c.upper() for c in _LETTERS]],
    dtype=object,
)


def abbreviate(name: str) -> str:
    """'Hauptstraße' → 'Hauptstr.', 'Berliner Straße' → 'Berliner Str.', 'Schillerplatz' → 'Schillerpl.'."""
    for long, short in (("straße", "str."), ("Straße", "Str."), ("platz", "pl.")):
        if name.endswith(long):
            return name[: -len(long)] + short
    return name


def with_extra_spaces(name: str) -> str:
    if " " in name:
        return name.replace(" ", "  ", 1)
    return f"{name}  "


def street_variants(street_names: np.ndarray) -> np.ndarray:
    """(streets × 5) table of spellings; the loop runs over streets, not records."""
    table = np.empty((len(street_names), len(STREET_VARIANT_P)), dtype=object)
    for i, name in enumerate(street_names):
        table[i] = (name, abbreviate(name), name.replace("ß", "ss"), name.lower(), with_extra_spaces(name))
    return table


def spell(
    rng: np.random.Generator,
    variants: np.ndarray,
    street: np.ndarray,
    number: np.ndarray,
    suffix: np.ndarray,
    unit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Street text and house number text per record; records of one unit share the spelling."""
    _units, first, inverse = np.unique(unit, return_index=True, return_inverse=True)
    n_units = len(first)
    variant = _draw(rng, STREET_VARIANT_P, n_units)[inverse]
    style = _draw(rng, SUFFIX_STYLE_P, n_units)[inverse]
    street_text = variants[street, variant]
    tail = SUFFIX_TAIL[style, suffix]
    number_text = number.astype(np.int64).astype(str).astype(object) + tail
    return street_text.astype(object), number_text.astype(object)


def _draw(rng: np.random.Generator, prob: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(np.cumsum(prob), rng.random(n) * prob.sum(), side="right"), len(prob) - 1)
