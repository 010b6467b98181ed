"""Typesetting the report: the content document (`content.py`) plus maps and charts (`figures.py`)
into PDFs with Typst (the `typst` package from PyPI: the compiler as a Python extension, offline,
~0.1 s per document). Fonts are the ones bundled with Typst (Libertinus Serif), never the machine's
(`ignore_system_fonts`), and are embedded as subsets; the document date is the Stichtag. So the same
content, templates and release id give the same bytes on every machine.

Templates: the package's `templates/` folder, overlaid file by file by a city's own folder (see
docs/report.md). `report.yml` is merged key by key (a city names only what it changes)."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import typst

from ...yaml_text import load_yaml
from . import figures
from .german import number

TEMPLATE_FILES = ("report.yml", "stil.typ", "einleitung.typ", "datenreport.typ", "gebietsprofil.typ")
OPTIONAL_FILES = ("logo.svg",)
REPORT_FILE = "datenreport.pdf"


def load_templates(override: Path | None = None) -> dict[str, bytes]:
    """The template files by name: the package's, replaced by those a city keeps in `override`."""
    base = resources.files(__package__).joinpath("templates")
    out = {name: base.joinpath(name).read_bytes() for name in TEMPLATE_FILES}
    if override is not None and override.is_dir():
        for name in (*TEMPLATE_FILES, *OPTIONAL_FILES):
            if (override / name).is_file():
                out[name] = (override / name).read_bytes()
    return out


def load_config(templates: dict[str, bytes]) -> dict[str, Any]:
    """report.yml: the package's defaults, with a city's file merged over them key by key."""
    base = load_yaml(resources.files(__package__).joinpath("templates", "report.yml").read_bytes())
    own = load_yaml(templates["report.yml"]) or {}
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def _series(model: dict[str, Any], level: str, indicator: str, i: int) -> list[float | None]:
    item = model["values"].get(level, {}).get(indicator)
    return [row[i] for row in item["v"]] if item else [None] * len(model["stichtage"])


def _whole_series(model: dict[str, Any], indicator: str) -> list[float | None]:
    """The series of the whole area of the release (model["city"]: the Gemeinde, or the Kreis)."""
    return _series(model, model["city"]["level"], indicator, 0)


def _median(xs: list[float]) -> float | None:
    """The reference of a spine chart when there is no Gemeinde (an external table)."""
    xs = sorted(xs)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def _unit_label(unit: str) -> str:
    return "Anzahl" if unit == "Anzahl" else unit


MAP_FACTOR = 4  # print maps at 1/4 of the atlas's resolution (figures.coarse)


