"""The atlas's data, read from a release's public files only (data/*.parquet, geo/*.geojson).

One JSON document (`data.js` assigns it to `window.SOZIALATLAS`, since a page opened from file://
may not fetch() a JSON file). Compact and columnar: per level the areas in id order (ids, names,
SVG paths) and per level and indicator one array per Stichtag, aligned with the areas:

    values[level][indicator] = {"v": [[value per area] per Stichtag], "n": numerators, "d": denominators,
                                "c": ["one code per area" per Stichtag]}

The values are `indicator_series`: every Stichtag on today's Gebietsstand (the boundaries drawn), so
the time slider compares like with like; for the release's Stichtag they are the values of
`indicator_values`. Code of a cell: "0" a value, "g" an estimated value (geschätzt), "t" a value
computed from partly withheld inputs, "b" both; no value: the sign of official statistics ("•"
withheld, "/" too few residents, "x" not meaningful, "." unknown), the same signs as the tables.
Numbers are written as published (the release's rounding); integral numbers without ".0".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...warehouse import scratch, sql_string
from ..tables import (
    DIRECTION_DE,
    SIGN_DISCLOSURE,
    SIGN_NOT_MEANINGFUL,
    SIGN_SMALL_POPULATION,
    SIGN_UNKNOWN,
    SIGNS,
    level_de,
    unit_gemeinde_sql,
)
from .geometry import Projection, read_features

FORMAT = 1
LEVEL_PLURAL = {
    "stadtviertel": "Stadtviertel",
    "stadtteil": "Stadtteile",
    "stadtbezirk": "Stadtbezirke",
    "gemeinde": "Gemeinden",
    "kreis": "Kreise",
    "sozialraum": "Sozialräume",
    "baublock": "Baublöcke",
}
CLASS_ORDER = {
    "status": ["hoch", "mittel", "niedrig", "sehr niedrig"],
    "dynamics": ["positiv", "stabil", "negativ"],
}


def number(x: Any) -> int | float | None:
    """A published number for JSON: None stays None, 12.0 becomes 12."""
    if x is None:
        return None
    x = float(x)
    if x != x:  # NaN
        return None
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def cell_code(value: Any, is_suppressed: Any, reason: Any, flags: Any) -> str:
    """The code of one cell of indicator_series (see the module docstring)."""
    flag_set = set(str(flags or "").split(","))
    if value is not None and value == value:
        estimated, partial = "estimated" in flag_set, "input_suppressed" in flag_set
        return "b" if estimated and partial else "g" if estimated else "t" if partial else "0"
    if is_suppressed and reason == "small_population":
        return SIGN_SMALL_POPULATION
    if is_suppressed:
        return SIGN_DISCLOSURE
    if "denominator_zero" in flag_set:
        return SIGN_NOT_MEANINGFUL
    return SIGN_UNKNOWN


def display_decimals(unit: str) -> int:
    """Decimals shown in the atlas, as the German tables format them (tables.number_format)."""
    return 0 if unit == "Anzahl" else 1


def _rows(con, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _parquet(data: Path, name: str) -> str:
    return f"read_parquet({sql_string((data / f'{name}.parquet').as_posix())})"


def _levels(con, data: Path, geo: dict[str, Any]) -> tuple[list[str], set[str]]:
    """Public levels with geometry, largest first (the nested ones by rank, then the others), and
    which of them are nested."""
    rows = _rows(
        con,
        f"select level, min(level_rank) as level_rank, bool_and(is_nested) as is_nested "
        f"from {_parquet(data, 'areas')} group by level",
    )
    ranks = {r["level"]: (not r["is_nested"], -(r["level_rank"] or 0)) for r in rows}
    nested = {r["level"] for r in rows if r["is_nested"]}
    return sorted(geo, key=lambda level: (ranks.get(level, (True, 0)), level)), nested


def _gemeinde_of(con, data: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(level, area_id) → (id, name) of the Gemeinde it lies in, for every nested unit below the
    Gemeinde level when the release holds several Gemeinden (a Kreis: its Städte reuse names, a
    reader must see whose a unit is); empty for one city."""
    sql = f"select level, area_id, gemeinde_id, gemeinde_name from ({unit_gemeinde_sql(_parquet(data, 'areas'))})"
    return {(level, area_id): (gid, name) for level, area_id, gid, name in con.execute(sql).fetchall()}


def _whole(levels: list[str], nested: set[str], geo_ids: dict[str, list[str]]) -> str | None:
    """The level whose one unit is the whole area of the release (the Gemeinde of a city, the Kreis
    of a Kreis): the largest nested level, if it has exactly one unit. It is the reference line of
    the report and has no map; None when the largest level has several units."""
    top = next((level for level in levels if level in nested), None)
    return top if top is not None and len(geo_ids[top]) == 1 else None


