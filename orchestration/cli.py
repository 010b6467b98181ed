"""`sozialmonitor`: the front door for people. Dagster (`make dev`) is the front door for machines."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .cli_common import STICHTAG_HELP, fail, parse_stichtag, print_unrecognised, quiet_tools
from .disclosure import DISCLOSURE_METHODS
from .errors import SozialmonitorError
from .settings import Settings

app = typer.Typer(
    help="Sozialmonitoring warehouse: department extracts in, small-area social indicators out.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_STICHTAGE = ("2019-12-31", "2020-12-31", "2021-12-31", "2022-12-31", "2023-12-31", "2024-12-31")


@app.callback()
def _every_command() -> None:
    quiet_tools()  # piped or NO_COLOR: no colour codes from dbt either


def _settings() -> Settings:
    return Settings.from_env()


def _refuse(option: str, value: str, known) -> typer.BadParameter:
    """A usage error (exit code 2) for an unknown value, listing the known ones."""
    return typer.BadParameter(f"{value!r} is not known; choose from: {', '.join(sorted(known))}.", param_hint=option)


@app.command("demo-data")
def demo_data(
    residents: int = typer.Option(100_000, help="Residents of Musterstadt at the first Stichtag."),
    seed: int = typer.Option(20241231, help="Seed: the same seed gives byte-identical files."),
    out: Path | None = typer.Option(None, help="Target folder (default: the raw/ folder)."),
    force: bool = typer.Option(False, help="Write even if the folder already holds extracts."),
    viertel_residents: int | None = typer.Option(
        None,
        help="Residents per Stadtviertel, about (Berlin's Planungsräume: 7200). Default: the demo's "
        "structure, 2 to 7 Stadtviertel per Stadtteil.",
    ),
    kreis: bool = typer.Option(
        False,
        "--kreis",
        help="Generate the demo Kreis Musterkreis (four Städte of 20,000 to 80,000 residents) instead of "
        "Musterstadt, as a Kreis deployment folder (--kreis-dir): raw/ (the extracts), contracts/ (the "
        "Kreis's contracts), vars.yml (its dbt vars) and gates.yml (its gate thresholds). Run the Kreis "
        "with SOZIALMONITOR_DEPLOYMENT_DIR=DIR sozialmonitor run (warehouse and releases go into DIR too; "
        "docs/kreis.md). --residents, --seed, --viertel-residents and --out are for Musterstadt only.",
    ),
    kreis_dir: Path = typer.Option(Path("musterkreis"), help="With --kreis: the Kreis deployment folder DIR."),
    small: bool = typer.Option(False, help="With --kreis: Städte of 6,000 to 12,000 residents (quick to try)."),
    gemeinden: int | None = typer.Option(
        None,
        help="With --kreis: a Kreis of this many Gemeinden (4 to 600) of --gemeinde-residents each instead of "
        "the Musterkreis, as a Land's statistics office runs them in one warehouse (more than 100: at most "
        "6,000 residents each).",
    ),
    gemeinde_residents: int | None = typer.Option(
        None, help="With --gemeinden: the residents of each Gemeinde (default 5,000)."
    ),
) -> None:
    """Generate the extracts of the demo city Musterstadt (six Stichtage, 2019 to 2024), or with
    --kreis the demo Kreis Musterkreis."""
    from .demo import DemoConfig, contracts_for, generate, viertel_code_digits
    from .locking import run_lock
    from .pipeline import needs_demo

    if kreis:
        if out is not None:
            raise typer.BadParameter(
                "--out is for Musterstadt; the Kreis is written to --kreis-dir", param_hint="--out"
            )
        if gemeinde_residents is not None and gemeinden is None:
            raise typer.BadParameter("--gemeinde-residents needs --gemeinden", param_hint="--gemeinde-residents")
        if small and gemeinden is not None:
            raise typer.BadParameter(
                "--small is the Musterkreis's Städte; --gemeinden makes others", param_hint="--small"
            )
        _demo_kreis(kreis_dir, small, force, gemeinden, gemeinde_residents or 5_000)
        return
    if small or gemeinden is not None or gemeinde_residents is not None:
        option = "--small" if small else "--gemeinden" if gemeinden is not None else "--gemeinde-residents"
        raise typer.BadParameter(f"{option} needs --kreis", param_hint=option)
    try:
        config = DemoConfig(residents=residents, seed=seed, viertel_residents=viertel_residents)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    settings = _settings()
    target = out or settings.raw_dir
    started = time.perf_counter()
    try:
        # under the run lock: never write into raw/ while a run reads it (or another generator writes)
        with run_lock(settings.warehouse_path, purpose="demo data"):
            if not force and not needs_demo(settings.with_paths(raw_dir=target)):
                err.print(f"[yellow]{target} already holds extracts; use --force to overwrite them.[/]")
                raise typer.Exit(1)
            with console.status(f"Generating Musterstadt with {residents:,} residents …"):
                paths = generate(target, config)
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    console.print(
        f"[green]✓[/] {len(paths)} extract files for {residents:,} residents written to {target} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    # more than nine Stadtviertel in a Stadtteil: longer codes, which the contracts must expect
    own = contracts_for(target, settings.contracts_dir, target.with_name(f"{target.name}-contracts"))
    if own != settings.contracts_dir:
        console.print(
            f"[yellow]![/] The Stadtviertel codes have {viertel_code_digits(target)} digits: the contracts for "
            f"them are in {own}. Read this city with SOZIALMONITOR_CONTRACTS_DIR={own}"
        )


def _demo_kreis(folder: Path, small: bool, force: bool, gemeinden: int | None, residents: int) -> None:
    """sozialmonitor demo-data --kreis: the Musterkreis's deployment folder, or with `gemeinden` a
    Kreis of that many Gemeinden of `residents` each (KreisConfig.uniform)."""
    from .demo import KreisConfig, generate_kreis
    from .locking import run_lock
    from .pipeline import needs_demo

    try:
        config = (
            KreisConfig.uniform(gemeinden, residents)
            if gemeinden is not None
            else KreisConfig.small()
            if small
            else KreisConfig()
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--gemeinden, --gemeinde-residents") from None
    raw = folder / "raw"
    # the places of a run with SOZIALMONITOR_DEPLOYMENT_DIR=folder
    settings = _settings().with_paths(raw_dir=raw, warehouse_path=folder / "warehouse" / "sozialmonitor.duckdb")
    started = time.perf_counter()
    try:
        # under the run lock, as for Musterstadt: a run of the Kreis may be reading this raw/ folder
        with run_lock(settings.warehouse_path, purpose="demo data"):
            if not force and not needs_demo(settings):
                err.print(f"[yellow]{raw} already holds extracts; use --force to overwrite them.[/]")
                raise typer.Exit(1)
            with console.status(f"Generating {config.name} with {len(config.staedte)} Städte …"):
                paths = generate_kreis(folder, config)  # contracts adapted from orchestration/contracts
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    staedte = ", ".join(f"{s.name} ({s.ags}, {s.residents:,})" for s in config.staedte[:6])
    if len(config.staedte) > 6:
        staedte += f" and {len(config.staedte) - 6} more"
    folder = folder.resolve()
    console.print(
        f"[green]✓[/] {config.name}: {len(paths)} files for {staedte} written to {folder} "
        f"in {time.perf_counter() - started:.1f} s\n"
        f"  Run it with SOZIALMONITOR_DEPLOYMENT_DIR={folder} sozialmonitor run"
    )


@app.command()
def run(
    demo: bool = typer.Option(True, help="Generate the Musterstadt demo extracts when raw/ holds none."),
    force_reload: bool = typer.Option(False, help="Reload every extract, even unchanged ones."),
    force: bool = typer.Option(
        False, "--force", help="Accept changed files for a released Stichtag and publish a new version."
    ),
    release: bool = typer.Option(True, help="Run the quality gates and publish the release at the end."),
    full_refresh: bool = typer.Option(
        False,
        "--full-refresh",
        help="Rebuild every Stichtag in dbt (default: only those whose files changed since the last build, "
        "and those that read them through lagged measures).",
    ),
    wait: float = typer.Option(0.0, min=0.0, help="If another run holds the warehouse, wait up to this many seconds."),
    disclosure: str = typer.Option(
        None,
        help=f"Disclosure control for this run's release: {' or '.join(DISCLOSURE_METHODS)} "
        "(default: var disclosure_method in dbt_project.yml).",
    ),
) -> None:
    """Run the whole pipeline: ingest raw/, build and test the warehouse, gate it, publish the release."""
    from functools import partial

    from .demo import DemoConfig, generate
    from .pipeline import has_extracts, run_pipeline

    # every option is checked before the lock is taken and before anything is loaded or built
    if disclosure is not None and disclosure not in DISCLOSURE_METHODS:
        raise _refuse("--disclosure", disclosure, DISCLOSURE_METHODS)
    settings = _settings()
    try:
        settings.project_vars  # noqa: B018 - read and checked before any work
    except SozialmonitorError as exc:
        fail(exc)
    if not demo and not has_extracts(settings):
        err.print(f"[red]No extracts in {settings.raw_dir}.[/] Put the period's files there (see raw/README.md).")
        raise typer.Exit(1)

    def progress(kind, extract, result):
        if kind != "done":
            return
        label = f"{extract.source:<22} {extract.path.name:<40}"
        if result.status == "loaded":
            extra = f", {result.footer_rows} total/footnote rows dropped" if result.footer_rows else ""
            console.print(f"  [green]✓[/] {label} {result.rows:>10,} rows  {result.seconds:5.1f} s{extra}")
        elif result.status == "unchanged":
            console.print(f"  [dim]= {label} unchanged since last load[/]")
        else:
            console.print(f"  [red]✗ {label} rejected → {result.quarantined_to}[/]")
            for violation in result.violations[:10]:
                console.print(f"      {violation}", markup=False)

    titles = {
        "demo": "Demo data (raw/ holds no extracts)",
        "ingest": "Ingest",
        "dbt": "dbt build",
        "release": "Quality gates and release",
    }

    def on_stage(name: str) -> None:
        if name in titles:
            console.rule(titles[name])
        else:
            console.print(f"  … {name}")

    try:
        summary = run_pipeline(
            settings,
            progress=progress,
            force_reload=force_reload,
            release=release,
            force_release=force,
            wait=wait,
            on_stage=on_stage,
            dbt_vars={"disclosure_method": disclosure} if disclosure else None,
            # generated inside the run, under its lock, only if raw/ is still empty then
            demo=partial(generate, cfg=DemoConfig(residents=100_000, seed=20241231)) if demo else None,
            full_refresh=full_refresh,
        )
    except (SozialmonitorError, OSError) as exc:
        fail(exc, settings, rejections_shown=True)  # the progress lines named each refused file already
    # shown in Dagster too when an instance is configured (DAGSTER_HOME); never fails the run
    from .dagster_report import report_cli_run

    report_cli_run(settings, summary)
    print_unrecognised(settings, summary.ingest)
    console.rule("Done")
    lines = [
        f"[green]✓[/] Warehouse built: {settings.warehouse_path}",
        f"  Stichtage: {', '.join(d.strftime('%d.%m.%Y') for d in summary.stichtage)}",
        "  " + ", ".join(f"{k} {v:.1f} s" for k, v in summary.timings.items()),
    ]
    if summary.build is not None:
        lines.append(f"  dbt: {summary.build.describe()}")
    if summary.gates is not None:
        s = summary.gates.summary()
        colour = "green" if s["outcome"] == "passed" else "yellow"
        lines.append(
            f"  Quality gates: [{colour}]{s['outcome']}[/] ({s['passed']}/{s['expectations']} expectations, "
            f"{s['warnings']} warning(s))"
        )
    if summary.release is not None:
        rel = summary.release
        verb = "published" if rel.created else "unchanged, already published as"
        lines.append(f"  Release {verb} [bold]{rel.release.id}[/]: {rel.release.path}")
        lines.append(f"  Verify it: sozialmonitor release verify {rel.release.id}")
    lines.append(
        f"  Query it:  {Path(sys.executable).parent / 'duckdb'} -readonly {settings.releases_dir / 'latest'}"
        '/sozialmonitor.duckdb "select * from indicators_stadtteil limit 5"'
    )
    lines.append("  Status:    sozialmonitor status")
    console.print("\n".join(lines))


@app.command()
def status() -> None:
    """What is loaded, for which Stichtage, and how the last run went."""
    from .cli_release import open_warehouse_read_only

    settings = _settings()
    con = open_warehouse_read_only(settings)
    try:
        tables = {
            r[0]
            for r in con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
        }
        if "ops.pipeline_runs" in tables:
            _print_last_run(con)
        if "raw._load_log" in tables:
            table = Table(title="Loaded extracts (latest load of each file)")
            for col, justify in (("source", "left"), ("Stichtage", "left"), ("rows", "right"), ("last load", "left")):
                table.add_column(col, justify=justify, no_wrap=col != "Stichtage")
            from .ingest.loader import LOG_TABLE, latest_load_order

            order = latest_load_order(con, LOG_TABLE)
            for src, years, rows, at in con.execute(
                f"""with latest as (
                       select * from {LOG_TABLE}
                       qualify row_number() over (partition by source, stichtag, gemeinde order by {order}) = 1)
                   select source,
                       case when count(stichtag) = 0 then 'reference'
                            when count(stichtag) = 1 then strftime(min(stichtag), '%d.%m.%Y')
                            else strftime(min(stichtag), '%Y') || '–' || strftime(max(stichtag), '%Y')
                                 || ' (' || count(stichtag) || ')' end,
                       sum(rows), max(loaded_at)
                   from latest group by source order by source"""
            ).fetchall():
                table.add_row(src, years, f"{rows:,}", f"{at:%d.%m.%Y %H:%M}")
            console.print(table)
        if "raw._rejected_files" in tables:
            rejected = con.execute("select count(*) from raw._rejected_files").fetchone()[0]
            if rejected:
                console.print(f"[yellow]{rejected} file(s) were rejected so far; see {settings.quarantine_dir}[/]")
        if "marts.fct_indicator_values" in tables:
            n, indicators, stichtage = con.execute(
                "select count(*), count(distinct indicator_id), list(distinct stichtag order by stichtag) "
                "from marts.fct_indicator_values"
            ).fetchone()
            console.print(
                f"marts.fct_indicator_values: {n:,} values, {indicators} indicators, Stichtage "
                + ", ".join(d.strftime("%d.%m.%Y") for d in stichtage)
            )
        from .release import list_releases
        from .release.store import latest_release

        latest = latest_release(settings.releases_dir)
        if latest:
            gates = latest.manifest().get("gates", {}).get("outcome", "?")
            count = len(list_releases(settings.releases_dir))
            console.print(f"Latest release: {latest.id} (gates {gates}); {count} release(s) in {settings.releases_dir}")
        else:
            console.print(f"No release yet in {settings.releases_dir}")
        if "marts.fct_address_assignment" in tables:
            worst = con.execute(
                "select source, stichtag, assignment_rate from marts.fct_address_assignment "
                "order by assignment_rate limit 1"
            ).fetchone()
            if worst:
                console.print(f"Lowest address assignment rate: {worst[0]} {worst[1]:%d.%m.%Y}: {worst[2]:.2f} %")
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    finally:
        con.close()


def _print_last_run(con) -> None:
    """The newest run; one still `running` whose process is gone (a CLI run's, or that of the Dagster
    step at work) is shown as aborted."""
    from .pipeline import RUNS_TABLE, run_log_columns
    from .provenance import run_is_alive

    columns = run_log_columns(con)
    process = "pid, host, process_start" if "pid" in columns else "null, null, null"
    trigger = "trigger" if "trigger" in columns else "null"
    row = con.execute(
        "select run_id, started_at, finished_at, status, files_loaded, files_unchanged, files_rejected, "
        f"message, {process}, {trigger} from {RUNS_TABLE} order by started_at desc limit 1"
    ).fetchone()
    if not row:
        return
    state, note = row[3], row[7] if row[3] in ("failed", "aborted") else None
    if state == "running":
        alive = run_is_alive(row[8], row[9], row[10])
        if alive is False:
            state = "aborted"
            note = (
                f"its process (pid {row[8]} on {row[9]}) is gone: the run was killed before it finished. "
                "The next run removes its leftovers; nothing of it was published."
            )
        elif alive is None and row[8] is not None:
            note = f"started on host {row[9]} (pid {row[8]}): whether it is still going cannot be checked from here"
        elif alive is None and row[11] == "dagster":  # the row names a process only while a step works
            note = "a Dagster run between its steps: whether it is still going is shown in Dagster"
    colour = {"succeeded": "green", "failed": "red", "aborted": "red"}.get(state, "yellow")
    console.print(
        f"Last run {row[0]}: [{colour}]{state}[/] — started {row[1]:%d.%m.%Y %H:%M:%S}"
        + (f", finished {row[2]:%H:%M:%S}" if row[2] else "")
        + f"; files loaded {row[4]}, unchanged {row[5]}, rejected {row[6]}"
    )
    if note:
        console.print(note.splitlines()[0], markup=False)


@app.command()
def ingest(
    source: list[str] = typer.Option(None, help="Only these sources (repeatable)."),
    stichtag: list[str] = typer.Option(None, help=f"Only these Stichtage, {STICHTAG_HELP} (repeatable)."),
    force: bool = typer.Option(False, help="Reload even unchanged files."),
) -> None:
    """Only load extracts into the raw schema (no dbt)."""
    from .ingest import load_contracts
    from .locking import run_lock
    from .pipeline import run_ingest
    from .release import released_inputs

    settings = _settings()
    # every option is checked before the lock is taken and before anything is loaded
    days = [parse_stichtag(s) for s in stichtag] if stichtag else None
    try:
        known = load_contracts(settings.contracts_dir, settings.project_vars)
        for name in source or ():
            if name not in known:
                raise _refuse("--source", name, known)
        with run_lock(settings.warehouse_path, purpose="ingest"):
            report = run_ingest(
                settings,
                sources=source or None,
                stichtage=days,
                force=force,
                released=released_inputs(settings.releases_dir),
            )
    except (SozialmonitorError, OSError) as exc:
        fail(exc, settings)
    for r in report.results:
        console.print(f"{r.status:<10} {r.extract.source:<22} {r.extract.path.name} {r.rows:,} rows")
    print_unrecognised(settings, report)


@app.command()
def unload(
    stichtag: str = typer.Option(..., help=f"The Stichtag to remove, {STICHTAG_HELP}."),
    reason: str = typer.Option(..., help="Why: recorded in ops.unloads with your user name."),
    source: list[str] = typer.Option(None, help="Only these sources (repeatable); default: every source."),
    force: bool = typer.Option(False, help="Unload although a release was made from this Stichtag."),
) -> None:
    """Remove a wrongly loaded Stichtag from the warehouse; its files leave raw/ for quarantine/_unloaded/."""
    from .ingest.unload import unload as unload_stichtag
    from .locking import run_lock
    from .release import released_inputs
    from .warehouse import connect

    settings = _settings()
    day = parse_stichtag(stichtag)
    if not settings.warehouse_path.exists():
        err.print(f"[red]No warehouse at {settings.warehouse_path}: nothing to unload.[/]")
        raise typer.Exit(2)
    try:
        with run_lock(settings.warehouse_path, purpose="unload"):
            con = connect(settings.warehouse_path)
            try:
                result = unload_stichtag(
                    settings,
                    con,
                    day,
                    reason,
                    sources=source or None,
                    released=released_inputs(settings.releases_dir),
                    force=force,
                )
            finally:
                con.close()
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    rows = ", ".join(f"{k} {v:,}" for k, v in sorted(result.rows.items())) or "no rows were loaded"
    console.print(f"[green]✓[/] Stichtag {day:%d.%m.%Y} unloaded: {rows}.")
    if result.moved_to:
        console.print(f"  {len(result.files)} file(s) moved from raw/ to {result.moved_to}")
    for lake in result.lakes:
        console.print(f"  Its Parquet files left the lake {lake}; Spark's tables drop its rows with the next build.")
    console.print("  Recorded in ops.unloads. Run the pipeline to rebuild without it.")


@app.command("dbt-parse")
def dbt_parse() -> None:
    """Parse the dbt project (writes the manifest Dagster reads)."""
    from .pipeline import run_dbt

    try:
        run_dbt(_settings(), ["parse", "--quiet"])
    except (SozialmonitorError, OSError) as exc:
        fail(exc)


@app.command()
def catalogue(
    out: Path = typer.Option(Path("."), help="Folder for kennzahlenkatalog.csv and kennzahlenkatalog.md."),
    check: bool = typer.Option(False, help="Only validate, and check that the generated files are current."),
) -> None:
    """Export the Kennzahlenkatalog as CSV and Markdown for the working group (validated first)."""
    settings = _settings()
    try:
        _catalogue(settings, out, check)
    except (SozialmonitorError, OSError) as exc:
        fail(exc)


def _catalogue(settings: Settings, out: Path, check: bool) -> None:
    from .catalogue import default_path, export_csv, export_markdown, generate, load

    project = settings.project_vars
    path = default_path(settings.dbt_project_dir)
    loaded = load(path, settings.contracts_dir, project.levels, nested_levels=project.nested_levels)
    if check:
        stale = generate(
            settings.dbt_project_dir, settings.contracts_dir, check_only=True, vars_file=settings.vars_file
        )
        for p in stale:
            err.print(f"out of date: {p} (run `sozialmonitor catalogue` or any dbt command to regenerate)")
        if stale:
            raise typer.Exit(1)
        console.print(
            f"[green]✓[/] {path}: {len(loaded.indicators)} indicators, {len(loaded.measures)} measures, "
            f"{len(loaded.indices)} indices; generated files current"
        )
        return
    generate(settings.dbt_project_dir, settings.contracts_dir, vars_file=settings.vars_file)
    out.mkdir(parents=True, exist_ok=True)
    (out / "kennzahlenkatalog.csv").write_text(export_csv(loaded), encoding="utf-8")
    (out / "kennzahlenkatalog.md").write_text(export_markdown(loaded), encoding="utf-8")
    console.print(
        f"[green]✓[/] {len(loaded.indicators)} indicators → {out / 'kennzahlenkatalog.csv'}, "
        f"{out / 'kennzahlenkatalog.md'}"
    )


@app.command("engine-check")
def engine_check(
    lake: Path = typer.Option(
        None,
        help="Folder for the check's lake (Parquet) and Spark's tables; default: engine-check/ in the lake.",
    ),
) -> None:
    """Build the dbt project on Apache Spark from the warehouse's sources and compare every model with DuckDB."""
    from .engine_check import check_spark
    from .engines import ENGINE_CHECK_LAKE
    from .locking import run_lock
    from .spark_build import require_spark

    settings = _settings()
    if not settings.warehouse_path.exists():
        err.print(f"[red]No warehouse at {settings.warehouse_path}: run the pipeline first.[/]")
        raise typer.Exit(2)
    # a lake of its own: a Spark run's warehouse reads the views' Parquet in settings.lake
    folder = lake or settings.lake / ENGINE_CHECK_LAKE
    try:
        require_spark()
        with run_lock(settings.warehouse_path, purpose="engine-check"):
            result = check_spark(settings, folder)
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    seconds = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    if not result.equal:
        for d in result.differences:
            err.print(f"[red]✗[/] {d.relation}: {d.problem}")
        err.print(f"[red]Spark and DuckDB differ in {len(result.differences)} place(s)[/] ({seconds}).")
        raise typer.Exit(1)
    rows = sum(result.rows.values())
    console.print(
        f"[green]✓[/] Spark builds what DuckDB built: {len(result.rows)} models and seeds, {rows:,} rows, "
        f"equal (counts and texts exactly, numbers to 1e-9) ({seconds})."
    )


@app.command()
def docs() -> None:
    """Generate the dbt lineage docs as one static HTML file that works offline."""
    from .pipeline import run_dbt

    settings = _settings()
    try:
        run_dbt(settings, ["docs", "generate", "--static"])
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    console.print(f"[green]✓[/] {settings.dbt_target_dir / 'static_index.html'}")


from .cli_release import gates_command, release_app  # noqa: E402

app.add_typer(release_app, name="release")
app.command("gates")(gates_command)
from .cli_index import index_app  # noqa: E402

app.add_typer(index_app, name="index")
from .cli_atlas import atlas_app  # noqa: E402

app.add_typer(atlas_app, name="atlas")
from .cli_report import report_command  # noqa: E402

app.command("report")(report_command)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
