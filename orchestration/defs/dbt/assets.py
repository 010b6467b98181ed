"""The dbt project as Dagster assets, grouped by dbt layer (staging, intermediate, marts,
reference). dbt sources carry `meta.dagster.asset_key` = ["raw", <source>], so the graph runs
unbroken from each raw extract asset to the marts. dbt tests become asset checks."""

import json
import signal
import subprocess
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource, DbtProject, dbt_assets

from ...build_plan import plan_build, record_build, record_unplanned_build
from ...dbt_runner import DUCKDB_TARGET, plan_environment, scoped_environment, with_deployment_vars
from ...pipeline import planned_dbt, prepare_dbt
from ...settings import Settings
from ..ingest.assets import POOL
from ..runs import recorded_step


class LayerTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


TRANSLATOR = LayerTranslator()


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
        dagster_dbt_translator=TRANSLATOR,
        pool=POOL,
        name="sozialmonitor_dbt",
    )
    def sozialmonitor_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        with recorded_step(context, settings, "dbt", purpose="Dagster dbt build"):
            run_id = context.run.run_id[:12]
            subset = is_subset(context)
            if settings.checked_engine() == "spark" and not subset:
                # the whole project on Spark: `sozialmonitor run`'s own dbt step, in this process
                yield from build_on_spark(context, settings, project, run_id)
                return
            # as `sozialmonitor run` does: catalogue files, published cells
            prepare_dbt(settings)
            if subset:
                # a selection of the assets: every Stichtag of them, and the next build refreshes
                # fully (orchestration.build_plan). On DuckDB whatever the engine, as a selection
                # given to `sozialmonitor dbt build` is (docs/deployment.md)
                record_unplanned_build(settings, run_id, "Dagster dbt build of a selection", DUCKDB_TARGET)
                # the dbt child process inherits this step's environment: this run's warehouse and folders
                with scoped_environment({**settings.env(), **plan_environment()}):
                    args = with_deployment_vars(settings, ["build", "--full-refresh"])
                    yield from streamed(dbt.cli(args, context=context))
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
                    yield from streamed(dbt.cli(with_deployment_vars(settings, args), context=context))
            except BaseException:
                record_build(settings, plan, run_id, "failed")
                raise
            record_build(settings, plan, run_id, "succeeded")

    return project, sozialmonitor_dbt


# how long a dbt child stopped by `streamed` may take to end before it is killed
STOP_SECONDS = 30


def streamed(invocation: DbtCliInvocation) -> Iterator[Any]:
    """The events of a dbt child process (dagster-dbt's `stream`), and the child stopped when
    taking them fails in this process (dagster-dbt meeting a node its manifest lacks, a bug of
    ours) or the step is closed: dagster-dbt only closes the child's output then, and the child
    built on, holding the warehouse's lock, so that each retry of the step failed on that lock
    (seen: three retries in 90 s, all refused). An interrupt dagster-dbt forwards itself."""
    try:
        yield from invocation.stream()
    except BaseException:
        stop(invocation.process)
        raise


def stop(process: subprocess.Popen) -> None:
    """End a child that still runs: interrupted first (SIGINT, as dagster-dbt forwards an interrupt:
    dbt cancels what runs and closes its connections), killed after STOP_SECONDS (DuckDB's file
    stays consistent after a kill too, as tests/release/test_faults.py checks)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# dbt's events that report a node's result: dagster-dbt turns them into outputs and check results
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})


def build_on_spark(context: dg.AssetExecutionContext, settings: Settings, project: DbtProject, run_id: str):
    """The whole project built on Spark by the CLI's own dbt step (`pipeline.planned_dbt`: the
    catalogue files and published cells prepared, the build planned (every Stichtag, or the
    rebuilt ones into the tables of the last Spark build) and recorded, the lake written, dbt on
    Spark of every node, its relations served in the warehouse, the DuckDB side's manifest),
    run in this step's process. dagster-dbt's way, dbt as a child process, cannot build on Spark:
    dbt-spark runs the project's Python models only in the session of the process that runs dbt
    (orchestration/engines.py), and serving needs that session too. dbt's result events, kept as
    dagster-dbt reads them from a child's JSON log, become the assets' outputs and check results
    once the relations are served. A failed build or serving reports none: Spark's tables reach the
    warehouse all at once or not at all (spark_build.serve), so no asset was materialized there; the
    step's error names the failed nodes."""
    from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
    from dbt_common.events.functions import msg_to_dict

    results: list[dict] = []

    def keep(event) -> None:
        # unit tests are no asset checks (dagster-dbt skips them too)
        if event.info.name in RESULT_EVENTS and not event.data.node_info.unique_id.startswith("unit_test."):
            results.append(msg_to_dict(event))

    def dagster_events():
        manifest = json.loads(project.manifest_path.read_text("utf-8"))  # the DuckDB side's, as the assets'
        for raw in results:
            if not _as_duckdb_node(raw, manifest):
                name = raw["data"]["node_info"].get("node_name")
                context.log.warning(f"dbt on Spark built {name}, which the assets' manifest does not know")
                continue
            message = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
            yield from message.to_default_asset_events(manifest, TRANSLATOR, context)

    context.log.info("dbt: the whole project on Spark, as the build plan says (docs/deployment.md)")
    # every node, as on DuckDB: an incremental plan's selection would leave assets without an
    # output, and Dagster would skip the gates and the release downstream of them
    _result, plan = planned_dbt(settings, ["build"], on_event=keep, run_id=run_id, select=False)
    if plan is not None:
        context.log.info(f"dbt on Spark: {plan.describe()}")
    yield from dagster_events()


def _as_duckdb_node(raw: dict, manifest: dict) -> bool:
    """Point a result event of the Spark build at its node in the DuckDB side's `manifest` (which
    the assets and checks were made from); False when it has none. Models and seeds have the same
    ids on both; a data test on a quoted column does not: its id's hash covers the column as
    quoted, `"current_date"` on DuckDB and `` `current_date` `` on Spark. Its name is the same on
    both (dbt makes it from the unquoted column), so it is found by name."""
    info = raw["data"].get("node_info", {})
    unique_id = info.get("unique_id")
    if unique_id in manifest["nodes"]:
        return True
    kind, name = unique_id.split(".")[0] if unique_id else None, info.get("node_name")
    same = [key for key, node in manifest["nodes"].items() if node["resource_type"] == kind and node["name"] == name]
    if len(same) != 1:
        return False
    info["unique_id"] = same[0]
    return True
