"""German tables of a release for people who do not write SQL.

From the release DuckDB (`indicator_values`, `areas`, `indicator_catalogue`, and the index tables
`index_status_dynamics` / `index_composite` when the release has them) this writes:

- `tabellen/<Ebene>.xlsx`: one workbook per public level. One sheet per topic of the catalogue;
  rows are the areas (Gebiets-Nr., Gebietsname; in a Kreis, below the Gemeinde level, also the
  Gemeinde: `unit_gemeinde_sql`), columns are the indicators of the topic, each
  with one column per Stichtag in chronological order (two header rows: the indicator with its
  unit over its Stichtage). Above the table a header block (title, Ebene, Stichtag, Quelle,
  Lizenz, Veröffentlichung), below it the definitions (Zähler, Nenner, Quelle) and the
  Zeichenerklärung. Numbers are numbers with a number format (Excel shows them with the reader's
  decimal separator); a value without a number carries one of the signs of official statistics
  (`SIGNS`), never 0 and never an empty cell. Values of limited validity (estimated by spreading a
  coarser source over the Baublöcke, or computed from inputs a department delivered partly
  withheld) keep their number and are shown in brackets, "( )" of official statistics, by their
  number format. Further sheets: "Indizes" (when the release has index tables) and
  "Zeichenerklärung" (signs, marks and notes).
- `tabellen/<Ebene>.csv`: the same values in long form (one row per area, Stichtag and indicator,
  so that Excel's filter and pivot tables work on it), the way German Excel opens a CSV: `;` as
  separator, decimal comma, no thousands separator, dates as TT.MM.JJJJ, UTF-8 with BOM, CRLF.
- In both, text that a spreadsheet would read as a formula (`=HYPERLINK(…)` as an area name) is
  made inert by the OWASP rule: a leading apostrophe in the CSV, Excel's quote prefix in the
  workbook (public_text.py). Numbers stay numbers.
- `kennzahlenkatalog.html`: every indicator with definition, Zähler, Nenner, unit, source,
  responsible office, update cycle, levels, direction, grouped by topic, with the
  Zeichenerklärung; one self-contained file (no external resources).

Everything is deterministic: the same release tables give the same bytes (the workbook's dates
come from the Stichtag, its zip entries are rewritten with a fixed timestamp and order).
The data are shaped in DuckDB (one row per area and topic, the cells as an ordered list); Python
only writes the cells, and streams them: the workbook is written row by row (openpyxl's write-only
mode), the rows read from DuckDB in chunks, so that a Kreis's or a Land's tables never sit in
memory whole (a cell object per value: 1.2 GB for the six levels of a Kreis of 100 Gemeinden).
"""

from __future__ import annotations

import contextlib
import csv
import html
import os
import re
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ..ingest.loader import sha256_file
from .public_text import needs_quote_prefix, spreadsheet_text

TABLES_DIR = "tabellen"
CATALOGUE_HTML = "kennzahlenkatalog.html"
DEFAULT_LICENCE = "Datenlizenz Deutschland – Namensnennung – Version 2.0 (dl-de/by-2.0)"

# The signs of official statistics used for a cell without a number. Every withheld or missing
# value gets one; none is ever written as 0 or left empty.
SIGN_DISCLOSURE = "•"  # U+2022
SIGN_SMALL_POPULATION = "/"
SIGN_UNKNOWN = "."
SIGN_NOT_MEANINGFUL = "x"
SIGNS: tuple[tuple[str, str], ...] = (
    (
        SIGN_DISCLOSURE,
        "Zahlenwert geheim zu halten (statistische Geheimhaltung: zu kleine Fallzahl, "
        "oder aus ihm ließe sich eine zu kleine Fallzahl errechnen)",
    ),
    (SIGN_SMALL_POPULATION, "keine Angabe, da Zahlenwert nicht sicher genug (Anteil an zu wenigen Einwohnern)"),
    (
        SIGN_UNKNOWN,
        "Zahlenwert unbekannt (die Datenquelle wurde für diesen Stichtag nicht geliefert, oder die "
        "Kennzahl wird für diesen Stichtag nicht berechnet, z. B. eine Veränderung über mehr Jahre als die Zeitreihe)",
    ),
    (
        SIGN_NOT_MEANINGFUL,
        "Tabellenfach gesperrt, weil Aussage nicht sinnvoll (Nenner 0, das Gebiet bestand "
        "zum Stichtag nicht, oder – bei Zähler und Nenner – eine Anzahl hat keinen Nenner)",
    ),
    (
        "( )",
        "Aussagewert eingeschränkt: geschätzt (eine Quelle, die nur für größere Gebiete vorliegt, nach "
        "Einwohnern auf die Baublöcke verteilt) oder aus teilweise geheim gehaltenen Eingangsdaten berechnet",
    ),
    ("0", "Zahlenwert ist null (Nullen werden immer veröffentlicht)"),
)
# flags of indicator_values in German (CSV column "Hinweis")
FLAG_TEXT = {
    "estimated": "geschätzt",
    "input_suppressed": "aus teilweise geheim gehaltenen Eingangsdaten",
    "source_missing": "Quelle nicht geliefert",
    "denominator_zero": "Nenner 0",
    "suppressed": "geheim gehalten",
    "perturbed": "Cell-Key-Methode",
}
LIMITED_FLAGS = ("estimated", "input_suppressed")
DIRECTION_DE = {
    "neutral": "neutral (weder hoch noch niedrig ist günstiger)",
    "lower_is_better": "ein niedrigerer Wert ist günstiger",
    "higher_is_better": "ein höherer Wert ist günstiger",
}
LEVEL_DE = {
    "baublock": "Baublock",
    "stadtviertel": "Stadtviertel",
    "stadtteil": "Stadtteil",
    "stadtbezirk": "Stadtbezirk",
    "gemeinde": "Gemeinde",
    "kreis": "Kreis",
    "sozialraum": "Sozialraum",
}
# "nach Stadtteilen": the level in the dative plural, for titles
LEVEL_BY = {
    "stadtviertel": "Stadtvierteln",
    "stadtteil": "Stadtteilen",
    "stadtbezirk": "Stadtbezirken",
    "gemeinde": "Gemeinden",
    "kreis": "Kreisen",
    "sozialraum": "Sozialräumen",
}
CSV_COLUMNS = (
    "Gebiets-Nr.", "Gebietsname", "Stichtag", "Thema", "Kennzahl-ID", "Kennzahl", "Einheit", "Wert", "Zähler",
    "Nenner", "Hinweis",
)  # fmt: skip

