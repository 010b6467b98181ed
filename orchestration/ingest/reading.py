"""Reading one extract into a staging table of text columns, checking the file itself on the way.

Every reader produces the same thing: a DuckDB temp table `_stage` with `_line` (the line of the
CSV file, the row of the worksheet, the number of the GeoJSON feature) and one VARCHAR column per
contract column, named as in the warehouse. Values are checked against their types afterwards, in
one set-based pass (`checks.py`); here we only check what makes a file unreadable: encoding,
header, column count, sheet, structure. Problems come back as `Violation`s naming file, line and
column.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from .contracts import Contract

STAGE = "_stage"


@dataclass(frozen=True)
class Violation:
    file: str
    line: int | None
    column: str | None
    problem: str
    fix: str
    value: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        found = f" (found {self.value!r})" if self.value is not None else ""
        return f"{', '.join(where)}: {self.problem}{found}. Fix: {self.fix}"


class Unreadable(Exception):
    def __init__(self, violations: list[Violation]):
        super().__init__("\n".join(str(v) for v in violations))
        self.violations = violations


def _line_col(data: bytes, pos: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, pos) + 1
    start = data.rfind(b"\n", 0, pos) + 1
    return line, pos - start + 1


# UTF-8's two- and three-byte forms. In a Windows-1252 file they read as an upper-case accented
# letter (or à-ï) followed by a symbol from 0x80-0xBF ('Ã¤', 'Ä±', 'â€“'): nothing German text has.
_UTF8_SEQUENCE = re.compile(rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}")
# UTF-8 text that was decoded as Windows-1252 and encoded as UTF-8 again ('ä' → 'Ã¤'): in valid
# UTF-8, 'Ã'/'Â'… followed by what a byte 0x80-0xBF becomes in cp1252.
_DOUBLE_ENCODED = re.compile(
    rb"[\xC3][\x82-\x9F](?:\xC2[\x80-\xBF]|\xC5[\x92\x93\xA0\xA1\xB8\xBD\xBE]|\xC6\x92|\xCB[\x86\x9C]"
    rb"|\xE2\x80[\x93-\xBA]|\xE2\x82\xAC|\xE2\x84\xA2)"
)


_BINARY_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (an .xlsx workbook or a zipped export?)",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Excel/Word file (.xls/.doc)",
    b"\x1f\x8b": "a gzip archive",
}


def check_encoding(data: bytes, encoding: str, name: str) -> list[Violation]:
    """The bytes must be what the contract declares; both classic mix-ups are caught, and files
    that are not text at all (UTF-16, archives, binary) are named as such."""
    declared = encoding
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            return [
                Violation(
                    name, None, None, f"the file is not text but {what}", "deliver the extract as the CSV file itself"
                )
            ]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:200].count(b"\x00") >= 10:
        return [
            Violation(
                name,
                1,
                None,
                f"the file is UTF-16 encoded (or binary), but the contract declares encoding {declared}",
                f"export the file as {declared} ('Unicode' in Excel means UTF-16: choose 'CSV (Trennzeichen-getrennt)' "
                "or the encoding the contract names)",
            )
        ]
    if encoding in ("utf-8", "utf-8-sig"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, col = _line_col(data, exc.start)
            byte = data[exc.start : exc.start + 1].hex().upper()
            return [
                Violation(
                    name,
                    line,
                    None,
                    f"byte 0x{byte} at character {col} is not valid UTF-8, but the contract declares "
                    f"encoding {declared}; the file looks like a Windows (cp1252/latin-1) export",
                    "export the file as UTF-8, or set `encoding: cp1252` in the source contract if the "
                    "department always delivers cp1252",
                )
            ]
        match = _DOUBLE_ENCODED.search(data)
        if match is not None:
            line, col = _line_col(data, match.start())
            found = data[match.start() : match.end()].decode("utf-8", "replace")
            return [
                Violation(
                    name,
                    line,
                    None,
                    f"doubly encoded text at character {col} ('{found}' is what 'ä', 'ß' … become when UTF-8 is "
                    "read as Windows-1252 and saved as UTF-8 again)",
                    "export the file from the department's system again without converting it; do not open and "
                    "re-save it in an editor that guesses the encoding",
                )
            ]
        return []
    # cp1252 / latin-1
    if data.isascii():
        return []
    # UTF-8 text inside a Windows-encoded file: umlauts and ß as two-byte sequences (C3 A4 for
    # 'ä' reads as 'Ã¤'). German cp1252 text never has an upper-case accented letter before a
    # byte 0x80-0xBF, so one such sequence means the whole file, or some of its lines, are UTF-8.
    # Looked for first: a UTF-8 'Ł' (C5 81) also holds a byte cp1252 leaves undefined.
    match = _UTF8_SEQUENCE.search(data)
    if match is not None:
        pos = match.start()
        line, col = _line_col(data, pos)
        sequence = data[pos : match.end()]
        return [
            Violation(
                name,
                line,
                None,
                f"UTF-8 encoded text at character {col} ('{sequence.decode('utf-8', 'replace')}' "
                f"would read as '{sequence.decode('cp1252', 'replace')}'), but the contract declares "
                f"encoding {declared}",
                f"export the file as {declared} (Windows-1252, 'ANSI'), or set `encoding: utf-8` in the "
                "source contract if the department now delivers UTF-8",
            )
        ]
    try:
        data.decode("cp1252" if encoding == "cp1252" else "latin-1")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        byte = data[exc.start : exc.start + 1].hex().upper()
        return [
            Violation(
                name,
                line,
                None,
                f"byte 0x{byte} at character {col} is undefined in {encoding}",
                "check the export's encoding setting and deliver the file again",
            )
        ]
    return []


def _map_headers(contract: Contract, headers: list[str], name: str, line: int, letters: bool = False):
    """Map the file's headers to contract columns. Returns {position: column name}."""
    problems: list[Violation] = []
    by_header = {h: c for c in contract.columns for h in c.headers}
    mapping: dict[int, str] = {}
    seen: dict[str, str] = {}

    def where(i: int) -> str:
        return f"{excel_letter(i)}" if letters else f"{i + 1}"

    for i, raw in enumerate(headers):
        header = (raw or "").strip()
        if header == "":
            if letters:
                continue  # empty cells beside the table in a worksheet
            problems.append(
                Violation(name, line, f"#{i + 1}", "empty column header", "remove the empty column from the export")
            )
            continue
        col = by_header.get(header)
        if col is None:
            problems.append(
                Violation(
                    name,
                    line,
                    header,
                    f"column {where(i)} is not in the contract of source '{contract.source}'",
                    f"if '{header}' is a renamed column, add it to that column's `aliases` in "
                    f"{contract.location}; otherwise remove it from the export",
                )
            )
            continue
        if col.name in seen:
            problems.append(
                Violation(
                    name,
                    line,
                    header,
                    f"column '{col.name}' appears twice (also as '{seen[col.name]}')",
                    "deliver each column once",
                )
            )
            continue
        seen[col.name] = header
        mapping[i] = col.name
    for col in contract.columns:
        if col.name not in seen and not col.may_be_absent:
            names = " or ".join(f"'{h}'" for h in col.headers)
            problems.append(
                Violation(
                    name,
                    line,
                    col.header,
                    f"required column is missing: expected a header {names}",
                    "add the column to the export; if it was renamed, add the new header to `aliases` in "
                    + contract.location,
                )
            )
    if problems:
        raise Unreadable(problems)
    return mapping


