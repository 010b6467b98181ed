"""Maps and charts of the printed report as SVG (vectors in the PDF), written here rather than by a
chart library: a few hundred lines, deterministic text, and the maps reuse the atlas's projected
boundaries (`atlas/geometry.py`: SVG paths in a viewBox whose longer side is 10,000 units).

Every colour comes from the report's style (`report.yml`, `farben`), so a city changes them without
touching code. Numbers on axes are German (decimal comma, thousands point). A withheld area is
hatched, an area without a value grey: never coloured as if it had a number."""

from __future__ import annotations

import html
import re
from typing import Any

from .german import day, number

FONT = "Libertinus Serif"  # bundled with typst: the same glyphs on every machine
_HATCH = (
    '<pattern id="w" patternUnits="userSpaceOnUse" width="{s}" height="{s}" patternTransform="rotate(45)">'
    '<rect width="{s}" height="{s}" fill="#ffffff"/><rect width="{h}" height="{s}" fill="{c}"/></pattern>'
)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_RING = re.compile(r"M(-?\d+) (-?\d+)l([^z]*)z")
_NUMBER = re.compile(r"-?\d+")


def coarse(path: str, factor: int) -> str:
    """An atlas path (`geometry.py`: "M x y l dx dy … z" per ring, whole units) at 1/`factor` of its
    resolution: every vertex divided and rounded, repeated vertices dropped, rings that collapse
    dropped. A map printed 10 cm wide needs about 2,500 units, not the atlas's 10,000 (a profile with
    Berlin's 542 detailed boundaries shrinks by about three quarters). Linear in the path's length."""
    if factor <= 1:
        return path
    out = []
    for ring in _RING.finditer(path):
        x, y = int(ring.group(1)), int(ring.group(2))
        steps = [int(n) for n in _NUMBER.findall(ring.group(3))]
        points = [(round(x / factor), round(y / factor))]
        for dx, dy in zip(steps[::2], steps[1::2], strict=True):
            x, y = x + dx, y + dy
            p = (round(x / factor), round(y / factor))
            if p != points[-1]:
                points.append(p)
        if len(points) > 1 and points[0] == points[-1]:
            points.pop()
        if len(points) < 3:
            continue
        rel = []
        for (ax, ay), (bx, by) in zip(points, points[1:]):  # noqa: B905 - pairs of neighbours
            rel.append(f"{bx - ax} {by - ay}".replace(" -", "-"))
        out.append(f"M{points[0][0]} {points[0][1]}l" + " ".join(rel).replace(" -", "-") + "z")
    return "".join(out)