HEADER_ROWS = 6  # the header block
TABLE_HEAD = HEADER_ROWS + 2  # first of the two header rows of the table
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", wrap_text=True, vertical="top")
_RIGHT = Alignment(horizontal="right")  # a sign in place of a value (one object: a Kreis has ~10^5)


def level_de(level: str) -> str:
    return LEVEL_DE.get(level, level.capitalize())


def _by(level: str) -> str:
    return LEVEL_BY.get(level, level_de(level))


def number_format(unit: str, limited: bool = False) -> str:
    """The Excel number format of a value of `unit` (Excel shows ',' and '.' as the reader's locale
    has them); `limited`: in brackets, the mark of limited validity."""
    fmt = "#,##0" if unit == "Anzahl" else "#,##0.0"
    return f"({fmt})" if limited else fmt


def _de_date(day: date) -> str:
    return f"{day:%d.%m.%Y}"


GEMEINDE = "gemeinde"


def unit_gemeinde_sql(areas: str) -> str:
    """SQL: (level, area_id, gemeinde_id, gemeinde_name) of every nested unit below the Gemeinde
    level, from the published Gebietsgliederung `areas` (a table, or read_parquet(…)): each unit's
    latest row walked up its parents. Only where the areas hold several Gemeinden (a Kreis, whose
    Städte reuse names: Altstadt, Bezirk 1); none for one city."""
    return f"""with recursive latest as (
            select level, area_id, area_name, is_nested, parent_level, parent_id
            from {areas}
            qualify row_number() over (partition by level, area_id order by valid_from desc) = 1
        ),
        walk as (
            select level, area_id, parent_level, parent_id, 0 as depth
            from latest
            where is_nested and level <> '{GEMEINDE}' and parent_id is not null
                and (select count(*) from latest where level = '{GEMEINDE}') > 1
            union all
            select w.level, w.area_id, p.parent_level, p.parent_id, w.depth + 1
            from walk as w
            inner join latest as p on p.level = w.parent_level and p.area_id = w.parent_id
            where w.parent_level <> '{GEMEINDE}' and w.depth < 20
        )
        select w.level, w.area_id, g.area_id as gemeinde_id, g.area_name as gemeinde_name
        from walk as w
        inner join latest as g on g.level = '{GEMEINDE}' and g.area_id = w.parent_id
        where w.parent_level = '{GEMEINDE}'"""


def _has_table(con, name: str) -> bool:
    row = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() and schema_name = 'main' "
        "and table_name = ?",
        [name],
    ).fetchone()
    return bool(row and row[0])


def _levels(con) -> list[str]:
    rows = con.execute(
        """select v.level from (select distinct level from main.indicator_values) as v
           left join (select level, min(level_rank) as level_rank from main.areas group by level) as a using (level)
           order by a.level_rank nulls last, v.level"""
    ).fetchall()
    return [r[0] for r in rows]


def _sign_sql(v: str, area_existed: str = "true") -> str:
    """SQL: the sign of a cell of indicator_values `v` (null where it has a number). No row at all:
    "x" if the area has no value on that Stichtag (it did not exist), else "." (not available)."""
    return f"""case
        when {v}.indicator_id is null and not ({area_existed}) then '{SIGN_NOT_MEANINGFUL}'
        when {v}.indicator_id is null then '{SIGN_UNKNOWN}'
        when {v}.value is not null then null
        when {v}.is_suppressed and {v}.suppression_reason = 'small_population' then '{SIGN_SMALL_POPULATION}'
        when {v}.is_suppressed then '{SIGN_DISCLOSURE}'
        when list_contains(string_split(coalesce({v}.flags, ''), ','), 'denominator_zero')
            then '{SIGN_NOT_MEANINGFUL}'
        else '{SIGN_UNKNOWN}' end"""


