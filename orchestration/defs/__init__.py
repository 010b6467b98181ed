"""The Dagster code location, one folder per concern; `orchestration/definitions.py` assembles it."""
