"""The atlas on real boundaries: Berlin's Monitoring Soziale Stadtentwicklung 2015 (published values
and classes, tests/data/berlin-mss) on its 2015 Planungsräume, through the generic "external table
+ GeoJSON" input. Every indexed Planungsraum must get the colour of its published status/dynamics
class, every other one "nicht indexiert". And the size of a Berlin-size atlas (542 areas, 64
indicators, 6 Stichtage) measured on these boundaries."""

from __future__ import annotations

import csv
import gzip
import os
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.release.atlas import write_data, write_page
from orchestration.release.atlas.external import Classes, Column, external_model
from orchestration.release.atlas.model import dumps
from tests.release.atlas_browser import Watched, chromium, de

BERLIN = Path(__file__).resolve().parents[1] / "data" / "berlin-mss"
GEOJSON = BERLIN / "mss2015-planning-areas.geojson.gz"
INDICATORS = [
    "s1_percentage_unemployed:Arbeitslose (S1):%:lower_is_better:Status",
    "s2_percentage_long_term_unemployed:Langzeitarbeitslose (S2):%:lower_is_better:Status",
    "s3_percentage_transfer_payments_recipients:Transferbezieher (S3):%:lower_is_better:Status",
    "s4_percentage_transfer_payments_recipients_below_15_years:Kinder in Transferhaushalten (S4):%:lower_is_better:"
    "Status",
    "d1_percentage_unemployed:Veränderung Arbeitslose (D1):Prozentpunkte:lower_is_better:Dynamik",
    "inhabitants:Einwohner:Anzahl:neutral:Bevölkerung",
]  # fmt: skip