def _limited_sql(v: str) -> str:
    return (
        f"({v}.value is not null and list_has_any(string_split(coalesce({v}.flags, ''), ','), {list(LIMITED_FLAGS)}))"
    )


def _unit_gemeinden(con, level: str) -> None:
    """Temporary table t_gemeinde: (area_id, gemeinde_name) of the units of `level` (empty but in a
    Kreis below the Gemeinde level), for the workbook and the CSV of the level."""
    con.execute(
        f"""create or replace temp table t_gemeinde as
            select area_id, gemeinde_name from ({unit_gemeinde_sql("main.areas")}) where level = $level""",
        {"level": level},
    )


def _shape(con, level: str) -> None:
    """Temporary tables for one level: its areas (with their Gemeinde: `_unit_gemeinden`), its
    columns (indicator × Stichtag per topic) and its cells (one row per area and topic, the cells in
    column order)."""
    _unit_gemeinden(con, level)
    con.execute(
        """create or replace temp table t_areas as
           select v.area_id, arg_max(v.area_name, v.stichtag) as area_name, any_value(g.gemeinde_name) as gemeinde_name
           from main.indicator_values as v left join t_gemeinde as g using (area_id)
           where v.level = $level group by v.area_id""",
        {"level": level},
    )
    con.execute(
        """create or replace temp table t_columns as
           with present as (
               select distinct indicator_id from main.indicator_values where level = $level
           ),
           days as (select distinct stichtag from main.indicator_values where level = $level)
           select c.topic, c.indicator_id, c.name_de, c.unit, d.stichtag,
               row_number() over (partition by c.topic order by c.name_de, c.indicator_id, d.stichtag) as col,
               row_number() over (partition by c.topic, c.indicator_id order by d.stichtag) as nth
           from main.indicator_catalogue as c
           inner join present as p using (indicator_id)
           cross join days as d""",
        {"level": level},
    )
    con.execute(
        f"""create or replace temp table t_cells as
            with existed as (
                select distinct area_id, stichtag from main.indicator_values where level = $level
            )
            select c.topic, a.area_id, a.area_name, a.gemeinde_name,
                list(struct_pack(value := v.value, sign := {_sign_sql("v", "e.area_id is not null")},
                                 limited := {_limited_sql("v")}, unit := c.unit) order by c.col) as cells
            from t_areas as a cross join t_columns as c
            left join existed as e on e.area_id = a.area_id and e.stichtag = c.stichtag
            left join main.indicator_values as v
                on v.level = $level and v.area_id = a.area_id and v.indicator_id = c.indicator_id
                and v.stichtag = c.stichtag
            group by c.topic, a.area_id, a.area_name, a.gemeinde_name""",
        {"level": level},
    )


def _has_gemeinde(con) -> bool:
    """Whether the level's areas (`_unit_gemeinden`) lie in several Gemeinden: a Kreis's tables
    name each unit's Gemeinde in a column of its own."""
    return bool(con.execute("select count(*) from t_gemeinde").fetchone()[0])


def _sheet_title(name: str, taken: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "-", name)[:31] or "Tabelle"
    base, n = title, 2
    while title in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title)
    return title


# rows fetched from DuckDB at a time while a sheet or a CSV is written
CHUNK_ROWS = 2_000


class _Sheet:
    """A write-only worksheet, written row by row in order (openpyxl's write-only mode holds no
    cell once its row is written): `row(r, cells)` writes row `r` (1-based; the rows between the
    last one written and `r` stay empty). Column widths, row heights, merged ranges and the frozen
    panes are set before the rows they concern are written. Text that a spreadsheet could read as a
    formula is made inert as it is written (`cell`)."""

    def __init__(self, ws):
        self.ws = ws
        self.next = 1

    def extent(self, rows: int, columns: int) -> None:
        """The sheet's used range, known before its rows are written: the <dimension> element that a
        streamed sheet otherwise lacks (readers in read-only mode take the sheet's size from it)."""
        ref = f"A1:{get_column_letter(max(columns, 1))}{max(rows, 1)}"
        self.ws.calculate_dimension = lambda: ref

    def row(self, r: int, cells: list[Any]) -> None:
        if r < self.next:
            raise ValueError(f"row {r} of sheet {self.ws.title!r} comes after row {self.next - 1}")
        while self.next < r:
            self.ws.append([])
            self.next += 1
        self.ws.append([c if isinstance(c, Cell) else self.cell(c) for c in cells])
        self.next += 1

    def cell(self, value: Any, font: Font | None = None, alignment: Alignment | None = None,
             number_format: str | None = None) -> Any:  # fmt: skip
        """A cell of `value` with its style. Text is never a formula: text that a spreadsheet could
        read as one (public_text.py, rule 2; a leading "=" among it, which openpyxl would write as a
        formula) is a text cell with Excel's quote prefix; the workbook holds no formula of its own."""
        inert = isinstance(value, str) and needs_quote_prefix(value)
        if font is None and alignment is None and number_format is None and not inert:
            return value
        cell = WriteOnlyCell(self.ws, value=value)
        if inert:
            cell.data_type = "s"
            cell.quotePrefix = True
        if font is not None:
            cell.font = font
        if alignment is not None:
            cell.alignment = alignment
        if number_format is not None:
            cell.number_format = number_format
        return cell


