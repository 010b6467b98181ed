"""`sozialmonitor report`: the printed report (Datenreport and Gebietsprofile) of a release,
regenerated from the release's public files, e.g. with a city's own templates or for one area."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from .cli_atlas import _release_path, console, err
from .cli_common import fail
from .errors import SozialmonitorError


def report_command(
    area: list[str] = typer.Option(
        [],
        "--area",
        help="Only the Gebietsprofil of this area: its id, or <Ebene>:<id> (repeatable). "
        "Without --area: the Datenreport and every profile.",
    ),
    release: str = typer.Option("latest", "--release", help="latest, <Stichtag>, <Stichtag>/v<N> or a release folder."),
    out: Path = typer.Option(Path("bericht"), "--out", help="Folder to write into (never a release's own folder)."),
    templates: Path | None = typer.Option(
        None,
        "--templates",
        help="Folder with the city's own templates (default: $SOZIALMONITOR_REPORT_TEMPLATES, "
        "else report/ in the project); see docs/report.md.",
    ),
) -> None:
    """Write the report of a release (or single profiles) as PDF, from the release's public files."""
    from .release.build import report_templates_dir
    from .settings import Settings

    source = _release_path(release)
    if out.resolve() == source.resolve() or source.resolve() in out.resolve().parents:
        err.print("[red]A published release never changes: write the report into another folder.[/]")
        raise typer.Exit(2)
    folder = templates or report_templates_dir(Settings.from_env())
    try:
        _write(source, out, folder, area)
    except (SozialmonitorError, OSError) as exc:
        fail(exc)


def _write(source: Path, out: Path, folder: Path, area: list[str]) -> None:
    from .release.report import build_report

    wanted = None
    if area:
        wanted = set()
        from .release.atlas import release_model
        from .release.report import build_document, load_templates

        document = build_document(source, release_model(source), load_templates(folder))
        known = {(p["ebene"], p["id"]) for p in document["profile"]}
        for item in area:
            level, _, ident = item.rpartition(":")
            found = {(lv, i) for lv, i in known if i == ident and (not level or lv == level)}
            if not found:
                err.print(
                    f"[red]No Gebietsprofil for {item!r}: profiles exist for "
                    f"{', '.join(sorted({lv for lv, _ in known}))} (see {source}/bericht/daten.json).[/]"
                )
                raise typer.Exit(2)
            wanted |= found
    started = time.perf_counter()
    files = build_report(source, out, folder if folder.is_dir() else None, areas=wanted, whole=not area)
    pdfs = [f for f in files if f.endswith(".pdf")]
    console.print(
        f"{len(pdfs)} PDF(s) written to {out} in {time.perf_counter() - started:.1f} s"
        + (f" (templates: {folder})" if folder.is_dir() else "")
    )
