"""What the printed report says: every figure and sentence of the Datenreport and of the
Gebietsprofile, as one JSON document (`bericht/daten.json`), built from the release's public files
only (the atlas's model of them, `atlas.model.release_model`, plus the published catalogues).

A withheld cell has no number in the public files, so the report cannot print one: it prints the
sign of official statistics. Figures are stored as printed (German strings); the PDFs are this
document typeset (`render.py`), so the document is the report's content: it is part of the release's
`content_sha256`, and the audit rebuilds it from the public files (`check_report`). The document
also names the checksum of every template it was made with: a changed introduction is a change of
what is published."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ...warehouse import scratch, sql_string
from ..atlas.model import CLASS_ORDER
from ..tables import LEVEL_BY, SIGN_DISCLOSURE, SIGN_SMALL_POPULATION, SIGNS, level_de
from .figures import class_of, quantile_breaks, ramp
from .german import NBSP, cell, change, day, decimals, number, with_unit

FORMAT = 1
SIGN_REASON = {
    SIGN_DISCLOSURE: "geheim zu halten (statistische Geheimhaltung)",
    SIGN_SMALL_POPULATION: "nicht sicher genug (Anteil an zu wenigen Einwohnern)",
    "x": "Aussage nicht sinnvoll (Nenner 0)",
    ".": "Zahlenwert unbekannt",
}
STATUS_DE = {"status": "Status", "dynamics": "Dynamik"}
# The whole area of the release as the texts name it: level, accusative, nominative. A city is a
# Gemeinde; a Kreis (docs/kreis.md) is the Kreis, and its report compares its Gemeinden.
WHOLE_DE = {
    "gemeinde": {"ebene": "Gemeinde", "akkusativ": "die Gemeinde", "nominativ": "die Gemeinde"},
    "kreis": {"ebene": "Kreis", "akkusativ": "den Kreis", "nominativ": "der Kreis"},
}
GEMEINDE = "gemeinde"


def _parquet(release_dir: Path, name: str) -> str:
    return f"read_parquet({sql_string((release_dir / 'data' / f'{name}.parquet').as_posix())})"


def _rows(con, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _public_facts(release_dir: Path) -> dict[str, Any]:
    """What the method chapter needs beyond the atlas model, from the published tables."""
    con = scratch()
    try:
        limits = con.execute(
            f"""select mode(disclosure_min_count), mode(disclosure_min_population)
                from {_parquet(release_dir, "indicator_catalogue")}"""
        ).fetchone()
        gebietsstand = con.execute(
            f"select strftime(max(gebietsstand), '%Y-%m-%d') from {_parquet(release_dir, 'indicator_series')}"
        ).fetchone()[0]
        nested = {
            r["level"]: bool(r["nested"])
            for r in _rows(
                con, f"select level, bool_and(is_nested) as nested from {_parquet(release_dir, 'areas')} group by level"
            )  # fmt: skip
        }
        estimated = con.execute(
            f"""select count(*) from {_parquet(release_dir, "indicator_series")}
                where contains(coalesce(flags, ''), 'estimated')"""
        ).fetchone()[0]
        indices = []
        if (release_dir / "data" / "index_catalogue.parquet").exists():
            indices = _rows(con, f"select * from {_parquet(release_dir, 'index_catalogue')} order by index_id")
    finally:
        con.close()
    for item in indices:
        if isinstance(item.get("config"), str):
            item["config"] = json.loads(item["config"])
    return {
        "min_count": limits[0], "min_population": limits[1], "gebietsstand": gebietsstand, "nested": nested,
        "estimated_cells": estimated, "indices": indices,
    }  # fmt: skip


def _num(x: Any) -> str:
    return number(float(x), 0 if float(x).is_integer() else 1)


def _method(model: dict[str, Any], facts: dict[str, Any], secrecy: dict[str, Any]) -> dict[str, Any]:
    """`secrecy`: the defaults of the minimum count and population (the dbt vars, which the release
    names in its manifest) for indicators whose catalogue entry leaves them empty."""
    levels = [
        {"name": lv["name"], "plural": lv["plural"], "anzahl": number(len(model["geo"]["areas"][lv["id"]]["ids"]), 0),
         "verschachtelt": facts["nested"].get(lv["id"], True)}
        for lv in model["levels"]
    ]  # fmt: skip
    indices = []
    for item in facts["indices"]:
        cfg = item.get("config") or {}
        text = [item.get("description_de") or ""]
        if item.get("kind") == "status_dynamics":
            sb, db = cfg.get("status_bounds", []), cfg.get("dynamics_bounds", [])
            if len(sb) == 3 and len(db) == 2:
                text.append(
                    f"Klassen des Status (z-Wert): unter {_num(sb[0])} hoch, {_num(sb[0])} bis {_num(sb[1])} mittel, "
                    f"über {_num(sb[1])} bis {_num(sb[2])} niedrig, über {_num(sb[2])} sehr niedrig. Klassen der "
                    f"Dynamik: unter {_num(db[0])} positiv, {_num(db[0])} bis {_num(db[1])} stabil, über "
                    f"{_num(db[1])} negativ."
                )
            if cfg.get("min_population") is not None:
                text.append(f"Gebiete mit weniger als {number(cfg['min_population'], 0)} Einwohnern werden nicht "
                            "indexiert.")  # fmt: skip
            if cfg.get("dynamics_years"):
                text.append(f"Die Dynamik ist die Veränderung über {number(cfg['dynamics_years'], 0)} Jahre in "
                            "Prozentpunkten.")  # fmt: skip
        elif item.get("kind") == "composite":
            dims = [d.get("name_de", d.get("id")) for d in cfg.get("dimensions", [])]
            if dims:
                text.append("Dimensionen: " + ", ".join(dims) + ".")
            if cfg.get("min_population") is not None:
                text.append(f"Gebiete mit weniger als {number(cfg['min_population'], 0)} Einwohnern werden nicht "
                            "indexiert.")  # fmt: skip
            text.append("Das Rangband (5 bis 95 %) zeigt, wie stark der Rang eines Gebiets unter anderen "
                        "vertretbaren Gewichten und Verfahren schwankt.")  # fmt: skip
        on = item.get("levels") or []
        on = [lv.strip() for lv in on.split(",")] if isinstance(on, str) else list(on)
        indices.append({"name": item.get("name_de") or item["index_id"],
                        "ebenen": ", ".join(level_de(lv) for lv in on if lv),
                        "text": " ".join(t for t in text if t)})  # fmt: skip
    return {
        "ebenen": levels,
        "gebietsstand": day(facts["gebietsstand"]) if facts["gebietsstand"] else "",
        "erster_stichtag": day(model["stichtage"][0]),
        "stichtage": number(len(model["stichtage"]), 0),
        "mindestfallzahl": _limit(facts["min_count"], secrecy.get("mindestfallzahl")),
        "mindesteinwohner": _limit(facts["min_population"], secrecy.get("mindesteinwohner")),
        "geschaetzt": number(facts["estimated_cells"], 0),
        "kennzahlen": number(len(model["indicators"]), 0),
        "indizes": indices,
    }


def _limit(published: Any, default: Any) -> str:
    value = published if published is not None else default
    return number(float(value), 0) if value is not None else "der Mindestzahl"


class _Release:
    """Look-ups into the atlas model: values per level, indicator and Stichtag."""

    def __init__(self, model: dict[str, Any], nested: dict[str, bool]):
        self.model = model
        self.t = model["stichtage"].index(model["stichtag"])
        self.levels = [lv["id"] for lv in model["levels"]]
        self.nested = nested
        self.indicators = {i["id"]: i for i in model["indicators"]}
        self.city = model["city"]
        # the level of the whole area (the Gemeinde of a city), the report's reference line
        self.city_level = self.city["level"] if self.city else None

    def names(self, level: str) -> list[str]:
        return self.model["geo"]["areas"][level]["names"]

    def cells(self, level: str, indicator: str, t: int | None = None) -> list[tuple[Any, str]] | None:
        item = self.model["values"].get(level, {}).get(indicator)
        if item is None:
            return None
        t = self.t if t is None else t
        return list(zip(item["v"][t], item["c"][t], strict=True))

    def city_cell(self, indicator: str, t: int | None = None) -> tuple[Any, str]:
        cells = self.cells(self.city_level, indicator, t) if self.city else None
        return cells[0] if cells else (None, ".")

    def whole_de(self) -> dict[str, str]:
        """How the texts name the whole area (WHOLE_DE; a Gemeinde where the level is unknown)."""
        return WHOLE_DE.get(self.city_level or GEMEINDE, WHOLE_DE[GEMEINDE])

    def compares_gemeinden(self, indicator: str) -> bool:
        """A Kreis's report compares its Gemeinden wherever the indicator is published for them."""
        return (
            self.city_level != GEMEINDE
            and len(self.model["geo"]["areas"].get(GEMEINDE, {}).get("ids", [])) > 1
            and indicator in self.model["values"].get(GEMEINDE, {})
        )

    def published_on(self, indicator: str) -> list[str]:
        return [lv for lv in self.levels if lv != self.city_level and indicator in self.model["values"].get(lv, {})]


