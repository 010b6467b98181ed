"""Where things live. Every path can be moved with an environment variable, so tests and several
municipalities can run side by side without touching the repository."""

from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, model_validator

from .errors import Place, SozialmonitorError, configuration_problems
from .yaml_text import load_yaml

PROJECT_DIR = Path(__file__).resolve().parents[1]
SHIPPED_CONTRACTS = Path(__file__).parent / "contracts"

# The values of dbt var `disclosure_method`, the one list: the project's vars, the dbt model
# disclosure_pattern and `sozialmonitor run --disclosure` are all checked against it.
DISCLOSURE_METHODS = ("suppression", "cell_key")


class ProjectConfigError(SozialmonitorError, ValueError):
    """dbt_project.yml's vars do not make a valid configuration."""

    exit_code = 11
    headline = "Run stopped: the project's configuration (dbt_project.yml) is invalid."
    hint = "Nothing was loaded. Fix the vars named above (comments in dbt_project.yml) and run again."


# The engine dbt builds on (docs/deployment.md): DuckDB, the default, in the warehouse file; or
# Apache Spark, from the lake (orchestration/spark_build.py). The lake: the Parquet folders Spark
# reads and writes, beside the warehouse unless moved.
ENGINE_SETTING = "SOZIALMONITOR_ENGINE"
ENGINES = ("duckdb", "spark")
LAKE_SETTING = "SOZIALMONITOR_LAKE"


class EngineSettingError(SozialmonitorError, ValueError):
    """SOZIALMONITOR_ENGINE names no engine this warehouse knows."""

    exit_code = 2
    headline = "Run stopped: SOZIALMONITOR_ENGINE names no known engine."
    hint = (
        "Nothing was loaded. Set SOZIALMONITOR_ENGINE to duckdb (the default) or spark "
        "(docs/deployment.md), or unset it, and run again."
    )


