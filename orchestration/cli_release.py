"""`sozialmonitor release …` and `sozialmonitor gates`: releases for engineers and auditors."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .cli_common import fail, parse_stichtag
from .errors import SozialmonitorError
from .settings import Settings

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

release_app = typer.Typer(
    help="Immutable releases: list, show, compare, verify, create.", no_args_is_help=True, add_completion=False
)


def open_warehouse_read_only(settings: Settings):
    """The warehouse opened read-only, or a clear exit: 1 when there is none, 3 while a run holds it."""
    import duckdb

    from .locking import RunInProgress
    from .warehouse import connect

    if not settings.warehouse_path.exists():
        console.print(f"No warehouse yet at {settings.warehouse_path}. Run `make run`.")
        raise typer.Exit(1)
    try:
        return connect(settings.warehouse_path, read_only=True, extensions=())
    except duckdb.IOException as exc:
        err.print(f"[yellow]The warehouse is busy (a run holds it): {exc}[/]")
        raise typer.Exit(RunInProgress.exit_code) from exc


def _find(ident: str):
    from .cli_common import release_ident
    from .release import find_release

    try:
        return find_release(Settings.from_env().releases_dir, release_ident(ident))
    except (SozialmonitorError, OSError) as exc:
        fail(exc)


@release_app.command("list")
def list_command() -> None:
    """Every release, oldest first; the one `latest` points at is marked."""
    from .release import list_releases
    from .release.store import latest_release

    releases_dir = Settings.from_env().releases_dir
    releases = list_releases(releases_dir)
    if not releases:
        console.print(f"No releases in {releases_dir} yet. `make run` makes one.")
        return
    latest = latest_release(releases_dir)
    console.print(f"Releases in {releases_dir}:")
    for r in releases:
        m = r.manifest()
        console.print(
            f"  {r.id:<16} Stichtag {r.stichtag:%d.%m.%Y}  created {_created(r)}  "
            f"gates {m.get('gates', {}).get('outcome', '?'):<20} inputs {len(m.get('inputs', [])):>3}  "
            f"commit {(m.get('code', {}).get('git_commit') or '?')[:10]}"
            + ("  ← latest" if latest and latest.path == r.path else "")
        )


def _created(release) -> str:
    """When the release was made: the time of its manifest file (the manifest itself holds no build
    time, so that the same inputs give the same bytes; the run log ops.pipeline_runs has the rest)."""
    stamp = (release.path / "manifest.json").stat().st_mtime
    return datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="seconds")


@release_app.command("show")
def show_command(ident: str = typer.Argument("latest", help="latest, <Stichtag> or <Stichtag>/v<N>.")) -> None:
    """What a release holds: inputs, public tables, gate outcome, rules, versions."""
    release = _find(ident)
    m = release.manifest()
    console.print(f"[bold]Release {release.id}[/] — {release.path}")
    console.print(
        f"created {_created(release)}, commit {m['code'].get('git_commit')}"
        + (" (uncommitted changes)" if m["code"].get("git_dirty") else "")
        + (f"; supersedes {m['supersedes']}" if m.get("supersedes") else "")
    )
    gates = m.get("gates", {})
    console.print(
        f"Quality gates: {gates.get('outcome')} — {gates.get('passed')}/{gates.get('expectations')} expectations, "
        f"{gates.get('warnings')} warning(s); report: {gates.get('report')}"
    )
    inputs = Table(title="Inputs (files in raw/ as loaded)")
    for col in ("source", "Stichtag", "file", "rows", "SHA-256"):
        inputs.add_column(col)
    for i in m.get("inputs", []):
        inputs.add_row(i["source"], i["stichtag"] or "reference", i["file"], f"{i['rows']:,}", i["sha256"][:16] + "…")
    console.print(inputs)
    tables = Table(title="Public tables")
    for col in ("table", "rows", "Parquet", "SHA-256"):
        tables.add_column(col)
    for name, t in sorted(m.get("public_tables", {}).items()):
        tables.add_row(name, f"{t['rows']:,}", t["parquet"], t["sha256"][:16] + "…")
    console.print(tables)
    console.print(f"Content checksum (tables + geometries): {m.get('content_sha256')}")
    signature = m.get("signature")
    console.print(
        f"Signed ({signature['algorithm']}) by the key {signature['fingerprint']}"
        + (" — the published DEMO key" if signature.get("demo_key") else "")
        if signature
        else "Not signed (made before releases were signed)"
    )
    console.print("Rules: " + json.dumps(m.get("rules", {}).get("disclosure", {}), ensure_ascii=False))
    console.print("Tools: " + ", ".join(f"{k} {v}" for k, v in m.get("tools", {}).items()))


@release_app.command("verify")
def verify_command(
    ident: str = typer.Argument("latest", help="latest, <Stichtag> or <Stichtag>/v<N>."),
    fingerprint: list[str] = typer.Option(
        None, "--fingerprint", help="The signing key's fingerprint as the office published it (repeatable)."
    ),
) -> None:
    """Recompute every checksum in the release's manifest and check the manifest's signature against
    the office's published key fingerprint. Exit code 1 if anything differs or the signer is unknown."""
    from .release import verify
    from .release.signing import ENV_FINGERPRINTS, check_signature, trusted_fingerprints

    release = _find(ident)
    try:
        trusted = trusted_fingerprints(fingerprint or [])
        problems = verify(release, trusted)
        files = len(release.manifest().get("outputs", []))
        signed = check_signature(release.path, trusted)
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    if problems:
        err.print(f"[red]✗ {release.id}: {len(problems)} problem(s)[/]")
        for p in problems:
            err.print(f"  {p}", markup=False)
        raise typer.Exit(1)
    console.print(f"[green]✓[/] {release.id}: all {files} files match the manifest's checksums")
    if signed.demo:
        console.print(
            f"[green]✓[/] manifest signed with the published DEMO key (demo city): the signature shows that the "
            "files belong together, not who made them. For a real release give the office's published "
            f"fingerprint (--fingerprint or {ENV_FINGERPRINTS})."
        )
    else:
        console.print(f"[green]✓[/] manifest signed by the key with the published fingerprint {signed.fingerprint}")