def _header_block(sheet: _Sheet, title: str, rows: list[tuple[str, str]]) -> None:
    sheet.row(1, [sheet.cell(title, font=_TITLE)])
    for i, (label, text) in enumerate(rows, start=2):
        sheet.row(i, [sheet.cell(label, font=_BOLD), sheet.cell(text)])


def _legend_lines() -> list[str]:
    return [f"{sign}  {text}" for sign, text in SIGNS]


def _topic_sheet(sheet: _Sheet, con, level: str, topic: str, meta: dict[str, Any]) -> int:
    ws = sheet.ws
    columns = con.execute(
        "select indicator_id, name_de, unit, stichtag, nth from t_columns where topic = ? order by col", [topic]
    ).fetchall()
    indicators = con.execute(
        """select c.indicator_id, c.name_de, c.unit, c.definition_de, c.numerator_de, c.denominator_de, c.source_de
           from main.indicator_catalogue as c
           where c.indicator_id in (select indicator_id from t_columns where topic = $topic)
           order by c.name_de, c.indicator_id""",
        {"topic": topic},
    ).fetchall()
    sources = "; ".join(sorted({r[6] for r in indicators}))
    head, sub = TABLE_HEAD, TABLE_HEAD + 1
    labels = ["Gebiets-Nr.", "Gebietsname", *(["Gemeinde"] if _has_gemeinde(con) else [])]
    first = len(labels) + 1  # the first column of the values
    # what a write-only sheet needs before its rows: widths, frozen panes, the header's height
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 32
    if first > 3:
        ws.column_dimensions["C"].width = 20
    for col in range(first, len(columns) + first):
        ws.column_dimensions[get_column_letter(col)].width = 12
    ws.freeze_panes = f"{get_column_letter(first)}{sub + 1}"
    ws.row_dimensions[head].height = 45
    [area_count] = con.execute("select count(*) from t_cells where topic = ?", [topic]).fetchone()
    sheet.extent(sub + area_count + 2 + len(indicators) + 2 + len(SIGNS), max(first - 1 + len(columns), 2))
    _header_block(
        sheet,
        f"Sozialmonitoring – {topic} nach {_by(level)}",
        [
            ("Ebene", level_de(level)),
            ("Stichtag", f"{_de_date(meta['stichtag'])} (Zeitreihe ab {_de_date(columns[0][3])})"),
            ("Quelle", f"{sources}; Berechnung: Sozialmonitoring"),
            ("Lizenz", meta["licence"]),
            ("Veröffentlichung", meta["release_id"]),
        ],
    )
    head_row: list[Any] = [sheet.cell(label, font=_BOLD) for label in labels]
    sub_row: list[Any] = [None] * len(labels)
    for col in range(1, first):
        ws.merged_cells.add(f"{get_column_letter(col)}{head}:{get_column_letter(col)}{sub}")
    per_indicator: dict[str, list[int]] = {}
    for i, (indicator_id, _name, _unit, _day, _nth) in enumerate(columns, start=first):
        per_indicator.setdefault(indicator_id, []).append(i)
    for indicator_id, name, unit, day, nth in columns:
        col = per_indicator[indicator_id][nth - 1]
        if nth == 1:
            head_row.append(sheet.cell(f"{name} ({unit})", font=_BOLD, alignment=_CENTER))
            last = per_indicator[indicator_id][-1]
            if last > col:
                ws.merged_cells.add(f"{get_column_letter(col)}{head}:{get_column_letter(last)}{head}")
        else:
            head_row.append(None)
        sub_row.append(sheet.cell(_de_date(day), font=_BOLD, alignment=_CENTER))
    sheet.row(head, head_row)
    sheet.row(sub, sub_row)
    formats = {(u, lim): number_format(u, lim) for u in {c[2] for c in columns} for lim in (False, True)}
    result = con.execute(
        "select area_id, area_name, gemeinde_name, cells from t_cells where topic = ? order by area_id", [topic]
    )
    r, written = sub, 0
    while chunk := result.fetchmany(CHUNK_ROWS):
        for area_id, area_name, gemeinde_name, cells in chunk:
            r += 1
            values: list[Any] = [area_id, area_name, gemeinde_name][: first - 1]
            for cell in cells:
                if cell["sign"] is None:
                    values.append(
                        sheet.cell(cell["value"], number_format=formats[(cell["unit"], bool(cell["limited"]))])
                    )
                else:
                    values.append(sheet.cell(cell["sign"], alignment=_RIGHT))
            sheet.row(r, values)
        written += len(chunk)
    notes = r + 2
    sheet.row(notes, [sheet.cell("Definitionen", font=_BOLD)])
    for i, (_id, name, unit, definition, numerator, denominator, source) in enumerate(indicators, start=1):
        text = f"{name} ({unit}): {definition}. Zähler: {numerator}."
        text += f" Nenner: {denominator}." if denominator else " Kein Nenner (Anzahl)."
        sheet.row(notes + i, [f"{text} Quelle: {source}."])
    legend = notes + len(indicators) + 2
    sheet.row(legend, [sheet.cell("Zeichenerklärung", font=_BOLD)])
    for i, line in enumerate(_legend_lines(), start=1):
        sheet.row(legend + i, [line])
    return written


