"""Writes mss2015-planning-areas.geojson.gz, the test copy of Berlin's 2015 Planungsräume, from
shared/reference/berlin-mss/mss2015-planning-areas.geojson (run once; the output is committed):

    python tests/data/berlin-mss/make_planning_areas.py ../shared/reference/berlin-mss/mss2015-planning-areas.geojson

Only `id`, `name` and the geometry are kept, coordinates rounded to 5 decimals (about 1 m; the atlas
draws Berlin with 4.5 m per unit), gzip-compressed with a fixed time stamp: 0.3 MB instead of 3.4 MB.

One correction: the source conversion (joined by name) gives Charlottenburg's Planungsraum
"Schloßstraße" (04030417, north of 52.50° N) the id of Steglitz's "Schloßstraße" (06010102), so the
id 06010102 appears twice and 04030417 not at all. The feature north of 52.50° N gets its own id back.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path


def _round(node):
    if isinstance(node[0], list):
        return [_round(n) for n in node]
    return [round(node[0], 5), round(node[1], 5)]


def main(source: Path, target: Path) -> None:
    data = json.loads(source.read_text(encoding="utf-8"))
    features = []
    for feature in data["features"]:
        props = feature["properties"]
        area_id = props["id"]
        if area_id == "06010102" and props["bounding_box"][1] > 52.5:
            area_id = "04030417"
        features.append({
            "type": "Feature",
            "properties": {"id": area_id, "name": props["name"]},
            "geometry": {"type": feature["geometry"]["type"],
                         "coordinates": _round(feature["geometry"]["coordinates"])},
        })  # fmt: skip
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":"))
    target.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).with_name("mss2015-planning-areas.geojson.gz"))