class ProjectVars(BaseModel):
    """The vars of dbt_project.yml that the Python side reads (the spatial levels, the disclosure
    method); the other vars are kept as they are and passed on. Read once per Settings."""

    model_config = ConfigDict(extra="allow", frozen=True)

    block_level: str
    nested_levels: list[str]
    non_nested_levels: list[str] = []
    public_levels: list[str]
    disclosure_method: Literal[DISCLOSURE_METHODS] = "suppression"  # type: ignore[valid-type]

    @property
    def levels(self) -> list[str]:
        """Every spatial level, smallest first: the block level, the nested ones, the others."""
        return [self.block_level, *self.nested_levels, *self.non_nested_levels]

    @property
    def levels_above_block(self) -> list[str]:
        """Every level but the block level: the levels of the Gebietsgliederung (contract geo_areas)
        and the levels a Baublock's membership may name (contract geo_block_membership). A Baublock
        belongs to one unit of the lowest nested level its Gemeinde has (a Stadtviertel, or a
        Stadtteil where the Gemeinde has no Stadtviertel, ...) and to one unit of every non-nested
        level; its units at the nested levels above follow from the parents in the Gebietsgliederung
        (dbt model int_block_memberships)."""
        return [*self.nested_levels, *self.non_nested_levels]

    @property
    def parent_levels(self) -> list[str]:
        """The levels a unit's parent may have (contract geo_areas, column parent_level): the nested
        levels, smallest first. A parent's level is higher than its child's: later in this list
        (every nested level is higher than a non-nested one)."""
        return list(self.nested_levels)

    @model_validator(mode="after")
    def _levels_fit(self) -> ProjectVars:
        if not self.nested_levels:
            raise ValueError("nested_levels needs at least one level (the Gemeinde)")
        levels = self.levels
        twice = sorted({level for level in levels if levels.count(level) > 1})
        if twice:
            raise ValueError(f"levels named twice: {', '.join(twice)}")
        unknown = [level for level in self.public_levels if level not in levels]
        if unknown:
            raise ValueError(f"public_levels {unknown} are not among the levels {levels}")
        if self.block_level in self.public_levels:
            raise ValueError(f"the block level '{self.block_level}' is never published: remove it from public_levels")
        return self

    def as_dict(self) -> dict[str, Any]:
        """All vars in the order dbt_project.yml writes them (the release manifest records them),
        a fresh copy the caller may change."""
        dumped = self.model_dump()
        order = self._order or list(dumped)
        return {key: copy.deepcopy(dumped[key]) for key in order}

    _order: list[str] = PrivateAttr(default_factory=list)

    @classmethod
    def load(cls, raw: dict[str, Any]) -> ProjectVars:
        found = cls.model_validate(raw)
        found._order = list(raw)
        return found


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    raw_dir: Path
    warehouse_path: Path
    quarantine_dir: Path
    dbt_project_dir: Path
    contracts_dir: Path
    dbt_target_dir: Path
    releases_dir: Path
    # A deployment's own dbt vars (a YAML mapping), over those of dbt_project.yml: a Kreis sets its
    # levels here (docs/kreis.md). None: dbt_project.yml's vars as they are.
    vars_file: Path | None = None
    # The thresholds of the release gates (data_quality/gates.yml unless a deployment has its own).
    gates_config: Path | None = None
    # The engine dbt builds on (ENGINES) and the lake Spark reads and writes (None: lake/ beside the
    # warehouse's folder).
    engine: str = "duckdb"
    lake_dir: Path | None = None

    @classmethod
    def from_env(cls) -> Settings:
        """The places of this run. SOZIALMONITOR_DEPLOYMENT_DIR names a deployment's folder (a Kreis:
        docs/kreis.md): its raw/, warehouse/, quarantine/, releases/ and dbt_target/ become the
        defaults, and so do its contracts/, vars.yml and gates.yml where it has them. Each single
        setting (SOZIALMONITOR_RAW_DIR, …) still overrides."""
        env = os.environ.get
        project = Path(env("SOZIALMONITOR_PROJECT_DIR", PROJECT_DIR))
        own = Path(env(DEPLOYMENT_SETTING)) if env(DEPLOYMENT_SETTING) else None
        home = own or project
        warehouse = Path(env("SOZIALMONITOR_WAREHOUSE", home / "warehouse" / DEFAULT_WAREHOUSE_FILE))

        def deployment_file(name: str) -> Path | None:
            return own / name if own is not None and (own / name).exists() else None

        vars_file = env(VARS_FILE_SETTING) or deployment_file("vars.yml")
        gates = env(GATES_CONFIG_SETTING) or deployment_file("gates.yml")
        dbt_project = Path(env(DBT_PROJECT_SETTING, project / "dbt_project"))
        return cls(
            project_dir=project,
            raw_dir=Path(env("SOZIALMONITOR_RAW_DIR", home / "raw")),
            warehouse_path=warehouse,
            quarantine_dir=Path(env("SOZIALMONITOR_QUARANTINE_DIR", home / "quarantine")),
            dbt_project_dir=dbt_project,
            contracts_dir=Path(env("SOZIALMONITOR_CONTRACTS_DIR") or deployment_file("contracts") or SHIPPED_CONTRACTS),
            dbt_target_dir=Path(
                # the project's own target folder: where its saved parse is shared (dbt_runner.shared_parse)
                env("SOZIALMONITOR_DBT_TARGET_DIR", own / "dbt_target" if own else dbt_project / "target")
            ),
            releases_dir=Path(env("SOZIALMONITOR_RELEASES_DIR", home / "releases")),
            vars_file=Path(vars_file) if vars_file else None,
            gates_config=Path(gates) if gates else None,
            engine=env(ENGINE_SETTING, "duckdb").strip().lower() or "duckdb",
            lake_dir=Path(env(LAKE_SETTING)) if env(LAKE_SETTING) else None,
        )

    @property
    def lake(self) -> Path:
        """The lake's folder: `lake_dir`, or lake/ beside the warehouse's folder; absolute, since the
        warehouse's views of a Spark build read its files by path from wherever the file is opened."""
        return (self.lake_dir or self.warehouse_path.parent.parent / "lake").absolute()

    def checked_engine(self) -> str:
        """The engine, refused (EngineSettingError) unless it is one of ENGINES."""
        if self.engine not in ENGINES:
            raise EngineSettingError(f"{ENGINE_SETTING}={self.engine!r}: the known engines are {', '.join(ENGINES)}.")
        return self.engine

    @cached_property
    def project_vars(self) -> ProjectVars:
        """dbt_project.yml's vars with the deployment's (`vars_file`) over them, read and checked
        once for these settings."""
        return read_project_vars(self.dbt_project_dir, self.vars_file)

    @cached_property
    def generated_dir(self) -> Path:
        """Where the files generated from the catalogue and the contracts go for this deployment
        (`generated_folder`), inside the dbt project."""
        return self.dbt_project_dir / generated_folder(self.contracts_dir, self.vars_file)

    @cached_property
    def deployment_vars(self) -> dict[str, Any]:
        """The deployment's own vars (`vars_file`), as dbt gets them on its command line; empty
        without a vars file."""
        return read_deployment_vars(self.vars_file)

    def with_paths(self, **paths: Path | None) -> Settings:
        return replace(self, **{k: None if v is None else Path(v) for k, v in paths.items()})

    def env(self) -> dict[str, str]:
        """Environment that points child processes (dbt, Dagster) at the same places."""
        return {
            "SOZIALMONITOR_RAW_DIR": str(self.raw_dir),
            "SOZIALMONITOR_WAREHOUSE": str(self.warehouse_path),
            "SOZIALMONITOR_QUARANTINE_DIR": str(self.quarantine_dir),
            "SOZIALMONITOR_CONTRACTS_DIR": str(self.contracts_dir),
            "SOZIALMONITOR_DBT_TARGET_DIR": str(self.dbt_target_dir),
            "SOZIALMONITOR_PROJECT_DIR": str(self.project_dir),
            # the dbt project itself: a child (the gates, the release asset of a Dagster job) runs
            # dbt on the project its parent built, not on the checkout's beside it
            DBT_PROJECT_SETTING: str(self.dbt_project_dir),
            "SOZIALMONITOR_RELEASES_DIR": str(self.releases_dir),
            ENGINE_SETTING: self.engine,
            LAKE_SETTING: str(self.lake),
            # dbt_project.yml's paths: this deployment's generated files
            GENERATED_SETTING: self.generated_dir.relative_to(self.dbt_project_dir).as_posix(),
            # a deployment's own files, where it has them (unset, a child finds what this process did)
            **({VARS_FILE_SETTING: str(self.vars_file)} if self.vars_file else {}),
            **({GATES_CONFIG_SETTING: str(self.gates_config)} if self.gates_config else {}),
        }


