"""Broken extracts, as departments really send them. Each one must stop the run before anything
is built, with a message naming file, line and column; the file goes to quarantine with an
explanation; the warehouse keeps what it had; no release is made and the previous release stays
byte for byte as it was; a rerun after the fix completes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from orchestration.ingest import IngestFailed
from orchestration.ingest.loader import sha256_file
from orchestration.pipeline import run_pipeline
from orchestration.warehouse import connect
from tests.helpers import tree_digest

STICHTAG = "20221231"


def csv_lines(path: Path, encoding: str) -> list[str]:
    data = path.read_bytes()
    return data.decode(encoding).split("\r\n" if b"\r\n" in data else "\n")


def write_lines(path: Path, lines: list[str], encoding: str, newline: str = "\r\n") -> None:
    path.write_bytes(newline.join(lines).encode(encoding))


def first_non_ascii_line(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if not line.isascii())


@dataclass
class Case:
    relpath: str
    breaker: Callable[[Path], tuple[int | None, str | None, str]]  # returns expected line, column, fragment


# --- breakers: each edits the file in place and says what the message must contain -------------


def utf8_bytes_in_cp1252_file(path: Path):
    lines = csv_lines(path, "cp1252")
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    return first_non_ascii_line(lines) + 1, "Strasse", "UTF-8 encoded text"


def cp1252_bytes_in_utf8_file(path: Path):
    text = path.read_bytes().decode("utf-8-sig")
    lines = text.split("\n")
    i = first_non_ascii_line(lines[1:]) + 1
    raw = (
        "\n".join(lines[:i]).encode("utf-8-sig")
        + b"\n"
        + lines[i].encode("cp1252")
        + b"\n"
        + "\n".join(lines[i + 1 :]).encode("utf-8")
    )
    path.write_bytes(raw)
    return i + 1, None, "is not valid UTF-8"


def missing_column(path: Path):
    lines = csv_lines(path, "cp1252")
    index = lines[0].split(";").index("Geschlecht")
    cut = [";".join(f for j, f in enumerate(line.split(";")) if j != index) if line else line for line in lines]
    write_lines(path, cut, "cp1252")
    return 1, "Geschlecht", "required column is missing"


def extra_unknown_column(path: Path):
    lines = csv_lines(path, "cp1252")
    write_lines(
        path, [line + (";Religion" if i == 0 else ";rk") if line else line for i, line in enumerate(lines)], "cp1252"
    )
    return 1, "Religion", "is not in the contract"


def renamed_header_without_alias(path: Path):
    text = path.read_bytes().decode("utf-8-sig")
    head, _, rest = text.partition("\n")
    path.write_bytes(("\ufeff" + head.replace("Alter", "Lebensalter") + "\n" + rest).encode("utf-8"))
    return 1, "Lebensalter", "add it to that column's `aliases`"


def truncated_last_line(path: Path):
    data = path.read_bytes().rstrip(b"\r\n")
    last_start = data.rfind(b"\n") + 1
    path.write_bytes(data[: last_start + 20])
    return data.count(b"\n") + 1, None, "the last line is cut off"


def empty_file(path: Path):
    path.write_bytes(b"")
    return 1, None, "the file is empty"


def header_only(path: Path):
    lines = csv_lines(path, "cp1252")
    write_lines(path, [lines[0], ""], "cp1252")
    return 2, None, "header but no data rows"


def duplicate_key(path: Path):
    lines = csv_lines(path, "cp1252")
    lines.insert(8, lines[3])
    write_lines(path, lines, "cp1252")
    return 4, "Personen_ID", "duplicate key"


def set_field(path: Path, index: int, header: str, value: str) -> int:
    """Replace one field of line `index` (0 = header) of a cp1252 CSV; returns the 1-based line."""
    lines = csv_lines(path, "cp1252")
    fields = lines[index].split(";")
    fields[lines[0].split(";").index(header)] = value
    lines[index] = ";".join(fields)
    write_lines(path, lines, "cp1252")
    return index + 1


def future_moved_in_date(path: Path):
    return set_field(path, 5, "Einzugsdatum", "15.03.2023"), "Einzugsdatum", "after the Stichtag is impossible"


def impossible_date(path: Path):
    return set_field(path, 3, "Bewilligt_bis", "31.02.2024"), "Bewilligt_bis", "not a valid date"


def _ba_cell(path: Path, header: str, value):
    wb = openpyxl.load_workbook(path)
    ws = wb["Arbeitsmarkt"]
    header_row = next(r for r in range(1, 30) if ws.cell(r, 1).value == "Baublock")
    col = next(c for c in range(1, 20) if ws.cell(header_row, c).value == header)
    ws.cell(header_row + 3, col).value = value
    wb.save(path)
    return header_row + 3


def non_numeric_count(path: Path):
    return _ba_cell(path, "Arbeitslose insgesamt", "zwölf"), "Arbeitslose insgesamt", "not a count"


def negative_count(path: Path):
    return _ba_cell(path, "Arbeitslose SGB II", -3), "Arbeitslose SGB II", "cannot be negative"


def unknown_area_code(path: Path):
    return _ba_cell(path, "Baublock", "99999"), "Baublock", "unknown area code: '99999'"


def sound_but_changed_after_release(path: Path):
    """A file that keeps its contract but differs from the one the release was made from."""
    lines = csv_lines(path, "cp1252")
    del lines[5]
    write_lines(path, lines, "cp1252")
    return None, None, "is already released"


def sheet_renamed(path: Path):
    wb = openpyxl.load_workbook(path)
    wb["Fallliste"].title = "Tabelle1"
    wb.save(path)
    return None, None, "worksheet 'Fallliste' not found"


CASES = {
    "utf8_in_cp1252": Case(f"wohngeld/Wohngeld_{STICHTAG}.csv", utf8_bytes_in_cp1252_file),
    "cp1252_in_utf8": Case(f"jobcenter/JC_SGB2_Personen_{STICHTAG}.csv", cp1252_bytes_in_utf8_file),
    "missing_column": Case(f"einwohner/EWR_Bestand_{STICHTAG}.csv", missing_column),
    "extra_unknown_column": Case(f"einwohner/EWR_Bestand_{STICHTAG}.csv", extra_unknown_column),
    "renamed_header_without_alias": Case(f"jobcenter/JC_SGB2_Personen_{STICHTAG}.csv", renamed_header_without_alias),
    "non_numeric_count": Case("arbeitsagentur/BA_Arbeitsmarkt_Baublock_202212.xlsx", non_numeric_count),
    "negative_count": Case("arbeitsagentur/BA_Arbeitsmarkt_Baublock_202212.xlsx", negative_count),
    "unknown_area_code": Case("arbeitsagentur/BA_Arbeitsmarkt_Baublock_202212.xlsx", unknown_area_code),
    "duplicate_key": Case(f"einwohner/EWR_Bestand_{STICHTAG}.csv", duplicate_key),
    "future_date": Case(f"einwohner/EWR_Bestand_{STICHTAG}.csv", future_moved_in_date),
    "impossible_date": Case(f"wohngeld/Wohngeld_{STICHTAG}.csv", impossible_date),
    "empty_file": Case(f"wohngeld/Wohngeld_{STICHTAG}.csv", empty_file),
    "header_only": Case(f"wohngeld/Wohngeld_{STICHTAG}.csv", header_only),
    "truncated_last_line": Case(f"einwohner/EWR_Bestand_{STICHTAG}.csv", truncated_last_line),
    "xlsx_sheet_renamed": Case(f"sozialamt/SGB12_Faelle_{STICHTAG}.xlsx", sheet_renamed),
    "stichtag_already_released": Case(f"wohngeld/Wohngeld_{STICHTAG}.csv", sound_but_changed_after_release),
}

TABLE = {
    "wohngeld": "wohngeld",
    "jobcenter": "jobcenter_sgb2",
    "einwohner": "register_persons",
    "arbeitsagentur": "ba_labour_market",
    "sozialamt": "sozialamt_sgb12",
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_broken_extract_stops_the_run_and_is_quarantined(kind, released_copy):
    settings = released_copy
    releases_before = tree_digest(settings.releases_dir)
    assert (settings.releases_dir / "latest").is_symlink()
    case = CASES[kind]
    path = settings.raw_dir / case.relpath
    table = "raw." + TABLE[case.relpath.split("/")[0]]
    with connect(settings.warehouse_path, extensions=()) as con:
        before = con.execute(
            f"select count(*), min(_source_sha256) from {table} where stichtag = date '2022-12-31'"
        ).fetchone()
    assert before[0] > 0
    good = path.read_bytes()
    line, column, fragment = case.breaker(path)
    broken_sha = sha256_file(path)

    with pytest.raises(IngestFailed) as exc:
        run_pipeline(settings)
    message = str(exc.value)
    assert path.name in message
    assert fragment in message
    if line is not None:
        assert f"line {line}," in message or f"line {line}:" in message, message
    if column is not None:
        assert f"column '{column}'" in message, message

    # quarantined, with the explanation beside it; gone from raw/
    [rejected] = exc.value.report.rejected
    assert not path.exists()
    assert rejected.quarantined_to.exists() and rejected.quarantined_to.read_bytes() != good
    explanation = rejected.quarantined_to.with_name(rejected.quarantined_to.name + ".error.txt").read_text()
    assert fragment in explanation and broken_sha in explanation

    with connect(settings.warehouse_path, read_only=True, extensions=()) as con:
        # nothing of the broken file was loaded; what was there before is untouched
        after = con.execute(
            f"select count(*), min(_source_sha256) from {table} where stichtag = date '2022-12-31'"
        ).fetchone()
        assert after == before
        assert con.execute(f"select count(*) from {table} where _source_sha256 = ?", [broken_sha]).fetchone()[0] == 0
        # nothing downstream ran (no dbt, no gates, no release), and the run is recorded as failed
        assert con.execute(
            "select status, seconds_dbt, gates_outcome, release_id from ops.pipeline_runs "
            "order by started_at desc limit 1"
        ).fetchone() == ("failed", None, None, None)
    # the previous release is untouched, byte for byte, and nothing was left half-built
    assert tree_digest(settings.releases_dir) == releases_before
    assert not [p for p in settings.releases_dir.iterdir() if p.name.startswith(".tmp-")]


def test_rerun_after_the_fix_completes(city_copy):
    settings = city_copy
    path = settings.raw_dir / CASES["truncated_last_line"].relpath
    good = path.read_bytes()
    truncated_last_line(path)
    with pytest.raises(IngestFailed):
        run_pipeline(settings)
    path.write_bytes(good)  # the department delivers the complete file again
    summary = run_pipeline(settings)
    assert summary.status == "succeeded"
    assert [r.status for r in summary.ingest.results if r.status != "unchanged"] == []  # same file as loaded before
    with connect(settings.warehouse_path, read_only=True, extensions=()) as con:
        assert con.execute("select count(*) from marts.fct_indicator_values").fetchone()[0] > 0


def test_every_broken_file_of_a_delivery_is_reported_at_once(city_copy):
    settings = city_copy
    for kind in ("empty_file", "missing_column", "unknown_area_code"):
        CASES[kind].breaker(settings.raw_dir / CASES[kind].relpath)
    with pytest.raises(IngestFailed) as exc:
        run_pipeline(settings)
    assert len(exc.value.report.rejected) == 3
    assert len(list(settings.quarantine_dir.rglob("*.error.txt"))) == 3
