"""The benchmark's section on adding one Stichtag (make bench writes it into docs/performance.md)."""

from orchestration.benchmark.__main__ import incremental_lines


def test_the_section_states_the_share_of_the_full_run():
    stages = {"ingest": 10.0, "dbt": 60.0, "gates": 10.0, "release": 20.0}
    added = {"ingest": 2.0, "dbt": 12.0, "gates": 10.0, "release": 20.0}
    lines = incremental_lines(
        {
            "residents": 1_000_000,
            "latest_stichtag": "2024-12-31",
            "first_stages_s": stages,
            "added_stages_s": added,
            "first_pipeline_s": 100.0,
            "added_pipeline_s": 44.0,
            "added_build": "rebuilt Stichtage 31.12.2024: …",
        }
    )
    text = "\n".join(lines)
    assert "**Adding one Stichtag: 44.0 s = 44% of the full run** (dbt alone: 12.0 s = 20% of its full build)" in text
    assert "| sixth added | 2.0 s | 12.0 s | 10.0 s | 20.0 s | 44.0 s |" in text
