"""The release folder: `releases/<Stichtag>/v<N>/`, each with a `manifest.json`, and
`releases/latest` pointing at the newest. Reading, verifying and comparing releases."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ..errors import SozialmonitorError
from ..warehouse import scratch, sql_string

MANIFEST = "manifest.json"
LATEST = "latest"
TMP_PREFIX = ".tmp-"
# what releases keep for later ones (release/gis.py: GeometryMemo); never part of a release
MEMO_DIR = ".memo"
VERSION = re.compile(r"^v(\d+)$")


PER_INDICATOR = ("indicator_id", "changed", "added", "removed", "suppression_changed", "max_abs_change")


class ReleaseNotFound(SozialmonitorError):
    exit_code = 1


@dataclass(frozen=True)
class Release:
    path: Path
    stichtag: date
    version: int

    @property
    def id(self) -> str:
        return f"{self.stichtag.isoformat()}/v{self.version}"

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))


def list_releases(releases_dir: Path) -> list[Release]:
    """Every complete release (one with a manifest), oldest Stichtag and version first."""
    out = []
    if not releases_dir.is_dir():
        return out
    for day_dir in releases_dir.iterdir():
        if not day_dir.is_dir() or day_dir.is_symlink() or day_dir.name.startswith("."):
            continue
        try:
            day = date.fromisoformat(day_dir.name)
        except ValueError:
            continue
        for version_dir in day_dir.iterdir():
            match = VERSION.match(version_dir.name)
            if match and (version_dir / MANIFEST).is_file():
                out.append(Release(version_dir, day, int(match.group(1))))
    return sorted(out, key=lambda r: (r.stichtag, r.version))


def latest_release(releases_dir: Path) -> Release | None:
    link = releases_dir / LATEST
    if not link.is_symlink():
        return None
    target = (releases_dir / os.readlink(link)).resolve()
    for release in list_releases(releases_dir):
        if release.path.resolve() == target:
            return release
    return None


def find_release(releases_dir: Path, ident: str) -> Release:
    """`latest`, `<Stichtag>` (its newest version) or `<Stichtag>/v<N>`."""
    releases = list_releases(releases_dir)
    if not releases:
        raise ReleaseNotFound(f"there are no releases in {releases_dir} yet")
    if ident == LATEST:
        found = latest_release(releases_dir)
        if found:
            return found
        raise ReleaseNotFound(f"{releases_dir / LATEST} does not point at a release")
    day, _, version = ident.strip("/").partition("/")
    candidates = [r for r in releases if r.stichtag.isoformat() == day]
    if version:
        candidates = [r for r in candidates if f"v{r.version}" == version]
    if not candidates:
        known = ", ".join(r.id for r in releases)
        raise ReleaseNotFound(f"no release {ident!r}; there are: {known}")
    return candidates[-1]


def update_latest(releases_dir: Path) -> Release | None:
    """Point `latest` at the newest release (highest Stichtag, then version), atomically."""
    releases = list_releases(releases_dir)
    if not releases:
        return None
    newest = releases[-1]
    link = releases_dir / LATEST
    target = newest.path.relative_to(releases_dir).as_posix()
    if link.is_symlink() and os.readlink(link) == target:
        return newest
    tmp = releases_dir / f"{TMP_PREFIX}latest-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, link)
    _fsync_dir(releases_dir)
    return newest


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def released_inputs(releases_dir: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(delivery, Stichtag) → (SHA-256 of the file, release id) for every input of every release;
    the delivery is the source, or `source@gemeinde` for one Gemeinde's part of a source delivered
    per Gemeinde (orchestration.ingest.loader.delivery_name)."""
    from ..ingest.loader import delivery_name

    out: dict[tuple[str, str], tuple[str, str]] = {}
    for release in list_releases(releases_dir):
        for item in release.manifest().get("inputs", []):
            if item.get("stichtag"):
                delivery = delivery_name(item["source"], item.get("gemeinde"))
                out[(delivery, item["stichtag"])] = (item["sha256"], release.id)
    return out


