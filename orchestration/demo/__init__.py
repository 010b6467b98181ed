"""Musterstadt: a seeded, deterministic demo city that writes every department extract.

    from orchestration.demo import DemoConfig, generate, simulate
    sim = simulate(DemoConfig())                 # the truth, in memory
    paths = generate(Path("raw"), DemoConfig())  # the extracts, as the source contracts describe them

Modules: `config` (DemoConfig, sizes), `streams` (seeded random streams), `names`, `geography`
(blocks, areas), `addresses` (streets, addresses), `households` (household composition), `population` (yearly
dynamics), `benefits` (SGB II, BA, SGB XII, Wohngeld), `spelling` (addresses as typed), `truth`
(Simulation frames), `extracts` (file writers), `xlsx` (reproducible workbooks).
"""

from __future__ import annotations

from .config import DemoConfig
from .extracts import generate
from .truth import Simulation, simulate

__all__ = ["DemoConfig", "Simulation", "generate", "simulate"]
