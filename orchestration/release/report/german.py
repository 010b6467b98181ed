"""Numbers and dates the way a German reader expects them in print (DIN 5008 / amtliche Statistik):
decimal comma, thousands point, the unit after a non-breaking space, withheld values as the sign
of official statistics (never 0), values of limited validity in brackets."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..tables import SIGN_UNKNOWN

NBSP = "\u00a0"
# units printed after the number; "Anzahl" is a plain count and gets no unit
UNIT_SUFFIX = {"Anzahl": ""}


def decimals(unit: str) -> int:
    """Decimals printed for a value of `unit`: as the German tables and the atlas show them."""
    return 0 if unit == "Anzahl" else 1


def number(x: float | int, places: int) -> str:
    """12345.678, 1 -> "12.345,7"; rounded half away from zero on the decimal digits as published
    (not on the binary float: 0.25 -> "0,3"); -0.04 -> "-0,0" is printed as "0,0"."""
    q = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)
    sign = "-" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = ".".join(groups)
    return f"{sign}{text},{frac}" if places else f"{sign}{text}"


def with_unit(text: str, unit: str) -> str:
    suffix = UNIT_SUFFIX.get(unit, unit)
    return f"{text}{NBSP}{suffix}" if suffix else text


def cell(value: Any, code: str, unit: str, unit_shown: bool = False) -> str:
    """A published cell as printed: the number (in brackets when of limited validity: code g, t, b)
    or, without a number, its sign (•, /, x, .)."""
    if value is None:
        return code if code and code not in "0gtb" else SIGN_UNKNOWN
    text = number(value, decimals(unit))
    if unit_shown:
        text = with_unit(text, unit)
    return f"({text})" if code in ("g", "t", "b") else text


def change(delta: float, unit: str) -> str:
    """A difference with its sign: "+1,2", "-0,4", "±0,0"."""
    text = number(delta, decimals(unit))
    if text.lstrip("-").replace("0", "").replace(",", "").replace(".", "") == "":
        return f"±{text.lstrip('-')}"
    return text if text.startswith("-") else f"+{text}"


def day(iso: str) -> str:
    """ "2024-12-31" -> "31.12.2024"."""
    y, m, d = iso.split("-")
    return f"{d}.{m}.{y}"
