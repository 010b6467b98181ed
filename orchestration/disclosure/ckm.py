"""The Cell Key Method (as in the Zensus 2022): small, reproducible noise instead of suppression.

- Every record carries a key, uniform in [0, 1) (orchestration/pseudonyms.py: from the keyed hash
  of the pseudonymised person, so it is secret and the same in every year).
- A cell's key is the sum of its records' keys, modulo 1. The same persons give the same cell key,
  in whichever table the cell appears.
- A perturbation table with a maximum deviation D and a variance V gives, for every count n, a
  distribution of the noise v in [-D, D]: mean 0, variance V (as close as the constraints allow),
  n + v never negative and never one of the forbidden small counts 1 … js; a count of 0 stays 0.
  Among all such distributions the one with the largest entropy is taken (no value preferred
  without need).
- The cell key picks the noise from the cumulative distribution: deterministic, so the same cell
  always gets the same noise.

Totals are perturbed as cells of their own, so perturbed tables no longer add up. D and V are
configuration (a file outside the release, SOZIALMONITOR_CKM_CONFIG); knowing them would help an
attacker, so they are not published."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linprog, minimize

from ..yaml_text import load_yaml

DEFAULT_CONFIG = Path(__file__).parent / "ckm_parameters.yml"
ENV_CONFIG = "SOZIALMONITOR_CKM_CONFIG"


@dataclass(frozen=True)
class CkmParameters:
    max_deviation: int  # D
    variance: float  # V
    forbidden_small: int  # js: perturbed counts 1 … js are never published

    def __post_init__(self) -> None:
        if self.max_deviation < 1:
            raise ValueError("CKM: the maximum deviation D must be at least 1")
        if not 0 < self.variance <= self.max_deviation**2:
            raise ValueError(f"CKM: the variance V must lie in (0, D²] = (0, {self.max_deviation**2}]")
        if self.forbidden_small < 0:
            raise ValueError("CKM: forbidden_small must be 0 or more")


def load_parameters(path: Path | None = None) -> CkmParameters:
    path = Path(path or os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG)
    data = load_yaml(path.read_text(encoding="utf-8")) or {}
    try:
        return CkmParameters(
            max_deviation=int(data["max_deviation"]),
            variance=float(data["variance"]),
            forbidden_small=int(data.get("forbidden_small", 2)),
        )
    except KeyError as exc:
        raise ValueError(f"{path}: missing {exc.args[0]} (max_deviation, variance, forbidden_small)") from None


@dataclass(frozen=True)
class PTableRow:
    count: int
    noise: np.ndarray  # sorted noise values
    probability: np.ndarray
    upper: np.ndarray  # cumulative probability: the cell key k picks the first noise with k < upper

    @property
    def mean(self) -> float:
        return float(self.probability @ self.noise)

    @property
    def variance(self) -> float:
        return float(self.probability @ (self.noise - self.mean) ** 2)


@dataclass(frozen=True)
class PTable:
    parameters: CkmParameters
    rows: tuple[PTableRow, ...]  # counts 0 … len-1; larger counts use the last row

    def row(self, count: int) -> PTableRow:
        return self.rows[min(int(count), len(self.rows) - 1)]

    def noise(self, counts: np.ndarray, cell_keys: np.ndarray) -> np.ndarray:
        """The noise for every (count, cell key): vectorised, one lookup per distinct table row."""
        counts = np.asarray(counts, dtype=np.int64)
        keys = np.asarray(cell_keys, dtype=float)
        if counts.shape != keys.shape:
            raise ValueError("counts and cell keys differ in shape")
        if (counts < 0).any():
            raise ValueError("the Cell Key Method perturbs counts; a negative count was given")
        out = np.zeros(counts.shape, dtype=np.int64)
        capped = np.minimum(counts, len(self.rows) - 1)
        for n in np.unique(capped):
            mask = capped == n
            row = self.rows[int(n)]
            pick = np.searchsorted(row.upper, keys[mask], side="right")
            out[mask] = row.noise[np.minimum(pick, len(row.noise) - 1)].astype(np.int64)
        return out

    def perturb(self, counts: np.ndarray, cell_keys: np.ndarray) -> np.ndarray:
        return np.asarray(counts, dtype=np.int64) + self.noise(counts, cell_keys)


def _max_entropy(support: np.ndarray, variance: float) -> np.ndarray:
    """The distribution on `support` with mean 0 and the variance closest to `variance` that has
    the largest entropy."""
    if len(support) == 1:
        return np.ones(1)
    # feasible variances under mean 0 (linear programmes over the probabilities)
    a_eq = np.vstack([np.ones(len(support)), support])
    b_eq = np.array([1.0, 0.0])
    squares = support.astype(float) ** 2
    lo = linprog(squares, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    hi = linprog(-squares, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if lo.status != 0 or hi.status != 0:
        raise ValueError(f"CKM: no zero-mean noise on {support.tolist()}")
    target = float(np.clip(variance, lo.fun, -hi.fun))
    if abs(-hi.fun - lo.fun) < 1e-12:
        return lo.x
    start = lo.x * 0.5 + hi.x * 0.5
    constraints = [
        {"type": "eq", "fun": lambda p: p.sum() - 1.0},
        {"type": "eq", "fun": lambda p: p @ support},
        {"type": "eq", "fun": lambda p: p @ squares - target},
    ]

    def negative_entropy(p: np.ndarray) -> float:
        q = np.clip(p, 1e-15, 1.0)
        return float(q @ np.log(q))

    result = minimize(
        negative_entropy,
        start,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * len(support),
        constraints=constraints,
        options={"ftol": 1e-12, "maxiter": 500},
    )
    p = np.clip(result.x if result.success else start, 0.0, None)
    p[p < 1e-9] = 0.0
    return p / p.sum()


def build_ptable(parameters: CkmParameters) -> PTable:
    d, js = parameters.max_deviation, parameters.forbidden_small
    rows = []
    # Counts above js + 2D behave alike (nothing near 0 is reachable): one row serves them all.
    for n in range(0, js + 2 * d + 2):
        if n == 0:
            noise, p = np.array([0]), np.ones(1)
        else:
            noise = np.array([v for v in range(-d, d + 1) if n + v >= 0 and not 1 <= n + v <= js])
            p = _max_entropy(noise, parameters.variance)
        keep = p > 0
        noise, p = noise[keep], p[keep]
        upper = np.cumsum(p)
        upper[-1] = 1.0
        rows.append(PTableRow(n, noise, p, upper))
    return PTable(parameters, tuple(rows))


def cell_keys(record_key_sums: np.ndarray) -> np.ndarray:
    """A cell's key: the sum of its records' keys, modulo 1."""
    return np.mod(np.asarray(record_key_sums, dtype=float), 1.0)
