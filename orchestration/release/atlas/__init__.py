"""The Sozialatlas of a release: `atlas/` beside the public tables, opened from file:// or any
static web server, with no request outside the release folder and no third-party code.

- `data.js`: every number, area and boundary the atlas shows, read from the release's public files
  only (`model.release_model`; the format is described there). Built before the disclosure audit,
  which checks it (`check_atlas`), and part of the release's `content_sha256`.
- `index.html`, `atlas.js`, `atlas.css`: the page (hand-written, in `static/`), the page with the
  release's provenance (id, Stichtag, links to lineage.html and quality/gates.html) filled in.

Every file is byte-deterministic: the same release gives the same bytes.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from ...ingest.loader import sha256_file
from .model import dumps, loads, release_model

ATLAS_DIR = "atlas"
DATA_FILE = "data.js"
STATIC = ("atlas.js", "atlas.css")


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def write_data(model: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Write `data.js` into `out_dir` (created); returns path, bytes and checksum."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / DATA_FILE
    path.write_bytes(dumps(model).encode("utf-8"))
    return {"path": DATA_FILE, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


RELEASE_LINKS = (
    ("lineage.html", "Herkunft der Zahlen"),
    ("quality/gates.html", "Qualitätsprüfungen"),
    ("kennzahlenkatalog.html", "Kennzahlenkatalog"),
    ("LIESMICH.txt", "LIESMICH"),
)


def release_links(prefix: str = "..") -> list[tuple[str, str]]:
    """The release's documents, relative to the atlas folder (`prefix`: the way to the release)."""
    return [(f"{prefix}/{path}", text) for path, text in RELEASE_LINKS]


def write_page(
    out_dir: Path, model: dict[str, Any], release_id: str, licence: str = "",
    links: list[tuple[str, str]] | None = None,
) -> list[str]:  # fmt: skip
    """Write index.html (with the provenance filled in), atlas.js and atlas.css into `out_dir`.
    `links`: (href, text) shown beside the release id; default: the release's documents one folder
    up (lineage.html, quality/gates.html, kennzahlenkatalog.html, LIESMICH.txt)."""
    e = html.escape
    day = model["stichtag"] or ""
    anchors = "".join(f' · <a href="{e(href)}">{e(text)}</a>' for href, text in (
        release_links() if links is None else links))  # fmt: skip
    fields = {
        "title": e(model["title"]),
        "release": e(release_id),
        "stichtag": e(".".join(reversed(day.split("-"))) if day else ""),
        "stichtag_iso": e(day),
        "licence": e(f"Lizenz der Daten: {licence}" if licence else ""),
        "links": anchors,
    }
    page = _static("index.html")
    for key, value in fields.items():
        page = page.replace("{{" + key + "}}", value)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "index.html").write_bytes(page.encode("utf-8"))
    for name in STATIC:
        (out_dir / name).write_bytes(_static(name).encode("utf-8"))
    return ["index.html", *STATIC]


def build_atlas(
    release_dir: Path, out_dir: Path, release_id: str | None = None, licence: str | None = None
) -> dict[str, Any]:
    """The whole atlas of an existing release, written to `out_dir` (for development and for
    rebuilding; a release's own atlas is written by publish()). Links point into the release."""
    model = release_model(release_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    info = write_data(model, out_dir)
    prefix = Path(os.path.relpath(release_dir.resolve(), out_dir.resolve())).as_posix()
    files = write_page(
        out_dir, model, release_id or _release_id(release_dir),
        _licence(release_dir) if licence is None else licence, release_links(prefix),
    )  # fmt: skip
    return {**info, "files": [DATA_FILE, *files]}


def _manifest(release_dir: Path) -> dict[str, Any]:
    path = release_dir / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _release_id(release_dir: Path) -> str:
    return _manifest(release_dir).get("release", release_dir.name)


def _licence(release_dir: Path) -> str:
    """The licence as publish() names it, from the dbt vars the manifest records."""
    from ..metadata import licence

    dbt_vars = _manifest(release_dir).get("rules", {}).get("dbt_vars")
    if dbt_vars is None:
        return ""
    chosen = licence(dbt_vars)
    return f"{chosen['name']} ({chosen['id']})"


def check_atlas(release_dir: Path) -> list[str]:
    """Every number in the atlas's data is the published one: the atlas of `release_dir` against its
    own public files (the disclosure audit runs this). Returns the problems found."""
    path = release_dir / ATLAS_DIR / DATA_FILE
    if not path.is_file():
        return []
    shown = loads(path.read_text(encoding="utf-8"))
    expected = release_model(release_dir)
    problems = []
    for key in ("stichtage", "indicators", "values", "indices"):
        if shown.get(key) != expected.get(key):
            problems.append(f"atlas/{DATA_FILE}: {key} differ from the release's public tables")
    shown_ids = {level: a["ids"] for level, a in shown.get("geo", {}).get("areas", {}).items()}
    if shown_ids != {level: a["ids"] for level, a in expected["geo"]["areas"].items()}:
        problems.append(f"atlas/{DATA_FILE}: its areas differ from the release's geometries")
    return problems


__all__ = ["ATLAS_DIR", "DATA_FILE", "build_atlas", "check_atlas", "release_model", "write_data", "write_page"]
