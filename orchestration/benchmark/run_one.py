"""One benchmark step in its own process (so its peak memory is its own): `--generate` writes the
city's extracts (with `--gemeinden N` a Kreis of N Gemeinden of `--residents` each, as a deployment
folder: docs/kreis.md); `--pipeline` runs the whole pipeline on them (ingest, dbt build, quality gates,
release); `--floor` then measures the floor on the same raw files and warehouse and checks that
both give the same numbers; `--incremental` runs the pipeline on the files of all Stichtage but the
latest in a warehouse of its own, then again after adding the latest Stichtag's files (a reporting
period's work: dbt rebuilds that Stichtag only). Prints JSON."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

from ..demo import DemoConfig, KreisConfig, contracts_for, generate, generate_kreis
from ..pipeline import run_pipeline
from ..release.build import make_writable
from ..settings import DEPLOYMENT_SETTING, Settings
from ..warehouse import connect

FLOOR_SQL = (Path(__file__).parent / "floor.sql").read_text(encoding="utf-8")


def read_raw_files(settings: Settings) -> float:
    """The floor's reading: every file in raw/ read once, by DuckDB's own CSV reader (text columns,
    no checks, into memory) and, for the BA and Sozialamt workbooks, by calamine, the fastest XLSX
    reader there is for Python (this DuckDB ships none). GeoJSON by DuckDB's JSON reader. Seconds."""
    import duckdb
    from python_calamine import CalamineWorkbook

    from ..ingest.contracts import load_contracts
    from ..ingest.loader import discover

    contracts = load_contracts(settings.contracts_dir, settings.project_vars)
    extracts, _ = discover(settings, contracts)
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    # each file as its contract reads it: a Stadt with another vendor's software (a Kreis) delivers
    # its part of a source with its own encoding and separator (the contract variant)
    groups: dict[tuple, list[str]] = {}
    for e in extracts:
        if e.problem is None:
            c = e.contract
            groups.setdefault((c.source, c.format, c.encoding, c.delimiter, c.sheet), []).append(str(e.path))
    start = time.perf_counter()
    for k, ((source, form, encoding, delimiter, sheet), files) in enumerate(sorted(groups.items(), key=str)):
        if form == "csv":
            encoding = "latin-1" if encoding in ("cp1252", "latin-1") else "utf-8"
            con.execute(
                f"create temp table floor_{source}_{k} as select * from read_csv(?, delim=?, header=true, "
                f"all_varchar=true, union_by_name=true, encoding='{encoding}')",
                [files, delimiter],
            )
        elif form == "xlsx":
            for path in files:
                CalamineWorkbook.from_path(path).get_sheet_by_name(sheet).to_python()
        else:
            con.execute(
                f"create temp table floor_{source}_{k} as select * from read_json(?, maximum_object_size=1e9)",
                [files],
            )
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def floor_sql(con) -> str:
    """The floor's statement for this warehouse: a Kreis's raw tables name each record's Gemeinde
    (column gemeinde), a city's do not (one Gemeinde: null)."""
    kreis = con.execute(
        "select count(*) from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'geo_addresses' and column_name = 'gemeinde'"
    ).fetchone()[0]
    return FLOOR_SQL.replace("{gemeinde}", "gemeinde" if kreis else "null::varchar")


def run_floor(con) -> float:
    statement = floor_sql(con)
    start = time.perf_counter()
    con.execute(statement)
    return time.perf_counter() - start


def compare_with_marts(con) -> dict:
    """The floor's indicator values against the marts' (`marts.fct_indicator_values`), row by row:
    how many (level, unit, Stichtag, indicator) either side has, and how many of them differ: a value
    that is not equal (to 1e-9, relative), a row that only one side has (a unit, level or Stichtag
    the other misses), and a row either side has more than once."""
    indicators = [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_name = 'floor_result' "
            "and column_name not in ('level', 'area_id', 'stichtag') order by ordinal_position"
        ).fetchall()
    ]
    unpivot = " union all ".join(
        f"select level, area_id, stichtag, '{i}' as indicator_id, {i} as value from floor_result" for i in indicators
    )
    names = ", ".join(f"'{i}'" for i in indicators)
    compared, differing = con.execute(
        f"""
        with floor as (
            select level, area_id, stichtag, indicator_id, value, count(*) over (
                partition by level, area_id, stichtag, indicator_id) as copies
            from ({unpivot})
        ),
        marts as (
            select level, area_id, stichtag, indicator_id, value, count(*) over (
                partition by level, area_id, stichtag, indicator_id) as copies
            from marts.fct_indicator_values where indicator_id in ({names})
        )
        select count(*), count(*) filter (
            where f.copies is null or f.copies > 1 or v.copies is null or v.copies > 1
                or not (f.value is not distinct from v.value
                        or coalesce(abs(f.value - v.value) <= 1e-9 * greatest(1, abs(f.value)), false)))
        from floor f
        full join marts v using (level, area_id, stichtag, indicator_id)
        """
    ).fetchone()
    return {"values_compared": compared, "values_differing": differing}