def _with_column(violation: Violation, data: bytes, delimiter: str) -> Violation:
    """Name the column an encoding problem sits in: count the delimiters before it on its line."""
    if violation.line is None:
        return violation
    lines = data.split(b"\n", violation.line)
    header = next(
        csv.reader(
            io.StringIO(lines[0].decode("latin-1").lstrip("\ufeff\xef\xbb\xbf").rstrip("\r")), delimiter=delimiter
        ),
        [],
    )
    if violation.line == 1 or len(lines) < violation.line:
        return violation
    match = re.search(r"character (\d+)", violation.problem)
    if not match:
        return violation
    prefix = lines[violation.line - 1][: int(match.group(1)) - 1]
    index = prefix.count(delimiter.encode())
    column = header[index] if index < len(header) else f"#{index + 1}"
    bad_line = lines[violation.line - 1].decode("latin-1").rstrip("\r")
    return Violation(violation.file, violation.line, column, violation.problem, violation.fix, bad_line[:80])


def excel_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# Every byte but the control characters (line feed and carriage return separate lines, so they
# are not counted): deleting these leaves the control bytes of a file, in a few ms per 10 MB.
_PRINTABLE = bytes(range(32, 127)) + bytes(range(128, 256)) + b"\r\n"


def may_hold_control_characters(data: bytes, quoted: bool) -> bool:
    """False when no field of the file can hold a control character: no control byte at all, and
    no quotes (only a quoted field can hold a line break). Then the per-value checks are skipped."""
    return quoted or bool(data.translate(None, _PRINTABLE))


