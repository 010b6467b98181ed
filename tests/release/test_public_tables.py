"""The German tables of a release (tabellen/*.xlsx, tabellen/*.csv, kennzahlenkatalog.html), read
back with the real readers and checked against the release's indicator_values."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook

from orchestration.release import list_releases, verify
from orchestration.release.tables import (
    SIGN_DISCLOSURE,
    SIGN_NOT_MEANINGFUL,
    SIGN_SMALL_POPULATION,
    TABLE_HEAD,
    write_tables,
)

NUMBER_FORMATS = {"#,##0", "#,##0.0"}


def _release(settings) -> Path:
    return settings.releases_dir / "latest"


def _frames(release: Path):
    con = duckdb.connect(str(release / "sozialmonitor.duckdb"), read_only=True)
    try:
        values = con.execute("select * from main.indicator_values").df()
        catalogue = con.execute("select * from main.indicator_catalogue").df()
    finally:
        con.close()
    return values, catalogue


def _expected_sign(row) -> str:
    if row.suppression_reason == "small_population":
        return SIGN_SMALL_POPULATION
    if row.is_suppressed:
        return SIGN_DISCLOSURE
    return SIGN_NOT_MEANINGFUL if "denominator_zero" in str(row.flags or "") else "."


def _limited(flags) -> bool:
    return bool({"estimated", "input_suppressed"} & set(str(flags or "").split(",")))


def test_workbooks_show_every_value_as_published(built_city):
    release = _release(built_city)
    values, catalogue = _frames(release)
    header_of = {f"{r.name_de} ({r.unit})": r.indicator_id for r in catalogue.itertuples()}
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    levels = sorted(values["level"].unique())
    assert sorted(manifest["tables"]["xlsx"]) == levels
    seen_signs: set[str] = set()
    seen_limited = missing = 0
    for level in levels:
        wb = load_workbook(release / "tabellen" / f"{level}.xlsx")
        assert wb.sheetnames[-1] == "Zeichenerklärung"
        legend = [c.value for c in wb["Zeichenerklärung"]["A"] if c.value]
        assert {SIGN_DISCLOSURE, SIGN_SMALL_POPULATION, SIGN_NOT_MEANINGFUL, "."} <= set(legend)
        expected = {
            (r.indicator_id, r.area_id, r.stichtag.date()): r for r in values[values["level"] == level].itertuples()
        }
        existed = {(a, d) for _i, a, d in expected}
        checked = set()
        for ws in wb.worksheets[:-1]:
            if ws.title == "Indizes":
                continue
            # the header block
            assert ws["A1"].value.startswith("Sozialmonitoring – ") and ws["A1"].font.bold
            block = {ws.cell(row=i, column=1).value: ws.cell(row=i, column=2).value for i in range(2, 7)}
            assert block["Ebene"].lower() == level
            assert block["Stichtag"].startswith("31.12.")
            assert block["Veröffentlichung"] == manifest["release"]
            assert "Lizenz" in block and block["Quelle"]
            assert ws.freeze_panes == f"C{TABLE_HEAD + 2}"
            assert ws.cell(row=TABLE_HEAD, column=1).value == "Gebiets-Nr."
            # the columns: indicator (merged over its Stichtage) and Stichtag
            columns = {}
            indicator = None
            for col in range(3, ws.max_column + 1):
                head = ws.cell(row=TABLE_HEAD, column=col).value
                if head is not None:
                    indicator = header_of[head]
                day = ws.cell(row=TABLE_HEAD + 1, column=col).value
                if day is None:
                    break
                d, m, y = (int(x) for x in day.split("."))
                columns[col] = (indicator, date(y, m, d))
            assert columns, ws.title
            row = TABLE_HEAD + 2
            while ws.cell(row=row, column=1).value is not None:
                area = ws.cell(row=row, column=1).value
                for col, (indicator_id, day) in columns.items():
                    cell = ws.cell(row=row, column=col)
                    assert cell.value is not None and cell.value != "", (ws.title, area, indicator_id, day)
                    published = expected.get((indicator_id, area, day))
                    if published is None:  # "x": the area did not exist on that Stichtag, else "."
                        assert cell.value == (SIGN_NOT_MEANINGFUL if (area, day) not in existed else "."), (
                            area,
                            indicator_id,
                            day,
                        )
                        missing += 1
                        continue
                    checked.add((indicator_id, area, day))
                    if published.value == published.value:  # not NaN: a number
                        assert cell.data_type == "n" and cell.value == published.value, (area, indicator_id, day)
                        if _limited(published.flags):
                            seen_limited += 1
                            assert cell.number_format.startswith("(") and cell.number_format[1:-1] in NUMBER_FORMATS
                        else:
                            assert cell.number_format in NUMBER_FORMATS
                        unit_format = "#,##0" if published.unit == "Anzahl" else "#,##0.0"
                        assert unit_format in cell.number_format
                    else:
                        assert cell.value == _expected_sign(published) and cell.value != 0
                        seen_signs.add(cell.value)
                row += 1
            # below the table: the definitions of every indicator of the sheet and the signs
            tail = [ws.cell(row=r, column=1).value for r in range(row, ws.max_row + 1)]
            assert "Definitionen" in tail and "Zeichenerklärung" in tail
            names = {catalogue.set_index("indicator_id").loc[i, "name_de"] for i, _ in columns.values()}
            for name in names:
                assert any(t and t.startswith(f"{name} (") and "Zähler:" in t for t in tail), name
        # every published value of the level is in the workbook
        assert checked == set(expected), level
    # the city has both kinds of withheld values and values of limited validity: the checks above ran
    assert {SIGN_DISCLOSURE, SIGN_SMALL_POPULATION} <= seen_signs
    assert seen_limited > 0 and missing > 0


def _de_number(text: str) -> float:
    assert "." not in text, text  # no thousands separator, no decimal point
    return float(text.replace(",", "."))


def test_csv_opens_in_german_excel_and_round_trips(built_city):
    release = _release(built_city)
    values, _catalogue = _frames(release)
    for level in sorted(values["level"].unique()):
        blob = (release / "tabellen" / f"{level}.csv").read_bytes()
        assert blob.startswith(b"\xef\xbb\xbf")
        assert blob.count(b"\r\n") == blob.count(b"\n") > 1
        rows = list(csv.DictReader(io.StringIO(blob.decode("utf-8-sig"), newline=""), delimiter=";"))
        assert list(rows[0])[:3] == ["Gebiets-Nr.", "Gebietsname", "Stichtag"]
        expected = values[values["level"] == level]
        assert len(rows) == len(expected)
        by_key = {(r.indicator_id, r.area_id, f"{r.stichtag:%d.%m.%Y}"): r for r in expected.itertuples()}
        decimals = 0
        for row in rows:
            published = by_key[(row["Kennzahl-ID"], row["Gebiets-Nr."], row["Stichtag"])]
            assert row["Gebietsname"] == published.area_name
            if published.value == published.value:
                assert _de_number(row["Wert"]) == published.value
                decimals += "," in row["Wert"]
                assert _de_number(row["Zähler"]) == published.numerator
                if published.unit == "Anzahl":
                    assert row["Nenner"] == SIGN_NOT_MEANINGFUL
                else:
                    assert _de_number(row["Nenner"]) == published.denominator
            else:
                assert row["Wert"] == _expected_sign(published)
                # a withheld rate may keep a published count (a rate on too few residents): as published
                if pd.notna(published.numerator):
                    assert _de_number(row["Zähler"]) == published.numerator
                else:
                    assert row["Zähler"] == row["Wert"]
            assert row["Wert"] not in ("", "0") or published.value == 0
            if "estimated" in str(published.flags or ""):
                assert "geschätzt" in row["Hinweis"]
        assert decimals > 0  # the decimal comma was exercised


def test_catalogue_page_lists_every_indicator(built_city):
    release = _release(built_city)
    _values, catalogue = _frames(release)
    page = (release / "kennzahlenkatalog.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="de">' in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no external resource
    assert "<script" not in page and "@import" not in page
    import html

    for r in catalogue.itertuples():
        assert f'id="{r.indicator_id}"' in page
        assert html.escape(r.name_de) in page and html.escape(r.definition_de) in page
        assert html.escape(r.numerator_de) in page and html.escape(r.source_de) in page
    assert page.count('<section class="k"') == len(catalogue)
    assert "Zeichenerklärung" in page and SIGN_DISCLOSURE in page


def test_tables_are_byte_deterministic_and_verified(built_city, tmp_path):
    release = _release(built_city)
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    stichtag = date.fromisoformat(manifest["stichtag"])
    con = duckdb.connect(str(release / "sozialmonitor.duckdb"), read_only=True)
    try:
        for out in ("a", "b"):
            (tmp_path / out).mkdir()
            write_tables(con, tmp_path / out, stichtag, manifest["release"], _licence(release))
    finally:
        con.close()
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len([f for f in files if f.suffix == ".xlsx"]) == len(manifest["tables"]["xlsx"]) > 0
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
        # and the same bytes as in the release, which publish() wrote in another folder at another time
        assert (tmp_path / "a" / rel).read_bytes() == (release / rel).read_bytes(), rel
    # the files are listed in the manifest, described in LIESMICH, and the release verifies
    outputs = {o["path"] for o in manifest["outputs"]}
    assert {rel.as_posix() for rel in files} <= outputs
    readme = (release / "LIESMICH.txt").read_text(encoding="utf-8")
    assert "tabellen/stadtteil.xlsx" in readme and "kennzahlenkatalog.html" in readme and SIGN_DISCLOSURE in readme
    assert verify(list_releases(built_city.releases_dir)[-1]) == []


def _licence(release: Path) -> str:
    wb = load_workbook(release / "tabellen" / "gemeinde.xlsx", read_only=True)
    ws = wb.worksheets[0]
    return next(row[1] for row in ws.iter_rows(min_row=2, max_row=6, values_only=True) if row[0] == "Lizenz")


def test_index_tables_get_a_sheet_when_the_release_has_them(built_city, tmp_path):
    """The release's own index tables (status/dynamics per Stadtviertel) give the Stadtviertel
    workbook an "Indizes" sheet with every Stichtag's rows (by index, Stichtag, area)."""
    release = _release(built_city)
    con = duckdb.connect(str(release / "sozialmonitor.duckdb"), read_only=True)
    try:
        expected = con.execute(
            """select area_id, population, indexed, status_z from main.index_status_dynamics
               where level = 'stadtviertel' order by index_id, stichtag, area_id"""
        ).fetchall()
        write_tables(con, tmp_path, date(2024, 12, 31), "test", "dl-de/by-2.0", levels=["stadtviertel", "stadtbezirk"])
    finally:
        con.close()
    assert any(e[2] for e in expected)
    wb = load_workbook(tmp_path / "tabellen" / "stadtviertel.xlsx")
    assert "Indizes" in wb.sheetnames
    ws = wb["Indizes"]
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "Index")
    labels = rows[head]
    body = [dict(zip(labels, r, strict=True)) for r in rows[head + 1 : head + 1 + len(expected)]]
    assert [b["Gebiets-Nr."] for b in body] == [e[0] for e in expected]
    for b, (_area, population, indexed, status_z) in zip(body, expected, strict=True):
        assert b["Einwohner"] == population
        assert b["indexiert"] == ("ja" if indexed else "nein")
        # (Excel keeps 15 significant digits)
        assert b["Status (z-Wert)"] == (pytest.approx(status_z, rel=1e-12) if indexed else SIGN_NOT_MEANINGFUL)
    # a level without index rows gets no such sheet
    assert "Indizes" not in load_workbook(tmp_path / "tabellen" / "stadtbezirk.xlsx", read_only=True).sheetnames
