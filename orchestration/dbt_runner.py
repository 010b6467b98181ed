"""dbt in this process, pointed at one run's warehouse. Low level: it knows the settings and dbt,
nothing of the pipeline. What has to happen before dbt (the catalogue's generated files, the cells
earlier releases published) is the pipeline's business (orchestration.pipeline.run_dbt)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .errors import SozialmonitorError
from .settings import Settings
from .yaml_text import load_yaml

# The plan of an incremental build (orchestration.build_plan), as JSON, in the environment of the
# dbt process; empty: every Stichtag. The macros read it only while dbt executes
# (dbt_project/macros/build_plan.sql), so a new plan never makes dbt parse the project again.
PLAN_ENVIRONMENT = "SOZIALMONITOR_DBT_PLAN"
# profiles.yml's default target: the warehouse's DuckDB file (the Spark targets: spark_build.py)
DUCKDB_TARGET = "local"


def plan_environment(choices: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The environment variable that hands dbt the plan's `choices` (none: every Stichtag)."""
    return {PLAN_ENVIRONMENT: json.dumps(dict(choices), sort_keys=True) if choices else ""}


class DbtFailed(SozialmonitorError):
    exit_code = 4
    headline = "Run stopped in dbt:"


def with_deployment_vars(settings: Settings, command: list[str]) -> list[str]:
    """`command` with the deployment's vars (Settings.deployment_vars) given to dbt as `--vars`,
    under those the command gives itself. They are the same on every call of a deployment, so dbt's
    partial parse keeps working."""
    own = settings.deployment_vars
    if not own:
        return list(command)
    if "--vars" not in command:
        return [*command, "--vars", json.dumps(own, sort_keys=True)]
    at = command.index("--vars")
    given = load_yaml(command[at + 1]) or {}
    return [*command[:at], "--vars", json.dumps({**own, **given}, sort_keys=True), *command[at + 2 :]]


def dbt_args(settings: Settings, command: list[str]) -> list[str]:
    return [
        *with_deployment_vars(settings, command),
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(settings.dbt_target_dir),
    ]


@contextmanager
def scoped_environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in os.environ while the block runs, the previous state afterwards. dbt in this
    process reads `env_var()` (profiles.yml: the warehouse path) from os.environ and nowhere else;
    the process's environment is left as it was found."""
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in before.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_dbt(
    settings: Settings,
    command: list[str],
    on_event: Callable | None = None,
    plan: Mapping[str, Any] | None = None,
):
    """dbt in this process (no interpreter start-up), pointed at this run's warehouse; `plan`: the
    choices of an incremental build (none: every Stichtag)."""
    from dbt.cli.main import dbtRunner  # lazy: importing dbt costs seconds that most commands never need

    runner = dbtRunner(callbacks=[on_event] if on_event else [])
    with scoped_environment({**settings.env(), **plan_environment(plan)}):
        try:
            result = runner.invoke(dbt_args(settings, command))
        finally:
            _release_dbt_duckdb()
    if not result.success:
        failed = []
        res = result.result
        for node in getattr(res, "results", None) or []:
            if str(node.status) in ("error", "fail"):
                failed.append(f"  - {node.node.unique_id}: {node.message}")
        detail = "\n".join(failed) or str(result.exception or "see dbt's output above")
        raise DbtFailed(f"dbt {' '.join(command)} failed:\n{detail}")
    return result


def _release_dbt_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB database open in the process after dbt returns; close it so that
    this process (and others) can open the warehouse file again with our own settings."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a pinned dependency
        return
    env = getattr(DuckDBConnectionManager, "_ENV", None)
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()