GENERATED_SETTING = "SOZIALMONITOR_GENERATED_DIR"
DBT_PROJECT_SETTING = "SOZIALMONITOR_DBT_PROJECT_DIR"
DEFAULT_GENERATED = "generated/default"
DEFAULT_WAREHOUSE_FILE = "sozialmonitor.duckdb"  # in the deployment's warehouse/ folder


def generated_folder(contracts_dir: Path, vars_file: Path | None) -> str:
    """The folder (relative to the dbt project) of the files generated for a deployment: the seeds,
    macros, dbt sources and unit-test fixture rendered from the catalogue, its contracts and its
    vars (orchestration/catalogue/render.py). The shipped contracts without a vars file (the city
    of this checkout, the test cities, `make lint`) use `generated/default`, which dbt_project.yml
    names when SOZIALMONITOR_GENERATED_DIR is unset. Any other deployment (a Kreis) uses
    `generated/<digest of its contracts and vars>`: two deployments of one checkout never rewrite
    each other's files, and the same contracts and vars give the same folder, wherever they lie (so
    the lineage docs of two such builds are the same bytes)."""
    if vars_file is None and contracts_dir.resolve() == SHIPPED_CONTRACTS.resolve():
        return DEFAULT_GENERATED
    digest = hashlib.sha256()
    files = sorted(p for p in contracts_dir.glob("*.yml") if p.is_file()) if contracts_dir.is_dir() else []
    for path in files:
        digest.update(f"contracts/{path.name}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    if vars_file is not None and vars_file.is_file():
        digest.update(b"vars\0" + hashlib.sha256(vars_file.read_bytes()).digest())
    return f"generated/{digest.hexdigest()[:16]}"


VARS_FILE_SETTING = "SOZIALMONITOR_VARS_FILE"
GATES_CONFIG_SETTING = "SOZIALMONITOR_GATES_CONFIG"
DEPLOYMENT_SETTING = "SOZIALMONITOR_DEPLOYMENT_DIR"


def read_deployment_vars(path: Path | None) -> dict[str, Any]:
    """The vars of a deployment's vars file (a YAML mapping of dbt vars); empty for None."""
    if path is None:
        return {}
    try:
        found = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectConfigError(f"{VARS_FILE_SETTING}={path}: no such file") from None
    except yaml.YAMLError as exc:
        raise ProjectConfigError(f"{path}: not valid YAML: {exc}") from None
    if found is None:
        return {}
    if not isinstance(found, dict) or not all(isinstance(key, str) for key in found):
        raise ProjectConfigError(f"{path}: expected a mapping of dbt var names to values, as in dbt_project.yml's vars")
    return found


def _unknown_vars(own: dict[str, Any], declared: dict[str, Any], vars_file: Path, project_file: Path) -> None:
    """A deployment sets only vars that dbt_project.yml declares: a misspelt name would otherwise
    be ignored without a word."""
    unknown = sorted(set(own) - set(declared))
    if unknown:
        raise ProjectConfigError(
            f"{vars_file}: {', '.join(repr(name) for name in unknown)} not among the vars of {project_file} "
            f"(it declares: {', '.join(declared)})"
        )


def read_project_vars(dbt_project_dir: Path, vars_file: Path | None = None) -> ProjectVars:
    """The vars of `dbt_project_dir`/dbt_project.yml with those of `vars_file` over them, checked
    (ProjectConfigError names the file and each problem). Settings.project_vars caches it; read it
    through Settings where there is one."""
    path = dbt_project_dir / "dbt_project.yml"
    project = load_yaml(path.read_text(encoding="utf-8")) or {}
    declared = project.get("vars") or {}
    own = read_deployment_vars(vars_file)
    if own:
        _unknown_vars(own, declared, vars_file, path)
    try:
        return ProjectVars.load({**declared, **own})
    except ValidationError as exc:
        # the location is the var's place in the file: field 'vars.disclosure_method'; with a
        # deployment's vars file, the problem may be in either file
        where = path if vars_file is None else f"{vars_file} over {path}"
        problems = configuration_problems(
            exc, file=where, model=ProjectVars, locate=lambda loc: Place(loc=("vars", *loc))
        )
        raise ProjectConfigError("\n".join(problems)) from None


PUBLISH_SETTING = "SOZIALMONITOR_DAGSTER_PUBLISH"


def dagster_publishes() -> bool:
    """SOZIALMONITOR_DAGSTER_PUBLISH=1 (off by default): the runs of Dagster's sensor and schedule
    publish the release too. Off, publishing is an operator's decision (Dagster's `publish_job`)."""
    return os.environ.get(PUBLISH_SETTING, "").strip().lower() in ("1", "true", "yes", "on")
