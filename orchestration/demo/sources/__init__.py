"""One module per department source of Musterstadt, each owning both sides of its source:

- `truth(raw, labels, streams)`: the department's frames of the `Simulation` (what really is, as
  far as the department records it), built from the shared simulation's raw data;
- `write(out, sim, con)`: its extract files for every Stichtag under the raw/ folder `out`, as its
  source contract describes them (encoding, layout, the agreed mess);
- `CONTRACTS`: the source contracts (orchestration/contracts/*.yml) it writes.

The shared simulation (geography, addresses, population, households, benefits, children, housing
and environment) stays outside, in the package's topic modules: who receives which benefit, for
example, is decided for all departments at once.
"""

from __future__ import annotations

from . import (
    arbeitsagentur,
    geo,
    gesundheitsamt,
    jobcenter,
    jugendamt,
    planung,
    register,
    schulamt,
    sozialamt,
    umwelt,
    wohngeld,
)

# Every department source, spatial reference first.
SOURCES = (
    geo,
    register,
    arbeitsagentur,
    jobcenter,
    sozialamt,
    wohngeld,
    gesundheitsamt,
    jugendamt,
    schulamt,
    planung,
    umwelt,
)

__all__ = ["SOURCES"]
