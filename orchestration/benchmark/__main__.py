"""`make bench`: the pipeline on the demo city and on one ten times larger, against the floor.

Each size runs in its own process; the parent measures that process's wall time and peak memory
(os.wait4, and the process tree sampled: the quality gates run in a child process beside the
release) and writes docs/performance.md. Figures are reported as ratios against the floor
measured in the same run, because the machines here are shared and noisy.
Sizes: SOZIALMONITOR_BENCH_SIZES, comma-separated cities, each `residents` (the demo's structure:
2 to 7 Stadtviertel per Stadtteil) or `residents/viertel_residents` (Stadtviertel of about that many
residents). Default: 100000,1000000,3900000/7200 — Berlin at Berlin's granularity (542
Planungsräume of about 7,200 residents each). Adding one Stichtag (incremental Stichtage) is
measured at SOZIALMONITOR_BENCH_INCREMENTAL_SIZE (default 1000000; one of the sizes, empty for none).
The same three runs (five Stichtage, the sixth added, a corrected old file) on Spark in local mode
and on DuckDB, their releases compared, at SOZIALMONITOR_BENCH_SPARK_SIZE (default 100000; one of
the sizes, empty for none; not measured where Spark is not installed: `make spark`).
Kreise of many Gemeinden (the shape of a Land's warehouse): SOZIALMONITOR_BENCH_KREISE,
comma-separated `GEMEINDENxRESIDENTS` (default 100x10000: the 1,000,000 city's residents in 100
Gemeinden), each generated, run and compared with the same floor as a city, and against the city of
the same residents in the same run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..release.build import make_writable
from ..settings import Settings
from ..warehouse import memory_limit

DEFAULT_SIZES = "100000,1000000,3900000/7200"
# Kreise of many Gemeinden (a Land's shape, issue 19): GEMEINDENxRESIDENTS, comma-separated; the
# default has the residents of the 1,000,000 city in 100 Gemeinden (empty: none).
KREISE_SETTING = "SOZIALMONITOR_BENCH_KREISE"
DEFAULT_KREISE = "100x10000"
# The stages whose wall-clock seconds add up to the pipeline: the quality gates run beside the
# release's first steps (orchestration.pipeline.GatesBeside), so "release" holds them and their
# own seconds ("gates") are shown but not added again.
PIPELINE_STAGES = ("ingest", "dbt", "release")


@dataclass(frozen=True)
class City:
    """One benchmark city: its residents and, if given, the residents per Stadtviertel; or with
    `gemeinden` a Kreis of that many Gemeinden of `residents` each (KreisConfig.uniform)."""

    residents: int
    viertel_residents: int | None = None
    gemeinden: int | None = None

    @classmethod
    def parse(cls, text: str) -> City:
        residents, _, viertel = text.strip().partition("/")
        try:
            return cls(int(residents), int(viertel) if viertel else None)
        except ValueError:
            raise SystemExit(
                f"SOZIALMONITOR_BENCH_SIZES: {text!r} is not `residents` or `residents/viertel_residents`"
            ) from None

    @classmethod
    def parse_kreis(cls, text: str) -> City:
        """`GEMEINDENxRESIDENTS`, checked as the generator checks it (KreisConfig.uniform)."""
        from ..demo import KreisConfig

        gemeinden, _, residents = text.strip().partition("x")
        try:
            kreis = cls(int(residents), gemeinden=int(gemeinden))
        except ValueError:
            raise SystemExit(f"{KREISE_SETTING}: {text!r} is not `GEMEINDENxRESIDENTS` (e.g. 100x10000)") from None
        try:
            KreisConfig.uniform(kreis.gemeinden, kreis.residents)
        except ValueError as exc:
            raise SystemExit(f"{KREISE_SETTING}: {text!r}: {exc}") from None
        return kreis

    @property
    def spec(self) -> str:
        if self.gemeinden:
            return f"{self.gemeinden}x{self.residents}"
        return str(self.residents) + (f"/{self.viertel_residents}" if self.viertel_residents else "")

    @property
    def total_residents(self) -> int:
        return self.residents * (self.gemeinden or 1)

    @property
    def folder(self) -> str:
        if self.gemeinden:
            return f"kreis_{self.gemeinden}x{self.residents}"
        return f"city_{self.residents}" + (f"_v{self.viertel_residents}" if self.viertel_residents else "")

    def arguments(self, workdir: Path) -> list[str]:
        viertel = ["--viertel-residents", str(self.viertel_residents)] if self.viertel_residents else []
        kreis = ["--gemeinden", str(self.gemeinden)] if self.gemeinden else []
        return ["--residents", str(self.residents), "--dir", str(workdir / self.folder), *viertel, *kreis]


def _tree_rss_mb(root: int) -> float:
    """The resident memory of `root` and all its descendants now, in MB (Linux /proc; 0 elsewhere,
    where the bench reports wait4's peak alone)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    pages = 0
    for pid in tree:
        try:
            pages += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except OSError:
            continue
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20  # MiB, as ru_maxrss / 1024


class _TreeMemory:
    """Samples the memory of a process tree every 0.2 s: the pipeline's processes together (the
    quality gates run in a child beside the release, and wait4's peak is that of the largest
    process only)."""

    def __init__(self, pid: int):
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(pid,), daemon=True)
        self._thread.start()

    def _sample(self, pid: int) -> None:
        while not self._stop.wait(0.2):
            self.peak_mb = max(self.peak_mb, _tree_rss_mb(pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def _child(city: City, workdir: Path, *extra: str, engine: str | None = None) -> tuple[dict, float, float]:
    """Run one step in its own process: (its JSON, wall seconds, peak RSS in MB: the largest of the
    process's own peak and that of its process tree, sampled)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration.benchmark.run_one", *city.arguments(workdir), *extra],
        stdout=subprocess.PIPE,
        env={**os.environ, "SOZIALMONITOR_ENGINE": engine} if engine else None,
    )
    tree = _TreeMemory(proc.pid)
    output = proc.stdout.read()
    tree_peak = tree.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"benchmark case {city.spec} {' '.join(extra)} failed (exit status {status})")
    return json.loads(output.decode().strip().splitlines()[-1]), wall, max(usage.ru_maxrss / 1024, tree_peak)


def _generator_fingerprint(city: City) -> str:
    """What the generated extracts depend on: the city and the generator's code (default seed); for
    a Kreis also the contracts and gate thresholds its folder holds adapted copies of."""
    digest = hashlib.sha256(city.spec.encode())
    code = Path(__file__).parents[1]
    paths = sorted((code / "demo").rglob("*"))
    if city.gemeinden:
        paths += sorted((code / "contracts").rglob("*")) + [code.parent / "data_quality" / "gates.yml"]
    for path in paths:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def run_case(case: City, workdir: Path) -> dict:
    """Generate (or reuse the extracts generated by the same code for the same size), then the
    pipeline on a fresh warehouse, then the floor: each in a process of its own, so that the
    pipeline's peak memory is the pipeline's alone."""
    city = workdir / case.folder
    stamp = city / "generated.json"
    fingerprint = _generator_fingerprint(case)
    cached = json.loads(stamp.read_text()) if stamp.exists() else {}
    if cached.get("fingerprint") == fingerprint:
        generated, generate_rss = cached["generated"], cached["generate_peak_rss_mb"]
        for name in ("warehouse", "releases", "dbt_target", "quarantine"):
            if (city / name).exists():
                make_writable(city / name)  # releases are read-only on disk
                shutil.rmtree(city / name)
    else:
        generated, _, generate_rss = _child(case, workdir, "--generate")
        stamp.write_text(json.dumps({"fingerprint": fingerprint, "generated": generated,
                                     "generate_peak_rss_mb": generate_rss}))  # fmt: skip
    result, wall, rss = _child(case, workdir, "--pipeline")
    floor, _, floor_rss = _child(case, workdir, "--floor")
    result.update(floor)
    result["viertel_residents"] = case.viertel_residents
    result.update(generated)
    result["generation_cached"] = cached.get("fingerprint") == fingerprint
    result["generate_peak_rss_mb"] = generate_rss
    result["floor_peak_rss_mb"] = floor_rss
    result["wall_s"] = wall  # the pipeline process: start-up, imports, run
    result["peak_rss_mb"] = rss
    result["pipeline_s"] = sum(result[f"{stage}_s"] for stage in PIPELINE_STAGES)
    result["other_s"] = wall - result["pipeline_s"]
    return result


def run_incremental_case(case: City, workdir: Path, engine: str | None = None) -> dict:
    """A full run on the first five Stichtage' files, then one after adding the sixth's, in a
    process of its own on the city `run_case` generated (run_one --incremental), on `engine`
    (default: the environment's)."""
    result, wall, rss = _child(case, workdir, "--incremental", engine=engine)
    result.update(residents=case.residents, wall_s=wall, peak_rss_mb=rss)
    for case in ("first", "added", "corrected"):
        if f"{case}_stages_s" not in result:
            continue
        stages = result[f"{case}_stages_s"]
        result[f"{case}_pipeline_s"] = sum(stages.get(k, 0.0) for k in PIPELINE_STAGES)
    return result


def incremental_lines(r: dict) -> list[str]:
    """The section on adding one Stichtag."""
    first, added = r["first_stages_s"], r["added_stages_s"]
    share = r["added_pipeline_s"] / r["first_pipeline_s"]
    dbt_share = added["dbt"] / first["dbt"]
    return [
        "",
        "## Adding one Stichtag",
        "",
        f"{r['residents']:,} residents: the whole pipeline on the files of the first five Stichtage (a full",
        f"build), then again after adding the files of the sixth ({r['latest_stichtag']}): ingest loads the new",
        "files only; dbt rebuilds that Stichtag only in the models keyed by Stichtag (microdata, area measures,",
        "indicator values, the series on today's Gebietsstand while it keeps its Baublöcke, the SQL disclosure",
        "models) and tests only its rows (orchestration/build_plan.py); the disclosure pattern (memo), the",
        "public models, the gates and the release run in full.",
        "",
        "| run | ingest | dbt build | gates (within the release) | gates and release | pipeline |",
        "|---|---:|---:|---:|---:|---:|",
        *[
            f"| {label} | {st['ingest']:.1f} s | {st['dbt']:.1f} s | {st.get('gates', 0):.1f} s |"
            f" {st.get('release', 0):.1f} s | {r[case + '_pipeline_s']:.1f} s |"
            for label, case, st in (("five Stichtage, full", "first", first), ("sixth added", "added", added))
        ],
        "",
        f"**Adding one Stichtag: {r['added_pipeline_s']:.1f} s = {share:.0%} of the full run** "
        f"(dbt alone: {added['dbt']:.1f} s = {dbt_share:.0%} of its full build).",
        "",
        f"What dbt rebuilt: {r['added_build']}.",
        *corrected_lines(r),
    ]


def spark_installed() -> bool:
    """Whether this environment can build on Spark (`make spark`: dbt-spark, pyspark, Java)."""
    from importlib.util import find_spec

    return bool(find_spec("pyspark") and find_spec("dbt.adapters.spark") and shutil.which("java"))


def run_engine_cases(case: City, workdir: Path) -> dict:
    """The incremental case (five Stichtage, the sixth added, a corrected old file) on DuckDB and
    on Spark, one after the other on the same city, each in a process of its own."""
    return {engine: run_incremental_case(case, workdir, engine=engine) for engine in ("duckdb", "spark")}


# the parts of Spark's dbt stage (orchestration/pipeline.py, build_on_spark)
SPARK_STAGES = ("Spark build (within dbt)", "serving (within dbt)")


def engine_lines(both: dict) -> list[str]:
    """The section on Spark against DuckDB (run_engine_cases)."""
    duck, spark = both["duckdb"], both["spark"]
    runs = (("five Stichtage, full", "first"), ("sixth added", "added"), ("oldest corrected", "corrected"))
    lines = [
        "",
        "## Spark in local mode against DuckDB",
        "",
        f"{duck['residents']:,} residents, the three runs of the incremental case (the first five Stichtage in a",
        "fresh warehouse, then the sixth added, then a corrected register extract of the earliest Stichtag), on",
        "DuckDB and then with `SOZIALMONITOR_ENGINE=spark` (dbt-spark, Spark in local mode on the same cores, a",
        "Derby metastore in the lake; docs/deployment.md), each engine in a process of its own on a copy of",
        "the same files. *Spark build* and *serving* are within *dbt build*: dbt on Spark, then Spark's tables",
        "made readable in the warehouse file. *Release* compares the `content_sha256` of the two engines'",
        "releases (public tables, geometries, atlas and report data) after the same run.",
        "",
        "| run | engine | ingest | dbt build | Spark build | serving | gates (within the release) |"
        " gates and release | pipeline | release |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, case in runs:
        if f"{case}_stages_s" not in spark or f"{case}_stages_s" not in duck:
            continue
        for engine, r in (("DuckDB", duck), ("Spark", spark)):
            st = r[f"{case}_stages_s"]
            spark_part = " | ".join(f"{st[k]:.1f} s" if k in st else "–" for k in SPARK_STAGES)
            if engine == "DuckDB":
                same = "–"
            elif r.get(f"{case}_content_sha256") == duck.get(f"{case}_content_sha256"):
                same = "the same as DuckDB's"
            else:
                same = "**differs from DuckDB's**"
            lines.append(
                f"| {label} | {engine} | {st['ingest']:.1f} s | {st['dbt']:.1f} s | {spark_part} |"
                f" {st.get('gates', 0):.1f} s | {st.get('release', 0):.1f} s | {r[case + '_pipeline_s']:.1f} s |"
                f" {same} |"
            )
    ratios = [
        f"{label} {spark[case + '_pipeline_s'] / duck[case + '_pipeline_s']:.1f}×"
        for label, case in runs
        if f"{case}_pipeline_s" in spark and f"{case}_pipeline_s" in duck
    ]
    lines += [
        "",
        f"Spark's pipeline against DuckDB's: {', '.join(ratios)}. Adding the sixth Stichtag cost "
        f"{spark['added_pipeline_s'] / spark['first_pipeline_s']:.0%} of the full run on Spark "
        f"({duck['added_pipeline_s'] / duck['first_pipeline_s']:.0%} on DuckDB). What dbt rebuilt for the "
        f"correction on Spark: {spark.get('corrected_build')}.",
    ]
    return lines


def corrected_lines(r: dict) -> list[str]:
    """A corrected old file (run_one's third run), when measured."""
    if "corrected_stages_s" not in r:
        return []
    first, corrected = r["first_stages_s"], r["corrected_stages_s"]
    return [
        "",
        f"Then a corrected register extract of the earliest Stichtag ({r['corrected_stichtag']}, one resident 30",
        f"years older): {r['corrected_pipeline_s']:.1f} s = {r['corrected_pipeline_s'] / r['first_pipeline_s']:.0%} "
        f"of the full run (ingest {corrected['ingest']:.1f} s, dbt {corrected['dbt']:.1f} s = "
        f"{corrected['dbt'] / first['dbt']:.0%} of its full build). What dbt rebuilt: {r['corrected_build']}.",
    ]


def _viertel(r: dict) -> str:
    """The Stadtviertel of the city (units at the Stadtviertel level, every Gebietsstand), and
    how they were made."""
    units = r["disclosure"]["levels"].get("stadtviertel", {}).get("units", 0)
    return f"{units:,}" + (f" (~{r['viertel_residents']:,} residents each)" if r.get("viertel_residents") else "")


def disclosure_lines(
    results: list[dict],
    title: str = "Disclosure control at every level",
    label: Callable[[dict], str] = lambda r: f"{r['residents']:,}",
    column: str = "residents",
) -> list[str]:
    """Disclosure control per city (or Kreis): the cells of all six Stichtage per level, withheld as
    primary (count or population below the minimum) and secondary, the pattern's time and the audit's."""
    lines = [
        "",
        f"## {title}",
        "",
        "Cells of all six Stichtage (a count of one measure for one unit) per level, withheld as primary",
        "(a count or a population below the minimum) or as secondary (to protect a primary cell), from",
        "`disclosure.disclosure_pattern`; *pattern* is dbt's time for that model (incremental pattern and",
        "memo, orchestration/disclosure), *audit* what the release audit solved to prove every withheld",
        "cell protected (linear programmes / integer programmes / exact intervals).",
        "",
        f"| {column} | level | units | cells | primary | secondary | withheld | pattern | audit |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        d = r["disclosure"]
        audit = d["audit"]
        solved = (
            f"{'passed' if audit['passed'] else 'FAILED'}: {audit['linear_programmes']:,} / "
            f"{audit['integer_programmes']:,} / {audit['exact_intervals']:,}"
        )
        for i, (level, c) in enumerate(d["levels"].items()):
            withheld = c["primary"] + c["secondary"]
            lines.append(
                f"| {label(r)} | {level} | {c['units']:,} | {c['cells']:,} | {c['primary']:,} |"
                f" {c['secondary']:,} | {withheld / c['cells']:.1%} |"
                + (f" {d['pattern_s']:.1f} s | {solved} |" if i == 0 else " | |")
            )
    return lines


def _against_floor(r: dict) -> str:
    """The cells *floor (read + statement)* and *pipeline / floor* of a run."""
    read, statement = r.get("floor_read_s", 0.0), r.get("floor_statement_s", r["floor_s"])
    return f"{r['floor_s']:.2f} s ({read:.2f} + {statement:.2f}) | {r['pipeline_s'] / r['floor_s']:.0f}×"


def _generated(what: str, r: dict) -> str:
    """A line on the generation of a city or Kreis."""
    cached = " (generated by an earlier bench run with the same generator code)" if r.get("generation_cached") else ""
    return f"- {what}: {r['generate_s']:.1f} s, peak {r['generate_peak_rss_mb']:,.0f} MB{cached}"


def kreis_lines(kreise: list[dict], cities: list[dict]) -> list[str]:
    """The section on Kreise of many Gemeinden: the same columns as the cities', each against the
    floor and against the city of the same residents measured in the same run (if any), and their
    disclosure control."""
    lines = [
        "",
        "## Many Gemeinden in one warehouse",
        "",
        "A Land's statistics office runs hundreds of Gemeinden in one warehouse (issue 19). Each row is a",
        "Kreis of that many Gemeinden of the same size (`KreisConfig.uniform`: every fourth without",
        "Stadtbezirke, every third without Stadtviertel; Kreis-wide Sozialräume), generated and run as the",
        "cities are, against the same floor (`floor.sql` matches addresses within their Gemeinde and walks",
        "each Baublock up to the Kreis). *Against the city* divides the Kreis's pipeline by that of the",
        "city of the same residents in the same run: what being many Gemeinden costs.",
        "",
        "| Gemeinden | residents | raw files | ingest | dbt build | gates (within the release) |"
        " gates and release | pipeline process | peak memory | floor (read + statement) | pipeline / floor |"
        " against the city | values equal to floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    # the city of the same residents with the demo's structure (no Stadtviertel size given)
    by_residents = {c["residents"]: c for c in cities if not c.get("viertel_residents")}
    for r in kreise:
        city = by_residents.get(r["residents"])
        against = f"{r['pipeline_s'] / city['pipeline_s']:.1f}×" if city else "–"
        agree = f"{r['values_compared'] - r['values_differing']:,} of {r['values_compared']:,}"
        lines.append(
            f"| {r['gemeinden']:,} | {r['residents']:,} | {r['raw_mb']:,.0f} MB | {r['ingest_s']:.1f} s |"
            f" {r['dbt_s']:.1f} s | {r['gates_s']:.1f} s | {r['release_s']:.1f} s | {r['wall_s']:.1f} s |"
            f" {r['peak_rss_mb']:,.0f} MB | {_against_floor(r)} | {against} | {agree} |"
        )
    lines += ["", "Generation (its own process):", ""]
    lines += [_generated(f"{r['gemeinden']:,} Gemeinden", r) for r in kreise]
    return lines + disclosure_lines(
        kreise,
        "Disclosure control of the Kreise",
        lambda r: f"{r['gemeinden']:,} × {r['residents'] // r['gemeinden']:,}",
        "Gemeinden × residents",
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def report_lines(r: dict) -> list[str]:
    """The section on the printed report (orchestration/benchmark/report.py)."""
    quarter = r["areas"] // 4
    one, two, full = (r[f"profiles_{quarter}_workers_1_s"], r[f"profiles_{quarter}_workers_2_s"],
                      r[f"profiles_{r['areas']}_workers_2_s"])  # fmt: skip
    return [
        "",
        "## The printed report at Berlin size",
        "",
        f"{r['areas']} Gebietsprofile ({r['indicators']} indicators, {r['stichtage']} Stichtage, Berlin's real "
        "Planungsraum boundaries) and the Datenreport, typeset with Typst (`orchestration/benchmark/report.py`):",
        "",
        "| step | time | output |",
        "|---|---:|---:|",
        f"| report content (daten.json) | {r['document_s']:.1f} s | |",
        f"| Datenreport | {r['datenreport_s']:.1f} s | {r['datenreport_pages']} pages, "
        f"{r['datenreport_bytes'] / 1e6:.1f} MB |",
        f"| {quarter} profiles, 1 thread | {one:.1f} s | |",
        f"| {quarter} profiles, 2 threads | {two:.1f} s | |",
        f"| {r['areas']} profiles, 2 threads | {full:.1f} s | {r['profiles_bytes_total'] / 1e6:.1f} MB "
        f"({r['profile_bytes_mean'] / 1e3:.0f} kB each) |",
        "",
        f"{r['areas']} profiles took {full / two:.1f}× as long as {quarter} ({r['areas'] / quarter:.1f}× as many): "
        f"linear; the second thread gives {one / two:.1f}×.",
    ]


def release_step_lines(results: list[dict]) -> list[str]:
    """Where each city's release spent its time: its steps (release.PublishResult.seconds), longest
    first, from 0.1 s; the gates' process runs beside the export and the audit (`gates` is its wall
    clock, `lineage_process` that of the lineage docs' process, both beside the others)."""
    steps = [r for r in results if r.get("release_steps_s")]
    if not steps:
        return []
    lines = [
        "",
        "The release's steps (seconds of wall clock; *gates* and *lineage_process* run beside the others):",
        "",
    ]
    for r in steps:
        shown = sorted(((s, n) for n, s in r["release_steps_s"].items() if s >= 0.1), key=lambda x: (-x[0], x[1]))
        lines.append(f"- {r['residents']:,} residents: " + ", ".join(f"{n} {s:.1f} s" for s, n in shown))
    return lines


def write_report(
    results: list[dict],
    path: Path,
    report: dict | None = None,
    incremental: dict | None = None,
    engines: dict | str | None = None,
    kreise: list[dict] | None = None,
) -> None:
    """docs/performance.md. `engines`: run_engine_cases's results, or why Spark was not measured;
    `kreise`: run_case's results for Kreise of many Gemeinden."""
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (orchestration/benchmark/). Each size is a Musterstadt generated with the",
        "default seed in a process of its own (kept between bench runs while the generator's code and the",
        "size are the same), then run through the whole pipeline on a fresh warehouse in another process:",
        "ingest with every contract check, `dbt build` with every data and unit test, the quality",
        "gates, and the release (lineage docs, Parquet, GeoJSON, manifest). The **floor** is the physical",
        "minimum of the same work: DuckDB reading every raw file once with its own CSV and JSON readers (the",
        "workbooks with calamine; no checks, text columns) plus the same ten indicators for every unit, level",
        "and Stichtag hand-written as one DuckDB statement over the raw tables",
        "(`orchestration/benchmark/floor.sql`), both timed in a third process right after the pipeline",
        "(best of 3 each), so that the floor's memory is not counted as the pipeline's.",
        "The benchmark also checks that the floor and `marts.fct_indicator_values` agree value for value.",
        "",
        f"Measured {datetime.now():%Y-%m-%d %H:%M} on {os.cpu_count()} cores ({cpu_model()}), "
        f"Python {platform.python_version()}; DuckDB memory limit {memory_limit()} "
        "(`SOZIALMONITOR_MEMORY_LIMIT`).",
        "",
        "| residents | Stadtviertel | raw files | person rows (6 Stichtage) | ingest | dbt build |"
        " gates (within the release) | gates and release | other | pipeline process | peak memory |"
        " floor (read + statement) | pipeline / floor |"
        " values equal to floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        agree = f"{r['values_compared'] - r['values_differing']:,} of {r['values_compared']:,}"
        lines.append(
            f"| {r['residents']:,} | {_viertel(r)} | {r['raw_mb']:,.0f} MB | {r['person_rows']:,} |"
            f" {r['ingest_s']:.1f} s | {r['dbt_s']:.1f} s | {r['gates_s']:.1f} s | {r['release_s']:.1f} s |"
            f" {r['other_s']:.1f} s | {r['wall_s']:.1f} s |"
            f" {r['peak_rss_mb']:,.0f} MB | {_against_floor(r)} | {agree} |"
        )
    lines += ["", "Generation (not part of the pipeline, its own process):", ""]
    lines += [_generated(f"{r['residents']:,} residents", r) for r in results]
    lines += release_step_lines(results)
    if len(results) > 1:
        small, large = results[0], results[-1]
        scale = large["residents"] / small["residents"]
        grow = large["pipeline_s"] / small["pipeline_s"]
        lines += [
            "",
            f"From {small['residents']:,} to {large['residents']:,} residents ({scale:.0f}× the data) the pipeline "
            f"(ingest + dbt + gates and release) took {grow:.1f}× as long and the floor "
            f"{large['floor_s'] / small['floor_s']:.1f}× as long.",
        ]
    lines += [
        "",
        "Columns: *pipeline / floor* compares ingest + dbt + gates and release with the floor; the gates run",
        "beside the release's export and audit, so their own time is shown but counted within the release; *other* is",
        "process start-up, imports and run bookkeeping; *pipeline process* is the wall time of the process",
        "that runs the pipeline (start-up included); *peak memory* is the largest resident set of that process",
        "and its children together (the gates' process beside the release included; sampled every 0.2 s).",
        "",
        "Target we steer by: a Berlin-size city (3.9 M residents, six Stichtage) end to end, gates,",
        "disclosure control and release included, within 5× the floor and 4 GB on a 2-core machine.",
    ]
    lines += disclosure_lines(results)
    if kreise:
        lines += kreis_lines(kreise, results)
    if incremental:
        lines += incremental_lines(incremental)
    if isinstance(engines, dict):
        lines += engine_lines(engines)
    elif engines:
        lines += ["", "## Spark in local mode against DuckDB", "", f"Not measured: {engines}."]
    if report:
        lines += report_lines(report)
    lines += hand_written_sections(path)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def hand_written_sections(path: Path) -> list[str]:
    """The sections of the existing report whose heading says "written by hand" (measurements
    that `make bench` does not repeat): kept as they are, after the generated part."""
    if not path.exists():
        return []
    kept: list[str] = []
    keep = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            keep = "written by hand" in line
        if keep:
            kept.append(line)
    return ["", *kept] if kept else []


def main() -> None:
    settings = Settings.from_env()
    cities = [City.parse(s) for s in os.environ.get("SOZIALMONITOR_BENCH_SIZES", DEFAULT_SIZES).split(",")]
    # checked before anything runs: a bad spec must not end a bench hours in
    specs = os.environ.get(KREISE_SETTING, DEFAULT_KREISE).split(",")
    kreis_specs = [City.parse_kreis(spec) for spec in specs if spec.strip()]
    workdir = settings.project_dir / "bench"
    workdir.mkdir(exist_ok=True)
    incremental_size = os.environ.get("SOZIALMONITOR_BENCH_INCREMENTAL_SIZE", "1000000")
    spark_size = os.environ.get("SOZIALMONITOR_BENCH_SPARK_SIZE", "100000").strip()
    results = []
    incremental = None
    engines: dict | str | None = None
    if spark_size and not spark_installed():
        engines = "Spark is not installed here (`make spark` installs it)"
    for city in cities:
        print(f"benchmark: {city.residents:,} residents ({city.folder}) …", flush=True)
        result = run_case(city, workdir)
        print(json.dumps(result), flush=True)
        results.append(result)
        if incremental_size and city.spec == incremental_size.strip():
            print(f"benchmark: adding one Stichtag at {city.residents:,} residents …", flush=True)
            incremental = run_incremental_case(city, workdir)
            print(json.dumps(incremental), flush=True)
        if spark_size and city.spec == spark_size and engines is None:
            print(f"benchmark: Spark against DuckDB at {city.residents:,} residents …", flush=True)
            engines = run_engine_cases(city, workdir)
            print(json.dumps(engines), flush=True)
            for case in ("first", "added", "corrected"):
                if engines["spark"].get(f"{case}_content_sha256") != engines["duckdb"].get(f"{case}_content_sha256"):
                    print(f"benchmark: the Spark release of the {case} run differs from DuckDB's", file=sys.stderr)
    kreise = []
    for kreis in kreis_specs:
        print(f"benchmark: a Kreis of {kreis.gemeinden} Gemeinden of {kreis.residents:,} residents …", flush=True)
        result = run_case(kreis, workdir)
        print(json.dumps(result), flush=True)
        kreise.append(result)
    print("benchmark: the printed report at Berlin size …", flush=True)
    from .report import run as run_report

    printed = run_report(settings.project_dir / "tests" / "data" / "berlin-mss")
    print(json.dumps(printed), flush=True)
    report = settings.project_dir / "docs" / "performance.md"
    write_report(results, report, printed, incremental, engines, kreise)
    print(f"written {report}")


if __name__ == "__main__":
    main()
