"""Where things live. Every path can be moved with an environment variable, so tests and several
municipalities can run side by side without touching the repository."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]


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

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        project = Path(env("SOZIALMONITOR_PROJECT_DIR", PROJECT_DIR))
        warehouse = Path(env("SOZIALMONITOR_WAREHOUSE", project / "warehouse" / "sozialmonitor.duckdb"))
        return cls(
            project_dir=project,
            raw_dir=Path(env("SOZIALMONITOR_RAW_DIR", project / "raw")),
            warehouse_path=warehouse,
            quarantine_dir=Path(env("SOZIALMONITOR_QUARANTINE_DIR", project / "quarantine")),
            dbt_project_dir=project / "dbt_project",
            contracts_dir=Path(env("SOZIALMONITOR_CONTRACTS_DIR", Path(__file__).parent / "contracts")),
            dbt_target_dir=Path(env("SOZIALMONITOR_DBT_TARGET_DIR", project / "dbt_project" / "target")),
            releases_dir=Path(env("SOZIALMONITOR_RELEASES_DIR", project / "releases")),
        )

    def with_paths(self, **paths: Path) -> Settings:
        return replace(self, **{k: Path(v) for k, v in paths.items()})

    def env(self) -> dict[str, str]:
        """Environment that points child processes (dbt, Dagster) at the same places."""
        return {
            "SOZIALMONITOR_RAW_DIR": str(self.raw_dir),
            "SOZIALMONITOR_WAREHOUSE": str(self.warehouse_path),
            "SOZIALMONITOR_QUARANTINE_DIR": str(self.quarantine_dir),
            "SOZIALMONITOR_CONTRACTS_DIR": str(self.contracts_dir),
            "SOZIALMONITOR_DBT_TARGET_DIR": str(self.dbt_target_dir),
            "SOZIALMONITOR_RELEASES_DIR": str(self.releases_dir),
        }


PUBLISH_SETTING = "SOZIALMONITOR_DAGSTER_PUBLISH"


def dagster_publishes() -> bool:
    """SOZIALMONITOR_DAGSTER_PUBLISH=1 (off by default): the runs of Dagster's sensor and schedule
    publish the release too. Off, publishing is an operator's decision (Dagster's `publish_job`)."""
    return os.environ.get(PUBLISH_SETTING, "").strip().lower() in ("1", "true", "yes", "on")