def quantile_breaks(values: list[float], classes: int) -> list[float]:
    """Upper bounds of up to `classes` quantile classes (the last is the maximum), at values of areas
    (nearest rank), without repeats: the same values always give the same classes."""
    xs = sorted(values)
    if not xs:
        return []
    out: list[float] = []
    for k in range(1, classes + 1):
        x = xs[max(0, min(len(xs) - 1, -(-k * len(xs) // classes) - 1))]
        if not out or x > out[-1]:
            out.append(x)
    return out


def class_of(x: float, breaks: list[float]) -> int:
    for i, b in enumerate(breaks):
        if x <= b:
            return i
    return len(breaks) - 1


def ramp(colours: list[str], n: int) -> list[str]:
    """n colours spread evenly over a ramp (light first)."""
    if n <= 1:
        return [colours[len(colours) // 2]]
    return [colours[round(i * (len(colours) - 1) / (n - 1))] for i in range(n)]


def choropleth(
    width: int,
    height: int,
    paths: list[str],
    fills: list[str],
    style: dict[str, Any],
    highlight: int | None = None,
    overlay: str | None = None,
) -> str:
    """A map: one path per area with its fill ("hatch" = withheld, "none" = no value); `highlight`:
    the outline of one of them drawn strong; `overlay`: a path drawn filled on top (a location map)."""
    stroke = max(width, height) / 700
    grey, hatch = style["keine_angabe"], style["geheim"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{-stroke * 2:.0f} {-stroke * 2:.0f} '
        f'{width + stroke * 4:.0f} {height + stroke * 4:.0f}">',
        "<defs>" + _HATCH.format(s=round(stroke * 6), h=round(stroke * 2), c=hatch) + "</defs>",
        f'<g stroke="#ffffff" stroke-width="{stroke:.0f}" stroke-linejoin="round">',
    ]
    for path, fill in zip(paths, fills, strict=True):
        colour = "url(#w)" if fill == "hatch" else grey if fill == "none" else fill
        out.append(f'<path d="{path}" fill="{colour}"/>')
    out.append("</g>")
    if highlight is not None:
        out.append(
            f'<path d="{paths[highlight]}" fill="none" stroke="{style["markierung"]}" '
            f'stroke-width="{stroke * 4:.0f}" stroke-linejoin="round"/>'
        )
    if overlay:
        out.append(f'<path d="{overlay}" fill="{style["markierung"]}" stroke="{style["markierung"]}" '
                   f'stroke-width="{stroke * 2:.0f}" stroke-linejoin="round"/>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


def _ticks(low: float, high: float, n: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1
    raw = (high - low) / n
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1.0
    while magnitude > raw:
        magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= raw:
            step *= magnitude
            break
    start = (low // step) * step
    ticks = []
    x = start
    while x <= high + step * 1e-9:
        ticks.append(round(x, 10))
        x += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def line_chart(
    stichtage: list[str], series: list[tuple[str, list[float | None], str, bool]], unit_label: str,
    style: dict[str, Any], width: int = 460, height: int = 190,
) -> str:  # fmt: skip
    """Lines over the Stichtage: (label, values, colour, dashed) per series; a gap where a value is
    withheld or unknown. German tick labels; the legend below the plot."""
    xs = [v for _l, vals, _c, _d in series for v in vals if v is not None]
    left, right, top, bottom = 48, 10, 16, 46
    pw, ph = width - left - right, height - top - bottom
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" font-family="{FONT}" '
           f'font-size="10">']  # fmt: skip
    if not xs:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">keine Werte</text></svg>')
        return "".join(out)
    low, high = min(xs), max(xs)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1
    ticks = _ticks(min(0.0, low) if low >= 0 and low < (high - low) else low - pad, high + pad)
    y0, y1 = ticks[0], ticks[-1]
    places = 0 if all(float(t).is_integer() for t in ticks) else 1

    def py(v: float) -> float:
        return top + ph - (v - y0) / (y1 - y0) * ph

    def px(i: int) -> float:
        return left + (pw * i / (len(stichtage) - 1) if len(stichtage) > 1 else pw / 2)

    for t in ticks:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#dddddd" '
                   f'stroke-width="0.6"/>')  # fmt: skip
        out.append(f'<text x="{left - 4}" y="{py(t) + 3:.1f}" text-anchor="end">{number(t, places)}</text>')
    for i, d in enumerate(stichtage):
        out.append(f'<text x="{px(i):.1f}" y="{top + ph + 13}" text-anchor="middle">{d[:4]}</text>')
    out.append(f'<text x="4" y="{top - 5}" font-size="9">{_e(unit_label)}</text>')
    for label_i, (label, vals, colour, dashed) in enumerate(series):
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        run: list[str] = []
        for i, v in enumerate([*vals, None]):
            if v is not None:
                run.append(f"{px(i):.1f},{py(v):.1f}")
                continue
            if len(run) > 1:
                out.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="1.8"'
                           f'{dash}/>')  # fmt: skip
            run = []
        for i, v in enumerate(vals):
            if v is not None:
                out.append(f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="2.2" fill="{colour}"/>')
        lx = left + label_i * (pw / max(1, len(series)))
        out.append(f'<line x1="{lx:.1f}" x2="{lx + 16:.1f}" y1="{height - 12}" y2="{height - 12}" stroke="{colour}" '
                   f'stroke-width="1.8"{dash}/>')  # fmt: skip
        out.append(f'<text x="{lx + 20:.1f}" y="{height - 9}">{_e(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def spine(area: float | None, city: float | None, low: float | None, high: float | None, flip: bool,
          style: dict[str, Any], width: int = 120, height: int = 12) -> str:  # fmt: skip
    """One row of a spine chart: the range of the level (bar), the city (centre line), the area (dot).
    Symmetric around the city; `flip` puts the favourable side to the right for every indicator."""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}">']
    mid = width / 2
    if city is not None and low is not None and high is not None:
        span = max(abs(high - city), abs(city - low), 1e-12)

        def x(v: float) -> float:
            d = (v - city) / span * (width / 2 - 4)
            return mid - d if flip else mid + d

        a, b = sorted((x(low), x(high)))
        out.append(f'<rect x="{a:.1f}" y="3" width="{max(b - a, 0.5):.1f}" height="{height - 6}" '
                   f'fill="{style["spanne"]}"/>')  # fmt: skip
        if area is not None:
            out.append(f'<circle cx="{x(area):.1f}" cy="{height / 2}" r="3.2" fill="{style["markierung"]}"/>')
    out.append(f'<line x1="{mid}" x2="{mid}" y1="0" y2="{height}" stroke="#333333" stroke-width="1"/>')
    out.append("</svg>")
    return "".join(out)


def swatch(colour: str, style: dict[str, Any]) -> str:
    """A legend key: a filled square, or hatched for withheld."""
    fill = "url(#w)" if colour == "hatch" else colour
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 12 12"><defs>'
            + _HATCH.format(s=4, h=1.5, c=style["geheim"]) + f'</defs><rect width="12" height="12" fill="{fill}" '
            'stroke="#999999" stroke-width="0.5"/></svg>')  # fmt: skip


__all__ = ["choropleth", "class_of", "day", "line_chart", "quantile_breaks", "ramp", "spine", "swatch"]
