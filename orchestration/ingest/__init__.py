"""Ingestion of department extracts into the warehouse's raw schema, by written contract."""

from .contracts import Contract, ContractError, load_contracts
from .loader import IngestFailed, IngestReport, ingest
from .reading import Violation

__all__ = ["Contract", "ContractError", "IngestFailed", "IngestReport", "Violation", "ingest", "load_contracts"]
