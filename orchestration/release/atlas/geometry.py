"""Unit polygons as SVG paths, projected once at build time so that the browser needs no map library.

The release's GeoJSON is WGS84 (longitude, latitude). A city is small enough for a local
equirectangular projection: x = (λ - λ0) · cos φ0, y = -(φ - φ0) around the centre of all units. Its
scale error across 50 km is below 0.2 %, less than a line on the screen. The projected map is scaled
so that its longer side is `SIDE` units and every vertex is rounded to a whole unit (Berlin, 45 km
wide: 4.5 m; Musterstadt: well below a metre); a vertex that rounds onto its predecessor is dropped.
Paths are written with relative moves ("M x y l dx dy … z"): short integers, deterministic text.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

SIDE = 10_000  # units of the longer side of the map (the SVG viewBox)


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    if geometry["type"] == "GeometryCollection":
        return [ring for g in geometry["geometries"] for ring in _rings(g)]
    return []


def read_features(path: Path, id_property: str = "area_id", name_property: str = "area_name"):
    """(id, name, rings) per feature of a GeoJSON file (gzip-compressed if it ends in .gz), in id
    order; features with the same id are merged (a unit delivered in two parts)."""
    raw = path.read_bytes()
    data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    out: dict[str, tuple[str, list]] = {}
    for feature in data["features"]:
        props = feature.get("properties") or {}
        area_id = str(props[id_property])
        name = str(props.get(name_property) or area_id)
        rings = _rings(feature["geometry"]) if feature.get("geometry") else []
        if area_id in out:
            out[area_id][1].extend(rings)
        else:
            out[area_id] = (name, rings)
    return [(area_id, name, rings) for area_id, (name, rings) in sorted(out.items())]


class Projection:
    """Local equirectangular projection fitted to a set of rings, scaled to the SVG viewBox."""

    def __init__(self, rings: list[list[list[float]]]):
        lons = [p[0] for ring in rings for p in ring]
        lats = [p[1] for ring in rings for p in ring]
        if not lons:
            raise ValueError("no coordinates to project: the GeoJSON files hold no polygons")
        self.lon0 = (min(lons) + max(lons)) / 2
        self.lat0 = (min(lats) + max(lats)) / 2
        self.k = math.cos(math.radians(self.lat0))
        self.x_min = (min(lons) - self.lon0) * self.k
        self.y_min = -(max(lats) - self.lat0)
        width = (max(lons) - min(lons)) * self.k
        height = max(lats) - min(lats)
        self.scale = SIDE / max(width, height, 1e-12)
        self.width = math.ceil(width * self.scale)
        self.height = math.ceil(height * self.scale)

    def point(self, lon: float, lat: float) -> tuple[int, int]:
        x = ((lon - self.lon0) * self.k - self.x_min) * self.scale
        y = (-(lat - self.lat0) - self.y_min) * self.scale
        return round(x), round(y)

    def path(self, rings: list[list[list[float]]]) -> str:
        parts = []
        for ring in rings:
            points: list[tuple[int, int]] = []
            for lon, lat, *_ in ring:
                p = self.point(lon, lat)
                if not points or p != points[-1]:
                    points.append(p)
            if len(points) > 1 and points[0] == points[-1]:
                points.pop()  # "z" closes the ring
            if len(points) < 3:
                continue  # a ring that collapses to a line or a point at this scale
            x, y = points[0]
            steps = []
            for px, py in points[1:]:
                steps.append(f"{px - x} {py - y}".replace(" -", "-"))
                x, y = px, py
            parts.append(f"M{points[0][0]} {points[0][1]}l" + " ".join(steps).replace(" -", "-") + "z")
        return "".join(parts)