def _sentence(r: _Release, ind: dict[str, Any], level: str) -> str:
    """The facts a reader needs, in figures only: the city's value now and at the first Stichtag, the
    highest and lowest area of the table's level, and how many areas have no published value."""
    unit, first = ind["unit"], 0
    v, c = r.city_cell(ind["id"])
    v0, c0 = r.city_cell(ind["id"], first)
    gemeinde = r.city["name"] if r.city else r.whole_de()["nominativ"]
    parts = []
    now = day(r.model["stichtag"])
    if v is not None:
        text = f"{ind['name']}: Am {now} betrug der Wert für {gemeinde} {cell(v, c, unit, True)}"
        if v0 is not None and first != r.t:
            text += f" ({day(r.model['stichtage'][first])}: {cell(v0, c0, unit, True)})"
        parts.append(text + ".")
    else:
        parts.append(f"{ind['name']}: Für {gemeinde} wird am {now} kein Wert veröffentlicht ({cell(v, c, unit)}).")
    if r.compares_gemeinden(ind["id"]):
        parts += _range(r, ind, GEMEINDE)
    return " ".join(parts + _range(r, ind, level))


def _range(r: _Release, ind: dict[str, Any], level: str) -> list[str]:
    """The highest and the lowest area of `level` with their values, and how many have none."""
    unit, parts = ind["unit"], []
    cells = r.cells(level, ind["id"]) or []
    names = r.names(level)
    shown = [(x, names[i]) for i, (x, _code) in enumerate(cells) if x is not None]
    plural = next(lv["plural"] for lv in r.model["levels"] if lv["id"] == level)
    if len(shown) >= 2:
        high = max(shown, key=lambda p: (p[0], p[1]))
        low = min(shown, key=lambda p: (p[0], p[1]))
        parts.append(
            f"Unter den {number(len(cells), 0)} {LEVEL_BY.get(level, plural)} war er am höchsten in {high[1]} "
            f"({with_unit(number(high[0], decimals(unit)), unit)}) und am niedrigsten in {low[1]} "
            f"({with_unit(number(low[0], decimals(unit)), unit)})."
        )
    missing = len(cells) - len(shown)
    if missing:
        signs = sorted({code for x, code in cells if x is None})
        parts.append(f"Für {number(missing, 0)} {plural if missing > 1 else level_de(level)} wird kein Wert "
                     f"veröffentlicht ({', '.join(signs)}).")  # fmt: skip
    return parts


