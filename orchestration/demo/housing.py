"""Housing stock (Stadtplanungsamt) and environment (Umweltamt) per Baublock.

Housing: every residential block starts with about one dwelling per 1.8–2.2 residents (main residence,
at the first Stichtag; people at addresses missing from the register live in real buildings too),
an average dwelling size of about 55–95 m² that falls with block poverty, and a share of social
dwellings of 0–40 % that rises with it. Year by year a few dwellings are completed (infill everywhere,
now and then a larger project), a share of them social, while the social-housing bindings of older
dwellings expire. Parks and industrial estates have no dwellings. The extract itself is aggregated
per Stadtviertel (see `simulation.Simulation.housing` and `sources/planung.py`).

Environment: block area from the block polygon (as rounded in the GeoJSON), green space and area
exposed to road noise of Lden ≥ 65 dB. Parks are mostly green, industrial estates mostly loud,
residential blocks greener and quieter away from the dense centre. Green space changes a little from
year to year; the noise figures change only with a new round of the EU noise mapping (every 5 years).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geography import Geography
from .population import Snapshot
from .streams import Streams

PERSONS_PER_DWELLING = (1.8, 2.2)
P_PROJECT = 0.006  # chance per block and year of a larger building project
PROJECT_SIZE = (8, 60)  # dwellings
INFILL_RATE = 0.08  # dwellings per residential block and year
SOCIAL_SHARE_OF_NEW = 0.3
SOCIAL_EXPIRY = 0.025  # share of social dwellings whose binding ends each year
NOISE_MAPPING_YEAR = 2017  # a round of the EU noise mapping; one every 5 years
GREEN_TREND = -0.003  # per year: green space slowly lost to building


@dataclass
class HousingYear:
    """Housing stock per block index at 31.12. of `year` (every block; zero where nobody lives)."""

    year: int
    dwellings: np.ndarray
    living_space: np.ndarray  # m², one decimal
    social: np.ndarray
    completions: np.ndarray  # dwellings completed in the year


@dataclass
class EnvironmentYear:
    year: int
    area: np.ndarray  # m², one decimal
    green: np.ndarray
    noise: np.ndarray


def simulate_housing(
    geo: Geography, first: Snapshot, secondary: np.ndarray, years: tuple[int, ...], streams: Streams
) -> dict[int, HousingYear]:
    """Stock per block for each of `years` (consecutive), starting from the residents of `first`."""
    g = geo
    nb = g.n_blocks
    residential = g.residential
    main = ~secondary[first.pid]
    residents = np.bincount(g.addr_trait_block[first.addr[main]], minlength=nb)
    rng = streams.get("housing_stock")
    per_dwelling = rng.uniform(*PERSONS_PER_DWELLING, nb)
    dwellings = np.where(residential, np.round(residents / per_dwelling), 0).astype(np.int64)
    size = np.clip(75.0 - 8.0 * g.poverty + rng.normal(0.0, 5.0, nb), 55.0, 95.0)
    living = np.round(dwellings * size * np.exp(rng.normal(0.0, 0.02, nb)), 1)
    share = np.clip(0.10 + 0.10 * g.poverty + rng.normal(0.0, 0.05, nb), 0.0, 0.40)
    social = np.round(dwellings * share).astype(np.int64)
    out: dict[int, HousingYear] = {}
    for year in years:
        r = streams.get("housing_year", year)
        project = r.random(nb) < P_PROJECT
        built = r.poisson(INFILL_RATE, nb) + np.where(project, r.integers(PROJECT_SIZE[0], PROJECT_SIZE[1] + 1, nb), 0)
        completions = np.where(residential, built, 0).astype(np.int64)
        new_size = r.uniform(70.0, 100.0, nb)
        dwellings = dwellings + completions
        living = np.round(living + completions * new_size, 1)
        social = social - r.binomial(social, SOCIAL_EXPIRY) + r.binomial(completions, SOCIAL_SHARE_OF_NEW)
        out[year] = HousingYear(
            year=year, dwellings=dwellings, living_space=living, social=social, completions=completions
        )
    return out


def block_areas(geo: Geography) -> np.ndarray:
    """Area in m² (one decimal) of every block polygon, as rounded in baubloecke.geojson (shoelace)."""
    ring = np.round(geo.polygons, 2)
    x, y = ring[:, :, 0], ring[:, :, 1]
    return np.round(0.5 * np.abs(np.sum(x[:, :-1] * y[:, 1:] - x[:, 1:] * y[:, :-1], axis=1)), 1)


def simulate_environment(geo: Geography, years: tuple[int, ...], streams: Streams) -> dict[int, EnvironmentYear]:
    g = geo
    nb = g.n_blocks
    area = block_areas(g)
    rng = streams.get("environment")
    park = ~g.residential & (rng.random(nb) < 0.5)
    industry = ~g.residential & ~park
    green_share = np.select(
        [park, industry],
        [rng.uniform(0.70, 0.95, nb), rng.uniform(0.02, 0.12, nb)],
        np.clip(0.30 - 0.22 * g.density + rng.normal(0.0, 0.05, nb), 0.02, 0.60),
    )
    noise_share = np.select(
        [park, industry],
        [rng.uniform(0.0, 0.15, nb), rng.uniform(0.40, 0.90, nb)],
        np.clip(0.03 + 0.40 * g.density**2 + 0.04 * g.poverty + rng.normal(0.0, 0.06, nb), 0.0, 0.95),
    )
    out: dict[int, EnvironmentYear] = {}
    for year in years:
        r = streams.get("environment_year", year)
        trend = 1.0 + GREEN_TREND * (year - NOISE_MAPPING_YEAR)
        green = np.clip(area * green_share * trend * np.exp(r.normal(0.0, 0.004, nb)), 0.0, area)
        mapping = NOISE_MAPPING_YEAR + 5 * ((year - NOISE_MAPPING_YEAR) // 5)
        noise = area * np.clip(noise_share * np.exp(streams.get("noise_mapping", mapping).normal(0.0, 0.1, nb)), 0, 1)
        out[year] = EnvironmentYear(
            year=year,
            area=area,
            green=np.minimum(np.round(green, 1), area),
            noise=np.minimum(np.round(noise, 1), area),
        )
    return out
