"""The release of a Stichtag as a Dagster asset: downstream of the marts and their blocking quality
gates, so a failed gate means no release. It runs the gates once more on exactly what it
publishes (the report goes into the release) and refuses to publish on a blocking failure."""

from collections.abc import Mapping
from datetime import date
from typing import Any

import dagster as dg

from data_quality import SUITES, GateFailed

from ...pipeline import gate_and_publish
from ...release import ReleaseRefused
from ...release.disclosure_audit import DisclosureAuditFailed
from ...release.public_models import PUBLIC_SCHEMA, REVIEW_KEY, REVIEWED
from ..ingest.assets import POOL
from ..partitions import STICHTAG_PARTITIONS
from ..resources import WarehouseResource
from ..runs import recorded_step

RELEASE_KEY = dg.AssetKey(["release"])
# the marts the release reads besides the schema `public`: the GIS export's Baublöcke per unit and
# their polygons, the SQL of the wide views
RELEASE_MARTS = ("dim_block_geometry", "dim_public_unit_blocks", "release_indicator_views")
DESCRIPTION = (
    "The immutable release of the Stichtag: `releases/<Stichtag>/v<N>/` with the public tables "
    "(Parquet and DuckDB), GeoJSON per level, the dbt lineage docs, the gate report and a "
    "manifest with the checksum of every input and output. Built aside and renamed into place; "
    "`releases/latest` is switched last. Same content as the newest version: nothing new is made."
)


class ReleaseConfig(dg.Config):
    force: bool = False  # publish a new version although the Stichtag is released (a correction)


def publishable_models(manifest: Mapping[str, Any]) -> list[str]:
    """The models of the schema `public` that carry the disclosure-review mark, as the manifest
    names them: what the release may publish (orchestration.release.public_models checks the
    contract, the mark's place and the manifest's freshness when it publishes)."""
    project = manifest["metadata"]["project_name"]
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node.get("resource_type") == "model"
        and node.get("package_name") == project
        and node.get("schema") == PUBLIC_SCHEMA
        and ((node.get("config") or {}).get("meta") or {}).get(REVIEW_KEY) == REVIEWED
    )


def release_deps(manifest: Mapping[str, Any]) -> list[dg.AssetKey]:
    gated = {tuple(s.target.split("/")) for s in SUITES}
    public = {(PUBLIC_SCHEMA, name) for name in publishable_models(manifest)}
    marts = {("marts", m) for m in RELEASE_MARTS}
    return [dg.AssetKey(list(k)) for k in sorted(gated | public | marts)]


def build_release_asset(manifest: Mapping[str, Any]) -> dg.AssetsDefinition:
    """The release asset, downstream of every publishable model of the dbt manifest the code
    location parsed (a new public model is a dependency without a change here)."""

    @dg.asset(
        key=RELEASE_KEY,
        group_name="release",
        partitions_def=STICHTAG_PARTITIONS,
        deps=release_deps(manifest),
        pool=POOL,
        kinds={"parquet", "duckdb", "geojson"},
        description=DESCRIPTION,
    )
    def release(context: dg.AssetExecutionContext, config: ReleaseConfig, warehouse: WarehouseResource):
        return _publish(context, config, warehouse)

    return release


def _publish(context: dg.AssetExecutionContext, config: ReleaseConfig, warehouse: WarehouseResource):
    settings = warehouse.settings()
    stichtag = date.fromisoformat(context.partition_key)
    with recorded_step(context, settings, "release", purpose="Dagster release") as outcome:
        try:
            result = gate_and_publish(settings, stichtag=stichtag, force=config.force, run_id=context.run.run_id[:12])
        except (GateFailed, ReleaseRefused, DisclosureAuditFailed) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        outcome.release = result
        outcome.gates_outcome = result.gates_outcome
    return dg.MaterializeResult(metadata=release_metadata(result))


def release_metadata(result) -> dict:
    """What a materialisation of the release records (a release.PublishResult); the CLI's runs
    report the same (orchestration/dagster_report.py)."""
    manifest = result.release.manifest()
    return {
        "release": result.release.id,
        "path": dg.MetadataValue.path(str(result.release.path)),
        "created": result.created,
        "gates": result.gates_outcome,
        "content_sha256": manifest["content_sha256"],
        "inputs": dg.MetadataValue.int(len(manifest["inputs"])),
        "files": dg.MetadataValue.int(len(manifest["outputs"])),
    }
