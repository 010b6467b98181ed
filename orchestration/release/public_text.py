"""Free text in public files: validated where it leaves, made inert for spreadsheets.

Area names come from the departments' extracts (`raw/gebiete/gebietsgliederung.csv`) and reach the
Parquet tables, the release DuckDB, GeoJSON, GeoPackage, the atlas and the German tables. Two rules:

1. **Valid text only** (`check_public_text`, called by publish() on every text column of every public
   table): no control characters (C0 and C1, DEL, line and paragraph separators), no invisible
   format characters (bidirectional overrides and isolates as in "Trojan Source", zero-width
   spaces, byte order marks; soft hyphen, ZWJ and ZWNJ are allowed), no unpaired surrogates, no
   empty names, and a length limit: `NAME_MAX` characters for names, `CONFIG_MAX` for the JSON the
   warehouse writes itself (`config`, an index's configuration: an index within each Gemeinde
   names the Gemeinde of every unit it groups, so a Kreis or a Land makes it long), `TEXT_MAX` for
   other text (definitions, descriptions). A release with such text is refused before anything is
   written; the message names table, column and row key and shows the text with the offending
   characters escaped (never raw, so a terminal escape sequence in a name cannot act on the screen
   that shows the message). The same rule is a dbt test on the staged area names
   (`plain_text`), so a bad Gebietsgliederung is stopped when it is built (exit 4).

2. **Spreadsheet-inert cells** (`spreadsheet_text`): following the OWASP rule on CSV (formula)
   injection, a text cell that starts with `=`, `+`, `-`, `@`, tab, CR, LF or NUL - or with the
   full-width forms of `= + - @`, which some spreadsheet programs also read as formula starts - is
   prefixed with an apostrophe `'` in the public CSV files, so that Excel and LibreOffice show it
   as text and never evaluate it (`=HYPERLINK(…)` stays a name). In the XLSX workbooks such a cell
   is written as a text cell with Excel's quote prefix (the invisible "'" Excel itself sets when a
   user types one): no formula, and editing the cell keeps it text. Numbers are never touched:
   they are number cells in XLSX, and in CSV a cell that is exactly a number as the tables write
   it (`-1,5`, `+3`, `-12`) stays as it is, so Excel still reads it as a number. Every other
   text is published unchanged (the Parquet, DuckDB and GeoJSON files hold the name as delivered:
   they are data, not spreadsheets).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

NAME_MAX = 200  # characters in a name (area, component, indicator), as the contracts' default max_length
TEXT_MAX = 5_000  # other text: definitions, descriptions
# the index configuration (JSON the warehouse writes): ~30 characters per unit an index within each
# Gemeinde groups (27 Gemeinden: 13,739 characters), so a Land's thousands of units fit
CONFIG_MAX = 2_000_000
CONFIG_COLUMNS = frozenset({"config"})
# format characters that are harmless in names (soft hyphen, zero-width (non-)joiner)
ALLOWED_FORMAT = frozenset({"\u00ad", "\u200c", "\u200d"})
FORMULA_START = frozenset("=+-@\t\r\n\0\uff1d\uff0b\uff0d\uff20")
# a number exactly as the German tables write it: sign, digits, decimal comma (or point)
PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]+([,.][0-9]+)?$")


class UnsafeText(ValueError):
    pass


def is_name_column(column: str) -> bool:
    return column.endswith("_name") or column in ("name_de", "name_en")


def text_problem(value: str, limit: int = NAME_MAX) -> str | None:
    """Why `value` may not be published, or None."""
    if not value.strip():
        return "empty (only blanks)"
    if len(value) > limit:
        return f"{len(value)} characters, more than {limit}"
    for pos, ch in enumerate(value, start=1):
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Zl", "Zp") or (category == "Cf" and ch not in ALLOWED_FORMAT):
            name = unicodedata.name(ch, "control character")
            return f"character U+{ord(ch):04X} ({name}) at position {pos}"
    return None


def shown(value: str, width: int = 80) -> str:
    """`value` as it is safe to print: every character that is not plainly printable escaped."""
    out = []
    for ch in value[:width]:
        category = unicodedata.category(ch)
        if category[0] in ("C", "Z") and ch != " ":
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return "".join(out) + ("…" if len(value) > width else "")


def length_limit(column: str) -> int:
    """The most characters a text of `column` may have (module docstring, rule 1)."""
    if is_name_column(column):
        return NAME_MAX
    return CONFIG_MAX if column in CONFIG_COLUMNS else TEXT_MAX


def check_values(table: str, column: str, values: Iterable[tuple[str, str]]) -> list[str]:
    """Problems of (row key, text) pairs of one column."""
    limit = length_limit(column)
    problems = []
    for key, value in values:
        why = text_problem(value, limit)
        if why:
            problems.append(f"{table}.{column} ({key}): {why}: '{shown(value)}'")
    return problems


def check_public_text(con, tables: Iterable[str], schema: str = "main") -> list[str]:
    """Every text column of the public `tables` on `con`: each distinct value checked once."""
    problems: list[str] = []
    for table in sorted(tables):
        columns = con.execute(
            "select column_name, data_type from duckdb_columns() where database_name = current_database() "
            "and schema_name = ? and table_name = ? order by column_index",
            [schema, table],
        ).fetchall()
        names = {c for c, _ in columns}
        key = next((k for k in ("area_id", "indicator_id", "index_id") if k in names), None)
        for column, kind in columns:
            if kind != "VARCHAR":
                continue
            label = f"coalesce(level || ' ', '') || {key}" if key and "level" in names else key or "''"
            rows = con.execute(
                f'select min({label}), "{column}" from {schema}."{table}" where "{column}" is not null '
                f'group by "{column}" order by 1, 2'
            ).fetchall()
            problems += check_values(table, column, ((k or "", v) for k, v in rows))
    return problems


def spreadsheet_text(value: str) -> str:
    """A text cell for a public CSV: inert in spreadsheets (module docstring, rule 2)."""
    if value and value[0] in FORMULA_START and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def needs_quote_prefix(value: object) -> bool:
    """Does a text cell of a workbook need Excel's quote prefix (rule 2)?"""
    return isinstance(value, str) and bool(value) and value[0] in FORMULA_START
