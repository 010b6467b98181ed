"""What a release may publish: the dbt models of the schema `public` that passed a disclosure review,
read from the dbt manifest the pipeline's dbt run wrote (`<dbt target>/manifest.json`).

A model of the schema `public` may be published only when
- its dbt contract is enforced: dbt checks the names, order and types of its columns whenever it
  builds the table, and
- its own entry in its yml file carries the disclosure-review mark, set there after a disclosure
  review (docs/privacy.md):

      config:
        contract: {enforced: true}
        meta: {disclosure: reviewed}

The mark counts only in the model's own entry (never inherited from a folder in dbt_project.yml),
so a model added to `public` by mistake is refused even with a contract. The published columns are
the contract's; a warehouse table whose columns differ from its contract is refused too (built by
other code than the manifest describes).

The manifest must describe the project as it is: a model file changed, added or removed since
dbt last ran, or a changed contract or mark in a model's yml entry, makes it stale, and a stale
manifest publishes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ..yaml_text import load_yaml

PUBLIC_SCHEMA = "public"
MANIFEST_FILE = "manifest.json"
REVIEW_KEY = "disclosure"
REVIEWED = "reviewed"
MARK_HINT = (
    "After a disclosure review, mark the model in its entry of the yml file (e.g. "
    "dbt_project/models/public/_public.yml) with `config: {contract: {enforced: true}, meta: {disclosure: "
    "reviewed}}` and its columns with their data_type, then run the pipeline again; otherwise move the "
    "model out of the schema `public`."
)
RERUN_HINT = (
    "Run the pipeline again (sozialmonitor run; in Dagster: reload the code location, which parses the dbt "
    "project, and materialize again) so that dbt writes a manifest of the project as it is."
)
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]*(\([0-9, ]*\))?$")


class PublicModelsError(ValueError):
    """The manifest is missing or stale, or the schema `public` holds what may not be published."""


@dataclass(frozen=True)
class PublicModel:
    """A model of the schema `public` as the manifest describes it."""

    model: str  # the dbt model's name (pub_indicator_values)
    table: str  # the relation in the warehouse (indicator_values)
    yml: str  # its yml file, relative to the dbt project
    contract: bool
    reviewed: bool
    columns: tuple[tuple[str, str], ...]  # (name, data_type) in the contract's order
    position: int = 0  # of its entry in the yml file: the allow-list keeps the order the yml writes

    @property
    def publishable(self) -> bool:
        return self.contract and self.reviewed


def _dbt_checksum(path: Path) -> str:
    """The checksum dbt records for a model file: SHA-256 of its text without surrounding whitespace."""
    return hashlib.sha256(path.read_text(encoding="utf-8").strip().encode("utf-8")).hexdigest()


def read_manifest(target_dir: Path) -> dict[str, Any]:
    path = Path(target_dir) / MANIFEST_FILE
    if not path.is_file():
        raise PublicModelsError(
            f"there is no dbt manifest at {path}: the release takes what it may publish from the manifest "
            f"of the dbt run that built the warehouse. {RERUN_HINT}"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise PublicModelsError(f"{path} is not a dbt manifest ({exc}). {RERUN_HINT}") from None
    if not (
        isinstance(manifest, dict)
        and isinstance(manifest.get("nodes"), dict)
        and isinstance(manifest.get("metadata"), dict)
        and manifest["metadata"].get("project_name")
    ):
        raise PublicModelsError(f"{path} is not a dbt manifest (no nodes or project name). {RERUN_HINT}")
    return manifest


def _model_entry(project_dir: Path, yml: str, name: str) -> tuple[int, dict[str, Any] | None]:
    """The model's own entry in its yml file, and its position there."""
    path = project_dir / yml
    if not yml or not path.is_file():
        return 0, None
    document = load_yaml(path.read_text(encoding="utf-8")) or {}
    for position, entry in enumerate(document.get("models") or []):
        if isinstance(entry, dict) and entry.get("name") == name:
            return position, entry
    return 0, None


def _declared(entry: dict[str, Any] | None) -> tuple[bool, bool, tuple[tuple[str, str], ...]]:
    """(contract enforced, review mark, columns) as the model's own yml entry writes them."""
    if entry is None:
        return False, False, ()
    config = entry.get("config") or {}
    contract = bool((config.get("contract") or {}).get("enforced"))
    reviewed = (config.get("meta") or {}).get(REVIEW_KEY) == REVIEWED
    columns = tuple((str(c.get("name")), str(c.get("data_type"))) for c in entry.get("columns") or [])
    return contract, reviewed, columns


