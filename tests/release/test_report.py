"""The printed report (issue 14): the Datenreport and one Gebietsprofil per Sozialraum and Stadtteil
in every release, checked by reading the PDFs back with pypdf (a reader independent of the one the
release uses, PDFium) and comparing the printed numbers with the public Parquet, formatted here on
their own (German: decimal comma, thousands point, withheld cells as their sign, never 0).

Fast tests use Berlin's published MSS 2015 values on the real Planungsraum boundaries
(tests/data/berlin-mss); the slow ones read the test city's release (session fixture, no rerun)."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import zlib
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from orchestration.release.atlas.external import Classes, Column, external_model
from orchestration.release.report import check_pdfs, check_report
from orchestration.release.report.content import report_document
from orchestration.release.report.german import change, number
from orchestration.release.report.render import load_config, load_templates, write_pdfs
from orchestration.release.store import find_release, verify
from tests.release.test_atlas_berlin import BERLIN, GEOJSON, INDICATORS, _rows

IMAGES = os.environ.get("SOZIALMONITOR_SCREENSHOTS")


# --- an independent German formatter --------------------------------------------------------------


def de(value, unit: str, flags: str = "", suppressed: bool = False, reason: str | None = None) -> str:
    """A published cell as the German tables print it (written here, not imported)."""
    if value is None or value != value:
        if suppressed:
            return "/" if reason == "small_population" else "•"
        return "x" if "denominator_zero" in (flags or "") else "."
    places = 0 if unit == "Anzahl" else 1
    q = Decimal(str(value)).quantize(Decimal(10) ** -places, rounding=ROUND_HALF_UP)
    text = f"{abs(q):,.{places}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    text = ("-" if q < 0 else "") + text
    return f"({text})" if any(f in (flags or "") for f in ("estimated", "input_suppressed")) else text


def _text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def _fast_text(path: Path) -> str:
    """PDFium's text (what the release's own check reads): pypdf needs ~2 s for a page that draws
    Berlin's 448 Planungsräume, PDFium 0.02 s. The formatting and parsing here stay independent."""
    from orchestration.release.report import pdf_text

    return "\n".join(pdf_text(path))


def _row(text: str, name: str, unit: str) -> list[str] | None:
    """The two printed figures after "<name> <unit>" at the start of a line (the spine table)."""
    words = r"\s+".join(re.escape(w) for w in name.split())
    # a long name may be hyphenated at a line end ("Einschu-" / "lung"): joined again to read it
    text = re.sub(r"(?<=[a-zäöüß])-\n(?=[a-zäöüß])", "", text)
    m = re.search(rf"(?:^|\n){words}\s+{re.escape(unit)}\s+(\S+)\s+(\S+)", text)
    return list(m.groups()) if m else None


