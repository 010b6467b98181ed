"""One Dagster asset per department extract (raw source), partitioned by Stichtag; a source that
each Stadt of a Kreis delivers for itself by Stichtag × Gemeinde (defs/partitions.py).

(No `from __future__ import annotations` here: Dagster inspects the `context` annotation at runtime.)

Each asset loads its source's file for the partition's Stichtag (and Gemeinde) through the source
contract. A file that breaks the contract fails the asset with the contract's message and is
quarantined, so nothing downstream runs on it. Every asset that touches the DuckDB file is in the
`duckdb` pool: one writer at a time (../shared/docs/stack.md).
"""

from datetime import date

import dagster as dg

from ...ingest import IngestFailed, ingest
from ...ingest.contracts import Contract, load_contracts
from ...release import released_inputs
from ...settings import Settings
from ...warehouse import connect
from ..partitions import DELIVERY_PARTITIONS, is_delivery, partition_parts
from ..resources import WarehouseResource
from ..runs import recorded_step

POOL = "duckdb"


def raw_asset_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


def _materialize(context: dg.AssetExecutionContext, warehouse: WarehouseResource, contract: Contract):
    settings = warehouse.settings()
    day, gemeinde = partition_parts(context)
    days = [date.fromisoformat(day)] if day else None
    purpose = f"Dagster load of {contract.source}"
    with recorded_step(context, settings, "ingest", purpose=purpose, keep_open=True) as outcome:
        con = connect(settings.warehouse_path)
        try:
            report = ingest(
                settings,
                con,
                sources=[contract.source],
                stichtage=days,
                released=released_inputs(settings.releases_dir),
                gemeinden=[gemeinde] if gemeinde else None,
            )
        except IngestFailed as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        finally:
            con.close()
        outcome.files = (
            sum(r.status == "loaded" for r in report.results),
            sum(r.status == "unchanged" for r in report.results),
            len(report.rejected),
        )
        missing = (
            f"No file for source '{contract.source}'"
            + (f" and Stichtag {days[0]}" if days else "")
            + (f" of Gemeinde {gemeinde}" if gemeinde else "")
            + f" in {settings.raw_dir / contract.directory} (pattern {contract.file_pattern})"
        )
        if not report.results and not gemeinde:
            raise dg.Failure(description=missing)
    if report.results:
        yield dg.MaterializeResult(metadata=load_metadata(report.results[-1]))
    else:
        # One Stadt without this source's file for the Stichtag (a Stadt without Stadtviertel has no
        # planning file; a late one has not delivered yet): its partition stays unmaterialised, which
        # the asset's partitions show; whether the Kreis may publish without it is the deliveries
        # gate's decision (gates.yml).
        context.log.info(missing)


def load_metadata(result) -> dict:
    """What a raw asset's materialisation records about its file (an ingest.IngestResult); the
    CLI's runs report the same (orchestration/dagster_report.py)."""
    return {
        "file": str(result.extract.path.name),
        "sha256": result.sha256,
        "status": result.status,
        "rows": dg.MetadataValue.int(result.rows),
        "footer_rows_dropped": dg.MetadataValue.int(result.footer_rows),
        "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
    }


def partitions_of(contract: Contract, stichtag_partitions: dg.PartitionsDefinition) -> dg.PartitionsDefinition | None:
    """A source's partitions: none for reference data, Stichtag × Gemeinde for one each Stadt
    delivers for itself, else the Stichtag."""
    if is_delivery(contract):
        return DELIVERY_PARTITIONS
    return stichtag_partitions if contract.period == "stichtag" else None


def build_raw_assets(settings: Settings, partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    assets = []
    for contract in load_contracts(settings.contracts_dir, settings.project_vars).values():
        # what its files are checked against while they load (Contract.checked_against), as the CLI's ingest
        # loads it first: a run with both materialises that first
        deps = sorted({raw_asset_key(source) for source in contract.checked_against}, key=str)
        columns = "\n".join(f"- `{c.name}` ← '{c.header}' ({c.type})" for c in contract.columns)

        def make(contract: Contract = contract, deps: list = deps, columns: str = columns):
            @dg.asset(
                key=raw_asset_key(contract.source),
                group_name="raw",
                description=(
                    f"{contract.title} — {contract.department}.\n\n{contract.description}\n\n"
                    # in code spans: Markdown would take the pattern's (?P<stichtag>…) for an HTML tag
                    f"Contract: `{contract.location}`; files: "
                    f"`raw/{contract.directory}/{contract.file_pattern}`\n\n{columns}"
                ),
                partitions_def=partitions_of(contract, partitions),
                deps=deps,
                pool=POOL,
                kinds={"duckdb", contract.format},
                output_required=False,  # a Stadt's partition without a file is not materialised
                metadata={"contract": contract.location},
            )
            def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
                yield from _materialize(context, warehouse, contract)

            return _asset

        assets.append(make())
    return assets