@release_app.command("keygen")
def keygen_command(
    path: Path = typer.Argument(..., help="Where to write the private key (outside the repository)."),
) -> None:
    """Make the office's signing key: the private key to PATH (mode 0600), the public key to PATH.pub.
    Prints the fingerprint to publish. Existing files are never overwritten."""
    from .release.signing import ENV_SIGNING_KEY, write_key_pair

    settings = Settings.from_env()
    target = path.expanduser().absolute()
    inside = [root for root in (settings.project_dir, settings.releases_dir) if target.is_relative_to(root.absolute())]
    if inside:
        err.print(
            f"[red]{target} is inside {inside[0]}:[/] a signing key must never be committed or published. "
            "Choose a path outside the repository (e.g. /etc/sozialmonitor/signing.key)."
        )
        raise typer.Exit(1)
    if not target.parent.is_dir():
        err.print(f"[red]{target.parent} does not exist.[/] Create it first (readable only by the pipeline's user).")
        raise typer.Exit(1)
    try:
        fingerprint = write_key_pair(target)
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    console.print(f"[green]✓[/] private key {target} (mode 0600), public key {target}.pub")
    console.print(f"Fingerprint to publish: {fingerprint}")
    console.print(f"Use it: export {ENV_SIGNING_KEY}={target}  (docs/privacy.md, 'Signed releases')")