def _indicators(con, data: Path) -> list[dict[str, Any]]:
    rows = _rows(con, f"select * from {_parquet(data, 'indicator_catalogue')} order by topic, name_de, indicator_id")
    out = []
    for r in rows:
        item = {
            "id": r["indicator_id"],
            "name": r["name_de"],
            "topic": r["topic"],
            "unit": r["unit"],
            "decimals": display_decimals(r["unit"]),
            "direction": r.get("direction") or "neutral",
            "direction_de": DIRECTION_DE.get(r.get("direction") or "neutral", r.get("direction") or ""),
            "definition": r.get("definition_de") or "",
            "numerator": r.get("numerator_de") or "",
            "denominator": r.get("denominator_de") or "",
            "source": r.get("source_de") or "",
            "responsible": r.get("responsible") or "",
            "cycle": r.get("update_cycle") or "",
        }
        breaks = r.get("class_breaks")  # optional: fixed class breaks, if a catalogue defines them
        if breaks:
            item["breaks"] = [number(float(b)) for b in str(breaks).split(",") if b.strip()]
        out.append(item)
    return out


def _series(con, data: Path, level: str, ids: list[str], stichtage: list[str], indicators: list[str]):
    index = {area_id: i for i, area_id in enumerate(ids)}
    day = {d: i for i, d in enumerate(stichtage)}
    out: dict[str, dict[str, Any]] = {}
    rows = con.execute(
        f"""select indicator_id, area_id, strftime(stichtag, '%Y-%m-%d'), value, numerator, denominator,
                   is_suppressed, suppression_reason, flags
            from {_parquet(data, "indicator_series")} where level = ? order by all""",
        [level],
    ).fetchall()
    for indicator_id in indicators:
        n = len(ids)
        out[indicator_id] = {
            "v": [[None] * n for _ in stichtage],
            "n": [[None] * n for _ in stichtage],
            "d": [[None] * n for _ in stichtage],
            "c": [[SIGN_UNKNOWN] * n for _ in stichtage],
        }
    for indicator_id, area_id, stichtag, value, numerator, denominator, suppressed, reason, flags in rows:
        if indicator_id not in out or area_id not in index or stichtag not in day:
            continue
        i, t, cells = index[area_id], day[stichtag], out[indicator_id]
        cells["v"][t][i] = number(value)
        cells["n"][t][i] = number(numerator)
        cells["d"][t][i] = number(denominator)
        cells["c"][t][i] = cell_code(value, suppressed, reason, flags)
    for indicator_id, cells in list(out.items()):
        if all(code == SIGN_UNKNOWN for codes in cells["c"] for code in codes):
            del out[indicator_id]  # not published on this level
            continue
        cells["c"] = ["".join(codes) for codes in cells["c"]]
        if all(x is None for xs in cells["d"] for x in xs):
            del cells["d"]  # a count has no denominator
    return out


