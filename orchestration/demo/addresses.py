"""Streets and addresses of Musterstadt.

Streets run along the grid lines between Baublöcke, cut into segments of 2–20 blocks. Each address
lies on one side of one block and is numbered along its street: odd numbers on the left when
walking from the end nearer to the city centre, about 5 % of addresses with a letter suffix
('12a' next to '12'). Street keys are handed out alphabetically in steps, as in a street directory.

Behind the register's addresses come a few "phantom" addresses (existing streets, house numbers
beyond the street's last one) where people live but which the address register lacks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import names

CENTRE_X = 380_000.0
CENTRE_Y = 5_700_000.0
STREET_WIDTH = 14.0
# Share of register records whose address is missing from the address register.
UNKNOWN_ADDRESS_SHARE = 0.004


def _segments(length: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Cut a grid line of `length` blocks into streets of 2–20 blocks."""
    out = []
    pos = 0
    while pos < length:
        seg = int(rng.integers(2, 7)) if rng.random() < 0.7 else int(rng.integers(7, 21))
        seg = min(seg, length - pos)
        if length - pos - seg == 1:
            seg += 1
        out.append((pos, pos + seg))
        pos += seg
    return out


def build_streets(
    nx: int,
    ny: int,
    col_edges: np.ndarray,
    row_edges: np.ndarray,
    rng: np.random.Generator,
    centre: tuple[float, float] = (CENTRE_X, CENTRE_Y),
) -> dict:
    """Street segments along the horizontal and vertical grid lines, numbered from the end nearer
    to the city's centre."""
    centre_x, centre_y = centre
    h_street = np.full((ny + 1, nx), -1, dtype=np.int64)
    v_street = np.full((nx + 1, ny), -1, dtype=np.int64)
    direction: list[int] = []
    for j in range(ny + 1):
        y = row_edges[j]
        for a, b in _segments(nx, rng):
            sid = len(direction)
            h_street[j, a:b] = sid
            start = np.hypot(col_edges[a] - centre_x, y - centre_y)
            end = np.hypot(col_edges[b] - centre_x, y - centre_y)
            direction.append(1 if start <= end else -1)
    for i in range(nx + 1):
        x = col_edges[i]
        for a, b in _segments(ny, rng):
            sid = len(direction)
            v_street[i, a:b] = sid
            start = np.hypot(x - centre_x, row_edges[a] - centre_y)
            end = np.hypot(x - centre_x, row_edges[b] - centre_y)
            direction.append(1 if start <= end else -1)
    n = len(direction)
    pool = names.street_name_pool(needed=n - len(names.CLASSIC_STREETS))
    if n > len(names.CLASSIC_STREETS) + len(pool):
        raise ValueError(f"{n} streets need more names than the pool holds")
    weights = np.array([w for _name, w in pool])
    order = np.argsort(rng.exponential(size=len(pool)) / weights, kind="stable")
    chosen = list(names.CLASSIC_STREETS) + [pool[k][0] for k in order]
    street_names = np.array(chosen[:n], dtype=object)[rng.permutation(n)]
    return {"h": h_street, "v": v_street, "direction": np.array(direction), "names": street_names}