def disclosure_summary(con, settings: Settings) -> dict:
    """What disclosure control did in the pipeline's run: the cells of every Stichtag by level,
    withheld as primary (a count below the minimum, a population below the minimum) or secondary,
    the time of the pattern (dbt's node time of disclosure_pattern) and what the release audit
    solved (its manifest)."""
    rows = con.execute(
        """select level,
            count(*) as cells,
            count(case when status = 'suppressed' and reason <> 'secondary' then 1 end) as primary_withheld,
            count(case when status = 'suppressed' and reason = 'secondary' then 1 end) as secondary_withheld,
            count(distinct area_id) as units
        from disclosure.disclosure_pattern
        where level not like '%@%'
        group by level order by level"""
    ).fetchall()
    levels = {
        level: {"cells": cells, "primary": primary, "secondary": secondary, "units": units}
        for level, cells, primary, secondary, units in rows
    }
    run_results = json.loads((settings.dbt_target_dir / "run_results.json").read_text(encoding="utf-8"))
    pattern_s = next(
        r["execution_time"] for r in run_results["results"] if r["unique_id"].endswith(".disclosure_pattern")
    )
    manifest = json.loads((settings.releases_dir / "latest" / "manifest.json").read_text(encoding="utf-8"))
    audit = manifest["disclosure_audit"]
    return {
        "levels": levels,
        "pattern_s": pattern_s,
        "audit": {
            k: audit[k]
            for k in ("passed", "withheld_cells", "linear_programmes", "integer_programmes", "exact_intervals")
        },
    }


def correct_register(raw_dir: Path, stichtag) -> Path:
    """A corrected delivery of an old file: the register extract of `stichtag` with its first
    resident 30 years older (Geburtsjahr), declared the demo generator's own (raw/.demo-city lists
    the SHA-256 of each file it wrote; the published demo key refuses any other)."""
    import hashlib

    from ..pseudonyms import DEMO_MARKER

    register = next(raw_dir.rglob(f"EWR_Bestand_{stichtag:%Y%m%d}.csv"))
    lines = register.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[1].split(";")
    fields[1] = str(int(fields[1]) - 30)
    lines[1] = ";".join(fields)
    register.write_text("".join(lines), encoding="utf-8")
    name = register.relative_to(raw_dir).as_posix()
    marker = raw_dir / DEMO_MARKER
    kept = [line for line in marker.read_text(encoding="utf-8").splitlines() if line.partition("  ")[2] != name]
    digest = hashlib.sha256(register.read_bytes()).hexdigest()
    marker.write_text("\n".join([*kept, f"{digest}  {name}"]) + "\n", encoding="utf-8")
    return register


