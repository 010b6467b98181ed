"""The dbt project as Dagster assets, grouped by dbt layer (staging, intermediate, marts,
reference). dbt sources carry `meta.dagster.asset_key` = ["raw", <source>], so the graph runs
unbroken from each raw extract asset to the marts. dbt tests become asset checks."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ...build_plan import plan_build, record_build, record_unplanned_build
from ...dbt_runner import DUCKDB_TARGET, plan_environment, scoped_environment, with_deployment_vars
from ...pipeline import prepare_dbt
from ...settings import Settings
from ..ingest.assets import POOL
from ..runs import recorded_step


class LayerTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


def dbt_project(settings: Settings) -> DbtProject:
    # the generated seeds, macro, docs and sources (git-ignored) must exist before dbt parses the project
    prepare_dbt(settings, released_cells=False)
    project = DbtProject(
        project_dir=settings.dbt_project_dir,
        profiles_dir=settings.dbt_project_dir,
        target_path=settings.dbt_target_dir,
    )
    with scoped_environment(settings.env()):  # under `dagster dev` it parses: this deployment's folders
        project.prepare_if_dev()
    return project


def is_subset(context: dg.AssetExecutionContext) -> bool:
    """Whether the run builds only some of the dbt assets or checks (as dagster_dbt tells)."""
    assets = context.assets_def
    return (
        assets.keys_by_output_name != assets.node_keys_by_output_name
        or assets.check_specs_by_output_name != assets.node_check_specs_by_output_name
    )


def build_dbt_assets(settings: Settings):
    project = dbt_project(settings)
    if not project.manifest_path.exists():
        raise FileNotFoundError(
            f"{project.manifest_path} is missing: run `sozialmonitor dbt-parse` (make dev does) first"
        )

    @dbt_assets(
        manifest=project.manifest_path,
        dagster_dbt_translator=LayerTranslator(),
        pool=POOL,
        name="sozialmonitor_dbt",
    )
    def sozialmonitor_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        if settings.checked_engine() != "duckdb":
            # dagster-dbt runs dbt as a child process, where dbt-spark cannot run the project's
            # Python models (orchestration/engines.py runs them in this process's Spark session)
            raise dg.Failure(
                f"The Dagster dbt asset builds on DuckDB only; SOZIALMONITOR_ENGINE is {settings.engine}. "
                "Build on Spark with `sozialmonitor run` (docs/deployment.md), or unset SOZIALMONITOR_ENGINE."
            )
        with recorded_step(context, settings, "dbt", purpose="Dagster dbt build"):
            # as `sozialmonitor run` does: catalogue files, published cells
            prepare_dbt(settings)
            run_id = context.run_id[:12]
            if is_subset(context):
                # a selection of the assets: every Stichtag of them, and the next build refreshes
                # fully (orchestration.build_plan)
                record_unplanned_build(settings, run_id, "Dagster dbt build of a selection", DUCKDB_TARGET)
                # the dbt child process inherits this step's environment: this run's warehouse and folders
                with scoped_environment({**settings.env(), **plan_environment()}):
                    args = with_deployment_vars(settings, ["build", "--full-refresh"])
                    yield from dbt.cli(args, context=context).stream()
                return
            # the whole project: as `sozialmonitor run`, only the Stichtage loaded since the last
            # build (the plan; dagster_dbt selects every node itself, so those that read only
            # reference data are built too)
            plan = plan_build(settings)
            args = ["build", *plan.dbt_arguments(select=False)]
            context.log.info(f"dbt: {plan.describe()}")
            record_build(settings, plan, run_id, "running", dbt_target=DUCKDB_TARGET)
            try:
                with scoped_environment({**settings.env(), **plan.dbt_environment()}):
                    yield from dbt.cli(with_deployment_vars(settings, args), context=context).stream()
            except BaseException:
                record_build(settings, plan, run_id, "failed")
                raise
            record_build(settings, plan, run_id, "succeeded")

    return project, sozialmonitor_dbt