def _map(r: _Release, ind: dict[str, Any], level: str, style: dict[str, Any], classes: int) -> dict[str, Any]:
    cells = r.cells(level, ind["id"]) or []
    values = [x for x, _c in cells if x is not None]
    breaks = quantile_breaks(values, classes)
    colours = ramp(style["neutral"] if ind["direction"] == "neutral" else style["ungünstig"], len(breaks))
    if ind["direction"] == "higher_is_better":
        colours = colours[::-1]
    fills = [("hatch" if code in (SIGN_DISCLOSURE, SIGN_SMALL_POPULATION) else "none") if x is None
             else colours[class_of(x, breaks)] for x, code in cells]  # fmt: skip
    places = decimals(ind["unit"])
    legend, lower = [], min(values) if values else None
    for i, b in enumerate(breaks):
        count = sum(1 for x in values if class_of(x, breaks) == i)
        text = (
            f"{number(lower, places)} bis {number(b, places)}"
            if i == 0
            else f"über {number(breaks[i - 1], places)} bis {number(b, places)}"
        )  # noqa: E501
        legend.append({"farbe": colours[i], "text": text, "anzahl": number(count, 0)})
    withheld = sum(1 for f in fills if f == "hatch")
    none = sum(1 for f in fills if f == "none")
    if withheld:
        legend.append({"farbe": "hatch", "text": "geheim gehalten (•, /)", "anzahl": number(withheld, 0)})
    if none:
        legend.append({"farbe": style["keine_angabe"], "text": "kein Wert (x, .)", "anzahl": number(none, 0)})
    return {"ebene": level, "ebene_name": level_de(level), "fills": fills, "legende": legend}