INDEX_SHEETS = {
    "index_status_dynamics": (
        "Status-/Dynamikindex",
        [
            ("index_id", "Index"), ("area_id", "Gebiets-Nr."), ("area_name", "Gebietsname"),
            ("stichtag", "Stichtag"), ("population", "Einwohner"), ("indexed", "indexiert"),
            ("reason", "Grund (nicht indexiert)"), ("status_z", "Status (z-Wert)"),
            ("status_class", "Statusklasse"), ("dynamics_z", "Dynamik (z-Wert)"),
            ("dynamics_class", "Dynamikklasse"), ("dynamics_years", "Dynamik (Jahre)"),
            ("index_group", "Indexgruppe (Status/Dynamik)"),
        ],
    ),
    "index_composite": (
        "Zusammengesetzter Index",
        [
            ("index_id", "Index"), ("area_id", "Gebiets-Nr."), ("area_name", "Gebietsname"),
            ("stichtag", "Stichtag"), ("component_name", "Teilindex"), ("value", "Wert"), ("rank", "Rang"),
            ("indexed", "indexiert"), ("reason", "Grund (nicht indexiert)"),
            ("missing_indicators", "fehlende Kennzahlen"), ("median_rank", "Median-Rang"),
            ("rank_p05", "Rang 5 %"), ("rank_p95", "Rang 95 %"),
        ],
    ),
}  # fmt: skip


def _index_tables(con, level: str) -> list[tuple[str, list[tuple[str, str]], str, int]]:
    """(title, columns, query, rows) of each index table of the release with rows of `level`: what
    its sheet shows, known before the sheet is made (a write-only sheet cannot be taken out again)."""
    planned = []
    for table, (title, columns) in INDEX_SHEETS.items():
        if not _has_table(con, table):
            continue
        present = {
            c[0]
            for c in con.execute(
                "select column_name from duckdb_columns() where database_name = current_database() "
                "and schema_name = 'main' and table_name = ?",
                [table],
            ).fetchall()
        }
        cols = [(c, label) for c, label in columns if c in present]
        if _has_gemeinde(con):  # a Kreis: each unit's Gemeinde after its name
            names = [c for c, _ in cols]
            after = names.index("area_name" if "area_name" in names else "area_id")
            cols.insert(after + 1, ("gemeinde_name", "Gemeinde"))
        order = ", ".join(f"t.{c}" for c in ("index_id", "stichtag", "area_id", "component") if c in present)
        query = f"""select {", ".join(("g." if c == "gemeinde_name" else "t.") + c for c, _ in cols)}
                    from main.{table} as t left join t_gemeinde as g using (area_id)
                    where t.level = ? order by {order}"""
        [count] = con.execute(f"select count(*) from main.{table} where level = ?", [level]).fetchone()
        if count:
            planned.append((title, cols, query, count))
    return planned