def run_incremental(settings: Settings, workdir: Path) -> dict:
    """The pipeline on every file but the latest Stichtag's, then after adding those, then after a
    corrected register extract of the earliest Stichtag: seconds of each stage of the three runs,
    in a copy of raw/ under `workdir` (the city's own warehouse stays)."""
    from ..ingest.contracts import load_contracts
    from ..ingest.loader import discover

    extracts, _ = discover(settings, load_contracts(settings.contracts_dir, settings.project_vars))
    latest = max(e.stichtag for e in extracts if e.stichtag is not None)
    if workdir.exists():
        make_writable(workdir)
        shutil.rmtree(workdir)
    own = settings.with_paths(
        raw_dir=workdir / "raw",
        warehouse_path=workdir / "warehouse" / "sozialmonitor.duckdb",
        quarantine_dir=workdir / "quarantine",
        dbt_target_dir=workdir / "dbt_target",
        releases_dir=workdir / "releases",
    )
    held_back = {e.path for e in extracts if e.stichtag == latest}
    shutil.copytree(
        settings.raw_dir, own.raw_dir, ignore=lambda d, names: [n for n in names if Path(d, n) in held_back]
    )
    earliest = min(e.stichtag for e in extracts if e.stichtag is not None)
    out: dict = {"latest_stichtag": latest.isoformat(), "corrected_stichtag": earliest.isoformat()}
    for case in ("first", "added", "corrected"):
        if case == "added":
            for path in sorted(held_back):
                shutil.copy2(path, own.raw_dir / path.relative_to(settings.raw_dir))
        if case == "corrected":
            correct_register(own.raw_dir, earliest)
        start = time.perf_counter()
        # a corrected file of a released Stichtag is refused unless the operator accepts it
        summary = run_pipeline(own, force_release=case == "corrected")
        out[f"{case}_s"] = time.perf_counter() - start
        out[f"{case}_stages_s"] = dict(summary.timings)
        out[f"{case}_build"] = summary.build.describe() if summary.build is not None else None
        # what the release publishes, to compare engines (the same inputs give the same bytes)
        release = summary.release.release if summary.release is not None else None
        out[f"{case}_content_sha256"] = release.manifest()["content_sha256"] if release is not None else None
    out["engine"] = own.engine
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--floor-repeats", type=int, default=3)
    parser.add_argument(
        "--viertel-residents", type=int, default=None, help="residents per Stadtviertel (default: the demo's structure)"
    )
    parser.add_argument(
        "--gemeinden", type=int, default=None, help="a Kreis of this many Gemeinden of --residents each"
    )
    step = parser.add_mutually_exclusive_group(required=True)
    step.add_argument("--generate", action="store_true", help="generate the extracts")
    step.add_argument("--pipeline", action="store_true", help="run the pipeline on them")
    step.add_argument("--floor", action="store_true", help="measure the floor, compare with the pipeline's values")
    step.add_argument("--incremental", action="store_true", help="a full run without the latest Stichtag, then add it")
    args = parser.parse_args()
    if args.gemeinden:
        # the Kreis's folder: its contracts/, vars.yml and gates.yml (docs/kreis.md)
        os.environ[DEPLOYMENT_SETTING] = str(args.dir)
    settings = Settings.from_env().with_paths(
        raw_dir=args.dir / "raw",
        warehouse_path=args.dir / "warehouse" / "sozialmonitor.duckdb",
        quarantine_dir=args.dir / "quarantine",
        dbt_target_dir=args.dir / "dbt_target",
        releases_dir=args.dir / "releases",
    )
    if not args.generate and not args.gemeinden and (settings.raw_dir / "gebiete").exists():
        # a city with more than nine Stadtviertel in a Stadtteil is read with contracts of its own
        settings = settings.with_paths(
            contracts_dir=contracts_for(settings.raw_dir, settings.contracts_dir, args.dir / "contracts")
        )
    if args.generate:
        if args.dir.exists():
            make_writable(args.dir)  # releases are read-only on disk
            shutil.rmtree(args.dir)
        start = time.perf_counter()
        if args.gemeinden:
            paths = generate_kreis(args.dir, KreisConfig.uniform(args.gemeinden, args.residents))
        else:
            paths = generate(
                settings.raw_dir, DemoConfig(residents=args.residents, viertel_residents=args.viertel_residents)
            )
        t_generate = time.perf_counter() - start
        raw_bytes = sum(p.stat().st_size for p in paths)
        print(json.dumps({"generate_s": t_generate, "raw_mb": round(raw_bytes / 1e6, 1)}))
        return
    if args.incremental:
        # a folder per engine: the bench runs both on one city (SOZIALMONITOR_ENGINE)
        folder = "incremental" if settings.engine == "duckdb" else f"incremental_{settings.engine}"
        print(json.dumps(run_incremental(settings, args.dir / folder)))
        return
    if args.pipeline:
        summary = run_pipeline(settings)
        print(
            json.dumps(
                {
                    "ingest_s": summary.timings["ingest"],
                    "dbt_s": summary.timings["dbt"],
                    "gates_s": summary.timings["gates"],
                    "release_s": summary.timings["release"],
                    # the release's own steps (release.PublishResult.seconds; the gates' process beside)
                    "release_steps_s": dict(getattr(summary.release, "seconds", None) or {}),
                }
            )
        )
        return
    con = connect(settings.warehouse_path, extensions=())
    try:
        statements = [run_floor(con) for _ in range(args.floor_repeats)]
        check = compare_with_marts(con)
        persons = con.execute("select count(*) from raw.register_persons").fetchone()[0]
        values = con.execute("select count(*) from marts.fct_indicator_values").fetchone()[0]
        disclosure = disclosure_summary(con, settings)
    finally:
        con.close()
    reads = [read_raw_files(settings) for _ in range(args.floor_repeats)]
    floors = [r + q for r, q in zip(reads, statements, strict=True)]
    print(
        json.dumps(
            {
                "residents": args.residents * (args.gemeinden or 1),
                "gemeinden": args.gemeinden or 1,
                "person_rows": persons,
                "indicator_values": values,
                # the floor: reading every raw file once plus the one statement (best of the runs)
                "floor_s": min(reads) + min(statements),
                "floor_read_s": min(reads),
                "floor_statement_s": min(statements),
                "floor_runs_s": floors,
                "disclosure": disclosure,
                **check,
            }
        )
    )


if __name__ == "__main__":
    main()
