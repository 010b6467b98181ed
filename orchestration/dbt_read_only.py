"""A dbt-duckdb plugin (profiles.yml, target `local`) that opens the warehouse read-only when
SOZIALMONITOR_DBT_READ_ONLY is 1, and changes nothing otherwise; and the process that runs the
release's lineage docs with it (`python -m orchestration.dbt_read_only`, started by
orchestration/release/lineage.py; here, so that the process imports dbt and little else).

The release's lineage docs (`dbt docs generate`, orchestration/release/lineage.py) only read the
warehouse, but dbt-duckdb opens its file for writing, which DuckDB grants one process at a time:
the docs had to wait until the quality gates' process and the export had let go of the file.
Read-only, they run in a process of their own beside the German tables and the PDFs. The switch is an
environment variable, read when dbt connects, and not a setting in the profile: dbt parses the
project again whenever the profile's connection settings differ from its saved parse, and the docs
use the build's parse (the process's environment is the release's otherwise, memory limit
included, for the same reason)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from .dbt_runner import run_dbt
from .provenance import die_with_parent
from .settings import Settings

READ_ONLY_SETTING = "SOZIALMONITOR_DBT_READ_ONLY"


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        if os.environ.get(READ_ONLY_SETTING) == "1":
            config["access_mode"] = "READ_ONLY"


def main(argv: list[str] | None = None) -> None:
    """`dbt docs generate --static` read-only, into `target`, for the warehouse the environment names."""
    parser = argparse.ArgumentParser(description="The release's lineage docs, read-only.")
    parser.add_argument("parent", type=int, help="the process this one dies with")
    parser.add_argument("dbt_project_dir", type=Path)
    parser.add_argument("target", type=Path, help="dbt's target folder for the docs")
    args = parser.parse_args(argv)
    die_with_parent(args.parent)
    os.environ[READ_ONLY_SETTING] = "1"
    settings = Settings.from_env().with_paths(dbt_project_dir=args.dbt_project_dir, dbt_target_dir=args.target)
    run_dbt(settings, ["docs", "generate", "--static", "--quiet"])


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - the parent shows the last lines of this process's stderr
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