def verify(release: Release, trusted: set[str] | None = None) -> list[str]:
    """Recompute every checksum in the manifest and check the manifest's signature (signing.py):
    against the public key shipped in the release, and that key against the `trusted` fingerprints
    (none given: only the published demo key is accepted). Returns the problems found (none = intact)."""
    from ..ingest.loader import sha256_file
    from .signing import SIGNATURE, check_signature

    problems = []
    manifest = release.manifest()
    listed = set()
    for item in manifest.get("outputs", []):
        path = release.path / item["path"]
        listed.add(item["path"])
        if not path.is_file():
            problems.append(f"{item['path']}: missing")
            continue
        actual = sha256_file(path)
        if actual != item["sha256"]:
            problems.append(
                f"{item['path']}: checksum {actual[:16]}… differs from the manifest's {item['sha256'][:16]}…"
            )
        elif path.stat().st_size != item["bytes"]:
            problems.append(f"{item['path']}: size differs from the manifest")
    for path in sorted(release.path.rglob("*")):
        rel = path.relative_to(release.path).as_posix()
        if path.is_file() and rel not in (MANIFEST, SIGNATURE) and rel not in listed:
            problems.append(f"{rel}: not in the manifest")
    by_path = {item["path"]: item["sha256"] for item in manifest.get("outputs", [])}
    for name, table in manifest.get("public_tables", {}).items():
        if by_path.get(table["parquet"]) != table["sha256"]:
            problems.append(f"public table {name}: its checksum disagrees with the output list")
    atlas = manifest.get("atlas")
    if atlas and by_path.get(atlas["data"]["path"]) != atlas["data"]["sha256"]:
        problems.append("atlas data: its checksum disagrees with the output list")
    report = manifest.get("bericht")
    if report and by_path.get(report["data"]["path"]) != report["data"]["sha256"]:
        problems.append("report data: its checksum disagrees with the output list")
    for path in (report or {}).get("files", []):
        if path not in by_path:
            problems.append(f"{path}: a report file the manifest names but does not list with a checksum")
    if manifest.get("content_sha256") != content_digest(
        manifest.get("public_tables", {}), manifest.get("geo", {}), atlas, report
    ):
        problems.append("content_sha256 does not match the public tables, geometries, atlas and report data listed")
    problems += check_signature(release.path, trusted, MANIFEST).problems
    return problems


