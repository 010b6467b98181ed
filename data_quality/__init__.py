"""Release gates: Great Expectations suites over the marts and the raw ↔ mart reconciliation."""

from .gates import GateFailed, GateReport, load_config, run_gates
from .suites import SUITE_NAMES, SUITES

__all__ = ["SUITES", "SUITE_NAMES", "GateFailed", "GateReport", "load_config", "run_gates"]
