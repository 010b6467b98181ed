"""The Sozialatlas of a release, in a real browser (Debian's chromium through Playwright): it opens
from file:// and from a local web server without a request outside the release folder, shows the
published numbers (tooltip, table, profile, CSV), marks withheld cells, and restores a permalink.
One browser for the module; each test opens its own page. Times and bytes are printed (-s), never
asserted. Screenshots for the docs: SOZIALMONITOR_SCREENSHOTS=docs/images pytest tests/release/test_atlas.py"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import threading
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.cli_atlas import make_server
from orchestration.release import find_release, verify
from orchestration.release.atlas import build_atlas
from orchestration.release.atlas.model import loads
from orchestration.release.store import content_digest
from tests.release.atlas_browser import Watched, chromium, de, de_exact

STICHTAG = "2024-12-31"
INDICATOR = "sgb2_quote"
LEVEL = "stadtteil"


@pytest.fixture(scope="module")
def release(built_city) -> Path:
    return find_release(built_city.releases_dir, "latest").path


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def atlas(browser, release):
    """A page on the release's atlas (file://); after the test: no request left the release folder
    and the console stayed clean."""
    watched = Watched(browser, [release.as_uri() + "/"])
    yield watched
    watched.close()
    assert watched.outside == [], watched.outside
    assert watched.errors == [], watched.errors


def _url(release: Path, hash_: str = "") -> str:
    return (release / "atlas" / "index.html").as_uri() + hash_


def _values(release: Path, where: str, params: list) -> list[dict]:
    con = duckdb.connect()
    try:
        cur = con.execute(
            f"""select area_id, area_name, value, numerator, denominator, is_suppressed, suppression_reason, flags,
                       strftime(stichtag, '%Y-%m-%d') as day, level, indicator_id, unit
                from read_parquet('{release / "data" / "indicator_values.parquet"}') where {where}
                order by area_id""",
            params,
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def _decimals(unit: str) -> int:
    return 0 if unit == "Anzahl" else 1


def _shot(page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("SOZIALMONITOR_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name))


def test_every_release_has_an_atlas_that_is_part_of_its_content(release, built_city):
    m = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    outputs = {o["path"]: o for o in m["outputs"]}
    for name in ("index.html", "data.js", "atlas.js", "atlas.css"):
        assert f"atlas/{name}" in outputs
    assert m["atlas"]["page"] == "atlas/index.html" and m["atlas"]["data"]["path"] == "atlas/data.js"
    assert outputs["atlas/data.js"]["sha256"] == m["atlas"]["data"]["sha256"]
    # the atlas's data count as content: a release without them would have another digest
    assert m["content_sha256"] == content_digest(m["public_tables"], m["geo"], m["atlas"], m.get("bericht"))
    assert m["content_sha256"] != content_digest(m["public_tables"], m["geo"], None, m.get("bericht"))
    assert verify(find_release(built_city.releases_dir, "latest")) == []
    assert "atlas/index.html" in (release / "LIESMICH.txt").read_text(encoding="utf-8")
    # the audit checked them (it reports a problem for any number the atlas shows that is not published)
    assert m["disclosure_audit"]["passed"] and m["disclosure_audit"]["problems"] == []
    # links from the atlas to the release's documents resolve
    page = (release / "atlas" / "index.html").read_text(encoding="utf-8")
    for href in ("../lineage.html", "../quality/gates.html", "../kennzahlenkatalog.html", "../LIESMICH.txt"):
        assert f'href="{href}"' in page and (release / "atlas" / href).resolve().is_file()


def test_the_same_release_gives_the_same_atlas_bytes(release, tmp_path):
    """Two builds from the same release, in two folders: identical bytes; and the data, code and
    style are the very bytes publish() wrote into the release."""
    a, b = build_atlas(release, tmp_path / "a"), build_atlas(release, tmp_path / "b")
    assert a["files"] == b["files"]
    for name in a["files"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for name in ("data.js", "atlas.js", "atlas.css"):
        assert (tmp_path / "a" / name).read_bytes() == (release / "atlas" / name).read_bytes(), name


def test_the_atlas_holds_exactly_the_published_values(release):
    """data.js against indicator_values.parquet, cell by cell, at the release's Stichtag (on today's
    Gebietsstand the series and the values agree there)."""
    model = loads((release / "atlas" / "data.js").read_text(encoding="utf-8"))
    t = model["stichtage"].index(STICHTAG)
    rows = _values(release, "stichtag = ?", [STICHTAG])
    checked = withheld = 0
    for r in rows:
        areas = model["geo"]["areas"][r["level"]]
        i = areas["ids"].index(r["area_id"])
        cells = model["values"][r["level"]][r["indicator_id"]]
        assert cells["v"][t][i] == r["value"] or (cells["v"][t][i] is None and r["value"] is None), r
        assert cells["n"][t][i] == r["numerator"] or cells["n"][t][i] is None and r["numerator"] is None, r
        if r["is_suppressed"]:
            assert cells["v"][t][i] is None and cells["c"][t][i] in ("•", "/"), r
            withheld += 1
        checked += 1
    assert checked == len(rows) > 1000 and withheld > 0
    raw = (release / "atlas" / "data.js").read_bytes()
    print(f"\natlas data.js: {len(raw):,} bytes, {len(gzip.compress(raw, 9)):,} gzip; {checked} cells checked")


def test_opens_offline_and_shows_the_published_numbers(atlas, release, tmp_path):
    tti = atlas.open(_url(release, f"#ebene={LEVEL}&kennzahl={INDICATOR}&stichtag={STICHTAG}"))
    page = atlas.page
    print(f"\natlas time to interactive (file://): {tti} ms; requests: {len(atlas.requests)}")
    assert page.title().startswith("Sozialatlas")
    assert page.input_value("#ebene") == LEVEL and page.input_value("#kennzahl") == INDICATOR
    rows = _values(release, "level = ? and indicator_id = ? and stichtag = ?", [LEVEL, INDICATOR, STICHTAG])
    shown = [r for r in rows if r["value"] is not None][:4]
    assert len(shown) == 4
    for r in shown:
        value = de(r["value"], _decimals(r["unit"]))
        page.hover(f'#karte path[data-id="{r["area_id"]}"]')
        tip = page.inner_text("#tooltip")
        assert r["area_name"] in tip and f"{value}\u00a0%" in tip, tip
        assert f"Zähler: {de(r['numerator'], 0)}" in tip and f"Nenner: {de(r['denominator'], 0)}" in tip, tip
        row = page.locator(f'#datentabelle tbody tr[data-id="{r["area_id"]}"] td')
        assert row.nth(2).inner_text() == value and row.nth(3).inner_text() == de(r["numerator"], 0)
    # the city as reference (Gemeinde)
    city = _values(release, "level = 'gemeinde' and indicator_id = ? and stichtag = ?", [INDICATOR, STICHTAG])[0]
    assert f"insgesamt: {de(city['value'], 1)}\u00a0%" in page.inner_text("#stadtwert")
    # a click opens the area's profile: every indicator of the area, the numbers of the parquet
    target = shown[0]
    page.click(f'#karte path[data-id="{target["area_id"]}"]')
    assert page.get_attribute(f'#karte path[data-id="{target["area_id"]}"]', "aria-pressed") == "true"
    assert "gewaehlt" in page.get_attribute(f'#datentabelle tbody tr[data-id="{target["area_id"]}"]', "class")
    page.click("#tab-profil")
    assert target["area_name"] in page.inner_text("#profil-titel")
    profile = _values(release, "level = ? and area_id = ? and stichtag = ?", [LEVEL, target["area_id"], STICHTAG])
    for r in profile[:: max(1, len(profile) // 12)]:
        cell = page.locator(f'#profiltabelle tr[data-kennzahl="{r["indicator_id"]}"] td.wert').inner_text()
        expected = de(r["value"], _decimals(r["unit"])) if r["value"] is not None else None
        assert cell == expected or (expected is None and cell in ("•", "/", "x", ".")), (r, cell)
    _shot(page, "atlas-profile.png", tmp_path)


def test_switching_indicator_level_and_stichtag(atlas, release, tmp_path):
    atlas.open(_url(release))
    page = atlas.page
    model = loads((release / "atlas" / "data.js").read_text(encoding="utf-8"))
    for level in ("stadtbezirk", "stadtviertel", "sozialraum"):
        page.select_option("#ebene", level)
        assert page.locator("#karte path").count() == len(model["geo"]["areas"][level]["ids"])
    page.select_option("#thema", label="Arbeit und Transferleistungen")
    page.select_option("#kennzahl", INDICATOR)
    page.select_option("#stichtag", label="31.12.2021")
    assert "31.12.2021" in page.inner_text("#stadtwert")
    r = _values(release, "level = 'sozialraum' and indicator_id = ? and stichtag = '2021-12-31' and value is not null",
                [INDICATOR])[0]  # fmt: skip
    # the series of 2021 on today's boundaries: for an unchanged unit the value of that Stichtag
    page.hover(f'#karte path[data-id="{r["area_id"]}"]')
    assert de(r["value"], 1) in page.inner_text("#tooltip")
    # the slider and the play button step through the Stichtage
    page.fill("#zeitregler", "5")
    assert page.input_value("#stichtag") == "5"
    page.select_option("#stichtag", "3")
    page.click("#abspielen")
    page.wait_for_function("document.getElementById('stichtag').value === '4'", timeout=5000)
    page.click("#abspielen")
    # classing methods change the legend, not the numbers
    for method in ("gleich", "jenks", "quantile"):
        page.select_option("#klassen", method)
        assert page.locator("#legende li[data-klasse]").count() >= 2
    page.select_option("#ebene", "stadtviertel")
    page.select_option("#stichtag", "5")
    _shot(page, "atlas-map.png", tmp_path)
    for view in ("rang", "zeit", "streu", "meta"):
        page.click(f"#tab-{view}")
        assert page.locator(f"#{view}").inner_text().strip()
    assert "Zähler" in page.inner_text("#meta") and "Zuständige Stelle" in page.inner_text("#meta")


def test_withheld_cells_are_drawn_as_withheld_with_the_reason(atlas, release):
    r = _values(release, "is_suppressed and suppression_reason = 'disclosure' and level <> 'gemeinde'", [])[0]
    atlas.open(_url(release, f"#ebene={r['level']}&kennzahl={r['indicator_id']}&stichtag={r['day']}"))
    page = atlas.page
    path = f'#karte path[data-id="{r["area_id"]}"]'
    assert page.get_attribute(path, "fill") == "url(#schraffur)"
    page.hover(path)
    tip = page.inner_text("#tooltip")
    assert "•" in tip and "geheim zu halten" in tip and "Zähler" not in tip
    cells = page.locator(f'#datentabelle tbody tr[data-id="{r["area_id"]}"] td')
    assert cells.nth(2).inner_text() == "•" and "geheim" in cells.nth(5).inner_text()
    assert page.locator('#legende li[data-zeichen="•"]').count() == 1


def test_permalink_restores_the_view(atlas, browser, release):
    atlas.open(_url(release))
    page = atlas.page
    page.select_option("#ebene", "stadtviertel")
    page.select_option("#thema", label="Arbeit und Transferleistungen")
    page.select_option("#kennzahl", INDICATOR)
    page.select_option("#stichtag", label="31.12.2022")
    ids = page.eval_on_selector_all("#karte path", "ps => ps.map(p => p.dataset.id)")
    page.click(f'#karte path[data-id="{ids[3]}"]')
    page.click(f'#karte path[data-id="{ids[7]}"]', modifiers=["Shift"])
    page.click("#tab-zeit")
    url = page.url
    assert "ebene=stadtviertel" in url and f"kennzahl={INDICATOR}" in url and "stichtag=2022-12-31" in url
    other = Watched(browser, [release.as_uri() + "/"])
    try:
        other.open(url)
        p = other.page
        assert p.input_value("#ebene") == "stadtviertel" and p.input_value("#kennzahl") == INDICATOR
        assert p.inner_text("#stichtag option:checked") == "31.12.2022"
        assert p.get_attribute("#tab-zeit", "aria-selected") == "true"
        pressed = p.eval_on_selector_all('#karte path[aria-pressed="true"]', "ps => ps.map(p => p.dataset.id)")
        assert sorted(pressed) == sorted([ids[3], ids[7]])
        assert p.locator("#zeit .schluessel li").count() == 4  # two areas, the city, the key to hollow points
    finally:
        other.close()
    assert other.outside == [] and other.errors == []


def test_csv_export_is_the_table_in_german_excel_form(atlas, release):
    atlas.open(_url(release, f"#ebene={LEVEL}&kennzahl={INDICATOR}&stichtag={STICHTAG}"))
    page = atlas.page
    page.click('#datentabelle th button[data-sort="name"]')  # any order: the export follows the table
    with page.expect_download() as info:
        page.click("#export-csv")
    raw = Path(info.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    head, body = rows[0], rows[1:]
    assert head[:2] == ["Gebiets-Nr.", "Gebietsname"] and "Wert" in head and "Zähler" in head
    table = page.eval_on_selector_all(
        "#datentabelle tbody tr, #datentabelle tfoot tr", "rs => rs.map(r => [...r.cells].map(c => c.innerText))"
    )
    assert [r[0] for r in body] == [r[0] for r in table] and [r[1] for r in body[:-1]] == [r[1] for r in table[:-1]]
    published = {
        r["area_id"]: r
        for r in _values(
            release, "level in (?, 'gemeinde') and indicator_id = ? and stichtag = ?", [LEVEL, INDICATOR, STICHTAG]
        )
    }
    w, n = head.index("Wert"), head.index("Zähler")
    for row in body:
        r = published[row[0]]
        if r["value"] is None:
            assert row[w] in ("•", "/", "x", ".")
        else:
            assert row[w] == de_exact(r["value"]) and row[n] == de_exact(r["numerator"])


def test_the_map_exports_as_svg_and_png(atlas, release):
    atlas.open(_url(release, f"#ebene={LEVEL}&kennzahl={INDICATOR}&stichtag={STICHTAG}"))
    page = atlas.page
    with page.expect_download() as info:
        page.click("#export-svg")
    svg_text = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename == f"sozialatlas_{INDICATOR}_{LEVEL}_{STICHTAG}.svg"
    assert svg_text.startswith("<svg") and svg_text.count("<path") == page.locator("#karte path").count()
    assert 'id="schraffur"' in svg_text  # the hatching travels with the map
    with page.expect_download() as info:
        page.click("#export-png")  # drawn on a canvas from the SVG: under file:// too
    assert Path(info.value.path()).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_index_maps_show_the_published_classes(atlas, release, tmp_path):
    atlas.open(_url(release))
    page = atlas.page
    page.click("#modus-index")
    options = page.eval_on_selector_all("#index option", "os => os.map(o => [o.value, o.textContent])")
    status = next(v for v, label in options if "Status" in label and "Stadtviertel" in label)
    page.select_option("#index", status)
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"""select area_id, status_class, dynamics_class, indexed from
                read_parquet('{release / "data" / "index_status_dynamics.parquet"}')
                where level = 'stadtviertel' and stichtag = '{STICHTAG}'"""
        ).fetchall()
        composite = con.execute(
            f"""select area_id, rank, rank_p05, rank_p95
                from read_parquet('{release / "data" / "index_composite.parquet"}')
                where level = 'stadtteil' and stichtag = '{STICHTAG}' and component = 'gesamt' and indexed"""
        ).fetchall()
    finally:
        con.close()
    colours = {
        td["g"]: td["c"]
        for td in page.eval_on_selector_all(
            "#legende td[data-gruppe]", "ts => ts.map(t => ({g: t.dataset.gruppe, c: t.dataset.farbe}))"
        )
    }
    assert len(colours) == 12 and len(set(colours.values())) == 12
    for area_id, s, d, indexed in rows:
        fill = page.get_attribute(f'#karte path[data-id="{area_id}"]', "fill")
        assert fill == (colours[f"{s}|{d}"] if indexed else "url(#nicht-indexiert)"), area_id
    assert any(not r[3] for r in rows)  # the test city has areas below the minimum population
    _shot(page, "atlas-indices.png", tmp_path)
    kid = next(v for v, label in options if "Kindern" in label and "Stadtteil" in label)
    page.select_option("#index", kid)
    for area_id, rank, p05, p95 in composite[:5]:
        cells = page.locator(f'#datentabelle tbody tr[data-id="{area_id}"] td')
        assert cells.nth(3).inner_text() == de(rank, 0) and cells.nth(4).inner_text() == f"{de(p05, 0)}–{de(p95, 0)}"


def test_keyboard_and_phone_width(browser, release, tmp_path):
    phone = Watched(browser, [release.as_uri() + "/"], width=390, height=844)
    try:
        phone.open(_url(release))
        page = phone.page
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        first = page.eval_on_selector("#karte path", "p => p.dataset.id")
        page.focus(f'#karte path[data-id="{first}"]')
        assert not page.is_hidden("#tooltip")
        page.keyboard.press("Enter")
        assert page.get_attribute(f'#karte path[data-id="{first}"]', "aria-pressed") == "true"
        outline = page.eval_on_selector(f'#karte path[data-id="{first}"]', "p => getComputedStyle(p).stroke")
        assert outline in ("rgb(192, 86, 0)", "#c05600")  # the visible focus
        page.focus("#tab-tabelle")
        page.keyboard.press("ArrowRight")
        assert page.get_attribute("#tab-rang", "aria-selected") == "true"
        page.evaluate("window.scrollTo(0, 0)")
        _shot(page, "atlas-phone.png", tmp_path)
    finally:
        phone.close()
    assert phone.outside == [] and phone.errors == []


def test_served_over_http_without_outside_requests(browser, release):
    server = make_server(release, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    watched = Watched(browser, [base])
    try:
        started = time.perf_counter()
        tti = watched.open(base + "atlas/index.html")
        print(f"\natlas over http: {tti} ms to interactive, {1000 * (time.perf_counter() - started):.0f} ms with load")
        watched.page.click("#modus-index")
        assert watched.page.locator("#karte path").count() > 0
    finally:
        watched.close()
        server.shutdown()
        server.server_close()
    assert watched.outside == [] and watched.errors == []
    assert all(u.startswith(base) or u.startswith(("data:", "blob:")) for u in watched.requests)