def content_digest(
    public_tables: dict[str, Any], geo: dict[str, Any], atlas: dict[str, Any] | None = None,
    report: dict[str, Any] | None = None,
) -> str:  # fmt: skip
    """One checksum over everything published that must be byte-identical for the same inputs: the
    public tables, the geometries and the atlas's data (the numbers and boundaries the atlas shows).
    The atlas's page and code are not content: they name the release id, like the German tables, and
    a change of the page alone publishes nothing new. (Releases made before the atlas have no
    `atlas` entry; their digest is unchanged.) The printed report counts by its content,
    `bericht/daten.json` (every figure and sentence it prints, the report's settings and the checksums
    of its templates): its PDFs name the release id, which is known only once the content is compared
    with the newest release, so they are checked against that document instead (publish, audit)."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(public_tables):
        digest.update(f"table {name} {public_tables[name]['sha256']}\n".encode())
    for name in sorted(geo):
        digest.update(f"geo {name} {geo[name]['sha256']}\n".encode())
    if atlas:
        digest.update(f"atlas data {atlas['data']['sha256']}\n".encode())
    if report:
        digest.update(f"report data {report['data']['sha256']}\n".encode())
    return digest.hexdigest()


def diff(a: Release, b: Release, threshold: float = 0.0, limit: int = 20) -> dict[str, Any]:
    """What changed between two releases' indicator values: per indicator and the largest changes."""

    pa = a.path / "data" / "indicator_values.parquet"
    pb = b.path / "data" / "indicator_values.parquet"
    con = scratch()
    try:
        con.execute(
            f"""create temp table d as
            select coalesce(x.indicator_id, y.indicator_id) as indicator_id, coalesce(x.level, y.level) as level,
                coalesce(x.area_id, y.area_id) as area_id, coalesce(x.stichtag, y.stichtag) as stichtag,
                x.value as value_a, y.value as value_b,
                case when x.indicator_id is null then 'added'
                     when y.indicator_id is null then 'removed'
                     when x.is_suppressed <> y.is_suppressed then 'suppression'
                     when x.value is distinct from y.value and abs(coalesce(y.value, 0) - coalesce(x.value, 0)) > ?
                        then 'changed'
                     else 'same' end as change
            from read_parquet({sql_string(pa)}) as x
            full outer join read_parquet({sql_string(pb)}) as y
                on x.indicator_id = y.indicator_id and x.level = y.level
                and x.area_id = y.area_id and x.stichtag = y.stichtag""",
            [threshold],
        )
        per_indicator = con.execute(
            """select indicator_id, count(*) filter (where change = 'changed') as changed,
                count(*) filter (where change = 'added') as added,
                count(*) filter (where change = 'removed') as removed,
                count(*) filter (where change = 'suppression') as suppression_changed,
                max(abs(value_b - value_a)) filter (where change = 'changed') as max_abs_change
            from d group by indicator_id having count(*) filter (where change <> 'same') > 0 order by indicator_id"""
        ).fetchall()
        largest = con.execute(
            """select indicator_id, level, area_id, stichtag, value_a, value_b, value_b - value_a as delta
            from d where change = 'changed' order by abs(value_b - value_a) desc, indicator_id, level, area_id, stichtag
            limit ?""",
            [limit],
        ).fetchall()
        areas = con.execute("select count(distinct level || ':' || area_id) from d where change <> 'same'").fetchone()[
            0
        ]
        totals = dict(con.execute("select change, count(*) from d group by change").fetchall())
    finally:
        con.close()
    return {
        "a": a.id,
        "b": b.id,
        "threshold": threshold,
        "totals": totals,
        "areas_changed": areas,
        "per_indicator": [dict(zip(PER_INDICATOR, row, strict=True)) for row in per_indicator],
        "largest": [
            dict(zip(("indicator_id", "level", "area_id", "stichtag", "value_a", "value_b", "delta"), row, strict=True))
            for row in largest
        ],
        "inputs_changed": _input_changes(a.manifest(), b.manifest()),
        "attributes_changed": _attribute_changes(a, b),
        "metadata_changed": _metadata_changes(a.manifest(), b.manifest()),
    }


# Tables whose rows describe rather than count: a change of a name or a definition is a change of
# the release even when no value changed. Table -> the columns that identify a row.
ATTRIBUTE_TABLES: dict[str, tuple[str, ...]] = {
    "areas": ("level", "area_id", "valid_from"),
    "indicator_catalogue": ("indicator_id",),
    "index_catalogue": ("index_id",),
}
# The manifest's parts that say how a release was made (not what it counts).
METADATA_KEYS = ("rules", "code", "tools", "signature")


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _rows(path: Path, keys: tuple[str, ...]) -> tuple[list[str], dict[tuple, dict[str, Any]]]:

    con = scratch()
    try:
        cur = con.execute("select * from read_parquet(?)", [str(path)])
        columns = [d[0] for d in cur.description]
        rows = [dict(zip(columns, map(_plain, row), strict=True)) for row in cur.fetchall()]
    finally:
        con.close()
    return columns, {tuple(r.get(k) for k in keys): r for r in rows}