# Any byte that bytes.strip() would keep. Searching for it answers "only white space from here
# on?" at the first data byte, where `not data[start:].strip()` copies the whole file twice.
_NOT_WHITESPACE = re.compile(rb"[^ \t\n\r\x0b\x0c]")


def _blank_from(data: bytes, start: int = 0) -> bool:
    """True when data[start:] is empty or white space only, without copying it."""
    return _NOT_WHITESPACE.search(data, start) is None


def stage_csv(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, name: str, data: bytes) -> bool:
    """Stage the file; returns whether its values may hold control characters."""
    if _blank_from(data):
        raise Unreadable(
            [Violation(name, 1, None, "the file is empty", "deliver the complete export (header and data rows)")]
        )
    data, normalised = normalise_line_endings(data)
    encoding_problems = check_encoding(data, contract.encoding, name)
    if encoding_problems:
        raise Unreadable([_with_column(v, data, contract.delimiter) for v in encoding_problems])
    quoted = b'"' in data  # only quoted fields hold delimiters, quotes or line breaks
    blank = None if quoted else _blank_line(data)
    if blank is not None:
        raise Unreadable(
            [
                Violation(
                    name,
                    blank,
                    None,
                    "an empty line between the data rows (the reader would skip it, and every later line number "
                    "would be off by one)",
                    "remove the empty lines from the export and deliver it again",
                )
            ]
        )
    text_codec = {"utf-8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "cp1252": "cp1252", "latin-1": "latin-1"}
    first_line_end = data.find(b"\n")
    header_bytes = data if first_line_end < 0 else data[:first_line_end]
    header_text = header_bytes.decode(text_codec[contract.encoding]).rstrip("\r")
    headers = next(csv.reader(io.StringIO(header_text), delimiter=contract.delimiter), [])
    if len(headers) == 1 and len(contract.columns) > 1:
        found = next((d for d in (";", ",", "\t", "|") if d != contract.delimiter and d in header_text), None)
        if found:
            shown = {"\t": "TAB"}.get(found, found)
            raise Unreadable(
                [
                    Violation(
                        name,
                        1,
                        None,
                        f"the fields are separated by '{shown}', but the contract declares '{contract.delimiter}'",
                        f"export with '{contract.delimiter}' as separator, or change `delimiter` in "
                        f"{contract.location} if the department changed it for good",
                    )
                ]
            )
    mapping = _map_headers(contract, headers, name, 1)
    if first_line_end < 0 or _blank_from(data, first_line_end + 1):
        raise Unreadable(
            [
                Violation(
                    name,
                    2,
                    None,
                    "the file has a header but no data rows",
                    "deliver the complete export; an extract without records is never valid",
                )
            ]
        )
    # The header names in the file become warehouse names; DuckDB reads every value as text.
    file_columns = {f"c{i}": "VARCHAR" for i in range(len(headers))}
    read_path = path
    transcoded = None
    if normalised or (contract.encoding in ("cp1252", "latin-1") and not data.isascii()):
        # DuckDB reads UTF-8 natively and fast; its cp1252 decoding (encodings extension) is ~25x
        # slower than Python's codec. The bytes were validated above, so transcode them once.
        transcoded = tempfile.NamedTemporaryFile(prefix="sozialmonitor_", suffix=".csv", delete=False)  # noqa: SIM115
        with transcoded:
            transcoded.write(data.decode(text_codec[contract.encoding]).encode("utf-8"))
        read_path = Path(transcoded.name)
    try:
        _read_csv_into_stage(con, contract, read_path, name, data, headers, mapping, file_columns, text_codec)
    finally:
        if transcoded is not None:
            Path(transcoded.name).unlink(missing_ok=True)
    if quoted:
        _physical_lines(con, list(mapping.values()))
    controls = may_hold_control_characters(data, quoted)
    if contract.final_newline and not data.endswith(b"\n"):
        last = data.count(b"\n") + 1
        raise Unreadable(
            [
                Violation(
                    name,
                    last,
                    None,
                    "the file does not end with a line break: the last line is cut off, probably inside its "
                    "last field (the column count cannot show it)",
                    "the transfer was interrupted: deliver the complete file again. If the department's software "
                    "never ends a file with a line break, set `final_newline: false` in " + contract.location,
                )
            ]
        )
    return controls


def _blank_line(data: bytes) -> int | None:
    """The number of the first empty line before the end of the data, if any. Only for files
    without quotes (the caller knows): inside a quoted field an empty line is data."""
    end = len(data)
    while end and data[end - 1] in b"\r\n":  # the trailing line breaks, without copying the file
        end -= 1
    hits = [pos for pos in (data.find(b"\n\n", 0, end), data.find(b"\n\r\n", 0, end)) if pos >= 0]
    if not hits:
        return None
    return data.count(b"\n", 0, min(hits)) + 2


def normalise_line_endings(data: bytes) -> tuple[bytes, bool]:
    """One kind of line break per file, as DuckDB's strict parser needs: a file whose lines end
    in CR LF and LF alike (hand-edited, or lines appended by another tool), or in CR alone (old Mac
    exports), gets LF throughout. Files with one kind (the usual case) are returned untouched."""
    cr = data.count(b"\r")
    if cr == 0:  # LF only: one scan is enough
        return data, False
    crlf = data.count(b"\r\n")
    if cr == crlf and data.count(b"\n") == crlf:
        return data, False
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), True


