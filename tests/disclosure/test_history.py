"""Earlier releases' cells keyed as the disclosure pattern keys them (orchestration/disclosure/history.py)."""

from __future__ import annotations

import pandas as pd

from orchestration.disclosure.history import COLUMNS, align_to_cells


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
