"""The spatial model of Musterstadt: Baublöcke, nested areas, Sozialräume, streets and addresses.

The city is a grid of slightly irregular rectangular Baublöcke separated by streets (EPSG:25832,
centred near x=380000, y=5700000, or shifted by its Gemeinde's offset in a Kreis). Areas are
contiguous rectangular tiles of that grid, nested Baublock ⊂ Stadtviertel ⊂ Stadtteil ⊂ Stadtbezirk
⊂ Gemeinde. Sozialräume are a second, non-nested tiling whose borders are offset from the Stadtteil
borders. One Stadtviertel is recut on 01.01.2022. Streets and addresses come from `addresses`.

Who the city is comes from its `Gemeinde` (config.py): AGS and name, the prefix of its codes, which
levels it publishes. A Gemeinde without Stadtbezirke or Stadtviertel is partitioned all the same
(the grid needs the tiles), but the missing level is never published: its Stadtteile hang on the
Gemeinde, its Baublöcke on the Stadtteile.

Address indices: 0..n_real-1 are the register's addresses; the "phantom" addresses behind them
exist in the city (people live there) but not in the address register, so any record that carries
one cannot be assigned to a Baublock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from . import names
from .addresses import CENTRE_X, CENTRE_Y, STREET_WIDTH, build_addresses, build_streets
from .config import (
    BASE_VALID_FROM,
    N_SOZIALRAUM_ROWS,
    RECUT_DATE,
    Gemeinde,
    Sizes,
)
from .streams import Streams

NON_RESIDENTIAL_SHARE = 0.04

Rect = tuple[int, int, int, int]  # i0, i1, j0, j1 (grid columns and rows, half-open)


@dataclass
class Geography:
    """Every spatial fact of the city; arrays are indexed by block index b = row * nx + column."""

    nx: int
    ny: int
    col_edges: np.ndarray
    row_edges: np.ndarray
    block_number: np.ndarray  # 1-based number behind the 5 digits of the Baublock code
    polygons: np.ndarray  # (blocks, 5, 2) closed counter-clockwise rings
    residential: np.ndarray
    bezirk: np.ndarray
    stadtteil: np.ndarray
    viertel_before: np.ndarray  # index into viertel_codes, valid until the recut
    viertel_after: np.ndarray  # valid from RECUT_DATE
    sozialraum: np.ndarray
    poverty: np.ndarray
    age_profile: np.ndarray
    foreign_share: np.ndarray
    density: np.ndarray
    postcode: np.ndarray
    bezirk_codes: list[str]
    bezirk_names: list[str]
    stadtteil_codes: list[str]
    stadtteil_names: list[str]
    stadtteil_bezirk: list[int]
    viertel_codes: list[str]
    viertel_names: list[str]
    viertel_stadtteil: list[int]
    recut_viertel: int
    recut_new: tuple[int, int]
    sozialraum_codes: list[str]
    sozialraum_names: list[str]
    street_names: np.ndarray  # object array of str
    street_keys: np.ndarray  # 0 for streets without addresses
    addr_street: np.ndarray
    addr_number: np.ndarray
    addr_suffix: np.ndarray  # 0 none, 1 'a', 2 'b', ...
    addr_block: np.ndarray  # -1 for phantom addresses
    addr_trait_block: np.ndarray  # block whose traits a phantom address shares
    addr_x: np.ndarray
    addr_y: np.ndarray
    addr_postcode: np.ndarray
    addr_weight: np.ndarray
    n_real_addresses: int
    gemeinde: Gemeinde

    @property
    def n_blocks(self) -> int:
        return self.nx * self.ny

    @property
    def block_codes(self) -> np.ndarray:
        prefix = self.gemeinde.code_prefix
        return np.array([f"{prefix}{n:05d}" for n in self.block_number], dtype=object)

    @property
    def address_ids(self) -> np.ndarray:
        """'A000001'… for register addresses, 'U00001'… for the phantom ones (in a Kreis with the
        Gemeinde's prefix after the letter: 'A004000001')."""
        n_real = self.n_real_addresses
        n_all = len(self.addr_street)
        prefix = self.gemeinde.code_prefix
        real = [f"A{prefix}{i + 1:06d}" for i in range(n_real)]
        phantom = [f"U{prefix}{i + 1:05d}" for i in range(n_all - n_real)]
        return np.array(real + phantom, dtype=object)


def build_geography(sizes: Sizes, streams: Streams, gemeinde: Gemeinde | None = None) -> Geography:
    gemeinde = gemeinde or Gemeinde()
    nx, ny = sizes.nx, sizes.ny
    centre = (CENTRE_X + gemeinde.offset_m[0], CENTRE_Y + gemeinde.offset_m[1])
    col_edges, row_edges, polygons = _grid(nx, ny, centre, streams.get("grid"))
    part = _partition(
        nx, ny, sizes.viertel_per_stadtteil, sizes.max_viertel_per_stadtteil, gemeinde, streams.get("partition")
    )
    n_sr_cols = gemeinde.sozialraum_columns
    sozialraum = _sozialraeume(nx, ny, part["stadtteil"], part["bezirk_row_cut"], n_sr_cols, streams)
    traits = _traits(nx, ny, part["stadtteil"], len(part["stadtteil_codes"]), streams.get("traits"))
    residential = _residential(part["viertel_before"], part["viertel_after"], streams.get("residential"))
    postcode = gemeinde.postcode_base + 100 * (part["bezirk"] + 1) + 10 * (part["stadtteil_rank"] // 2)
    streets = build_streets(nx, ny, col_edges, row_edges, streams.get("streets"), centre)
    addresses = build_addresses(
        nx,
        col_edges,
        row_edges,
        residential,
        traits["density"],
        postcode,
        streets,
        sizes.n_addresses,
        streams.get("addresses"),
    )
    sr_codes = list(gemeinde.sozialraum_codes or (f"SR{k + 1:02d}" for k in range(N_SOZIALRAUM_ROWS * n_sr_cols)))
    sr_names = _sozialraum_names(sozialraum, part["stadtteil"], part["stadtteil_names"])
    number = ((ny - 1 - np.arange(nx * ny) // nx) * nx + np.arange(nx * ny) % nx + 1).astype(np.int64)
    return Geography(
        nx=nx,
        ny=ny,
        col_edges=col_edges,
        row_edges=row_edges,
        block_number=number,
        polygons=polygons,
        residential=residential,
        bezirk=part["bezirk"],
        stadtteil=part["stadtteil"],
        viertel_before=part["viertel_before"],
        viertel_after=part["viertel_after"],
        sozialraum=sozialraum,
        poverty=traits["poverty"],
        age_profile=traits["age_profile"],
        foreign_share=traits["foreign_share"],
        density=traits["density"],
        postcode=postcode.astype(np.int64),
        bezirk_codes=part["bezirk_codes"],
        bezirk_names=part["bezirk_names"],
        stadtteil_codes=part["stadtteil_codes"],
        stadtteil_names=part["stadtteil_names"],
        stadtteil_bezirk=part["stadtteil_bezirk"],
        viertel_codes=part["viertel_codes"],
        viertel_names=part["viertel_names"],
        viertel_stadtteil=part["viertel_stadtteil"],
        recut_viertel=part["recut_viertel"],
        recut_new=part["recut_new"],
        sozialraum_codes=sr_codes,
        sozialraum_names=sr_names,
        street_names=addresses["street_names"],
        street_keys=addresses["street_keys"],
        addr_street=addresses["street"],
        addr_number=addresses["number"],
        addr_suffix=addresses["suffix"],
        addr_block=addresses["block"],
        addr_trait_block=addresses["trait_block"],
        addr_x=addresses["x"],
        addr_y=addresses["y"],
        addr_postcode=addresses["postcode"],
        addr_weight=addresses["weight"],
        n_real_addresses=addresses["n_real"],
        gemeinde=gemeinde,
    )


# --------------------------------------------------------------------------------------------------
# grid and polygons


def _grid(
    nx: int, ny: int, centre: tuple[float, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    widths = rng.uniform(110.0, 170.0, nx)
    heights = rng.uniform(90.0, 140.0, ny)
    col_edges = np.concatenate([[0.0], np.cumsum(widths)])
    row_edges = np.concatenate([[0.0], np.cumsum(heights)])
    col_edges += centre[0] - col_edges[-1] / 2
    row_edges += centre[1] - row_edges[-1] / 2
    cols = np.arange(nx * ny) % nx
    rows = np.arange(nx * ny) // nx
    half = STREET_WIDTH / 2
    x0 = col_edges[cols] + half
    x1 = col_edges[cols + 1] - half
    y0 = row_edges[rows] + half
    y1 = row_edges[rows + 1] - half
    jitter = rng.uniform(-2.5, 2.5, (nx * ny, 4, 2))
    corners = np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1), np.stack([x0, y1], 1)], 1)
    corners = corners + jitter
    polygons = np.concatenate([corners, corners[:, :1, :]], axis=1)
    return col_edges, row_edges, polygons


# --------------------------------------------------------------------------------------------------
# nested areas


def _split(rect: Rect, k: int, rng: np.random.Generator, min_cells: int, axis: int | None = None) -> list[Rect]:
    """Split a grid rectangle into k contiguous rectangles of about equal size (k-d style)."""
    if k == 1:
        return [rect]
    i0, i1, j0, j1 = rect
    k1 = k // 2
    k2 = k - k1
    w, h = i1 - i0, j1 - j0
    candidates = [axis] if axis is not None else ([0, 1] if w >= h else [1, 0])
    for ax in candidates:
        length, other = (w, h) if ax == 0 else (h, w)
        cuts = np.arange(1, length)
        ok = (cuts * other >= k1 * min_cells) & ((length - cuts) * other >= k2 * min_cells)
        if ok.any():
            ideal = length * k1 / k + rng.normal(0.0, 0.06 * length)
            cut = int(cuts[ok][np.argmin(np.abs(cuts[ok] - ideal))])
            break
    else:
        raise ValueError(f"cannot split grid rectangle {rect} into {k} parts of at least {min_cells} blocks")
    if ax == 0:
        first, second = (i0, i0 + cut, j0, j1), (i0 + cut, i1, j0, j1)
    else:
        first, second = (i0, i1, j0, j0 + cut), (i0, i1, j0 + cut, j1)
    return _split(first, k1, rng, min_cells, axis) + _split(second, k2, rng, min_cells, axis)


def _split_preferring(rect: Rect, k: int, rng: np.random.Generator, min_cells: int) -> list[Rect]:
    """`_split` into parts of at least `min_cells` blocks where the rectangle allows it, else of at
    least one: a 3 x 3 rectangle holds 8 blocks for two parts of 4, yet no straight cut gives them
    (small cities have such rectangles)."""
    if _cells(rect) >= k * min_cells:
        state = rng.bit_generator.state
        try:
            return _split(rect, k, rng, min_cells)
        except ValueError:
            rng.bit_generator.state = state  # the fallback draws as if the first attempt never ran
    return _split(rect, k, rng, 1)


def _cells(rect: Rect) -> int:
    return (rect[1] - rect[0]) * (rect[3] - rect[2])


def _north_west_first(rects: list[Rect]) -> list[Rect]:
    return sorted(rects, key=lambda r: (-(r[2] + r[3]), r[0] + r[1]))


def _partition(
    nx: int,
    ny: int,
    viertel_per_stadtteil: int,
    max_viertel_per_stadtteil: int,
    gemeinde: Gemeinde,
    rng: np.random.Generator,
) -> dict:
    """Stadtbezirke (two rows of them), Stadtteile, Stadtviertel and the recut. A Gemeinde without
    Stadtbezirke gets two internal halves instead, which only place its Gemeindeteile; its
    Gemeindeteile are numbered through ('001'…) rather than within their Stadtbezirk ('011'…)."""
    prefix = gemeinde.code_prefix
    per_bezirk = gemeinde.stadtteile_per_bezirk
    n_bezirke = len(per_bezirk)
    rows = _split((0, nx, 0, ny), 2, rng, min_cells=1, axis=1)  # south, north
    bezirk_rects = []
    for half in (rows[1], rows[0]):  # north row first
        bezirk_rects += _split(half, n_bezirke // 2, rng, min_cells=1, axis=0)
    bezirk_row_cut = rows[0][3]

    grid_bezirk = np.zeros((ny, nx), dtype=np.int64)
    grid_stadtteil = np.zeros((ny, nx), dtype=np.int64)
    grid_stadtteil_rank = np.zeros((ny, nx), dtype=np.int64)
    st_codes: list[str] = []
    st_names: list[str] = []
    st_bezirk: list[int] = []
    st_rects: list[Rect] = []
    counts = rng.permutation(np.array(per_bezirk))
    name_order = rng.permutation(len(names.STADTTEIL_NAMES))
    for b, rect in enumerate(bezirk_rects):
        i0, i1, j0, j1 = rect
        grid_bezirk[j0:j1, i0:i1] = b
        k = int(counts[b])
        parts = _north_west_first(_split_preferring(rect, k, rng, 4))
        for t, part in enumerate(parts):
            s = len(st_codes)
            p0, p1, q0, q1 = part
            grid_stadtteil[q0:q1, p0:p1] = s
            grid_stadtteil_rank[q0:q1, p0:p1] = t
            st_codes.append(f"{prefix}{b + 1:02d}{t + 1}" if gemeinde.stadtbezirke else f"{prefix}{s + 1:03d}")
            st_names.append(names.STADTTEIL_NAMES[int(name_order[s])])
            st_bezirk.append(b)
            st_rects.append(part)

    mean_cells = np.mean([_cells(r) for r in st_rects])
    counts_per_stadtteil = []
    for rect in st_rects:
        cells = _cells(rect)
        m = int(np.clip(round(viertel_per_stadtteil * cells / mean_cells), 2, max_viertel_per_stadtteil))
        counts_per_stadtteil.append(max(1, min(m, cells // 2)))
    # one digit per Stadtviertel within its Stadtteil, two where one Stadtteil has more than nine
    # (the recut adds two more to one of them)
    width = 1 if max(counts_per_stadtteil) + 2 <= 9 else 2
    grid_viertel = np.zeros((ny, nx), dtype=np.int64)
    v_codes: list[str] = []
    v_names: list[str] = []
    v_stadtteil: list[int] = []
    v_rects: list[Rect] = []
    st_count: list[int] = []
    for s, (rect, m) in enumerate(zip(st_rects, counts_per_stadtteil, strict=True)):
        parts = _north_west_first(_split_preferring(rect, m, rng, 2))
        for t, part in enumerate(parts):
            v = len(v_codes)
            p0, p1, q0, q1 = part
            grid_viertel[q0:q1, p0:p1] = v
            v_codes.append(f"{st_codes[s]}{t + 1:0{width}d}")
            v_names.append(f"{st_names[s]} {names.roman(t + 1)}")
            v_stadtteil.append(s)
            v_rects.append(part)
        st_count.append(len(parts))

    # The recut: the largest Viertel (lowest index on ties) is split into two new ones.
    sizes = np.array([_cells(r) for r in v_rects])
    recut = int(np.argmax(sizes))
    if sizes[recut] < 2:
        raise ValueError("the grid is too small to recut a Stadtviertel")
    s = v_stadtteil[recut]
    halves = _north_west_first(_split(v_rects[recut], 2, rng, 1))
    grid_after = grid_viertel.copy()
    new_ids = []
    for h, part in enumerate(halves):
        v = len(v_codes)
        digit = st_count[s] + h + 1
        p0, p1, q0, q1 = part
        grid_after[q0:q1, p0:p1] = v
        v_codes.append(f"{st_codes[s]}{digit:0{width}d}")
        v_names.append(f"{st_names[s]} {names.roman(digit)}")
        v_stadtteil.append(s)
        new_ids.append(v)

    return {
        "bezirk": grid_bezirk.ravel(),
        "stadtteil": grid_stadtteil.ravel(),
        "stadtteil_rank": grid_stadtteil_rank.ravel(),
        "viertel_before": grid_viertel.ravel(),
        "viertel_after": grid_after.ravel(),
        "bezirk_codes": [f"{prefix}{b + 1:02d}" for b in range(len(bezirk_rects))],
        "bezirk_names": list(names.BEZIRK_NAMES)
        if len(bezirk_rects) == len(names.BEZIRK_NAMES)
        else [f"Bezirk {b + 1}" for b in range(len(bezirk_rects))],
        "bezirk_row_cut": bezirk_row_cut,
        "stadtteil_codes": st_codes,
        "stadtteil_names": st_names,
        "stadtteil_bezirk": st_bezirk,
        "viertel_codes": v_codes,
        "viertel_names": v_names,
        "viertel_stadtteil": v_stadtteil,
        "recut_viertel": recut,
        "recut_new": (new_ids[0], new_ids[1]),
    }


# --------------------------------------------------------------------------------------------------
# Sozialräume


def _wiggle(n: int, amplitude: int, rng: np.random.Generator) -> np.ndarray:
    """Piecewise-constant offsets in [-amplitude, amplitude]: a staircase border."""
    steps = np.where(rng.random(n) < 0.3, rng.choice(np.array([-1, 1]), n), 0)
    out = np.zeros(n, dtype=np.int64)
    level = int(rng.integers(-amplitude, amplitude + 1))
    for k in range(n):  # n is a grid dimension, not a population
        level = int(np.clip(level + steps[k], -amplitude, amplitude))
        out[k] = level
    return out


def _sozialraeume(
    nx: int, ny: int, stadtteil: np.ndarray, bezirk_row_cut: int, n_cols: int, streams: Streams
) -> np.ndarray:
    """Columns × rows of Sozialräume with staircase borders that cross Stadtteil borders."""
    grid_st = stadtteil.reshape(ny, nx)
    n_rows = N_SOZIALRAUM_ROWS
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny))
    for attempt in range(200):
        rng = streams.get("sozialraum", attempt)
        amp_x = max(1, nx // 25)
        amp_y = max(1, ny // 25)
        col_cuts = [
            int(round(nx * k / n_cols + rng.normal(0.0, nx * 0.03))) + _wiggle(ny, amp_x, rng) for k in range(1, n_cols)
        ]
        offset = int(rng.choice(np.array([-1, 1]))) * max(1, ny // 8)
        row_cut = bezirk_row_cut + offset + _wiggle(nx, amp_y, rng)
        col_band = sum((ii >= cut[jj]).astype(np.int64) for cut in col_cuts)
        north = jj >= row_cut[ii]
        row_band = np.where(north, 0, 1)
        grid_sr = row_band * n_cols + col_band
        if _valid_sozialraeume(grid_sr, grid_st, n_cols * n_rows):
            return grid_sr.ravel()
    raise ValueError(f"could not draw valid Sozialräume on a {nx}×{ny} grid")


def sozialraum_columns_that_fit(sizes: Sizes, streams: Streams, gemeinde: Gemeinde, wanted: int) -> int:
    """The most Sozialraum columns, `wanted` at most, that `build_geography` can draw for this
    Gemeinde and seed: every Sozialraum must cross a Stadtteil border, and a small Stadt with
    Stadtbezirke has only two or three Stadtteile side by side, too few for three columns (a Stadt of
    6,000 never got them). Deterministic: the partition and the drawing use the same streams as
    `build_geography`, so a Gemeinde whose `wanted` columns fit gets exactly them."""
    part = _partition(
        sizes.nx, sizes.ny, sizes.viertel_per_stadtteil, sizes.max_viertel_per_stadtteil, gemeinde,
        streams.get("partition"),
    )  # fmt: skip
    for columns in range(wanted, 0, -1):  # one column: each row spans the Gemeinde, west to east
        try:
            _sozialraeume(sizes.nx, sizes.ny, part["stadtteil"], part["bezirk_row_cut"], columns, streams)
        except ValueError:
            continue
        return columns
    raise ValueError(
        f"{gemeinde.name} ({gemeinde.ags}): no Sozialräume that each cross a Stadtteil border can be drawn on its "
        f"{sizes.nx}×{sizes.ny} Baublöcke, not even one column of them; give it more residents or another seed"
    )


def _valid_sozialraeume(grid_sr: np.ndarray, grid_st: np.ndarray, n: int) -> bool:
    for k in range(n):
        mask = grid_sr == k
        if mask.sum() < 2:
            return False
        _labels, parts = ndimage.label(mask)  # 4-connectivity
        if parts != 1:
            return False
        if len(np.unique(grid_st[mask])) < 2:
            return False
    return True


def _sozialraum_names(sozialraum: np.ndarray, stadtteil: np.ndarray, st_names: list[str]) -> list[str]:
    n = int(sozialraum.max()) + 1
    out: list[str] = []
    for k in range(n):
        counts = np.bincount(stadtteil[sozialraum == k], minlength=len(st_names))
        base = f"{st_names[int(np.argmax(counts))]} und Umgebung"
        name = base
        suffix = 2
        while name in out:
            name = f"{base} {suffix}"
            suffix += 1
        out.append(name)
    return out


# --------------------------------------------------------------------------------------------------
# latent traits


def _smooth_field(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, bumps: int, amplitude: float) -> np.ndarray:
    field = np.zeros_like(x)
    for _ in range(bumps):
        cx, cy = rng.random(2)
        sigma = rng.uniform(0.08, 0.2)
        field += rng.normal(0.0, amplitude) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
    return field


def _traits(nx: int, ny: int, stadtteil: np.ndarray, n_stadtteile: int, rng: np.random.Generator) -> dict:
    """Poverty, age profile, share of foreigners and density per block: Stadtteil level + smooth field."""
    n = nx * ny
    x = (np.arange(n) % nx + 0.5) / nx
    y = (np.arange(n) // nx + 0.5) / ny
    st_poverty = rng.permutation(np.linspace(-1.1, 1.7, n_stadtteile))
    st_age = rng.permutation(np.linspace(-1.0, 1.0, n_stadtteile))
    st_foreign = np.clip(0.13 + 0.09 * (st_poverty - 0.3) + rng.normal(0.0, 0.03, n_stadtteile), 0.04, 0.40)
    field_poverty = _smooth_field(x, y, rng, 8, 0.3)
    field_age = _smooth_field(x, y, rng, 6, 0.3)
    poverty = st_poverty[stadtteil] + field_poverty + rng.normal(0.0, 0.12, n)
    age_profile = np.clip(st_age[stadtteil] + field_age + rng.normal(0.0, 0.1, n), -1.6, 1.6)
    foreign = np.clip(st_foreign[stadtteil] * np.exp(0.5 * field_poverty + rng.normal(0.0, 0.1, n)), 0.02, 0.5)
    r = np.hypot(x - 0.5, y - 0.5)
    density = np.clip(np.exp(-((r / 0.45) ** 2)) + rng.normal(0.0, 0.05, n), 0.05, 1.0)
    return {"poverty": poverty, "age_profile": age_profile, "foreign_share": foreign, "density": density}


def _residential(viertel_before: np.ndarray, viertel_after: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A few blocks are parks or industrial estates; every Stadtviertel keeps residents."""
    residential = rng.random(len(viertel_before)) >= NON_RESIDENTIAL_SHARE
    for assignment in (viertel_before, viertel_after):
        has = np.bincount(assignment, weights=residential, minlength=int(assignment.max()) + 1) > 0
        for v in np.setdiff1d(np.unique(assignment), np.flatnonzero(has)):  # loop over Stadtviertel, rare
            residential[np.flatnonzero(assignment == v)[0]] = True
    return residential


# --------------------------------------------------------------------------------------------------
# tables


def areas_frame(geo: Geography) -> pd.DataFrame:
    """gebietsgliederung as a typed frame (valid_to NaT when open)."""
    base = pd.Timestamp(BASE_VALID_FROM)
    recut = pd.Timestamp(RECUT_DATE)
    before_recut = recut - pd.Timedelta(days=1)
    gemeinde = geo.gemeinde
    rows: list[tuple] = [("gemeinde", gemeinde.ags, gemeinde.name, None, base, pd.NaT)]
    if gemeinde.stadtbezirke:
        for code, name in zip(geo.bezirk_codes, geo.bezirk_names, strict=True):
            rows.append(("stadtbezirk", code, name, gemeinde.ags, base, pd.NaT))
    for code, name, b in zip(geo.stadtteil_codes, geo.stadtteil_names, geo.stadtteil_bezirk, strict=True):
        rows.append(
            ("stadtteil", code, name, geo.bezirk_codes[b] if gemeinde.stadtbezirke else gemeinde.ags, base, pd.NaT)
        )
    viertel = zip(geo.viertel_codes, geo.viertel_names, geo.viertel_stadtteil, strict=True)
    for v, (code, name, s) in enumerate(viertel if gemeinde.stadtviertel else ()):
        parent = geo.stadtteil_codes[s]
        if v == geo.recut_viertel:
            rows.append(("stadtviertel", code, name, parent, base, before_recut))
        elif v in geo.recut_new:
            rows.append(("stadtviertel", code, name, parent, recut, pd.NaT))
        else:
            rows.append(("stadtviertel", code, name, parent, base, pd.NaT))
    for code, name in zip(geo.sozialraum_codes, geo.sozialraum_names, strict=True):
        rows.append(("sozialraum", code, name, gemeinde.ags, base, pd.NaT))
    frame = pd.DataFrame(rows, columns=["level", "area_code", "area_name", "parent_code", "valid_from", "valid_to"])
    frame["valid_from"] = pd.to_datetime(frame["valid_from"]).astype("datetime64[s]")
    frame["valid_to"] = pd.to_datetime(frame["valid_to"]).astype("datetime64[s]")
    return frame


def membership_frame(geo: Geography) -> pd.DataFrame:
    """baublock_zuordnung as a typed frame: Stadtviertel (two rows for recut blocks) and Sozialraum;
    in a Gemeinde without Stadtviertel the Stadtteil instead of the Stadtviertel (never recut)."""
    codes = geo.block_codes
    base = np.datetime64(BASE_VALID_FROM.isoformat(), "s")
    recut = np.datetime64(RECUT_DATE.isoformat(), "s")
    nat = np.datetime64("NaT", "s")

    def rows(blocks: np.ndarray, level: str, area_codes: np.ndarray, valid_from, valid_to) -> pd.DataFrame:
        columns = {"block_code": codes[blocks], "level": level, "area_code": area_codes}
        return pd.DataFrame(columns | {"valid_from": valid_from, "valid_to": valid_to})

    every = np.ones(geo.n_blocks, dtype=bool)
    if geo.gemeinde.stadtviertel:
        v_codes = np.array(geo.viertel_codes, dtype=object)
        recut_blocks = geo.viertel_before != geo.viertel_after
        parts = [
            rows(~recut_blocks, "stadtviertel", v_codes[geo.viertel_before[~recut_blocks]], base, nat),
            rows(
                recut_blocks,
                "stadtviertel",
                v_codes[geo.viertel_before[recut_blocks]],
                base,
                recut - np.timedelta64(1, "D"),
            ),
            rows(recut_blocks, "stadtviertel", v_codes[geo.viertel_after[recut_blocks]], recut, nat),
        ]
    else:
        parts = [rows(every, "stadtteil", np.array(geo.stadtteil_codes, dtype=object)[geo.stadtteil], base, nat)]
    parts.append(rows(every, "sozialraum", np.array(geo.sozialraum_codes, dtype=object)[geo.sozialraum], base, nat))
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.sort_values(["block_code", "level", "valid_from"], kind="stable").reset_index(drop=True)
    for col in ("valid_from", "valid_to"):
        frame[col] = frame[col].astype("datetime64[s]")
    return frame