def _physical_lines(con: duckdb.DuckDBPyConnection, columns: list[str]) -> None:
    """`_line` is the physical line where a record starts, also when quoted fields before it hold
    line breaks: the row number plus every line break inside the fields of the records above.
    Set-based, and only run for files that have quotes at all."""
    breaks = " + ".join(f"coalesce(length({c}) - length(replace({c}, chr(10), '')), 0)" for c in columns)
    con.execute(
        f"""create or replace temp table {STAGE} as
        select * replace (
            _line + coalesce(sum({breaks}) over (order by _line rows between unbounded preceding and 1 preceding), 0)
            as _line)
        from {STAGE}"""
    )


def _read_csv_into_stage(con, contract, read_path, name, data, headers, mapping, file_columns, text_codec) -> None:
    rejects = "_rejects"
    con.execute(f"drop table if exists {STAGE}")
    con.execute("drop table if exists _rejects; drop table if exists _rejects_scan")
    select_cols = ", ".join(f"c{i} as {col}" for i, col in sorted(mapping.items()))
    try:
        # The rows are written in the file's order (DuckDB preserves insertion order), so a row's
        # line is its row id + 2 (the header is line 1), set after the read. A window numbering the
        # rows in the read itself (row_number() over ()) made DuckDB parse the file on one thread:
        # a register of 4 M rows staged in 3.2 s instead of 1.4 s, its line numbers set in 0.13 s.
        con.execute(
            f"""
            create temp table {STAGE} as
            select {select_cols}
            from read_csv(?, delim=?, header=true, auto_detect=false, columns={file_columns!r},
                          quote='"', escape='"', encoding='utf-8', strict_mode=true, null_padding=false,
                          store_rejects=true, rejects_table='{rejects}', rejects_scan='_rejects_scan',
                          rejects_limit=100)
            """,
            [str(read_path), contract.delimiter],
        )
    except duckdb.Error as exc:
        # DuckDB's message carries its reader options and the path of a temporary file: keep the
        # line number and the sentence that says what is wrong, nothing else.
        text = str(exc)
        line = re.search(r"CSV Error on Line: (\d+)", text)
        reason = next(
            (
                part.strip()
                for part in text.splitlines()[1:]
                if part.strip()
                and not part.startswith(("Original Line", "Possible Solution", "  "))
                and "=" not in part
            ),
            text.splitlines()[0] if text else "",
        )
        raise Unreadable(
            [
                Violation(
                    name,
                    int(line.group(1)) if line else None,
                    None,
                    f"the file cannot be parsed as CSV: {reason[:200]}",
                    f"every line needs {len(headers)} fields separated by '{contract.delimiter}', and a value with "
                    f"'{contract.delimiter}', '\"' or a line break must be quoted with \"",
                )
            ]
        ) from exc
    rows = con.execute(
        f"select line, column_name, error_type, csv_line, error_message from {rejects} order by line limit 20"
    ).fetchall()
    if rows:
        problems = []
        seen_lines: set[tuple[int, str]] = set()
        for line, column, kind, csv_line, message in rows:
            kind = str(kind)
            if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
                if (line, kind) in seen_lines:
                    continue  # DuckDB reports a short line once per missing field
                seen_lines.add((line, kind))
                column = None
            found = len(next(csv.reader(io.StringIO((csv_line or "").strip()), delimiter=contract.delimiter), []))
            if kind == "MISSING COLUMNS":
                truncated = not data.endswith(b"\n") and data.rstrip().endswith(
                    (csv_line or "").strip().encode(text_codec[contract.encoding], errors="replace")
                )
                problem = f"expected {len(headers)} fields, found {found}" + (
                    " — the last line is cut off (the file does not end with a line break)" if truncated else ""
                )
                fix = (
                    "the transfer was interrupted: deliver the complete file again"
                    if truncated
                    else f"every line needs {len(headers)} fields separated by '{contract.delimiter}'"
                )
            elif kind == "TOO MANY COLUMNS":
                problem = f"expected {len(headers)} fields, found {found}"
                fix = (
                    f"every line needs {len(headers)} fields; a value containing '{contract.delimiter}' "
                    'must be quoted with "'
                )
            else:
                problem = message.rstrip(".")
                fix = "correct the line in the export"
            header = headers[_column_index(column, headers)] if column else None
            problems.append(
                Violation(name, int(line), header, problem, fix, value=(csv_line or "").strip()[:80] or None)
            )
        raise Unreadable(problems)
    # every line was read (a rejected one refuses the file above), so row id + 2 is the line; set
    # outside the parse's error handling: a failure here is no fault of the file
    con.execute(f"alter table {STAGE} add column _line bigint")
    con.execute(f"update {STAGE} set _line = rowid + 2")