def _positions(geo_ids: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """Per level: area id -> its position in the level's features (a dict, not list.index per row)."""
    return {level: {area_id: i for i, area_id in enumerate(ids)} for level, ids in geo_ids.items()}


def _status_dynamics(con, data: Path, geo_ids: dict[str, list[str]]) -> list[dict[str, Any]]:
    positions = _positions(geo_ids)
    if not (data / "index_status_dynamics.parquet").exists():
        return []
    rows = _rows(
        con,
        f"""select i.*, strftime(i.stichtag, '%Y-%m-%d') as day, c.name_de
            from {_parquet(data, "index_status_dynamics")} as i
            left join {_parquet(data, "index_catalogue")} as c using (index_id)
            order by index_id, level, stichtag, area_id""",
    )
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        level = r["level"]
        if level not in geo_ids:
            continue
        key = (r["index_id"], level)
        item = out.setdefault(
            key,
            {"id": r["index_id"], "name": r["name_de"] or r["index_id"], "kind": "status_dynamics", "level": level,
             "stichtage": [], "status": [], "dynamics": [], "status_z": [], "dynamics_z": [], "reason": []},
        )  # fmt: skip
        if r["day"] not in item["stichtage"]:
            item["stichtage"].append(r["day"])
            n = len(geo_ids[level])
            for field in ("status", "dynamics", "status_z", "dynamics_z", "reason"):
                item[field].append([None] * n)
        t = item["stichtage"].index(r["day"])
        i = positions[level].get(r["area_id"])
        if i is None:
            continue
        if r["indexed"]:
            item["status"][t][i] = r["status_class"]
            item["dynamics"][t][i] = r["dynamics_class"]
            item["status_z"][t][i] = number(r["status_z"])
            item["dynamics_z"][t][i] = number(r["dynamics_z"])
        else:
            item["reason"][t][i] = r["reason"] or "nicht indexiert"
    return list(out.values())


def _composite(con, data: Path, geo_ids: dict[str, list[str]]) -> list[dict[str, Any]]:
    positions = _positions(geo_ids)
    if not (data / "index_composite.parquet").exists():
        return []
    rows = _rows(
        con,
        f"""select i.*, strftime(i.stichtag, '%Y-%m-%d') as day, c.name_de
            from {_parquet(data, "index_composite")} as i
            left join {_parquet(data, "index_catalogue")} as c using (index_id)
            order by index_id, level, stichtag, component = 'gesamt' desc, component, area_id""",
    )
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        level = r["level"]
        if level not in geo_ids or r["area_id"] not in positions[level]:
            continue
        n = len(geo_ids[level])
        item = out.setdefault(
            (r["index_id"], level),
            {"id": r["index_id"], "name": r["name_de"] or r["index_id"], "kind": "composite", "level": level,
             "stichtage": [], "components": [], "value": {}, "rank": [], "median_rank": [], "rank_p05": [],
             "rank_p95": [], "reason": []},
        )  # fmt: skip
        if r["day"] not in item["stichtage"]:
            item["stichtage"].append(r["day"])
            for field in ("rank", "median_rank", "rank_p05", "rank_p95", "reason"):
                item[field].append([None] * n)
        t = item["stichtage"].index(r["day"])
        i = positions[level][r["area_id"]]
        component = r["component"]
        if component not in [c["id"] for c in item["components"]]:
            item["components"].append({"id": component, "name": r["component_name"] or component})
        values = item["value"].setdefault(component, [])
        while len(values) <= t:
            values.append([None] * n)
        values[t][i] = number(r["value"]) if r["indexed"] else None
        if component == "gesamt":
            if r["indexed"]:
                for field in ("rank", "median_rank", "rank_p05", "rank_p95"):
                    item[field][t][i] = number(r.get(field))
            else:
                item["reason"][t][i] = r["reason"] or "nicht indexiert"
    return list(out.values())


def release_model(release_dir: Path) -> dict[str, Any]:
    """The atlas document of the release in `release_dir`, from its public files only."""
    data, geo_dir = release_dir / "data", release_dir / "geo"
    con = scratch()
    try:
        geo = {p.stem: p for p in sorted(geo_dir.glob("*.geojson"))}
        levels, nested = _levels(con, data, geo)
        features = {level: read_features(geo[level]) for level in levels}
        projection = Projection([ring for fs in features.values() for _i, _n, rings in fs for ring in rings])
        stichtage = [
            r[0]
            for r in con.execute(
                f"select distinct strftime(stichtag, '%Y-%m-%d') from {_parquet(data, 'indicator_series')} order by 1"
            ).fetchall()
        ]
        release_day = con.execute(
            f"select strftime(max(stichtag), '%Y-%m-%d') from {_parquet(data, 'indicator_values')}"
        ).fetchone()[0]
        indicators = _indicators(con, data)
        ids = [i["id"] for i in indicators]
        geo_ids = {level: [f[0] for f in features[level]] for level in levels}
        values = {level: _series(con, data, level, geo_ids[level], stichtage, ids) for level in levels}
        city = None
        whole = _whole(levels, nested, geo_ids)
        if whole is not None:
            city = {"level": whole, "id": geo_ids[whole][0], "name": features[whole][0][1]}
        indices = _status_dynamics(con, data, geo_ids) + _composite(con, data, geo_ids)
        within = _gemeinde_of(con, data)
    finally:
        con.close()
    published = {i for level in values.values() for i in level}
    return {
        "format": FORMAT,
        "title": city["name"] if city else "",
        "stichtag": release_day,
        "stichtage": stichtage,
        "signs": [[sign, text] for sign, text in SIGNS],
        "levels": [
            {
                "id": level,
                "name": level_de(level),
                "plural": LEVEL_PLURAL.get(level, level_de(level)),
                "map": level != whole,
            }
            for level in levels
        ],  # fmt: skip
        "city": city,
        "indicators": [i for i in indicators if i["id"] in published],
        "geo": {
            "width": projection.width,
            "height": projection.height,
            "areas": {
                level: {
                    "ids": geo_ids[level],
                    # in a Kreis with the Gemeinde: "Altstadt (Lindenstadt)"
                    "names": [
                        f"{f[1]} ({within[level, f[0]][1]})" if (level, f[0]) in within else f[1]
                        for f in features[level]
                    ],
                    "paths": [projection.path(f[2]) for f in features[level]],
                    # in a Kreis, below the Gemeinde: the id of each unit's Gemeinde (its profile's Stadt)
                    **(
                        {"gemeinde": [within.get((level, f[0]), (None,))[0] for f in features[level]]}
                        if any(lv == level for lv, _ in within)
                        else {}
                    ),
                }
                for level in levels
            },  # fmt: skip
        },
        "values": values,
        "indices": indices,
    }


def dumps(model: dict[str, Any]) -> str:
    """The document as `data.js`: deterministic text (fixed key order, no spaces, UTF-8)."""
    text = json.dumps(model, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return f"window.SOZIALATLAS={text};\n"


def loads(text: str) -> dict[str, Any]:
    """The document back from the text of a `data.js`."""
    start, end = text.index("=") + 1, text.rstrip().rstrip(";")
    return json.loads(end[start:])