def _index_sheet(sheet: _Sheet, con, level: str, meta: dict[str, Any], planned: list) -> int:
    """The index tables of `level` (`_index_tables`) one under the other; returns the rows written."""
    # each table: its title, its header, its rows, then one empty row before the next
    last = HEADER_ROWS + 2 + sum(count + 3 for *_, count in planned) - 2
    sheet.extent(last, max([2, *(len(cols) for _t, cols, _q, _n in planned)]))
    sheet.ws.column_dimensions["B"].width = 14
    sheet.ws.column_dimensions["C"].width = 32
    _header_block(
        sheet,
        f"Sozialmonitoring – Indizes nach {_by(level)}",
        [
            ("Ebene", level_de(level)),
            ("Stichtag", _de_date(meta["stichtag"])),
            ("Quelle", "Berechnung: Sozialmonitoring aus den Kennzahlen dieser Veröffentlichung"),
            ("Lizenz", meta["licence"]),
            ("Veröffentlichung", meta["release_id"]),
        ],
    )
    r, written = HEADER_ROWS + 2, 0
    for title, cols, query, _count in planned:
        result = con.execute(query, [level])
        sheet.row(r, [sheet.cell(title, font=_BOLD)])
        r += 1
        sheet.row(r, [sheet.cell(label, font=_BOLD) for _c, label in cols])
        while chunk := result.fetchmany(CHUNK_ROWS):
            for row in chunk:
                r += 1
                values: list[Any] = []
                for (name, _label), value in zip(cols, row, strict=True):
                    if isinstance(value, bool):
                        value = "ja" if value else "nein"
                    elif isinstance(value, date):
                        value = _de_date(value)
                    elif value is None:
                        value = SIGN_NOT_MEANINGFUL
                    if isinstance(value, float):
                        fmt = "#,##0.00" if name.endswith("_z") or name == "value" else "#,##0.0"
                        values.append(sheet.cell(value, number_format=fmt))
                    elif isinstance(value, int):
                        values.append(sheet.cell(value, number_format="#,##0"))
                    else:
                        values.append(value)
                sheet.row(r, values)
            written += len(chunk)
        r += 2
    return written


# the notes of the sheet Zeichenerklärung
_NOTES = (
    "Jedes Tabellenblatt eines Themas zeigt je Gebiet (Zeile) jede Kennzahl des Themas zu jedem Stichtag "
    "(Spalten, je Kennzahl in zeitlicher Reihenfolge).",
    "Zahlen sind als Zahlen gespeichert; die Anzeige rundet (Anteile und Quoten auf eine Nachkommastelle), "
    "die Zelle enthält den veröffentlichten Wert.",
    "Gebiete, die nicht mehr bestehen, stehen mit ihren früheren Werten in der Tabelle; für Stichtage, zu "
    "denen ein Gebiet nicht bestand, steht x.",
    "Geheim gehaltene Werte (• und /) sind nie 0: Nullen werden immer veröffentlicht.",
    "Dieselben Werte in langer Form: die CSV-Datei gleichen Namens (Trennzeichen Semikolon, Dezimalkomma).",
    "Definitionen aller Kennzahlen: kennzahlenkatalog.html in dieser Veröffentlichung.",
)


def _legend_sheet(sheet: _Sheet, meta: dict[str, Any], level: str) -> None:
    sheet.extent(HEADER_ROWS + 1 + len(SIGNS) + 2 + len(_NOTES), 2)
    sheet.ws.column_dimensions["A"].width = 18
    sheet.ws.column_dimensions["B"].width = 110
    _header_block(
        sheet,
        "Zeichenerklärung und Hinweise",
        [
            ("Ebene", level_de(level)),
            ("Stichtag", _de_date(meta["stichtag"])),
            ("Lizenz", meta["licence"]),
            ("Veröffentlichung", meta["release_id"]),
        ],
    )
    first = HEADER_ROWS + 1
    sheet.row(first, [sheet.cell("Zeichen", font=_BOLD), sheet.cell("Bedeutung", font=_BOLD)])
    for r, (sign, text) in enumerate(SIGNS, start=first + 1):
        sheet.row(r, [sheet.cell(sign, alignment=Alignment(horizontal="center")), sheet.cell(text, alignment=_WRAP)])
    first = first + len(SIGNS) + 2
    sheet.row(first, [sheet.cell("Hinweise", font=_BOLD)])
    for r, text in enumerate(_NOTES, start=first + 1):
        sheet.row(r, [None, sheet.cell(text, alignment=_WRAP)])