def _table(r: _Release, ind: dict[str, Any], level: str) -> dict[str, Any]:
    unit, names = ind["unit"], r.names(level)
    now, first = r.cells(level, ind["id"]) or [], r.cells(level, ind["id"], 0) or []

    def row(name: str, a: tuple[Any, str], b: tuple[Any, str]) -> list[str]:
        if r.t == 0:  # one Stichtag only: no change to show
            return [name, cell(b[0], b[1], unit)]
        delta = change(b[0] - a[0], unit) if a[0] is not None and b[0] is not None else ""
        return [name, cell(a[0], a[1], unit), cell(b[0], b[1], unit), delta]

    rows = [row(names[i], first[i], now[i]) for i in range(len(names))]
    city_name = r.city["name"] if r.city else r.whole_de()["ebene"]
    head = ["Gebiet", day(r.model["stichtage"][0]), day(r.model["stichtag"]), "Veränderung"]
    return {
        "ebene": level, "ebene_name": level_de(level),
        "kopf": head if r.t else ["Gebiet", day(r.model["stichtag"])],
        "zeilen": rows, "gemeinde": row(city_name, r.city_cell(ind["id"], 0), r.city_cell(ind["id"])),
    }  # fmt: skip


def _key_indicators(r: _Release, config: dict[str, Any]) -> dict[str, list[str]]:
    by_topic: dict[str, list[str]] = {}
    for ind in r.model["indicators"]:
        by_topic.setdefault(ind["topic"], []).append(ind["id"])
    chosen = config.get("kennzahlen") or {}
    out = {}
    for topic, ids in by_topic.items():
        named = [i for i in chosen.get(topic, []) if i in ids and r.published_on(i)]
        if not named:
            named = [i for i in ids if r.published_on(i)][: int(config.get("kennzahlen_je_thema", 2))]
        out[topic] = named
    return out


