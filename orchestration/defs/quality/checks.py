"""The release gates (data_quality/) as blocking Dagster asset checks.

One step runs every suite (Great Expectations is imported once) and reports one check per suite
on the mart it gates. A suite reads its dbt model in schema `gates` (a view on the mart): the check
depends on that model, so it runs after the view is built and the lineage shows what it reads.
A blocking expectation that fails makes its check fail with severity ERROR: Dagster then does not
materialise anything downstream, the release included. Warnings make the
check fail with severity WARN, which blocks nothing and is shown in the UI and the release report.
"""

import dagster as dg

from data_quality import SUITES
from data_quality.gates import ExpectationResult
from data_quality.suites import GATES_SCHEMA

from ...warehouse import connect
from ..ingest.assets import POOL
from ..resources import WarehouseResource
from ..runs import recorded_step


def _key(target: str) -> dg.AssetKey:
    return dg.AssetKey(target.split("/"))


def check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name=suite.name,
            asset=_key(suite.target),
            additional_deps=[dg.AssetKey([GATES_SCHEMA, suite.model])],
            blocking=True,
            description=f"Quality gate (Great Expectations suite '{suite.name}'): {suite.description}",
        )
        for suite in SUITES
    ]


def check_result(suite, results: list[ExpectationResult]) -> dg.AssetCheckResult:
    blocked = [r for r in results if r.outcome == "blocked"]
    warned = [r for r in results if r.outcome == "warning"]
    failed = blocked or warned
    return dg.AssetCheckResult(
        asset_key=_key(suite.target),
        check_name=suite.name,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocked else dg.AssetCheckSeverity.WARN,
        description="; ".join(f"{r.description} — {r.observed}" for r in failed)[:2000] or None,
        metadata={
            "expectations": dg.MetadataValue.int(len(results)),
            "passed": dg.MetadataValue.int(sum(r.success for r in results)),
            "blocking_failures": dg.MetadataValue.int(len(blocked)),
            "warnings": dg.MetadataValue.int(len(warned)),
            "failed": dg.MetadataValue.md(
                "\n".join(f"- **{r.outcome}** {r.description}: {r.observed}" for r in failed) or "none"
            ),
        },
    )


@dg.multi_asset_check(specs=check_specs(), pool=POOL, name="quality_gates", can_subset=True)
def quality_gates(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    from data_quality import run_gates

    settings = warehouse.settings()
    wanted = {key.name for key in context.selected_asset_check_keys}
    with recorded_step(context, settings, "gates", purpose="Dagster quality gates") as outcome:
        con = connect(settings.warehouse_path, read_only=True, extensions=())
        try:
            report = run_gates(con, suites=sorted(wanted), levels=settings.project_vars.public_levels)
        finally:
            con.close()
        outcome.gates_outcome = report.outcome
        if report.blocking_failures:  # Dagster fails this step after the results below
            outcome.failure = f"{len(report.blocking_failures)} blocking quality gate expectation(s) failed"
    for suite in SUITES:
        if suite.name in wanted:
            yield check_result(suite, report.for_suite(suite.name))