def _attribute_changes(a: Release, b: Release) -> list[dict[str, Any]]:
    """Every changed field of the descriptive tables (area names, parents, validity; catalogue
    names, definitions, units ...): one entry per table, row and column; added and removed rows too."""
    out: list[dict[str, Any]] = []
    for table, keys in ATTRIBUTE_TABLES.items():
        pa, pb = a.path / "data" / f"{table}.parquet", b.path / "data" / f"{table}.parquet"
        if not pa.is_file() and not pb.is_file():
            continue
        if not pa.is_file() or not pb.is_file():
            out.append({"table": table, "key": "", "column": "", "change": "table added" if pb.is_file()
                        else "table removed", "before": None, "after": None})  # fmt: skip
            continue
        cols_a, rows_a = _rows(pa, keys)
        cols_b, rows_b = _rows(pb, keys)
        for column in sorted(set(cols_a) ^ set(cols_b)):
            out.append({"table": table, "key": "", "column": column, "change": "column added"
                        if column in cols_b else "column removed", "before": None, "after": None})  # fmt: skip
        common = [c for c in cols_a if c in cols_b and c not in keys]
        for key in sorted(set(rows_a) | set(rows_b), key=lambda k: tuple("" if v is None else str(v) for v in k)):
            label = " ".join("" if v is None else str(v) for v in key)
            ra, rb = rows_a.get(key), rows_b.get(key)
            if ra is None or rb is None:
                name = (rb or ra).get("area_name") or (rb or ra).get("name_de")
                out.append({"table": table, "key": label, "column": "", "change": "added" if ra is None
                            else "removed", "before": None if ra is None else name,
                            "after": name if ra is None else None})  # fmt: skip
                continue
            for column in common:
                if ra[column] != rb[column]:
                    out.append({"table": table, "key": label, "column": column, "change": "changed",
                                "before": ra[column], "after": rb[column]})  # fmt: skip
    return out


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}"))
        return out or {prefix: {}}
    return {prefix: value}


def _metadata_changes(ma: dict[str, Any], mb: dict[str, Any]) -> list[dict[str, Any]]:
    """How the releases were made, where it differs: rules (catalogue, dbt vars, gate configuration,
    contracts, disclosure), code commit, tool versions, signing key."""
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    for key in METADATA_KEYS:
        if key in ma:
            fa.update(_flatten(ma[key], key))
        if key in mb:
            fb.update(_flatten(mb[key], key))
    return [
        {"field": k, "before": fa.get(k), "after": fb.get(k)}
        for k in sorted(set(fa) | set(fb))
        if fa.get(k) != fb.get(k)
    ]


def _input_changes(ma: dict[str, Any], mb: dict[str, Any]) -> list[str]:
    def key(item):
        return (item["source"], item.get("stichtag") or "")

    ia = {key(i): i for i in ma.get("inputs", [])}
    ib = {key(i): i for i in mb.get("inputs", [])}
    out = []
    for k in sorted(set(ia) | set(ib)):
        if k not in ia:
            out.append(f"+ {k[0]} {k[1]}: {ib[k]['file']}")
        elif k not in ib:
            out.append(f"- {k[0]} {k[1]}: {ia[k]['file']}")
        elif ia[k]["sha256"] != ib[k]["sha256"]:
            out.append(f"~ {k[0]} {k[1]}: {ia[k]['file']} → {ib[k]['file']} (new checksum)")
    return out


def keep_memo_entry(path: Path, write: Callable[[Path], None] | None, keep: int) -> None:
    """One entry of a memo folder of `releases/.memo` (release/gis.py, release/lineage.py) after its
    release was published: written by `write` (into a file aside, then renamed: a killed run leaves
    no half file under its name), or, with `write` None, an entry the release read marked as
    recently used; then all but the `keep` most recently used entries of its kind are dropped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if write is None:
        if path.is_file():  # (a touch would make an empty file of one removed meanwhile)
            os.utime(path)
    else:
        aside = path.with_name(f".{path.stem}.{os.getpid()}{path.suffix}")
        write(aside)
        os.replace(aside, path)
    entries = sorted(path.parent.glob(f"*{path.suffix}"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in entries[keep:]:
        old.unlink(missing_ok=True)
