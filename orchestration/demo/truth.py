"""`simulate()`: the Musterstadt microdata ("truth") that every extract is written from.

Runs the shared simulation (geography and addresses, population dynamics with households, benefit
receipt, children, housing stock and environment), then lets each department's module in `sources/`
build its frames of the `Simulation` (see simulation.py for the frames and their columns). Tests and
analysts recompute indicators from these frames and compare them with what the warehouse derives
from the messy extracts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .benefits import Benefits, BenefitYear
from .children import Children
from .config import DemoConfig, sizes_for
from .frames import Labels, hex_keys
from .geography import build_geography
from .housing import simulate_environment, simulate_housing
from .population import City, Snapshot, YearEvents
from .simulation import RawData, Simulation
from .sources import SOURCES
from .streams import Streams

__all__ = ["RawData", "Simulation", "simulate"]


def simulate(cfg: DemoConfig) -> Simulation:
    """Run the seeded simulation in memory; pure (no files, no global state)."""
    streams = Streams(cfg.seed)
    geo = build_geography(sizes_for(cfg.residents, cfg.viertel_residents), streams, cfg.gemeinde)
    city = City(geo, streams)
    years = cfg.years
    city.populate(cfg.residents, years[0] - 1)
    benefits = Benefits(city, streams)
    wanted = {d.year for d in cfg.stichtag_dates}
    snapshots: dict[int, Snapshot] = {}
    events: dict[int, YearEvents] = {}
    results: dict[int, BenefitYear] = {}
    for year in years:
        year_events = city.step(year)
        snap = city.snapshot(year)
        result = benefits.year(snap)
        if year in wanted:
            snapshots[year], events[year], results[year] = snap, year_events, result
    children = Children(city, benefits, streams)  # after the last step: every person id exists
    stichtag_years = sorted(snapshots)
    housing = simulate_housing(geo, snapshots[stichtag_years[0]], city.people.secondary, years, streams)
    people = city.people
    raw = RawData(
        geo=geo,
        people=people,
        person_hex=hex_keys(people.key),
        household_code=city.household_codes(np.arange(len(city.households))),
        snapshots=snapshots,
        events=events,
        benefits=results,
        children={year: children.year(snapshots[year]) for year in stichtag_years},
        housing={year: housing[year] for year in stichtag_years},
        environment=simulate_environment(geo, tuple(stichtag_years), streams),
    )
    labels = Labels(raw)
    frames: dict[str, pd.DataFrame] = {}
    for source in SOURCES:
        own = source.truth(raw, labels, streams)
        if shared := frames.keys() & own.keys():
            raise RuntimeError(f"frames {sorted(shared)} built by two sources, again by {source.__name__}")
        frames.update(own)
    return Simulation(config=cfg, **frames, raw=raw)
