"""A dbt-duckdb plugin (profiles.yml, target `local`) that opens the warehouse read-only when
SOZIALMONITOR_DBT_READ_ONLY is 1, and changes nothing otherwise.

The release's lineage docs (`dbt docs generate`, orchestration/release/lineage.py) only read the
warehouse, but dbt-duckdb opens its file for writing, which DuckDB grants one process at a time:
the docs had to wait until the quality gates' process and the export had let go of the file. Read
-only, they run in a process of their own beside the audit and the German tables. The switch is an
environment variable, read when dbt connects, and not a setting in the profile: dbt parses the
project again whenever the profile's connection settings differ from its saved parse, and the docs
use the build's parse."""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

READ_ONLY_SETTING = "SOZIALMONITOR_DBT_READ_ONLY"


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        if os.environ.get(READ_ONLY_SETTING) == "1":
            config["access_mode"] = "READ_ONLY"