def public_models(project_dir: Path, target_dir: Path) -> dict[str, PublicModel]:
    """The models of the schema `public` by table name, from the manifest in `target_dir`, checked
    against the dbt project in `project_dir` (PublicModelsError when stale or missing)."""
    manifest = read_manifest(target_dir)
    project = manifest["metadata"]["project_name"]
    models = [
        n for n in manifest["nodes"].values() if n.get("resource_type") == "model" and n.get("package_name") == project
    ]
    stale = []
    known = {n["original_file_path"] for n in models} | {
        n.get("original_file_path") for versions in (manifest.get("disabled") or {}).values() for n in versions
    }
    for path in sorted((project_dir / "models").rglob("*")):
        rel = path.relative_to(project_dir).as_posix()
        if path.suffix in (".sql", ".py") and rel not in known:
            stale.append(f"{rel} is a model the manifest does not know")
    found: dict[str, PublicModel] = {}
    for node in models:
        source = project_dir / node["original_file_path"]
        if not source.is_file():
            stale.append(f"{node['original_file_path']} (in the manifest) no longer exists")
            continue
        if node["checksum"].get("name") == "sha256" and node["checksum"].get("checksum") != _dbt_checksum(source):
            stale.append(f"{node['original_file_path']} changed since dbt last ran")
        if node.get("schema") != PUBLIC_SCHEMA:
            continue
        yml = (node.get("patch_path") or "").split("://", 1)[-1]
        contract = bool((node.get("contract") or {}).get("enforced"))
        marked = ((node.get("config") or {}).get("meta") or {}).get(REVIEW_KEY) == REVIEWED
        columns = tuple((c["name"], str(c.get("data_type"))) for c in node.get("columns", {}).values())
        position, entry = _model_entry(project_dir, yml, node["name"])
        own_contract, own_mark, own_columns = _declared(entry)
        if own_mark and (not marked or (contract, columns) != (own_contract, own_columns)):
            stale.append(f"{yml}: the entry of {node['name']} (contract, review mark or columns) changed since dbt ran")
        # a mark the model's own entry does not carry (inherited from a folder's +meta) is no review
        table = node.get("alias") or node["name"]
        model = PublicModel(node["name"], table, yml, contract, marked and own_mark, columns, position)
        found[model.table] = model
    if stale:
        stale.sort()  # not in the manifest's order of nodes, which depends on the parses before
        raise PublicModelsError(
            f"the dbt manifest {Path(target_dir) / MANIFEST_FILE} is stale: "
            + "; ".join(stale[:5])
            + (f" (and {len(stale) - 5} more)" if len(stale) > 5 else "")
            + f". {RERUN_HINT}"
        )
    return found


def allowed_columns(models: dict[str, PublicModel]) -> dict[str, list[str]]:
    """What a release may publish: table -> its contract's columns (the release's allow-list)."""
    ordered = sorted(models.values(), key=lambda m: (m.yml, m.position, m.table))
    return {m.table: [name for name, _ in m.columns] for m in ordered if m.publishable}


def check_tables(con, database: str, tables: list[str], models: dict[str, PublicModel]) -> None:
    """Every table of the schema `public` of `database` (attached to `con`) must be a reviewed model
    with an enforced contract, with exactly the contract's columns (names, order, types)."""
    problems = []
    for table in tables:
        model = models.get(table)
        if model is None:
            problems.append(
                f"public.{table} is no dbt model of the manifest (made outside dbt, or the manifest is older "
                f"than the warehouse): only reviewed dbt models may be published. {RERUN_HINT}"
            )
        elif not model.contract:
            problems.append(
                f"public.{table} (model {model.model}) has no enforced dbt contract, so its columns are not "
                f"fixed and it may not be published. {MARK_HINT}"
            )
        elif not model.reviewed:
            problems.append(
                f"public.{table} (model {model.model}) has no disclosure-review mark in its own yml entry "
                f"({model.yml or 'none'}): only aggregates that passed disclosure control may be published. "
                f"{MARK_HINT}"
            )
        else:
            actual = con.execute(
                "select column_name, data_type from duckdb_columns() where database_name = ? and schema_name = ? "
                "and table_name = ? order by column_index",
                [database, PUBLIC_SCHEMA, table],
            ).fetchall()
            expected = [(name, _resolved_type(con, kind)) for name, kind in model.columns]
            if [(n, t.upper()) for n, t in actual] != expected:
                extra = sorted({n for n, _ in actual} - {n for n, _ in expected})
                problems.append(
                    f"public.{table} does not have the columns of its contract (model {model.model}, {model.yml})"
                    + (f": columns not in the contract: {', '.join(extra)}" if extra else "")
                    + f"; contract {_listed(expected)}, warehouse {_listed(actual)}. {RERUN_HINT}"
                )
    if problems:
        raise PublicModelsError("\n".join(problems))


def _listed(columns) -> str:
    return "(" + ", ".join(f"{n} {t.lower()}" for n, t in columns) + ")"


def _resolved_type(con, data_type: str) -> str:
    """A contract's data_type as DuckDB names it (int -> INTEGER, varchar -> VARCHAR)."""
    if not _TYPE.match(data_type):
        return data_type.upper()
    try:
        return str(con.execute(f"select typeof(cast(null as {data_type}))").fetchone()[0]).upper()
    except duckdb.Error:  # a type DuckDB does not know: compared as written, so it does not match
        return data_type.upper()
