"""`make bench`: the pipeline on the demo city and on one ten times larger, against the floor.

Each size runs in its own process; the parent measures that process's wall time and peak memory
(os.wait4) and writes docs/performance.md. Figures are reported as ratios against the floor
measured in the same run, because the machines here are shared and noisy.
Sizes: SOZIALMONITOR_BENCH_SIZES (comma-separated residents), default 100000,1000000.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from ..settings import Settings


def _child(residents: int, workdir: Path, *extra: str) -> tuple[dict, float, float]:
    """Run one step in its own process: (its JSON, wall seconds, peak RSS in MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestration.benchmark.run_one",
            "--residents",
            str(residents),
            "--dir",
            str(workdir / f"city_{residents}"),
            *extra,
        ],
        stdout=subprocess.PIPE,
    )
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"benchmark case {residents} {' '.join(extra)} failed (exit status {status})")
    return json.loads(output.decode().strip().splitlines()[-1]), wall, usage.ru_maxrss / 1024


def run_case(residents: int, workdir: Path) -> dict:
    # generation in a process of its own, so that the pipeline's peak memory is the pipeline's
    generated, _, generate_rss = _child(residents, workdir, "--generate")
    result, wall, rss = _child(residents, workdir)
    result.update(generated)
    result["generate_peak_rss_mb"] = generate_rss
    result["wall_s"] = wall  # the pipeline process: start-up, imports, run, floor
    result["peak_rss_mb"] = rss
    result["pipeline_s"] = result["ingest_s"] + result["dbt_s"] + result["gates_s"] + result["release_s"]
    result["other_s"] = wall - result["pipeline_s"] - sum(result["floor_runs_s"])  # floor runs: read + statement
    return result


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_report(results: list[dict], path: Path) -> None:
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (orchestration/benchmark/). Each size is a fresh Musterstadt generated with",
        "the default seed (generated in a process of its own), then run through the whole pipeline in another",
        "process: ingest with every contract check, `dbt build` with every data and unit test, the quality",
        "gates, and the release (lineage docs, Parquet, GeoJSON, manifest). The **floor** is the physical",
        "minimum of the same work: DuckDB reading every raw file once with its own CSV and JSON readers (the",
        "workbooks with calamine; no checks, text columns) plus the same ten indicators for every unit, level",
        "and Stichtag hand-written as one DuckDB statement over the raw tables",
        "(`orchestration/benchmark/floor.sql`), both timed in the same process right after the pipeline",
        "(best of 3 each).",
        "The benchmark also checks that the floor and `marts.fct_indicator_values` agree value for value.",
        "",
        f"Measured {datetime.now():%Y-%m-%d %H:%M} on {os.cpu_count()} cores ({cpu_model()}), "
        f"Python {platform.python_version()}.",
        "",
        "| residents | raw files | person rows (6 Stichtage) | ingest | dbt build | gates | release | other |"
        " pipeline process | peak memory | floor (read + statement) | pipeline / floor | values equal to floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        pipeline = r["pipeline_s"]
        agree = f"{r['values_compared'] - r['values_differing']:,} of {r['values_compared']:,}"
        lines.append(
            f"| {r['residents']:,} | {r['raw_mb']:,.0f} MB | {r['person_rows']:,} |"
            f" {r['ingest_s']:.1f} s | {r['dbt_s']:.1f} s | {r['gates_s']:.1f} s | {r['release_s']:.1f} s |"
            f" {r['other_s']:.1f} s | {r['wall_s']:.1f} s |"
            f" {r['peak_rss_mb']:,.0f} MB | {r['floor_s']:.2f} s ({r.get('floor_read_s', 0):.2f} + "
            f"{r.get('floor_statement_s', r['floor_s']):.2f}) | {pipeline / r['floor_s']:.0f}× | {agree} |"
        )
    lines += ["", "Generation (not part of the pipeline, its own process):", ""]
    lines += [
        f"- {r['residents']:,} residents: {r['generate_s']:.1f} s, peak {r['generate_peak_rss_mb']:,.0f} MB"
        for r in results
    ]
    if len(results) > 1:
        small, large = results[0], results[-1]
        scale = large["residents"] / small["residents"]
        grow = large["pipeline_s"] / small["pipeline_s"]
        lines += [
            "",
            f"From {small['residents']:,} to {large['residents']:,} residents ({scale:.0f}× the data) the pipeline "
            f"(ingest + dbt + gates + release) took {grow:.1f}× as long and the floor "
            f"{large['floor_s'] / small['floor_s']:.1f}× as long.",
        ]
    lines += [
        "",
        "Columns: *pipeline / floor* compares ingest + dbt + gates + release with the floor; *other* is",
        "process start-up, imports and run bookkeeping; *pipeline process* is the wall time of the process",
        "that runs the pipeline and the floor (start-up included); *peak memory* is that process's.",
        "",
        "Target we steer by: a Berlin-size city (3.9 M residents, six Stichtage) end to end, gates and",
        "release included, in ≤ 90 s and ≤ 4 GB on a 2-core machine (the hand-written work takes ~6 s).",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    settings = Settings.from_env()
    sizes = [int(s) for s in os.environ.get("SOZIALMONITOR_BENCH_SIZES", "100000,1000000").split(",")]
    workdir = settings.project_dir / "bench"
    workdir.mkdir(exist_ok=True)
    results = []
    for residents in sizes:
        print(f"benchmark: {residents:,} residents …", flush=True)
        result = run_case(residents, workdir)
        print(json.dumps(result), flush=True)
        results.append(result)
    report = settings.project_dir / "docs" / "performance.md"
    write_report(results, report)
    print(f"written {report}")


if __name__ == "__main__":
    main()
