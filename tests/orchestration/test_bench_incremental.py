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


def test_the_section_states_the_corrected_file_when_measured():
    stages = {"ingest": 10.0, "dbt": 60.0, "gates": 10.0, "release": 20.0}
    result = {
        "residents": 1_000_000,
        "latest_stichtag": "2024-12-31",
        "corrected_stichtag": "2019-12-31",
        "first_stages_s": stages,
        "added_stages_s": stages,
        "corrected_stages_s": {"ingest": 1.0, "dbt": 15.0, "gates": 10.0, "release": 20.0},
        "first_pipeline_s": 100.0,
        "added_pipeline_s": 100.0,
        "corrected_pipeline_s": 46.0,
        "added_build": "…",
        "corrected_build": "rebuilt Stichtage 31.12.2019 …",
    }
    text = "\n".join(incremental_lines(result))
    assert "corrected register extract of the earliest Stichtag (2019-12-31" in text
    assert "46.0 s = 46% of the full run (ingest 1.0 s, dbt 15.0 s = 25% of its full build)" in text
    del result["corrected_stages_s"]
    assert "corrected" not in "\n".join(incremental_lines(result))
