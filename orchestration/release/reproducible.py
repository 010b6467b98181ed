"""The dbt lineage docs without the build machine: `dbt docs generate --static` embeds the manifest
and the catalog as JSON into one HTML file, with the build's times (generated_at, invocation and run
start, each node's parse time), its invocation id, the anonymous dbt user id and the absolute paths
of the project and target folders. `scrub_lineage` rewrites both JSON documents: paths become
project-relative, times become the Stichtag (midnight UTC), ids are removed. Two builds of the same
project from the same inputs, in any folder, on any day, then give the same bytes.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

# keys whose value is a build time (ISO text, or seconds since the epoch for a node's created_at)
TIME_KEYS = frozenset({"generated_at", "invocation_started_at", "run_started_at", "created_at"})
ID_KEYS = frozenset({"invocation_id", "user_id"})
EMBEDDED = ("manifest:", "catalog:")  # where the docs' JavaScript holds the two JSON documents


def _scrub(value: Any, key: str | None, roots: list[tuple[str, str]], stamp: str, epoch: float) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, k, roots, stamp, epoch) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, None, roots, stamp, epoch) for v in value]
    if key in ID_KEYS:
        return None
    if key in TIME_KEYS and value is not None:
        return epoch if isinstance(value, int | float) else stamp
    if isinstance(value, str):
        for absolute, relative in roots:
            value = value.replace(absolute, relative)
    return value


def scrub_lineage(html: str, roots: dict[Path, str], stichtag: date) -> str:
    """`roots`: absolute folder -> what stands for it in the public file (e.g. the dbt project
    folder -> '.', the target folder -> 'target'); the longest folder is replaced first. The project
    folder as dbt recorded it (`_project_roots`) becomes '.' too: the folder dbt parsed need
    not be the one `roots` names (a manifest made from a copy of the project)."""
    moment = datetime(stichtag.year, stichtag.month, stichtag.day, tzinfo=UTC)
    stamp, epoch = moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment.timestamp()
    decoder = json.JSONDecoder()
    pieces, documents, pos = [], [], 0
    for marker in EMBEDDED:
        at = html.find(marker + "{", pos)
        if at < 0:
            raise ValueError(f"lineage docs: no embedded {marker[:-1]} found (dbt docs layout changed?)")
        start = at + len(marker)
        document, end = decoder.raw_decode(html, start)
        pieces.append(html[pos:start])
        documents.append(document)
        pos = end
    recorded = {(folder, ".") for folder in _project_roots(documents[0])}
    pairs = sorted(
        {(a, r) for p, r in roots.items() for a in (str(p), str(p.resolve()))} | recorded, key=lambda x: -len(x[0])
    )
    out = []
    for piece, document in zip(pieces, documents, strict=True):
        out += [piece, json.dumps(_scrub(document, None, pairs, stamp, epoch), sort_keys=True)]
    out.append(html[pos:])
    text = "".join(out)
    for absolute, _ in pairs:
        if absolute in text:
            raise ValueError(f"lineage docs: the build folder {absolute} is still in the file")
    return text


def _project_roots(manifest: dict[str, Any]) -> set[str]:
    """The folders dbt recorded as the root of the project itself (the `root_path` of its nodes,
    macros and sources; not those of dbt's own macros or of installed packages)."""
    project = (manifest.get("metadata") or {}).get("project_name")
    return {
        entry["root_path"]
        for kind in ("nodes", "macros", "sources")
        for entry in (manifest.get(kind) or {}).values()
        if isinstance(entry, dict)
        and entry.get("package_name") == project
        and isinstance(entry.get("root_path"), str)
        and entry["root_path"] not in ("", ".")
    }


def relative_config(path: str, project_dir: Path) -> str:
    """A configuration file as the public sees it: relative to the project, else its name only."""
    p = Path(path)
    try:
        return p.resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        return p.name
