"""An atlas from an external table and GeoJSON: any city's published values on its own boundaries.

Input: a GeoJSON of the areas (WGS84; an id and a name property), a CSV with one row per area (read
like `sozialmonitor index mss` reads it: `,` or `;`, decimal comma accepted, ids as text) and,
optionally, a CSV with published status/dynamics classes (an area missing there is "nicht indexiert").
Output: the same atlas document as a release gives (`model.release_model`), one level, one Stichtag.
Berlin's Monitoring Soziale Stadtentwicklung 2015 on its 447 Planungsräume is the worked example
(tests/release/test_atlas_berlin.py, docs/atlas.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..tables import SIGN_UNKNOWN, SIGNS
from .geometry import Projection, read_features
from .model import CLASS_ORDER, FORMAT, display_decimals, number


@dataclass(frozen=True)
class Column:
    """One indicator column of the table: column name, German name, unit, direction."""

    column: str
    name: str
    unit: str = ""
    direction: str = "neutral"
    topic: str = "Kennzahlen"

    @classmethod
    def parse(cls, spec: str) -> Column:
        """`column[:Name[:unit[:direction[:topic]]]]`, e.g. `s1:Arbeitslose:%:lower_is_better`."""
        parts = spec.split(":")
        if not parts[0]:
            raise ValueError(f"indicator spec {spec!r}: no column name")
        column = parts[0]
        name = parts[1] if len(parts) > 1 and parts[1] else column
        unit = parts[2] if len(parts) > 2 else ""
        direction = parts[3] if len(parts) > 3 and parts[3] else "neutral"
        if direction not in ("neutral", "lower_is_better", "higher_is_better"):
            raise ValueError(f"indicator spec {spec!r}: direction must be neutral, lower_is_better or higher_is_better")
        topic = parts[4] if len(parts) > 4 and parts[4] else "Kennzahlen"
        return cls(column, name, unit, direction, topic)


@dataclass(frozen=True)
class Classes:
    """Published status/dynamics classes: the file, its id column and the two class columns."""

    path: Path
    id_column: str
    status_column: str
    dynamics_column: str
    name: str = "Status- und Dynamikindex"


def external_model(
    geojson: Path,
    values: Path,
    id_column: str,
    columns: list[Column],
    stichtag: str,
    title: str,
    level: str = "gebiet",
    level_name: str = "Gebiet",
    level_plural: str | None = None,
    id_property: str = "id",
    name_property: str = "name",
    classes: Classes | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The atlas document, and notes on what does not match (areas without a table row, table rows
    without a polygon), for the person who runs it."""
    from ...indices.mss import read_values

    features = read_features(geojson, id_property, name_property)
    ids = [f[0] for f in features]
    projection = Projection([ring for _i, _n, rings in features for ring in rings])
    table = read_values(values, id_column=id_column, numeric_columns=[c.column for c in columns])
    table = table.drop_duplicates(subset=[id_column]).set_index(id_column)
    series: dict[str, Any] = {}
    for col in columns:
        row = [number(table.at[i, col.column]) if i in table.index else None for i in ids]
        series[col.column] = {
            "v": [row],
            "n": [[None] * len(ids)],
            "c": ["".join("0" if v is not None else SIGN_UNKNOWN for v in row)],
        }
    notes = []
    no_row = [i for i in ids if i not in table.index]
    no_polygon = sorted(set(table.index) - set(ids))
    if no_row:
        notes.append(f"{len(no_row)} areas of {geojson.name} have no row in {values.name}: {', '.join(no_row[:10])}")
    if no_polygon:
        notes.append(f"{len(no_polygon)} rows of {values.name} have no polygon: {', '.join(no_polygon[:10])}")
    indices = []
    if classes is not None:
        published = read_values(classes.path, id_column=classes.id_column, numeric_columns=[])
        published = published.drop_duplicates(subset=[classes.id_column]).set_index(classes.id_column)
        status, dynamics, reason = [], [], []
        for i in ids:
            s = published.at[i, classes.status_column] if i in published.index else None
            d = published.at[i, classes.dynamics_column] if i in published.index else None
            ok = s in CLASS_ORDER["status"] and d in CLASS_ORDER["dynamics"]
            status.append(s if ok else None)
            dynamics.append(d if ok else None)
            reason.append(None if ok else "nicht indexiert")
        indices.append({
            "id": "status_dynamik", "name": classes.name, "kind": "status_dynamics", "level": level,
            "stichtage": [stichtag], "status": [status], "dynamics": [dynamics],
            "status_z": [[None] * len(ids)], "dynamics_z": [[None] * len(ids)], "reason": [reason],
        })  # fmt: skip
    model = {
        "format": FORMAT,
        "title": title,
        "stichtag": stichtag,
        "stichtage": [stichtag],
        "signs": [[sign, text] for sign, text in SIGNS],
        "levels": [{"id": level, "name": level_name, "plural": level_plural or level_name, "map": True}],
        "city": None,
        "indicators": [
            {
                "id": c.column,
                "name": c.name,
                "topic": c.topic,
                "unit": c.unit,
                "decimals": display_decimals(c.unit),
                "direction": c.direction,
                "direction_de": "",
                "definition": "",
                "numerator": "",
                "denominator": "",
                "source": str(values.name),
                "responsible": "",
                "cycle": "",
            }
            for c in columns
        ],  # fmt: skip
        "geo": {
            "width": projection.width,
            "height": projection.height,
            "areas": {
                level: {
                    "ids": ids,
                    "names": [f[1] for f in features],
                    "paths": [projection.path(f[2]) for f in features],
                }
            },
        },  # fmt: skip
        "values": {level: series},
        "indices": indices,
    }
    return model, notes