def _png(pdf: Path, page: int, out: Path, scale: float = 1.4) -> None:
    """A page as PNG (PDFium renders, zlib writes: no image library needed)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    pixels = doc[page].render(scale=scale, rev_byteorder=True).to_numpy()[:, :, :3]
    h, w = pixels.shape[:2]
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    out.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                    + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))  # fmt: skip
    doc.close()


def _fonts(path: Path) -> dict[str, bool]:
    """Every font of the PDF: its name and whether its glyphs are embedded."""
    out = {}
    for page in PdfReader(path).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for d in descendants:
                desc = d.get("/FontDescriptor")
                desc = desc.get_object() if desc else {}
                out[str(font["/BaseFont"])] = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return out


# --- fast: German numbers, and Berlin's real boundaries and values --------------------------------


@pytest.mark.parametrize(
    ("x", "places", "printed"),
    [(12345.678, 1, "12.345,7"), (0.25, 1, "0,3"), (9.85, 1, "9,9"), (-0.04, 1, "0,0"), (1234567, 0, "1.234.567"),
     (-1234.56, 1, "-1.234,6"), (0, 0, "0"), (999.96, 1, "1.000,0")],
)  # fmt: skip
def test_german_numbers(x, places, printed):
    assert number(x, places) == printed
    assert de(x, "Anzahl" if places == 0 else "%") == printed


def test_changes_carry_their_sign():
    assert [change(1.25, "%"), change(-0.44, "%"), change(0.04, "%"), change(-3, "Anzahl")] == [
        "+1,3", "-0,4", "±0,0", "-3"]  # fmt: skip


@pytest.fixture(scope="module")
def berlin_report(tmp_path_factory):
    """The report machinery on Berlin's MSS 2015 (447 Planungsräume, real boundaries): the document and
    the Datenreport plus a sample of profiles."""
    model, _notes = external_model(
        GEOJSON, BERLIN / "mss2015-2-1.csv", "id", [Column.parse(s) for s in INDICATORS], "2014-12-31", "Berlin",
        "planungsraum", "Planungsraum", "Planungsräume",
        classes=Classes(BERLIN / "mss2015-1.csv", "id", "status_index_klasse", "dynamik_index_klasse", "MSS 2015"),
    )  # fmt: skip
    templates = load_templates()
    config = {**load_config(templates), "profil_ebenen": ["planungsraum"], "tabellen_ebene": "planungsraum"}
    doc = report_document(None, model, config, templates)
    out = tmp_path_factory.mktemp("berlin-report")
    sample = {("planungsraum", p["id"]) for p in doc["profile"][::60]} | {("planungsraum", "09041403")}
    meta = {"veroeffentlichung": "MSS 2015 (Beispiel)", "lizenz": "dl-de/zero-2.0", "herausgeber": "Berlin (Beispiel)"}
    files = write_pdfs(out, doc, model, templates, meta, areas=sample)
    return out, doc, files, sample, (model, templates, meta)


def test_berlin_profiles_print_the_published_values(berlin_report):
    out, doc, files, sample, _ = berlin_report
    assert len(doc["profile"]) == 448  # every polygon of the 2015 geometry gets a profile
    assert files == sorted(["datenreport.pdf", *[f"gebietsprofile/planungsraum-{i}.pdf" for _lv, i in sample]])
    rows = {r["id"]: r for r in _rows("mss2015-2-1.csv")}
    columns = [spec.split(":") for spec in INDICATORS]
    checked = 0
    for _level, area in sorted(sample):
        text = _fast_text(out / "gebietsprofile" / f"planungsraum-{area}.pdf")
        for column, name, unit, *_ in columns:
            printed = _row(text, name, unit)
            assert printed, (area, name)
            raw = (rows.get(area) or {}).get(column, "")
            expected = de(float(raw.replace(",", ".")) if raw else None, unit)
            assert printed[0] == expected, (area, name, printed, raw)
            checked += 1
    assert checked >= 6 * len(INDICATORS)
    # Allende II has no row in the 2015 tables: every figure prints as unknown, never as 0
    text = _fast_text(out / "gebietsprofile" / "planungsraum-09041403.pdf")
    assert all(_row(text, name, unit)[0] == "." for _c, name, unit, *_ in columns)


def test_berlin_datenreport_tables_hold_every_planungsraum(berlin_report):
    out, doc, *_ = berlin_report
    text = _fast_text(out / "datenreport.pdf")
    rows = _rows("mss2015-2-1.csv")
    unemployed = next(k for t in doc["themen"] for k in t["kennzahlen"] if k["id"] == "s1_percentage_unemployed")
    assert len(unemployed["tabelle"]["zeilen"]) == 448
    found = 0
    for r in rows[::25]:
        value = de(float(r["s1_percentage_unemployed"].replace(",", ".")), "%")
        words = r"\s+".join(re.escape(w) for w in r["name"].split())
        found += bool(re.search(rf"(?:^|\n){words}\s+{re.escape(value)}(?:\s|$)", text))
    assert found == len(rows[::25])
    # the sentence: the highest and the lowest Planungsraum with their values, figures only
    values = {r["id"]: float(r["s1_percentage_unemployed"].replace(",", ".")) for r in rows}
    high = max(values.values())
    assert "am höchsten in" in unemployed["satz"] and f"({de(high, '%')}\u00a0%)" in unemployed["satz"]


def test_the_check_finds_a_pdf_that_prints_something_else(berlin_report, tmp_path):
    out, doc, _files, sample, _ = berlin_report
    release = tmp_path / "r"
    shutil.copytree(out, release / "bericht")
    chosen = {"profile": [p for p in doc["profile"] if ("planungsraum", p["id"]) in sample]}
    chosen = {**doc, **chosen}
    assert check_pdfs(release, chosen) == []
    a, b = sorted(release.glob("bericht/gebietsprofile/*.pdf"))[:2]
    a.write_bytes(b.read_bytes())  # one area's profile replaced by another's
    problems = check_pdfs(release, chosen)
    assert len(problems) == 1 and a.name in problems[0] and "does not print" in problems[0]
    (release / "bericht" / "gebietsprofile" / "extra.pdf").write_bytes(b.read_bytes())
    assert any("does not describe" in p for p in check_pdfs(release, chosen))


def test_a_table_of_hundreds_of_gemeinden_breaks_across_pages_and_prints_every_row(berlin_report, tmp_path):
    """A Kreis's report compares its Gemeinden in a table of their own. With 100 Gemeinden (a Land's
    warehouse holds hundreds, issue 19) that table was kept on one page and ran off its bottom: the
    rows below were not printed, and the release refused its report. Berlin's 448 Planungsräume
    stand in for the Gemeinden here: the table breaks across pages, every row printed in order, its
    header on each page, its title on the page where it starts."""
    _out, doc, _files, _sample, (model, templates, meta) = berlin_report
    long = json.loads(json.dumps(doc))
    kennzahl = long["themen"][0]["kennzahlen"][0]
    kennzahl["vergleich"] = {**kennzahl["tabelle"], "ebene": "gemeinde", "ebene_name": "Gemeinden"}
    assert len(kennzahl["vergleich"]["zeilen"]) == 448
    files = write_pdfs(tmp_path / "bericht", long, model, templates, meta, areas=set())
    assert files == ["datenreport.pdf"]
    assert check_pdfs(tmp_path, {**long, "profile": []}) == []
    from orchestration.release.report import pdf_text

    pages = pdf_text(tmp_path / "bericht" / "datenreport.pdf")
    title = f"{kennzahl['name']} im Vergleich der Gemeinden"
    [start] = [k for k, page in enumerate(pages) if title in page]
    header = " ".join(kennzahl["vergleich"]["kopf"])
    first, last = kennzahl["vergleich"]["zeilen"][0][0], kennzahl["vergleich"]["zeilen"][-1][0]
    assert first in pages[start].split(title, 1)[1]  # the title kept with the first rows
    spread = [k for k in range(start, len(pages)) if header in " ".join(pages[k].split())]
    assert len(spread) >= 5 and spread == list(range(start, spread[-1] + 1))  # the header on every page of it
    assert last in pages[spread[-1]]


def test_profiles_are_byte_identical_sane_and_embed_their_fonts(berlin_report, tmp_path):
    out, doc, _files, sample, (model, templates, meta) = berlin_report
    again = write_pdfs(tmp_path, doc, model, templates, meta, areas=sample, workers=1)
    for name in again:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
    for name in again:
        pages = len(PdfReader(out / name).pages)
        # (Berlin's profiles have 6 indicators and one Stichtag: one page; the city's have 2 to 4)
        assert (1 <= pages <= 4) if name.startswith("gebietsprofile/") else (5 <= pages <= 200), (name, pages)
        fonts = _fonts(out / name)
        assert fonts and all(fonts.values()), fonts  # every font embedded
        assert all("Libertinus" in f or "DejaVu" in f or "NewCM" in f for f in fonts), fonts  # typst's own
    info = PdfReader(out / "datenreport.pdf").metadata
    assert info["/CreationDate"].startswith("D:20141231")  # the Stichtag, not the clock
    if IMAGES:
        _png(out / sorted(again)[-1], 0, Path(IMAGES) / "report-profile-berlin.png")


# --- slow: the test city's release ---------------------------------------------------------------


@pytest.fixture(scope="module")
def release(released_city) -> Path:
    from tests.helpers import settings_for

    return find_release(settings_for(released_city).releases_dir, "latest").path


def _public(release: Path, sql: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        con.execute(f"create view v as select * from read_parquet('{release}/data/indicator_values.parquet')")
        con.execute(f"create view s as select * from read_parquet('{release}/data/indicator_series.parquet')")
        con.execute(f"create view c as select * from read_parquet('{release}/data/indicator_catalogue.parquet')")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_sozialraum_and_stadtteil_has_its_profile_and_the_manifest_lists_them(release):
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    report = manifest["bericht"]
    expected = set()
    for level in ("sozialraum", "stadtteil"):
        geo = json.loads((release / "geo" / f"{level}.geojson").read_text(encoding="utf-8"))
        expected |= {f"bericht/gebietsprofile/{level}-{f['properties']['area_id']}.pdf" for f in geo["features"]}
    present = {p.relative_to(release).as_posix() for p in (release / "bericht" / "gebietsprofile").glob("*.pdf")}
    assert len(expected) > 10 and present == expected
    assert report["profiles"] == len(expected) and report["report"] == "bericht/datenreport.pdf"
    listed = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    assert set(report["files"]) <= set(listed) and expected <= set(report["files"])
    assert listed[report["data"]["path"]] == report["data"]["sha256"]
    assert verify(find_release(release.parents[1], "latest")) == []
    assert 20 <= len(PdfReader(release / "bericht" / "datenreport.pdf").pages) <= 200
    assert all(2 <= len(PdfReader(release / p).pages) <= 4 for p in expected)


def test_printed_numbers_equal_indicator_values(release):
    """For a sample of profiles: every indicator row prints the area's and the Gemeinde's published
    value (German, withheld as its sign); the Datenreport's tables print every Stadtteil's value."""
    stichtag = _public(release, "select max(stichtag) from v")[0][0]
    cells = {
        (level, area, ind): (value, unit, flags, sup, reason)
        for level, area, ind, value, unit, flags, sup, reason in _public(
            release, "select level, area_id, indicator_id, value, unit, flags, is_suppressed, suppression_reason "
            f"from v where stichtag = '{stichtag}'")
    }  # fmt: skip
    names = dict(_public(release, "select indicator_id, name_de from c"))
    city = next(a for lv, a, _i in cells if lv == "gemeinde")
    profiles = sorted((release / "bericht" / "gebietsprofile").glob("*.pdf"))
    checked = withheld = 0
    for path in profiles[::4]:
        level, area = path.stem.split("-", 1)
        text = _text(path)
        for (lv, a, ind), (value, unit, flags, sup, reason) in sorted(cells.items()):
            if lv != level or a != area:
                continue
            printed = _row(text, names[ind], unit)
            assert printed, (path.name, ind)
            assert printed[0] == de(value, unit, flags, sup, reason), (path.name, ind, printed, value, flags)
            assert printed[1] == de(*cells[("gemeinde", city, ind)][:3], *cells[("gemeinde", city, ind)][3:]), ind
            checked += 1
            withheld += bool(sup)
    assert checked > 100 and withheld > 0, (checked, withheld)  # withheld cells were among them
    # the Datenreport: the SGB II quota of every Stadtteil at the first Stichtag and now, on one line
    text = _text(release / "bericht" / "datenreport.pdf")
    first = _public(release, "select min(stichtag) from s")[0][0]
    series = _public(
        release,
        "select area_name, stichtag, value, unit, flags, is_suppressed, suppression_reason from s "
        f"where indicator_id = 'sgb2_quote' and level = 'stadtteil' and stichtag in ('{first}', '{stichtag}')",
    )
    by_area: dict[str, dict] = {}
    for name, day, *cell in series:
        by_area.setdefault(name, {})[day] = de(*cell[:1], *cell[1:])
    assert len(by_area) > 5
    for name, values in by_area.items():
        words = r"\s+".join(re.escape(w) for w in name.split())
        line = rf"(?:^|\n){words}\s+{re.escape(values[first])}\s+{re.escape(values[stichtag])}(?:\s|$)"
        assert re.search(line, text), (name, values)
    if IMAGES:
        _png(release / "bericht" / "datenreport.pdf", 0, Path(IMAGES) / "report-title.png", scale=1.0)
        page = next(i for i, p in enumerate(PdfReader(release / "bericht" / "datenreport.pdf").pages)
                    if "SGB II-Quote: Am" in p.extract_text())  # fmt: skip
        _png(release / "bericht" / "datenreport.pdf", page - 0, Path(IMAGES) / "report-indicator.png")
        _png(profiles[0], 0, Path(IMAGES) / "report-profile.png")


def test_rebuilding_the_report_gives_the_same_bytes_and_the_audit_checks_it(release, tmp_path):
    from typer.testing import CliRunner

    from orchestration.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["report", "--release", str(release), "--out", str(tmp_path / "again")])
    assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(tmp_path / "again").as_posix() for p in (tmp_path / "again").rglob("*") if p.is_file())
    assert len(files) > 10 and "daten.json" in files
    for name in files:
        assert (tmp_path / "again" / name).read_bytes() == (release / "bericht" / name).read_bytes(), name
    # one profile by its id; an unknown id is refused with the levels that have profiles; never into the release
    one = runner.invoke(app, ["report", "--release", str(release), "--area", "sozialraum:SR02", "--out",
                              str(tmp_path / "one")])  # fmt: skip
    assert one.exit_code == 0, one.output
    assert sorted(p.name for p in (tmp_path / "one").rglob("*.pdf")) == ["sozialraum-SR02.pdf"]
    assert (tmp_path / "one" / "gebietsprofile" / "sozialraum-SR02.pdf").read_bytes() == (
        release / "bericht" / "gebietsprofile" / "sozialraum-SR02.pdf"
    ).read_bytes()
    unknown = runner.invoke(app, ["report", "--release", str(release), "--area", "XX99", "--out", str(tmp_path / "x")])
    assert unknown.exit_code == 2 and "sozialraum" in unknown.output
    inside = runner.invoke(app, ["report", "--release", str(release), "--out", str(release / "bericht")])
    assert inside.exit_code == 2
    assert check_report(release) == []
    # a figure changed in daten.json: the audit finds it (and so would release verify, by checksum)
    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    for p in copy.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    data = json.loads((copy / "bericht" / "daten.json").read_text(encoding="utf-8"))
    row = data["themen"][0]["kennzahlen"][0]["tabelle"]["zeilen"][0]
    row[-2] = "1,0" if row[-2] != "1,0" else "2,0"
    (copy / "bericht" / "daten.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    problems = check_report(copy)
    assert any("themen differs" in p for p in problems), problems
