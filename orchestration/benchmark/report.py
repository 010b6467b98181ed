"""The printed report at Berlin size: 542 Gebietsprofile and the Datenreport, timed.

`python -m orchestration.benchmark.report` (also run by `make bench`). The areas are Berlin's 448
real Planungsraum boundaries (tests/data/berlin-mss) plus 94 of them again (542, as many as Berlin's
LOR 2021 Planungsräume), with 64 indicators in 6 topics over 6 Stichtage and a Gemeinde row; values
are random in the published form (4 decimals, 5 % withheld with the sign •). Profiles are timed for
a quarter and for all areas, with one and with two typesetting threads, to show that the time grows
linearly with the number of profiles and what the second core gives. Prints one JSON line."""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..release.atlas.external import Column, external_model
from ..release.report.content import report_document
from ..release.report.render import load_config, load_templates, write_pdfs

TOPICS = ["Demografie", "Altersstruktur", "Haushalte und Familie", "Arbeit und Transferleistungen",
          "Wohnen und Umwelt", "Kinder"]  # fmt: skip


def berlin_size_model(berlin: Path, n: int = 542, indicators: int = 64, days: int = 6) -> dict[str, Any]:
    base, _notes = external_model(
        berlin / "mss2015-planning-areas.geojson.gz", berlin / "mss2015-2-1.csv", "id",
        [Column.parse("inhabitants:Einwohner:Anzahl")], "2024-12-31", "Berlin (Größe)", "planungsraum",
        "Planungsraum", "Planungsräume",
    )  # fmt: skip
    areas = base["geo"]["areas"]["planungsraum"]
    rng = random.Random(542)
    stichtage = [f"{2019 + t}-12-31" for t in range(days)]
    items, values, city = [], {}, {}
    for k in range(indicators):
        key = f"kennzahl_{k:02d}"
        unit = "Anzahl" if k % 8 == 0 else "%"
        items.append({**base["indicators"][0], "id": key, "name": f"Kennzahl {k + 1:02d}", "topic": TOPICS[k % 6],
                      "unit": unit, "decimals": 0 if unit == "Anzahl" else 1,
                      "direction": ["lower_is_better", "higher_is_better", "neutral"][k % 3]})  # fmt: skip
        rows_v, rows_c = [], []
        for _t in range(days):
            v, c = [], []
            for _i in range(n):
                withheld = rng.random() < 0.05
                x = rng.randint(300, 40_000) if unit == "Anzahl" else round(rng.uniform(0, 60), 4)
                v.append(None if withheld else x)
                c.append("•" if withheld else "0")
            rows_v.append(v), rows_c.append("".join(c))
        values[key] = {"v": rows_v, "c": rows_c}
        city[key] = {"v": [[round(rng.uniform(0, 60), 4)] for _t in range(days)], "c": ["0"] * days}
    return {
        **base, "stichtag": stichtage[-1], "stichtage": stichtage, "indicators": items,
        "levels": [*base["levels"], {"id": "gemeinde", "name": "Gemeinde", "plural": "Gemeinden", "map": False}],
        "city": {"level": "gemeinde", "id": "0", "name": "Berlin (Größe)"},
        "geo": {**base["geo"], "areas": {
            "planungsraum": {"ids": [f"{i:08d}" for i in range(n)], "names": (areas["names"] * 2)[:n],
                             "paths": (areas["paths"] * 2)[:n]},
            "gemeinde": {"ids": ["0"], "names": ["Berlin (Größe)"], "paths": [""]}}},
        "values": {"planungsraum": values, "gemeinde": city}, "indices": [],
    }  # fmt: skip


def run(berlin: Path) -> dict[str, Any]:
    model = berlin_size_model(berlin)
    templates = load_templates()
    config = {**load_config(templates), "profil_ebenen": ["planungsraum"], "tabellen_ebene": "planungsraum"}
    meta = {"veroeffentlichung": "Benchmark", "lizenz": "–", "herausgeber": "–"}
    out: dict[str, Any] = {"areas": 542, "indicators": 64, "stichtage": 6}
    started = time.perf_counter()
    doc = report_document(None, model, config, templates)
    out["document_s"] = time.perf_counter() - started
    ids = [("planungsraum", p["id"]) for p in doc["profile"]]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        write_pdfs(Path(tmp) / "r", doc, model, templates, meta, areas=set(), whole=True)
        out["datenreport_s"] = time.perf_counter() - started
        report = Path(tmp) / "r" / "datenreport.pdf"
        out["datenreport_bytes"] = report.stat().st_size
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(report)
        out["datenreport_pages"] = len(document)
        document.close()
        for count, workers in ((len(ids) // 4, 1), (len(ids) // 4, 2), (len(ids), 2)):
            folder = Path(tmp) / f"p{count}-{workers}"
            started = time.perf_counter()
            write_pdfs(folder, doc, model, templates, meta, areas=set(ids[:count]), whole=False, workers=workers)
            out[f"profiles_{count}_workers_{workers}_s"] = time.perf_counter() - started
        sizes = [p.stat().st_size for p in (Path(tmp) / f"p{len(ids)}-2").rglob("*.pdf")]
        out["profile_bytes_mean"] = sum(sizes) / len(sizes)
        out["profiles_bytes_total"] = sum(sizes)
    return out


def main() -> None:
    project = Path(__file__).resolve().parents[2]
    print(json.dumps(run(project / "tests" / "data" / "berlin-mss")), flush=True)


if __name__ == "__main__":
    sys.exit(main())