def _group_rank(group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a sorted group vector: index of each row's group start, and the row's rank in its group."""
    idx = np.arange(len(group))
    start = np.ones(len(group), dtype=bool)
    start[1:] = group[1:] != group[:-1]
    first = np.maximum.accumulate(np.where(start, idx, 0))
    return first, idx - first


def build_addresses(
    nx: int,
    col_edges: np.ndarray,
    row_edges: np.ndarray,
    residential: np.ndarray,
    density: np.ndarray,
    postcode: np.ndarray,
    streets: dict,
    n_target: int,
    rng: np.random.Generator,
) -> dict:
    n_blocks = len(residential)
    cols = np.arange(n_blocks) % nx
    rows = np.arange(n_blocks) // nx
    half = STREET_WIDTH / 2
    x0 = col_edges[cols] + half
    x1 = col_edges[cols + 1] - half
    y0 = row_edges[rows] + half
    y1 = row_edges[rows + 1] - half
    width, height = x1 - x0, y1 - y0

    # addresses per block: dense blocks have fewer but larger buildings
    lam = width * height * (1.3 - 0.6 * density) * residential
    lam = lam / lam.sum() * n_target
    per_block = np.where(residential, np.maximum(1, rng.poisson(lam)), 0)
    block = np.repeat(np.arange(n_blocks), per_block)
    n = len(block)

    side_weights = np.stack([width, height, width, height], 1)[block]
    side_cum = np.cumsum(side_weights / side_weights.sum(1, keepdims=True), 1)
    side = (side_cum < rng.random(n)[:, None]).sum(1).clip(0, 3)  # 0 bottom, 1 right, 2 top, 3 left
    t = rng.uniform(0.08, 0.92, n)
    c, r = cols[block], rows[block]
    bx0, bx1, by0, by1 = x0[block], x1[block], y0[block], y1[block]
    inset = 9.0 + rng.uniform(-1.0, 1.0, n)
    along_x = bx0 + t * (bx1 - bx0)
    along_y = by0 + t * (by1 - by0)
    x = np.select([side == 0, side == 1, side == 2], [along_x, bx1 - inset, along_x], bx0 + inset)
    y = np.select([side == 0, side == 1, side == 2], [by0 + inset, along_y, by1 - inset], along_y)
    h, v = streets["h"], streets["v"]
    street = np.select(
        [side == 0, side == 1, side == 2],
        [h[r, c], v[np.minimum(c + 1, v.shape[0] - 1), r], h[np.minimum(r + 1, h.shape[0] - 1), c]],
        v[c, r],
    )
    direction = streets["direction"][street]
    horizontal = (side == 0) | (side == 2)
    position = np.where(horizontal, x, y) * direction
    # walking in numbering direction, the left side gets the odd numbers
    odd = np.where(horizontal, (side == 0) ^ (direction < 0), (side == 1) ^ (direction < 0))

    order = np.lexsort((position, ~odd, street))
    street, odd, block, x, y = street[order], odd[order], block[order], x[order], y[order]
    group = street * 2 + (~odd).astype(np.int64)
    first, rank = _group_rank(group)
    flagged = (rng.random(n) < 0.055) & (rank > 0)
    plain = ~flagged
    plain_cum = np.cumsum(plain)
    base = plain_cum - plain_cum[first] + 1
    last_plain = np.maximum.accumulate(np.where(plain, np.arange(n), 0))
    suffix = np.arange(n) - last_plain
    number = np.where(odd, 2 * base - 1, 2 * base)
    if number.max() > 950:
        raise ValueError("a street got house numbers above 950; shorten the street segments")

    # street keys: alphabetical over the streets that have addresses, in steps
    used = np.unique(street)
    street_names = streets["names"]
    alpha = sorted(used.tolist(), key=lambda s: (names.sort_key_german(street_names[s]), street_names[s]))
    step = max(1, min(20, 99_999 // (len(used) + 1)))
    street_keys = np.zeros(len(street_names), dtype=np.int64)
    street_keys[np.array(alpha, dtype=np.int64)] = step * (np.arange(len(alpha)) + 1)

    # register order = address id order: by street key, house number, suffix
    final = np.lexsort((suffix, number, street_keys[street]))
    street, number, suffix, block, x, y = (a[final] for a in (street, number, suffix, block, x, y))
    weight = np.exp(rng.normal(0.0, 0.5, n)) * (1.0 + 10.0 * density[block] ** 1.5)

    # phantom addresses: existing streets, house numbers beyond the street's last number
    max_number = np.zeros(len(street_names), dtype=np.int64)
    np.maximum.at(max_number, street, number)
    n_phantom = max(3, round(n * UNKNOWN_ADDRESS_SHARE))
    ph_street = rng.choice(used, size=n_phantom, replace=n_phantom > len(used))
    occurrence = pd.Series(ph_street).groupby(ph_street).cumcount().to_numpy()
    ph_number = max_number[ph_street] + 2 * (occurrence + 1) + rng.integers(0, 2, n_phantom)
    # the block (and postcode) of a real address on the same street gives the phantom its traits
    first_on_street = np.full(len(street_names), -1, dtype=np.int64)
    first_on_street[street[::-1]] = np.arange(n)[::-1]
    ph_addr = first_on_street[ph_street]
    ph_weight = np.full(n_phantom, weight.sum() * UNKNOWN_ADDRESS_SHARE / (1 - UNKNOWN_ADDRESS_SHARE) / n_phantom)

    return {
        "street_names": street_names,
        "street_keys": street_keys,
        "street": np.concatenate([street, ph_street]),
        "number": np.concatenate([number, ph_number]),
        "suffix": np.concatenate([suffix, np.zeros(n_phantom, dtype=np.int64)]),
        "block": np.concatenate([block, np.full(n_phantom, -1)]),
        "trait_block": np.concatenate([block, block[ph_addr]]),
        "x": np.concatenate([x, np.full(n_phantom, np.nan)]),
        "y": np.concatenate([y, np.full(n_phantom, np.nan)]),
        "postcode": np.concatenate([postcode[block], postcode[block[ph_addr]]]),
        "weight": np.concatenate([weight, ph_weight]),
        "n_real": n,
    }