def _column_index(column_name: str, headers: list[str]) -> int:
    if column_name.startswith("c") and column_name[1:].isdigit():
        return min(int(column_name[1:]), len(headers) - 1)
    return 0


def _cell_text(value: object, date_format: str | None, decimal: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.strftime(date_format or "%Y-%m-%d")
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value).replace(".", decimal)
    return str(value)


def stage_xlsx(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, name: str) -> None:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise Unreadable(
            [
                Violation(
                    name,
                    None,
                    None,
                    f"not a readable XLSX workbook ({type(exc).__name__}: {exc})",
                    "open the file in a spreadsheet program, save it as .xlsx and deliver it again",
                )
            ]
        ) from exc
    if contract.sheet not in workbook.sheet_names:
        raise Unreadable(
            [
                Violation(
                    name,
                    None,
                    None,
                    f"worksheet '{contract.sheet}' not found; the workbook has {workbook.sheet_names}",
                    f"rename the worksheet back to '{contract.sheet}', or change `sheet` in "
                    f"{contract.location} if the department renamed it for good",
                )
            ]
        )
    rows = workbook.get_sheet_by_name(contract.sheet).to_python(skip_empty_area=False)
    if not any(any(_cell_text(v, None, ".") for v in row) for row in rows):
        raise Unreadable(
            [Violation(name, 1, None, f"worksheet '{contract.sheet}' is empty", "deliver the complete export")]
        )
    header_index = _find_header_row(contract, rows, name)
    headers = [_cell_text(v, None, ".") or "" for v in rows[header_index]]
    mapping = _map_headers(contract, headers, name, header_index + 1, letters=True)
    columns = {name_: contract.column(name_) for name_ in mapping.values()}
    records: dict[str, list] = {"_line": []}
    for col in mapping.values():
        records[col] = []
    for offset, row in enumerate(rows[header_index + 1 :]):
        cells = {
            col: _cell_text(row[i] if i < len(row) else None, columns[col].date_format, contract.decimal)
            for i, col in mapping.items()
        }
        if not any(cells.values()):
            continue
        records["_line"].append(header_index + 2 + offset)
        for col, text in cells.items():
            records[col].append(text)
    if not records["_line"]:
        raise Unreadable(
            [
                Violation(
                    name,
                    header_index + 2,
                    None,
                    "the worksheet has a header but no data rows",
                    "deliver the complete export; an extract without records is never valid",
                )
            ]
        )
    frame = pd.DataFrame(records).astype({c: "object" for c in records if c != "_line"})
    con.execute(f"drop table if exists {STAGE}")
    con.register("_xlsx_frame", frame)
    casts = ", ".join(f"cast({c} as varchar) as {c}" for c in mapping.values())
    con.execute(f"create temp table {STAGE} as select cast(_line as bigint) as _line, {casts} from _xlsx_frame")
    con.unregister("_xlsx_frame")