@release_app.command("diff")
def diff_command(
    a: str = typer.Argument(..., help="The older release."),
    b: str = typer.Argument("latest", help="The newer release."),
    threshold: float = typer.Option(0.0, help="Ignore changes of a value up to this size (in its unit)."),
    limit: int = typer.Option(20, help="How many of the largest changes to list."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Which indicators and areas changed between two releases, and by how much."""
    from .release import diff

    older, newer = _find(a), _find(b)
    try:
        result = diff(older, newer, threshold=threshold, limit=limit)
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    if as_json:
        console.print_json(json.dumps(result, default=str))
        return
    totals = result["totals"]
    console.print(
        f"[bold]{result['a']} → {result['b']}[/] (threshold {threshold:g}): "
        f"{totals.get('changed', 0)} values changed, {totals.get('added', 0)} added, {totals.get('removed', 0)} "
        f"removed, {totals.get('suppression', 0)} changed suppression, {totals.get('same', 0)} the same; "
        f"{result['areas_changed']} areas affected"
    )
    attributes, metadata = result["attributes_changed"], result["metadata_changed"]
    names = sum(1 for c in attributes if c["table"] == "areas")
    console.print(
        f"{names} change(s) of area names or attributes, {len(attributes) - names} of catalogue entries, "
        f"{len(metadata)} of rules, code, tools or signing key"
    )
    for line in result["inputs_changed"]:
        console.print(f"  input {line}", markup=False)
    if attributes:
        table = Table(title="Names and descriptions")
        for col in ("table", "row", "column", "change", "before", "after"):
            table.add_column(col)
        for c in attributes[:limit]:
            table.add_row(*(_safe(c[k]) for k in ("table", "key", "column", "change", "before", "after")))
        console.print(table)
        if len(attributes) > limit:
            console.print(f"  … and {len(attributes) - limit} more (--limit, or --json for all)")
    if metadata:
        table = Table(title="How the releases were made")
        for col in ("field", "before", "after"):
            table.add_column(col)
        for c in metadata[:limit]:
            table.add_row(_safe(c["field"]), _safe(c["before"]), _safe(c["after"]))
        console.print(table)
        if len(metadata) > limit:
            console.print(f"  … and {len(metadata) - limit} more (--limit, or --json for all)")
    if result["per_indicator"]:
        table = Table(title="Per indicator")
        for col in ("indicator", "changed", "added", "removed", "suppression", "max |Δ|"):
            table.add_column(col, justify="left" if col == "indicator" else "right")
        for row in result["per_indicator"]:
            table.add_row(
                row["indicator_id"],
                str(row["changed"]),
                str(row["added"]),
                str(row["removed"]),
                str(row["suppression_changed"]),
                f"{row['max_abs_change']:.4g}" if row["max_abs_change"] is not None else "",
            )
        console.print(table)
    if result["largest"]:
        table = Table(title="Largest changes")
        for col in ("indicator", "level", "area", "Stichtag", "before", "after", "Δ"):
            table.add_column(col)
        for row in result["largest"]:
            table.add_row(
                row["indicator_id"],
                row["level"],
                row["area_id"],
                str(row["stichtag"]),
                f"{row['value_a']:.4g}" if row["value_a"] is not None else "–",
                f"{row['value_b']:.4g}" if row["value_b"] is not None else "–",
                f"{row['delta']:+.4g}",
            )
        console.print(table)


def _safe(value) -> str:
    """A value for a terminal table: escaped (a control character in a name never acts on the screen),
    shortened, and never read as rich markup."""
    from rich.markup import escape

    from .release.public_text import shown

    return escape(shown("–" if value is None else str(value), width=60))


@release_app.command("audit")
def audit_command(
    ident: str = typer.Argument("latest", help="latest, <Stichtag> or <Stichtag>/v<N>."),
    cells: bool = typer.Option(False, "--cells", help="List every withheld cell with its interval (internal only)."),
    exact: bool = typer.Option(
        False, "--exact", help="Compute every withheld cell's exact attacker interval, not only a proof (slower)."
    ),
) -> None:
    """Rerun the disclosure audit of a release against the warehouse (INTERNAL: --cells shows which
    withheld cells are primary and their true values; never pass that output on)."""
    from .release.disclosure_audit import DisclosureAuditFailed, audit_release

    settings = Settings.from_env()
    release = _find(ident)
    manifest = release.manifest()
    width = float(manifest.get("rules", {}).get("dbt_vars", {}).get("disclosure_protection_width", 3))
    try:
        report = audit_release(
            release.path,
            settings.warehouse_path,
            settings.releases_dir,
            release.stichtag,
            width,
            exclude_release=release.id,
            exact=exact,
        )
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    console.print_json(json.dumps(report.figures(), default=str))
    if cells and report.cells:
        # without --exact a cell's interval is what the audit proved: the attacker's is at least as wide
        heading = "attacker interval" if exact else "proven within the attacker interval"
        table = Table("Stichtag", "level", "area", "measure", "reason", "value", heading, "width")
        for c in sorted(report.cells, key=lambda c: (str(c.stichtag), c.level, c.area_id, c.measure)):
            table.add_row(
                str(c.stichtag)[:10],
                c.level,
                c.area_id,
                c.measure,
                c.reason,
                f"{c.value:g}",
                f"[{c.low:g}, {c.high:g}]",
                f"{c.width:g}",
            )
        console.print(table)
    if not report.passed:
        raise typer.Exit(DisclosureAuditFailed.exit_code)


@release_app.command("create")
def create_command(
    force: bool = typer.Option(False, "--force", help="Publish a new version even though the Stichtag is released."),
    wait: float = typer.Option(0.0, min=0.0, help="If a run holds the warehouse, wait up to this many seconds."),
    stichtag: str = typer.Option(
        None,
        "--stichtag",
        help="Publish this Stichtag instead of the newest (2024-12-31 or 31.12.2024); a release holds every "
        "Stichtag up to its own, as Dagster's release of that partition does.",
    ),
) -> None:
    """Gate the warehouse as it is and publish its newest Stichtag, or --stichtag (no ingest, no dbt)."""
    from .locking import run_lock
    from .pipeline import gate_and_publish

    day = parse_stichtag(stichtag) if stichtag is not None else None  # before the warehouse is touched
    settings = Settings.from_env()
    try:
        with run_lock(settings.warehouse_path, purpose="release", wait=wait):
            result = gate_and_publish(settings, stichtag=day, force=force, progress=lambda m: console.print(f"  … {m}"))
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    verb = "published" if result.created else "unchanged, already published as"
    console.print(f"[green]✓[/] Release {verb} {result.release.id} ({result.gates_outcome})")


def gates_command(
    suite: list[str] = typer.Option(None, help="Only these suites (repeatable)."),
    all_results: bool = typer.Option(False, "--all", help="List passed expectations too."),
) -> None:
    """Run the quality gates against the warehouse and show every failed expectation."""
    from data_quality import SUITE_NAMES, GateFailed, run_gates

    for name in suite or ():  # before the warehouse is opened
        if name not in SUITE_NAMES:
            raise typer.BadParameter(
                f"{name!r} is not a suite; choose from: {', '.join(SUITE_NAMES)}.", param_hint="--suite"
            )
    settings = Settings.from_env()
    con = open_warehouse_read_only(settings)
    try:
        report = run_gates(con, suites=suite or None, levels=settings.project_vars.public_levels)
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    finally:
        con.close()
    table = Table(title="Quality gates")
    for col in ("suite", "result", "severity", "expectation", "observed"):
        table.add_column(col)
    for r in report.results:
        if r.success and not all_results:
            continue
        colour = {"passed": "green", "warning": "yellow", "blocked": "red"}[r.outcome]
        table.add_row(r.suite, f"[{colour}]{r.outcome}[/]", r.severity, r.description, r.observed)
        for example in r.examples[:3]:
            table.add_row("", "", "", "[dim]e.g.[/]", json.dumps(example, ensure_ascii=False), style="dim")
    console.print(table)
    s = report.summary()
    console.print(
        f"Outcome: {s['outcome']} — {s['passed']}/{s['expectations']} passed, "
        f"{s['blocking_failures']} blocking failure(s), {s['warnings']} warning(s)"
    )
    if report.blocking_failures:
        raise typer.Exit(GateFailed.exit_code)


@release_app.command("gemeinde")
def gemeinde_command(
    gemeinde: str = typer.Argument(..., help="The Gemeinde's key (AGS), e.g. 05999008."),
    out: Path = typer.Option(..., "--out", help="The DuckDB file to write (INTERNAL: for that Stadt's staff only)."),
    force: bool = typer.Option(False, "--force", help="Replace the file if it exists."),
) -> None:
    """A Kreis: one Stadt's own internal figures (not disclosure-controlled), without anything that
    rests on another Stadt's residents, for that Stadt's staff (docs/kreis.md, 'Who sees what')."""
    from .release.gemeinde_export import export_gemeinde

    settings = Settings.from_env()
    try:
        result = export_gemeinde(settings, gemeinde, out, force=force)
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    counts = ", ".join(f"{table} {n:,}" for table, n in result.rows.items())
    console.print(f"[green]✓[/] {result.name} ({result.gemeinde}): {counts} rows written to {result.path} (internal)")
