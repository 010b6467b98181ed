"""`sozialmonitor atlas …`: the Sozialatlas of a release, served locally, rebuilt, or made from an
external table and GeoJSON."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from .cli_common import STICHTAG_HELP, fail, parse_stichtag, release_ident
from .errors import SozialmonitorError
from .settings import Settings

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

atlas_app = typer.Typer(
    help="The Sozialatlas: serve a release's atlas on 127.0.0.1, rebuild it, or make one from external data.",
    no_args_is_help=True,
    add_completion=False,
)


def _release_path(release: str) -> Path:
    from .release import find_release

    path = Path(release)
    if (path / "manifest.json").is_file():
        return path
    try:
        return find_release(Settings.from_env().releases_dir, release_ident(release)).path
    except (SozialmonitorError, OSError) as exc:
        fail(exc)


def make_server(folder: Path, port: int = 0, host: str = "127.0.0.1"):
    """An HTTP server for the files under `folder` (only these), on `host` (default: this machine only)."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript; charset=utf-8"}

        def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    return ThreadingHTTPServer((host, port), handler)


@atlas_app.command("serve")
def serve_command(
    release: str = typer.Argument("latest", help="latest, <Stichtag>, <Stichtag>/v<N>, or a release or atlas folder."),
    port: int = typer.Option(8765, help="Port on 127.0.0.1 (0: any free port)."),
) -> None:
    """Serve a release on http://127.0.0.1:<port>/ (its atlas at /atlas/index.html) until Ctrl+C.
    Only this machine can connect; nothing outside the folder is served."""
    path = Path(release)
    atlas_only = (path / "index.html").is_file() and not (path / "manifest.json").is_file()
    folder = path if atlas_only else _release_path(release)
    try:
        server = make_server(folder, port)
    except OSError as exc:  # the port is taken, or not ours to open
        fail(exc)
    page = "index.html" if (folder / "index.html").is_file() else "atlas/index.html"
    console.print(f"Sozialatlas: http://127.0.0.1:{server.server_address[1]}/{page}  (Ctrl+C beendet)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@atlas_app.command("build")
def build_command(
    release: str = typer.Argument("latest", help="latest, <Stichtag>, <Stichtag>/v<N>, or a release folder."),
    out: Path = typer.Option(..., "--out", help="Folder to write the atlas into (replaced)."),
) -> None:
    """(Re)build the atlas of an existing release into a folder, e.g. while working on the atlas's code.
    Reads only the release's public files; links point back into the release."""
    from .release.atlas import build_atlas

    source = _release_path(release)
    if out.resolve() == (source / "atlas").resolve():
        err.print("[red]A published release never changes: write the rebuilt atlas into another folder.[/]")
        raise typer.Exit(2)
    try:
        info = build_atlas(source, out)
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    console.print(f"Atlas of {source} written to {out}: {', '.join(info['files'])} (data {info['bytes']:,} bytes)")


@atlas_app.command("external")
def external_command(
    geojson: Path = typer.Option(..., "--geojson", help="Areas as GeoJSON, WGS84 (.geojson or .geojson.gz)."),
    values: Path = typer.Option(..., "--values", help="CSV with one row per area (, or ;, decimal comma accepted)."),
    id_column: str = typer.Option("id", "--id-column", help="Column of the CSV with the area id (text)."),
    indicator: list[str] = typer.Option(
        ...,
        "--indicator",
        help="column[:Name[:unit[:direction[:topic]]]], repeatable; direction: "
        "lower_is_better, higher_is_better or neutral.",
    ),
    stichtag: str = typer.Option(..., "--stichtag", help=f"Stichtag of the values, {STICHTAG_HELP}."),
    title: str = typer.Option(..., "--title", help="Name of the city, shown as 'Sozialatlas <title>'."),
    level_name: str = typer.Option("Gebiet", "--level-name", help="German name of the areas' level."),
    level_plural: str = typer.Option("", "--level-plural", help="Its plural (default: the same)."),
    id_property: str = typer.Option("id", "--id-property", help="GeoJSON property with the area id."),
    name_property: str = typer.Option("name", "--name-property", help="GeoJSON property with the area name."),
    classes: Path | None = typer.Option(None, "--classes", help="CSV of published status/dynamics classes."),
    classes_id_column: str = typer.Option("id", "--classes-id-column"),
    status_column: str = typer.Option("status_index_klasse", "--status-column"),
    dynamics_column: str = typer.Option("dynamik_index_klasse", "--dynamics-column"),
    index_name: str = typer.Option("Status- und Dynamikindex", "--index-name"),
    source: str = typer.Option("", "--source", help="Source and licence, shown in the page's footer."),
    out: Path = typer.Option(..., "--out", help="Folder to write the atlas into."),
) -> None:
    """An atlas from an external table and GeoJSON (e.g. Berlin's MSS 2015 on its Planungsräume, docs/atlas.md)."""
    from .indices.mss import MssInputError
    from .release.atlas import write_data, write_page
    from .release.atlas.external import Classes, Column, external_model

    stichtag = parse_stichtag(stichtag).isoformat()  # the atlas's data hold it the ISO way
    try:
        columns = [Column.parse(spec) for spec in indicator]
        published = Classes(classes, classes_id_column, status_column, dynamics_column, index_name) if classes else None
        model, notes = external_model(
            geojson, values, id_column, columns, stichtag, title, "gebiet", level_name, level_plural or level_name,
            id_property, name_property, published,
        )  # fmt: skip
    except (MssInputError, ValueError, KeyError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    for note in notes:
        err.print(f"[yellow]{note}[/]")
    try:
        info = write_data(model, out)
        write_page(out, model, f"{title}, Stichtag {stichtag}", source, links=[])
    except (SozialmonitorError, OSError) as exc:
        fail(exc)
    console.print(f"Atlas written to {out}/index.html (data {info['bytes']:,} bytes)")
