"""Musterstadt: a seeded, deterministic demo city that writes every department extract.

    from orchestration.demo import DemoConfig, generate, simulate
    sim = simulate(DemoConfig())                 # the truth, in memory
    paths = generate(Path("raw"), DemoConfig())  # the extracts, as the source contracts describe them

A development package: the warehouse never depends on it. Only the front doors that make a demo city
(the CLI: `sozialmonitor demo-data`, and `sozialmonitor run` when raw/ is empty) and the benchmark
import it (import-linter contract in pyproject.toml); it imports nothing of the warehouse.

Shared simulation: `config` (DemoConfig, sizes), `streams` (seeded random streams), `names`,
`geography` (blocks, areas), `addresses` (streets, addresses), `households` (household composition),
`population` (yearly dynamics), `benefits` (SGB II, labour market, SGB XII, Wohngeld, decided
together), `children` (day care, school entry, transitions), `housing` (housing stock, environment),
`spelling` (addresses as typed).

One module per department source in `sources/`, each owning its truth frames and its extract
writer: `geo`, `register`, `arbeitsagentur`, `jobcenter`, `sozialamt`, `wohngeld`, `gesundheitsamt`,
`jugendamt`, `schulamt`, `planung`, `umwelt`.

Thin orchestration: `truth` (`simulate()`: the shared simulation, then every source's frames),
`simulation` (the `Simulation` frames and their raw data), `extracts` (`generate()`: every source's
files, then the demo marker). Helpers: `frames` (frame columns), `files` (German numbers, CSV),
`xlsx` (reproducible workbooks), `contracts` (the contracts for a city whose Stadtviertel codes are
longer than the demo's).

The Musterkreis: `kreis` (`simulate_kreis()`, `generate_kreis()`: 4 to 600 Städte, each simulated
as Musterstadt is with a `Gemeinde` identity of config.py that gives it Kreis-unique codes, written
as a Kreis deployment folder with raw/, contracts/ and vars.yml).
"""

from __future__ import annotations

from .config import DemoConfig
from .contracts import contracts_for, viertel_code_digits
from .extracts import generate
from .kreis import KreisConfig, KreisSimulation, generate_kreis, simulate_kreis
from .simulation import Simulation
from .truth import simulate

__all__ = [
    "DemoConfig",
    "KreisConfig",
    "KreisSimulation",
    "Simulation",
    "contracts_for",
    "generate",
    "generate_kreis",
    "simulate",
    "simulate_kreis",
    "viertel_code_digits",
]