def _index_chapter(r: _Release, style: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for item in r.model["indices"]:
        level, names = item["level"], r.names(item["level"])
        if r.model["stichtag"] not in item["stichtage"]:
            continue
        t = item["stichtage"].index(r.model["stichtag"])
        if item["kind"] == "status_dynamics":
            status, dyn, reason = item["status"][t], item["dynamics"][t], item["reason"][t]
            fills, counts = [], {}
            for s, d, why in zip(status, dyn, reason, strict=True):
                if s is None:
                    fills.append(style["nicht_indexiert"] if why else style["keine_angabe"])
                    continue
                si = CLASS_ORDER["status"].index(s)
                di = CLASS_ORDER["dynamics"].index(d) if d in CLASS_ORDER["dynamics"] else None
                fills.append(style["index"][si][di] if di is not None else style["keine_angabe"])
                counts[(s, d)] = counts.get((s, d), 0) + 1
            matrix = [[s] + [number(counts.get((s, d), 0), 0) for d in CLASS_ORDER["dynamics"]]
                      for s in CLASS_ORDER["status"]]  # fmt: skip
            colours = [[style["index"][si][di] for di in range(3)] for si in range(4)]
            rows = [[names[i], status[i] or "nicht indexiert", dyn[i] or ("–" if status[i] else ""),
                     (reason[i] or "") if status[i] is None else ""] for i in range(len(names))]  # fmt: skip
            out.append({"art": "status_dynamik", "name": item["name"], "ebene": level, "ebene_name": level_de(level),
                        "fills": fills, "matrix": matrix, "matrix_farben": colours,
                        "dynamik": CLASS_ORDER["dynamics"],
                        "nicht_indexiert": number(sum(1 for s in status if s is None), 0), "zeilen": rows})  # fmt: skip
        else:
            total = item["value"].get("gesamt")
            rows = []
            for i in range(len(names)):
                v = total[t][i] if total and t < len(total) else None
                if v is None:
                    rows.append([names[i], "", "", "", item["reason"][t][i] or "nicht indexiert"])
                    continue
                band = (
                    f"{number(item['rank_p05'][t][i], 0)}–{number(item['rank_p95'][t][i], 0)}"
                    if item["rank_p05"][t][i] is not None
                    else ""
                )
                rows.append([names[i], number(v, 2), number(item["rank"][t][i], 0), band, ""])
            rows.sort(key=lambda row: (row[2] == "", int(row[2].replace(".", "")) if row[2] else 0, row[0]))
            out.append({"art": "komposit", "name": item["name"], "ebene": level, "ebene_name": level_de(level),
                        "zeilen": rows})  # fmt: skip
    return out


def _level_context(r: _Release, level: str) -> dict[str, Any]:
    """What every profile of `level` shares, computed once per level (not once per area, which would
    make the profiles quadratic in the number of areas): per indicator its cells, the range of the
    level and the Gemeinde's value as printed; per composite index how many areas are ranked."""
    rows = []
    for ind in r.model["indicators"]:
        item = r.model["values"].get(level, {}).get(ind["id"])
        if item is None:
            continue
        unit = ind["unit"]
        shown = [v for v in item["v"][r.t] if v is not None]
        cv, cc = r.city_cell(ind["id"])
        rows.append((ind, item, number(min(shown), decimals(unit)) if shown else "",
                     number(max(shown), decimals(unit)) if shown else "", cell(cv, cc, unit)))  # fmt: skip
    ranked = {}
    for k, item in enumerate(r.model["indices"]):
        if item["kind"] == "composite" and item["level"] == level and r.model["stichtag"] in item["stichtage"]:
            t = item["stichtage"].index(r.model["stichtag"])
            total = item["value"].get("gesamt")
            ranked[k] = sum(1 for x in (total[t] if total and t < len(total) else []) if x is not None)
    return {"rows": rows, "ranked": ranked}


def _stadt(r: _Release, level: str, i: int) -> tuple[int, str] | None:
    """In a Kreis, the Gemeinde of unit `i` of `level` (below the Gemeinde level): its position at
    the Gemeinde level and its name; None elsewhere."""
    gemeinde = r.model["geo"]["areas"][level].get("gemeinde")
    ids = r.model["geo"]["areas"].get(GEMEINDE, {}).get("ids", [])
    if not gemeinde or gemeinde[i] not in ids:
        return None
    j = ids.index(gemeinde[i])
    return j, r.names(GEMEINDE)[j]


def _profile(r: _Release, level: str, i: int, keys: dict[str, list[str]], context: dict[str, Any]) -> dict[str, Any]:
    area_id = r.model["geo"]["areas"][level]["ids"][i]
    name = r.names(level)[i]
    stadt = _stadt(r, level, i)
    spine, withheld, earlier = [], [], 0
    items = {}
    for ind, item, low, high, city in context["rows"]:
        unit = ind["unit"]
        items[ind["id"]] = item
        x, code = item["v"][r.t][i], item["c"][r.t][i]
        own = (r.cells(GEMEINDE, ind["id"]) or []) if stadt else []
        spine.append({
            "id": ind["id"], "thema": ind["topic"], "name": ind["name"], "einheit": unit,
            "wert": cell(x, code, unit), "gemeinde": city, "min": low, "max": high, "richtung": ind["direction"],
            # a Kreis: the value of the unit's own Stadt beside the Kreis's
            **({"stadt": cell(*own[stadt[0]], unit) if own else "."} if stadt else {}),
        })  # fmt: skip
        if x is None:
            withheld.append([ind["name"], code, SIGN_REASON.get(code, "")])
        earlier += sum(1 for t, codes in enumerate(item["c"]) if t != r.t and codes[i] in (SIGN_DISCLOSURE,
                       SIGN_SMALL_POPULATION))  # fmt: skip
    key_ids = [k for ids in keys.values() for k in ids if k in items]
    trends = []
    for k in key_ids:
        ind, item = r.indicators[k], items[k]
        series = [(item["v"][t][i], item["c"][t][i]) for t in range(len(r.model["stichtage"]))]
        a, b = series[0], series[r.t]
        trends.append({"id": k, "name": ind["name"], "einheit": ind["unit"],
                       "werte": [cell(v, c, ind["unit"]) for v, c in series],
                       "veraenderung": change(b[0] - a[0], ind["unit"])
                       if r.t and a[0] is not None and b[0] is not None else ""})  # fmt: skip
    indices = []
    for k, item in enumerate(r.model["indices"]):
        if item["level"] != level or r.model["stichtag"] not in item["stichtage"]:
            continue
        t = item["stichtage"].index(r.model["stichtag"])
        if item["kind"] == "status_dynamics":
            s, d, why = item["status"][t][i], item["dynamics"][t][i], item["reason"][t][i]
            text = f"Status {s}, Dynamik {d or '–'}" if s else f"nicht indexiert ({why or 'ohne Angabe'})"
        else:
            total = item["value"].get("gesamt")
            v = total[t][i] if total and t < len(total) else None
            if v is None:
                text = f"nicht indexiert ({item['reason'][t][i] or 'ohne Angabe'})"
            else:
                text = (f"Gesamtindex {number(v, 2)}, Rang {number(item['rank'][t][i], 0)} von "
                        f"{number(context['ranked'][k], 0)}"
                        + (f" (Rangband {number(item['rank_p05'][t][i], 0)}–{number(item['rank_p95'][t][i], 0)})"
                           if item["rank_p05"][t][i] is not None else ""))  # fmt: skip
        indices.append({"name": item["name"], "text": text})
    return {
        "ebene": level, "ebene_name": level_de(level), "id": area_id, "name": name,
        "stadt": stadt[1] if stadt else None,
        "datei": f"gebietsprofile/{level}-{_safe(area_id)}.pdf",
        "kennzahlen": [s for s in spine if s["id"] in key_ids], "spine": spine, "trends": trends,
        "indizes": indices, "geheim": withheld, "geheim_frueher": number(earlier, 0),
    }  # fmt: skip


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)


