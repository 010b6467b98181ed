"""The benchmark's cities and its sections on disclosure control and on adding one Stichtag (make bench
writes them into docs/performance.md)."""

import os
import subprocess
import sys
import time

import pytest

from orchestration.benchmark.__main__ import (
    DEFAULT_SIZES,
    City,
    _tree_rss_mb,
    disclosure_lines,
    engine_lines,
    incremental_lines,
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_peak_memory_counts_the_processes_of_a_run_together():
    alone = _tree_rss_mb(os.getpid())
    # a child holding 200 MB, as the quality gates' process holds its frames beside the release
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; x = bytearray(200 * 2**20); print(1, flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
    )
    try:
        child.stdout.readline()
        together = _tree_rss_mb(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert alone > 10 and together - alone > 190
    time.sleep(0.1)
    assert _tree_rss_mb(os.getpid()) - alone < 50  # gone again


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


def test_a_bench_city_is_residents_and_optionally_the_size_of_its_stadtviertel(tmp_path):
    berlin = City.parse("3900000/7200")
    assert (berlin.residents, berlin.viertel_residents, berlin.folder) == (3_900_000, 7_200, "city_3900000_v7200")
    assert berlin.arguments(tmp_path)[-2:] == ["--viertel-residents", "7200"]
    demo = City.parse(" 100000 ")
    assert (demo.viertel_residents, demo.folder, demo.spec) == (None, "city_100000", "100000")
    assert "--viertel-residents" not in demo.arguments(tmp_path)
    assert [City.parse(s).spec for s in DEFAULT_SIZES.split(",")] == ["100000", "1000000", "3900000/7200"]
    with pytest.raises(SystemExit, match="residents/viertel_residents"):
        City.parse("berlin")


def test_the_disclosure_section_gives_primary_and_secondary_shares_per_level():
    result = {
        "residents": 3_900_000,
        "disclosure": {
            "levels": {
                "stadtteil": {"cells": 1_000, "primary": 5, "secondary": 15, "units": 20},
                "stadtviertel": {"cells": 20_000, "primary": 900, "secondary": 300, "units": 542},
            },
            "pattern_s": 61.25,
            "audit": {
                "passed": True,
                "withheld_cells": 1_220,
                "linear_programmes": 1_500,
                "integer_programmes": 40,
                "exact_intervals": 0,
            },
        },
    }
    text = "\n".join(disclosure_lines([result]))
    assert "| 3,900,000 | stadtteil | 20 | 1,000 | 5 | 15 | 2.0% | 61.2 s | passed: 1,500 / 40 / 0 |" in text
    assert "| 3,900,000 | stadtviertel | 542 | 20,000 | 900 | 300 | 6.0% | | |" in text


def test_the_engine_section_compares_spark_with_duckdb_and_says_when_a_release_differs():
    def case(dbt: float, sha: str, spark: bool) -> dict:
        stages = {"ingest": 5.0, "dbt": dbt, "gates": 8.0, "release": 15.0}
        if spark:
            stages |= {"Spark build (within dbt)": dbt - 20.0, "serving (within dbt)": 20.0}
        return {"stages": stages, "pipeline": 20.0 + dbt, "sha": sha}

    def engine(spark: bool, shas: tuple[str, str, str], dbts: tuple[float, float, float]) -> dict:
        out = {"residents": 100_000, "corrected_build": "rebuilt Stichtage 31.12.2019 …"}
        for name, sha, dbt in zip(("first", "added", "corrected"), shas, dbts, strict=True):
            c = case(dbt, sha, spark)
            out |= {f"{name}_stages_s": c["stages"], f"{name}_pipeline_s": c["pipeline"],
                    f"{name}_content_sha256": c["sha"]}  # fmt: skip
        return out

    duck = engine(False, ("a", "b", "c"), (30.0, 20.0, 20.0))
    spark = engine(True, ("a", "b", "x"), (180.0, 100.0, 100.0))
    text = "\n".join(engine_lines({"duckdb": duck, "spark": spark}))
    spark_row = "| sixth added | Spark | 5.0 s | 100.0 s | 80.0 s | 20.0 s | 8.0 s | 15.0 s | 120.0 s |"
    assert spark_row + " the same as DuckDB's |" in text
    assert "| sixth added | DuckDB | 5.0 s | 20.0 s | – | – | 8.0 s | 15.0 s | 40.0 s | – |" in text
    assert "| oldest corrected | Spark |" in text and "**differs from DuckDB's**" in text
    assert text.count("**differs from DuckDB's**") == 1
    # 200/50, 120/40, 120/40; the added run against the full one on each engine
    assert "full 4.0×, sixth added 3.0×, oldest corrected 3.0×" in text
    assert "cost 60% of the full run on Spark (80% on DuckDB)" in text