def _fix_zip(path: Path, stamp: date) -> None:
    """Rewrite the workbook's zip: entries sorted, one fixed timestamp, fixed compression, and the
    document dates set to the Stichtag, so that the same content gives the same bytes. Entry by
    entry, streamed (a Land's sheet is hundreds of megabytes of XML)."""
    when = f"{stamp.isoformat()}T00:00:00Z"
    fixed = path.with_name(path.name + ".fixed")
    try:
        with (
            zipfile.ZipFile(path) as src,
            zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out,
        ):
            for name in sorted(src.namelist()):
                info = zipfile.ZipInfo(name, date_time=(max(stamp.year, 1980), stamp.month, stamp.day, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                if name == "docProps/core.xml":
                    text = src.read(name).decode("utf-8")
                    for tag in ("created", "modified"):
                        text = re.sub(rf"(<dcterms:{tag}[^>]*>)[^<]*(</dcterms:{tag}>)", rf"\g<1>{when}\g<2>", text)
                    out.writestr(info, text.encode("utf-8"))
                    continue
                # streamed, its size unknown to the zip until written: an entry beyond 2 GiB needs ZIP64 up front
                large = src.getinfo(name).file_size > zipfile.ZIP64_LIMIT
                with src.open(name) as entry, out.open(info, "w", force_zip64=large) as target:
                    shutil.copyfileobj(entry, target, 1 << 20)
        os.replace(fixed, path)
    finally:
        fixed.unlink(missing_ok=True)


def _discard(wb) -> None:
    """Remove the temporary files of a write-only workbook that failed before it was saved (openpyxl
    writes each sheet's rows into one as they come, and removes it only when the workbook is saved
    or the process ends: a Land's sheets are large, and a Dagster process lives long)."""
    for ws in wb.worksheets:
        writer = getattr(ws, "_writer", None)
        if writer is None:
            continue
        # the row writer and the XML writer closed first: their files are not written after removal
        with contextlib.suppress(Exception):
            if getattr(ws, "_rows", None) is not None:
                ws._rows.close()
            writer.close()
        with contextlib.suppress(OSError, ValueError):  # gone already (saved)
            writer.cleanup()


def write_workbook(con, level: str, path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    _shape(con, level)
    topics = [r[0] for r in con.execute("select distinct topic from t_columns order by topic").fetchall()]
    wb = Workbook(write_only=True)
    try:
        taken: set[str] = set()
        sheets, areas = [], 0
        for topic in topics:
            sheet = _Sheet(wb.create_sheet(_sheet_title(topic, taken)))
            areas = max(areas, _topic_sheet(sheet, con, level, topic, meta))
            sheets.append(sheet.ws.title)
        indices = _index_tables(con, level)
        if indices:  # a write-only sheet cannot be taken out again once made
            index_sheet = _Sheet(wb.create_sheet(_sheet_title("Indizes", taken)))
            _index_sheet(index_sheet, con, level, meta, indices)
            sheets.append(index_sheet.ws.title)
        legend = _Sheet(wb.create_sheet(_sheet_title("Zeichenerklärung", taken)))
        _legend_sheet(legend, meta, level)
        sheets.append(legend.ws.title)
        stamp = datetime(meta["stichtag"].year, meta["stichtag"].month, meta["stichtag"].day)
        wb.properties.creator = "Sozialmonitoring"
        wb.properties.title = f"Sozialmonitoring – {level_de(level)} – Stichtag {_de_date(meta['stichtag'])}"
        wb.properties.created = stamp
        wb.properties.modified = stamp
        wb.save(path)
    except BaseException:
        _discard(wb)
        raise
    _fix_zip(path, meta["stichtag"])
    for name in ("t_cells", "t_columns", "t_areas", "t_gemeinde"):
        con.execute(f"drop table if exists {name}")
    return {"sheets": sheets, "areas": areas}


def _de_number_sql(expr: str) -> str:
    """SQL: a number as German text (decimal comma, no thousands separator, no trailing zeros)."""
    return (
        f"replace(case when {expr} = trunc({expr}) then printf('%d', {expr}::hugeint) "
        f"else rtrim(printf('%.6f', {expr}), '0') end, '.', ',')"
    )


def write_csv(con, level: str, path: Path) -> int:
    """The values of `level` in long form, as German Excel opens a CSV; in a Kreis with the column
    Gemeinde after the Gebietsname for the levels below the Gemeinde."""
    flags = " || ".join(f"case when list_contains(f, '{k}') then '{v}, ' else '' end" for k, v in FLAG_TEXT.items())
    _unit_gemeinden(con, level)
    named = _has_gemeinde(con)
    columns = [*CSV_COLUMNS[:2], "Gemeinde", *CSV_COLUMNS[2:]] if named else list(CSV_COLUMNS)
    result = con.execute(
        f"""with v as (
                select v.*, c.topic, c.name_de, string_split(coalesce(v.flags, ''), ',') as f, g.gemeinde_name
                from main.indicator_values as v inner join main.indicator_catalogue as c using (indicator_id)
                left join t_gemeinde as g using (area_id)
                where v.level = $level
            )
            select area_id, area_name, {"gemeinde_name," if named else ""}
                strftime(stichtag, '%d.%m.%Y'), topic, indicator_id, name_de, unit,
                coalesce({_de_number_sql("v.value")}, {_sign_sql("v")}),
                case when numerator is not null then {_de_number_sql("numerator")}
                     when value is not null then '{SIGN_NOT_MEANINGFUL}' else {_sign_sql("v")} end,
                case when denominator is not null then {_de_number_sql("denominator")}
                     when unit = 'Anzahl' then '{SIGN_NOT_MEANINGFUL}' else {_sign_sql("v")} end,
                rtrim({flags}, ', ')
            from v order by area_id, stichtag, topic, name_de, indicator_id""",
        {"level": level},
    )
    rows = 0
    # UTF-8 with BOM (utf-8-sig writes it once, first), CRLF from the writer, streamed in chunks
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(columns)
        while chunk := result.fetchmany(CHUNK_ROWS * 10):
            # text from extracts (area names) made inert for spreadsheets; numbers such as -1,5 stay numbers
            writer.writerows([spreadsheet_text(v) if isinstance(v, str) else v for v in row] for row in chunk)
            rows += len(chunk)
    con.execute("drop table if exists t_gemeinde")
    return rows


def _catalogue_html(con, meta: dict[str, Any]) -> str:
    rows = con.execute(
        """select topic, indicator_id, name_de, unit, definition_de, numerator_de, denominator_de, source_de,
               responsible, update_cycle, levels, direction, first_period
           from main.indicator_catalogue order by topic, name_de, indicator_id"""
    ).fetchall()
    published = set(_levels(con))  # the catalogue also names internal levels (Baublock)
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="de">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>Kennzahlenkatalog – Sozialmonitoring – {e(meta['release_id'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}"
        "h2{border-bottom:1px solid #999;margin-top:2.5rem}section.k{margin:1.5rem 0}"
        "dl{display:grid;grid-template-columns:12rem 1fr;gap:.2rem 1rem}dt{font-weight:bold}dd{margin:0}"
        "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2rem .5rem;text-align:left}"
        "code{font-size:.9em}</style>",
        "</head>",
        "<body>",
        "<h1>Kennzahlenkatalog des Sozialmonitorings</h1>",
        f"<p>Veröffentlichung {e(meta['release_id'])}, Stichtag {e(_de_date(meta['stichtag']))}. "
        f"Lizenz: {e(meta['licence'])}.</p>",
        "<p>Jede Kennzahl ist Zähler × Faktor / Nenner, gebildet aus den Summen über die Baublöcke eines "
        "Gebiets; eine Anzahl hat keinen Nenner.</p>",
        "<nav><h2>Themen</h2><ul>",
    ]
    topics = sorted({r[0] for r in rows})
    anchors = {t: f"thema-{i}" for i, t in enumerate(topics, start=1)}
    parts += [f'<li><a href="#{anchors[t]}">{e(t)}</a></li>' for t in topics]
    parts.append('<li><a href="#zeichen">Zeichenerklärung</a></li></ul></nav>')
    current = None
    for (topic, indicator_id, name, unit, definition, numerator, denominator, source, responsible, cycle,
         levels, direction, first_period) in rows:  # fmt: skip
        if topic != current:
            if current is not None:
                parts.append("</section>")
            parts.append(f'<section id="{anchors[topic]}"><h2>{e(topic)}</h2>')
            current = topic
        level_names = ", ".join(level_de(x) for x in str(levels or "").split(",") if x in published)
        fields = [
            ("Kennzahl-ID", f"<code>{e(indicator_id)}</code>"),
            ("Definition", e(definition or "")),
            ("Zähler", e(numerator or "")),
            ("Nenner", e(denominator) if denominator else "– (Anzahl, kein Nenner)"),
            ("Einheit", e(unit)),
            ("Quelle", e(source or "")),
            ("Zuständige Stelle", e(responsible or "")),
            ("Aktualisierung", e(cycle or "")),
            ("Veröffentlicht für", e(level_names)),
            ("Richtung", e(DIRECTION_DE.get(direction, direction or ""))),
            ("Thema", e(topic)),
            ("Zeitreihe ab", e(str(first_period)) if first_period is not None else ""),
        ]
        parts.append(f'<section class="k" id="{e(indicator_id)}"><h3>{e(name)} ({e(unit)})</h3><dl>')
        parts += [f"<dt>{label}</dt><dd>{value}</dd>" for label, value in fields]
        parts.append("</dl></section>")
    if current is not None:
        parts.append("</section>")
    parts += ['<section id="zeichen"><h2>Zeichenerklärung</h2><table>', "<tr><th>Zeichen</th><th>Bedeutung</th></tr>"]
    parts += [f"<tr><td>{e(sign)}</td><td>{e(text)}</td></tr>" for sign, text in SIGNS]
    parts += ["</table></section>", "</body>", "</html>", ""]
    return "\n".join(parts)


def write_tables(
    con, out_dir: Path, stichtag: date, release_id: str, licence: str = DEFAULT_LICENCE,
    levels: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Write the German tables of the release in `out_dir` (see the module docstring) from the
    release tables on `con`. Returns what was written, for the manifest."""
    meta = {"stichtag": stichtag, "release_id": release_id, "licence": licence}
    tables_dir = out_dir / TABLES_DIR
    tables_dir.mkdir(exist_ok=True)
    out: dict[str, Any] = {"xlsx": {}, "csv": {}}
    for level in levels if levels is not None else _levels(con):
        xlsx = tables_dir / f"{level}.xlsx"
        info = write_workbook(con, level, xlsx, meta)
        out["xlsx"][level] = {"path": xlsx.relative_to(out_dir).as_posix(), **info, "sha256": sha256_file(xlsx)}
        path = tables_dir / f"{level}.csv"
        rows = write_csv(con, level, path)
        out["csv"][level] = {"path": path.relative_to(out_dir).as_posix(), "rows": rows, "sha256": sha256_file(path)}
    page = out_dir / CATALOGUE_HTML
    page.write_text(_catalogue_html(con, meta), encoding="utf-8", newline="\n")
    out["catalogue"] = {"path": CATALOGUE_HTML, "sha256": sha256_file(page)}
    return out