def template_digests(templates: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(blob).hexdigest() for name, blob in sorted(templates.items())}


def _model_facts(model: dict[str, Any]) -> dict[str, Any]:
    """Facts for a model without release files (an external table, `atlas external`): no catalogue."""
    return {"min_count": None, "min_population": None, "gebietsstand": model["stichtag"], "nested": {},
            "estimated_cells": 0, "indices": []}  # fmt: skip


def report_document(release_dir: Path | None, model: dict[str, Any], config: dict[str, Any],
                    templates: dict[str, bytes]) -> dict[str, Any]:  # fmt: skip
    """The whole report's content (see the module docstring), from the files in `release_dir` and
    the atlas model of them (`release_dir` None: from the model alone, e.g. an external table)."""
    facts = _public_facts(release_dir) if release_dir is not None else _model_facts(model)
    r = _Release(model, facts["nested"])
    style = config["farben"]
    keys = _key_indicators(r, config)
    table_level = config.get("tabellen_ebene", "stadtteil")
    topics = []
    for topic, ids in keys.items():
        items = []
        for k in ids:
            ind = r.indicators[k]
            levels = r.published_on(k)
            nested = [lv for lv in levels if r.nested.get(lv, True)]
            map_level = (nested or levels)[-1]
            tlevel = table_level if table_level in levels else levels[0]
            items.append({
                "id": k, "name": ind["name"], "einheit": ind["unit"], "definition": ind["definition"],
                "zaehler": ind["numerator"], "nenner": ind["denominator"], "quelle": ind["source"],
                "richtung": ind["direction_de"], "satz": _sentence(r, ind, tlevel),
                "angaben": f"{ind['definition']} (Einheit: {ind['unit']}; Zähler: {ind['numerator']}; Nenner: "
                           f"{ind['denominator']}; Quelle: {ind['source']}; {ind['direction_de']})",
                "karte": _map(r, ind, map_level, style, int(config.get("klassen", 5))),
                "tabelle": _table(r, ind, tlevel),
                # a Kreis: the Gemeinden side by side, with the Kreis (interkommunaler Vergleich)
                "vergleich": _table(r, ind, GEMEINDE) if r.compares_gemeinden(k) and tlevel != GEMEINDE else None,
            })  # fmt: skip
        topics.append({"name": topic, "kennzahlen": items,
                       "alle": [i["name"] for i in model["indicators"] if i["topic"] == topic]})  # fmt: skip
    profiles = []
    for level in config.get("profil_ebenen", []):
        if level in model["geo"]["areas"]:
            context = _level_context(r, level)
            profiles += [_profile(r, level, i, keys, context) for i in range(len(model["geo"]["areas"][level]["ids"]))]
    return {
        "format": FORMAT,
        "einstellungen": config,
        "gemeinde": r.city["name"] if r.city else model["title"],
        "ganzes": r.whole_de(),
        "stichtag": day(model["stichtag"]),
        "stichtag_iso": model["stichtag"],
        "jahre": [d[:4] for d in model["stichtage"]],
        "vorlagen": template_digests(templates),
        "methode": _method(model, facts, config.get("geheimhaltung") or {}),
        "themen": topics,
        "indizes": _index_chapter(r, style),
        "katalog": [
            [
                i["topic"],
                i["name"],
                i["unit"],
                i["definition"],
                i["numerator"],
                i["denominator"],
                i["source"],
                i["direction_de"],
            ]
            for i in model["indicators"]
        ],  # fmt: skip
        "zeichen": [[s, t] for s, t in SIGNS],
        "profile": profiles,
    }


def dumps(document: dict[str, Any]) -> bytes:
    """Deterministic JSON (sorted keys, no spaces, UTF-8, NBSP kept as a character)."""
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


__all__ = ["NBSP", "dumps", "report_document", "template_digests"]