def print_geometry(model: dict[str, Any], factor: int = MAP_FACTOR) -> dict[str, Any]:
    """The atlas's boundaries at print resolution, once per report (every profile shares them)."""
    geo = model["geo"]
    return {
        "width": -(-geo["width"] // factor), "height": -(-geo["height"] // factor),
        "areas": {level: {**a, "paths": [figures.coarse(p, factor) for p in a["paths"]]}
                  for level, a in geo["areas"].items()},
    }  # fmt: skip


def report_figures(doc: dict[str, Any], model: dict[str, Any], style: dict[str, Any],
                   geo: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    geo = geo or print_geometry(model)
    t = model["stichtage"].index(model["stichtag"])
    units = {i["id"]: i["unit"] for i in model["indicators"]}
    out: dict[str, Any] = {"schraffur": figures.swatch("hatch", style)}
    for topic in doc["themen"]:
        for k in topic["kennzahlen"]:
            level = k["karte"]["ebene"]
            svg_map = figures.choropleth(geo["width"], geo["height"], geo["areas"][level]["paths"],
                                         k["karte"]["fills"], style)  # fmt: skip
            tlevel = k["tabelle"]["ebene"]
            now = model["values"][tlevel][k["id"]]["v"][t]
            names = geo["areas"][tlevel]["names"]
            shown = [(v, names[i], i) for i, v in enumerate(now) if v is not None]
            series = (
                [(model["city"]["name"], _whole_series(model, k["id"]), style["linie_gemeinde"], False)]
                if model["city"]
                else []
            )
            if len(shown) >= 2:
                high, low = max(shown, key=lambda p: (p[0], p[1])), min(shown, key=lambda p: (p[0], p[1]))
                series.append((high[1], _series(model, tlevel, k["id"], high[2]), style["linie_hoch"], True))
                series.append((low[1], _series(model, tlevel, k["id"], low[2]), style["linie_niedrig"], True))
            chart = figures.line_chart(model["stichtage"], series, _unit_label(units[k["id"]]), style)
            out[k["id"]] = {"karte": svg_map, "reihe": chart}
    for ix in doc["indizes"]:
        if ix["art"] == "status_dynamik":
            level = ix["ebene"]
            out[f"index-{level}"] = {"karte": figures.choropleth(
                geo["width"], geo["height"], geo["areas"][level]["paths"], ix["fills"], style)}  # fmt: skip
    return out


def profile_figures(profile: dict[str, Any], model: dict[str, Any], style: dict[str, Any],
                    geo: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    geo, level = geo or print_geometry(model), profile["ebene"]
    i = profile["_index"] if "_index" in profile else geo["areas"][level]["ids"].index(profile["id"])
    t = model["stichtage"].index(model["stichtag"])
    n = len(geo["areas"][level]["ids"])
    # the location map: the area on the coarsest level below the Gemeinde (e.g. the Stadtbezirke), or on
    # its own level when there is none; a few outlines instead of every area's keep a profile small
    whole = model["city"]["level"] if model["city"] else None
    context = next((lv["id"] for lv in model["levels"] if lv["id"] not in (whole, level)), None)
    if context is not None and len(geo["areas"][context]["ids"]) < n:
        paths = geo["areas"][context]["paths"]
        lage = figures.choropleth(geo["width"], geo["height"], paths, [style["spanne"]] * len(paths), style,
                                  overlay=geo["areas"][level]["paths"][i])  # fmt: skip
    else:
        fills = [style["markierung"] if j == i else style["spanne"] for j in range(n)]
        lage = figures.choropleth(geo["width"], geo["height"], geo["areas"][level]["paths"], fills, style,
                                  highlight=i)  # fmt: skip
    directions = {d["id"]: d["direction"] for d in model["indicators"]}
    spines = []
    for row in profile["spine"]:
        values = model["values"][level][row["id"]]["v"][t]
        shown = [v for v in values if v is not None]
        city = _whole_series(model, row["id"])[t] if model["city"] else _median(shown)
        if row["einheit"] == "Anzahl":  # a count of the area is not comparable with the Gemeinde's total
            spines.append(figures.spine(None, None, None, None, False, style))
            continue
        spines.append(figures.spine(values[i], city, min(shown) if shown else None, max(shown) if shown else None,
                                    directions[row["id"]] == "lower_is_better", style))  # fmt: skip
    units = {d["id"]: d["unit"] for d in model["indicators"]}
    charts = []
    for trend in profile["trends"][:4] if len(model["stichtage"]) > 1 else []:
        series = [(profile["name"], _series(model, level, trend["id"], i), style["linie_hoch"], False)]
        if model["city"]:
            series.append((model["city"]["name"], _whole_series(model, trend["id"]), style["linie_gemeinde"], True))
        charts.append(figures.line_chart(model["stichtage"], series,
                                         f"{trend['name']} ({_unit_label(units[trend['id']])})", style,
                                         width=300, height=150))  # fmt: skip
    return {"lage": lage, "spine": spines, "reihen": charts}


@functools.cache
def _fonts() -> typst.Fonts:
    """Typst's embedded fonts, loaded once for every PDF of the process (each compile would load them anew)."""
    return typst.Fonts(include_system_fonts=False, include_embedded_fonts=True)


def compile_pdf(workdir: Path, main: str, document: dict[str, Any]) -> bytes:
    """One PDF from the template `main` in `workdir`, with `document` as its input (sys.inputs.doc)."""
    return typst.compile(
        str(workdir / main), root=str(workdir), font_paths=_fonts(), ignore_system_fonts=True,
        sys_inputs={"doc": json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))},
    )  # fmt: skip


def write_pdfs(
    out_dir: Path, doc: dict[str, Any], model: dict[str, Any], templates: dict[str, bytes], meta: dict[str, Any],
    areas: set[tuple[str, str]] | None = None, whole: bool = True, workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[str]:  # fmt: skip
    """Write the Datenreport (if `whole`) and the profiles (all, or those of `areas`: (level, id))
    into `out_dir`. Returns the paths written, relative to `out_dir`. Profiles are typeset in
    threads (the compiler releases the GIL): `workers` default the machine's cores."""
    config = load_config(templates)
    style = config["farben"]
    meta = {**meta, "logo": "logo.svg" in templates, "stichtag": doc["stichtag"], "ohne_gemeinde": not model["city"],
            "stichtag_iso": doc["stichtag_iso"]}  # fmt: skip
    written = []
    geo = print_geometry(model)
    position = {level: {area_id: i for i, area_id in enumerate(a["ids"])} for level, a in geo["areas"].items()}
    with tempfile.TemporaryDirectory(prefix="sozialmonitor-bericht-") as tmp:
        work = Path(tmp)
        for name, blob in templates.items():
            (work / name).write_bytes(blob)
        out_dir.mkdir(parents=True, exist_ok=True)
        if whole:
            data = {k: v for k, v in doc.items() if k != "profile"}
            pdf = compile_pdf(work, "datenreport.typ",
                              {"daten": data, "meta": meta, "fig": report_figures(doc, model, style, geo)})  # fmt: skip
            (out_dir / REPORT_FILE).write_bytes(pdf)
            written.append(REPORT_FILE)
        common = {k: doc[k] for k in ("gemeinde", "ganzes", "stichtag", "stichtag_iso", "jahre", "zeichen")}
        chosen = [p for p in doc["profile"] if areas is None or (p["ebene"], p["id"]) in areas]
        if chosen:
            (out_dir / "gebietsprofile").mkdir(exist_ok=True)

        def one(profile: dict[str, Any]) -> str:
            figs = profile_figures({**profile, "_index": position[profile["ebene"]][profile["id"]]}, model, style, geo)
            pdf = compile_pdf(work, "gebietsprofil.typ", {"daten": common, "profil": profile, "meta": meta,
                                                          "fig": figs})  # fmt: skip
            (out_dir / profile["datei"]).write_bytes(pdf)
            return profile["datei"]

        with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
            written += list(pool.map(one, chosen))
    if progress:
        progress(f"{len(written)} PDFs")
    return sorted(written)


__all__ = ["REPORT_FILE", "compile_pdf", "load_config", "load_templates", "number", "write_pdfs"]
