from __future__ import annotations

import dagster as dg

from ..settings import Settings


class WarehouseResource(dg.ConfigurableResource):
    """Where the warehouse, raw/ and quarantine/ are; empty fields fall back to the environment."""

    warehouse_path: str = ""
    raw_dir: str = ""
    quarantine_dir: str = ""

    def settings(self) -> Settings:
        settings = Settings.from_env()
        overrides = {
            k: v
            for k, v in {
                "warehouse_path": self.warehouse_path,
                "raw_dir": self.raw_dir,
                "quarantine_dir": self.quarantine_dir,
            }.items()
            if v
        }
        return settings.with_paths(**overrides) if overrides else settings