def _rows(name: str) -> list[dict[str, str]]:
    with (BERLIN / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def berlin(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("berlin") / "atlas"
    model, notes = external_model(
        GEOJSON, BERLIN / "mss2015-2-1.csv", "id", [Column.parse(s) for s in INDICATORS], "2014-12-31", "Berlin",
        "planungsraum", "Planungsraum", "Planungsräume",
        classes=Classes(BERLIN / "mss2015-1.csv", "id", "status_index_klasse", "dynamik_index_klasse", "MSS 2015"),
    )  # fmt: skip
    # the 2015 geometries have one Planungsraum (Allende II) that the 2015 tables do not list
    assert notes == ["1 areas of mss2015-planning-areas.geojson.gz have no row in mss2015-2-1.csv: 09041403"]
    write_data(model, out)
    write_page(out, model, "MSS 2015 (Beispiel)", "dl-de/zero-2.0", links=[])
    return out


def test_every_planungsraum_has_the_colour_of_its_published_class(berlin, tmp_path):
    published = {r["id"]: (r["status_index_klasse"], r["dynamik_index_klasse"]) for r in _rows("mss2015-1.csv")}
    everyone = {r["id"] for r in _rows("mss2015-2-1.csv")}
    assert len(published) == 435 and len(everyone) == 447
    with chromium() as browser:
        atlas = Watched(browser, [berlin.as_uri() + "/"])
        try:
            tti = atlas.open((berlin / "index.html").as_uri())
            page = atlas.page
            page.click("#modus-index")
            fills = dict(
                page.eval_on_selector_all("#karte path", "ps => ps.map(p => [p.dataset.id, p.getAttribute('fill')])")
            )
            colours = {
                g: c for g, c in page.eval_on_selector_all(
                    "#legende td[data-gruppe]", "ts => ts.map(t => [t.dataset.gruppe, t.dataset.farbe])")
            }  # fmt: skip
            counts = {
                g: int(t.strip()) for g, t in page.eval_on_selector_all(
                    "#legende td[data-gruppe]", "ts => ts.map(t => [t.dataset.gruppe, t.textContent])")
            }  # fmt: skip
            legend = page.inner_text("#legende")
            page.set_viewport_size({"width": 1280, "height": 800})
            if folder := os.environ.get("SOZIALMONITOR_SCREENSHOTS"):
                page.screenshot(path=str(Path(folder) / "atlas-berlin-mss2015.png"))
            # a value in the tooltip, as published
            row = next(r for r in _rows("mss2015-2-1.csv") if r["id"] == "01011101")
            page.click("#modus-kennzahl")
            page.focus('#karte path[data-id="01011101"]')  # its centre lies under a neighbour: by keyboard
            assert f"{de(float(row['s1_percentage_unemployed']), 1)}\u00a0%" in page.inner_text("#tooltip")
        finally:
            atlas.close()
    print(f"\nBerlin MSS 2015: {len(fills)} Planungsräume, time to interactive {tti} ms")
    assert atlas.outside == [] and atlas.errors == []
    assert len(fills) == 448  # 447 Planungsräume of the tables + Allende II (geometry only)
    for area_id, (status, dynamics) in published.items():
        assert fills[area_id] == colours[f"{status}|{dynamics}"], area_id
    not_indexed = sorted(set(fills) - set(published))
    assert len(not_indexed) == 13 and len(everyone - set(published)) == 12
    assert all(fills[i] == "url(#nicht-indexiert)" for i in not_indexed)
    assert "nicht indexiert (13)" in legend
    by_class: dict[str, int] = {}
    for status, dynamics in published.values():
        by_class[f"{status}|{dynamics}"] = by_class.get(f"{status}|{dynamics}", 0) + 1
    assert {g: n for g, n in counts.items() if n} == by_class


def test_the_external_input_from_the_command_line(tmp_path):
    out = tmp_path / "atlas"
    result = CliRunner().invoke(app, [
        "atlas", "external", "--geojson", str(GEOJSON), "--values", str(BERLIN / "mss2015-2-1.csv"),
        "--indicator", INDICATORS[0], "--indicator", INDICATORS[-1], "--stichtag", "2014-12-31", "--title", "Berlin",
        "--level-name", "Planungsraum", "--classes", str(BERLIN / "mss2015-1.csv"), "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"index.html", "data.js", "atlas.js", "atlas.css"}
    assert "Sozialatlas Berlin" in (out / "index.html").read_text(encoding="utf-8")
    bad = CliRunner().invoke(app, [
        "atlas", "external", "--geojson", str(GEOJSON), "--values", str(BERLIN / "mss2015-2-1.csv"),
        "--indicator", "no_such_column", "--stichtag", "2014-12-31", "--title", "Berlin", "--out", str(out),
    ])  # fmt: skip
    assert bad.exit_code == 2 and "no_such_column" in bad.output


def test_a_berlin_size_atlas_stays_small(berlin, tmp_path):
    """542 areas × 64 indicators × 6 Stichtage, boundaries as detailed as Berlin's: the data stay below
    3 MB compressed. Geometry: Berlin's 448 real polygons plus 94 of them again; values: published form
    (4 decimals), counts as whole numbers, 5 % withheld, with the same codes as a release (random
    numbers compress worse than real ones: an upper estimate). Time to interactive printed, not asserted."""
    from orchestration.release.atlas.model import loads

    base = loads((berlin / "data.js").read_text(encoding="utf-8"))
    areas = base["geo"]["areas"]["planungsraum"]
    n, indicators, days = 542, 64, 6
    paths = (areas["paths"] * 2)[:n]
    rng = random.Random(542)
    values = {}
    for k in range(indicators):
        v, num, den, codes = [], [], [], []
        for _t in range(days):
            row_v, row_n, row_d, row_c = [], [], [], []
            for _i in range(n):
                withheld = rng.random() < 0.05
                d = rng.randint(300, 40_000)
                x = rng.randint(0, d // 2)
                row_v.append(None if withheld else round(100 * x / d, 4))
                row_n.append(None if withheld else x)
                row_d.append(None if withheld else d)
                row_c.append("•" if withheld else "0")
            v.append(row_v), num.append(row_n), den.append(row_d), codes.append("".join(row_c))
        values[f"indicator_{k:02d}"] = {"v": v, "n": num, "d": den, "c": codes}
    model = {**base, "geo": {**base["geo"], "areas": {"planungsraum": {
        "ids": [f"{i:08d}" for i in range(n)], "names": (areas["names"] * 2)[:n], "paths": paths}}},
        "values": {"planungsraum": values},
        "indicators": [{**base["indicators"][0], "id": key, "name": f"Kennzahl {key}"} for key in values]}  # fmt: skip
    raw = dumps(model).encode("utf-8")
    geometry = len("".join(paths).encode("utf-8"))
    packed = len(gzip.compress(raw, 9))
    write_data(model, tmp_path)
    write_page(tmp_path, model, "Berlin-Größe (synthetisch)", links=[])
    with chromium() as browser:
        atlas = Watched(browser, [tmp_path.as_uri() + "/"])
        try:
            tti = atlas.open((tmp_path / "index.html").as_uri())
        finally:
            atlas.close()
    print(
        f"\nBerlin-size atlas data: {len(raw):,} bytes ({geometry:,} of them boundaries), {packed:,} gzip; "
        f"time to interactive {tti} ms"
    )
    assert atlas.errors == [] and atlas.outside == []
    assert packed < 3_000_000
