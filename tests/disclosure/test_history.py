"""Earlier releases' cells keyed as the disclosure pattern keys them (orchestration/disclosure/history.py)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from orchestration.disclosure.history import COLUMNS, align_to_cells, release_cells


def test_a_series_cell_of_an_unchanged_unit_becomes_the_plain_cell_and_contradictions_stay():
    day = pd.Timestamp("2024-12-31")
    released = pd.DataFrame(
        [
            ("r1", day, "stadtteil", "01", "einwohner", 100.0, False),
            # the series on today's Gebietsstand: unit 01 did not change (no cell of its own) ...
            ("r1", day, "stadtteil@2024-12-31", "01", "einwohner", 100.0, False),
            # ... unit 02 was recut, and the pattern knows the series cell as a cell of its own
            ("r1", day, "stadtteil@2024-12-31", "02", "einwohner", 80.0, False),
            # unit 03: the series shows another value than the Stichtag table: both are kept
            ("r1", day, "stadtteil", "03", "einwohner", 50.0, False),
            ("r1", day, "stadtteil@2024-12-31", "03", "einwohner", 51.0, False),
            ("r1", day, "stadtteil@2024-12-31", "04", "einwohner", None, True),
        ],
        columns=COLUMNS,
    )
    cells = pd.DataFrame(
        [
            (day, "stadtteil", "01", "einwohner"),
            (day, "stadtteil@2024-12-31", "02", "einwohner"),
            (day, "stadtteil", "03", "einwohner"),
            (day, "stadtteil", "04", "einwohner"),
        ],
        columns=["stichtag", "level", "area_id", "measure"],
    )
    aligned = align_to_cells(released, cells)
    assert list(aligned.columns) == COLUMNS
    rows = [tuple(r) for r in aligned[["level", "area_id", "value"]].itertuples(index=False, name=None)]
    assert rows[:4] == [
        ("stadtteil", "01", 100.0),  # the series row of 01 was the same cell with the same value: once
        ("stadtteil@2024-12-31", "02", 80.0),
        ("stadtteil", "03", 50.0),
        ("stadtteil", "03", 51.0),
    ]
    assert rows[4][:2] == ("stadtteil", "04") and pd.isna(rows[4][2]) and aligned["suppressed"].tolist()[4]
    assert len(aligned) == 5
    assert align_to_cells(released.iloc[:0], cells).empty


def _release_files(folder, rows: list[tuple]) -> None:
    """A release's data folder with its indicator values (`rows`) and a catalogue of two shares."""
    import duckdb

    data = folder / "data"
    data.mkdir(parents=True)
    values = pd.DataFrame(rows, columns=["stichtag", "level", "area_id", "indicator_id", "numerator", "denominator"])
    catalogue = pd.DataFrame(
        [("share_foreign", "foreigners", "residents"), ("share_elderly", "residents_65plus", "residents")],
        columns=["indicator_id", "numerator_measure", "denominator_measure"],
    )
    con = duckdb.connect()
    try:
        for name, frame in (("indicator_values", values), ("indicator_catalogue", catalogue)):
            con.register("frame", frame)
            con.execute(f"copy frame to '{data / name}.parquet' (format parquet)")
            con.unregister("frame")
    finally:
        con.close()


def test_a_cell_the_release_shows_with_two_values_is_kept_twice(tmp_path):
    """One measure in several rows (the residents, denominator of both shares) is one cell where the
    rows agree; a row that shows it otherwise, or withholds it where another row shows it, is kept
    beside it, so that the audit sees the contradiction (the largest value alone hid it)."""
    import duckdb

    day = date(2024, 12, 31)
    _release_files(
        tmp_path / "a",
        [(day, "stadtteil", "01", "share_foreign", 120, 900), (day, "stadtteil", "01", "share_elderly", None, 900)],
    )
    _release_files(
        tmp_path / "b",
        [
            (day, "stadtteil", "01", "share_foreign", 120, 900),
            (day, "stadtteil", "01", "share_elderly", 200, 899),
            (day, "stadtteil", "02", "share_foreign", None, 700),
            (day, "stadtteil", "02", "share_elderly", 150, None),
        ],
    )
    con = duckdb.connect()
    try:
        consistent, contradicting = release_cells(con, tmp_path / "a", "a"), release_cells(con, tmp_path / "b", "b")
    finally:
        con.close()

    def listed(cells: pd.DataFrame, measure: str) -> list[tuple]:
        rows = cells[cells["measure"] == measure].sort_values(["area_id", "value"])
        return [(r.area_id, None if pd.isna(r.value) else r.value, r.suppressed) for r in rows.itertuples()]

    assert len(consistent) == 3
    assert listed(consistent, "residents") == [("01", 900.0, False)]
    assert listed(consistent, "residents_65plus") == [("01", None, True)]
    assert listed(contradicting, "residents") == [
        ("01", 899.0, False),
        ("01", 900.0, False),
        ("02", 700.0, False),
        ("02", None, True),
    ]