def _find_header_row(contract: Contract, rows: list[list], name: str) -> int:
    if contract.header_row != "auto":
        index = contract.header_row - 1
        if index >= len(rows):
            raise Unreadable(
                [Violation(name, contract.header_row, None, "the header row is missing", "deliver the complete export")]
            )
        return index
    wanted = {h for c in contract.columns for h in c.headers}
    best, best_hits = None, 0
    for i, row in enumerate(rows[:30]):
        hits = sum(1 for v in row if (_cell_text(v, None, ".") or "").strip() in wanted)
        if hits > best_hits:
            best, best_hits = i, hits
    if best is None or best_hits < max(1, len(contract.columns) // 2):
        first = contract.columns[0]
        raise Unreadable(
            [
                Violation(
                    name,
                    None,
                    None,
                    f"no header row found in the first 30 rows of worksheet '{contract.sheet}' "
                    f"(expected a row with headers such as '{first.header}')",
                    "deliver the table with its header row",
                )
            ]
        )
    return best


def stage_geojson(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, name: str, data: bytes) -> None:
    if not data.strip():
        raise Unreadable([Violation(name, 1, None, "the file is empty", "deliver the complete GeoJSON file")])
    encoding_problems = check_encoding(data, "utf-8", name)
    if encoding_problems:
        raise Unreadable(encoding_problems)
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise Unreadable(
            [Violation(name, exc.lineno, None, f"not valid JSON: {exc.msg}", "deliver the complete GeoJSON file")]
        ) from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise Unreadable([Violation(name, 1, None, "not a GeoJSON FeatureCollection", "export as GeoJSON")])
    if contract.crs:
        crs = ((doc.get("crs") or {}).get("properties") or {}).get("name", "")
        code = contract.crs.split(":")[-1]
        if not crs.replace("::", ":").endswith(f"EPSG:{code}"):
            raise Unreadable(
                [
                    Violation(
                        name,
                        None,
                        "crs",
                        f"coordinate reference system is '{crs or 'not given'}', the contract expects {contract.crs}",
                        f"export the geometries in {contract.crs} with the crs member set",
                    )
                ]
            )
    features = doc.get("features") or []
    if not features:
        raise Unreadable([Violation(name, None, None, "the collection has no features", "deliver all features")])
    by_header = {h: c.name for c in contract.columns for h in c.headers}
    records: dict[str, list] = {"_line": [], "_geometry": [], **{c.name: [] for c in contract.columns}}
    problems = []
    for i, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") or {}
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            problems.append(
                Violation(
                    name,
                    i,
                    "geometry",
                    f"feature {i} has geometry type {geometry.get('type')!r}, expected Polygon or MultiPolygon",
                    "export polygons only",
                )
            )
            continue
        props = {by_header[k]: v for k, v in (feature.get("properties") or {}).items() if k in by_header}
        records["_line"].append(i)
        records["_geometry"].append(json.dumps(geometry, separators=(",", ":")))
        for col in contract.columns:
            records[col.name].append(_cell_text(props.get(col.name), None, "."))
    if problems:
        raise Unreadable(problems[:20])
    frame = pd.DataFrame(records).astype({c: "object" for c in records if c != "_line"})
    con.execute(f"drop table if exists {STAGE}")
    con.register("_geo_frame", frame)
    casts = ", ".join(f"cast({c} as varchar) as {c}" for c in records if c != "_line")
    con.execute(f"create temp table {STAGE} as select cast(_line as bigint) as _line, {casts} from _geo_frame")
    con.unregister("_geo_frame")
