"""Summary statistics of a window of values.

mean = Σxᵢ/n; std is the population standard deviation sqrt(Σ(xᵢ − mean)²/n)
(ddof=0, as ``numpy.std``); quantiles use numpy's default "linear" method
(Hyndman & Fan 1996, definition 7: q(p) interpolates between the order
statistics x_(⌊h⌋) and x_(⌈h⌉) at h = (n − 1)·p, 0-based).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@dataclass(frozen=True)
class Summary:
    count: int
    mean: float
    std: float  # population (ddof=0)
    min: float
    max: float
    quantiles: tuple[tuple[float, float], ...]


def summarize(values: NDArray[np.float64], quantiles: Sequence[float] = QUANTILES) -> Summary:
    """NaN are ignored; an empty input gives count 0 and NaN elsewhere."""
    qs = tuple(float(q) for q in quantiles)
    if any(not 0.0 <= q <= 1.0 for q in qs):
        raise ValueError(f"quantiles must lie in [0, 1], got {qs}")
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[~np.isnan(arr)]
    nan = float("nan")
    if arr.size == 0:
        return Summary(0, nan, nan, nan, nan, tuple((q, nan) for q in qs))
    qv = np.quantile(arr, qs) if qs else np.empty(0)
    return Summary(
        count=int(arr.size),
        mean=float(np.mean(arr)),
        std=float(np.std(arr)),
        min=float(np.min(arr)),
        max=float(np.max(arr)),
        quantiles=tuple(zip(qs, (float(v) for v in qv), strict=True)),
    )


def class_shares(counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Share of each class (zeros when empty)."""
    arr = np.asarray(counts, dtype=np.float64)
    if np.any(arr < 0):
        raise ValueError("class counts must be non-negative")
    total = arr.sum()
    if total == 0:
        return np.zeros_like(arr)
    out: NDArray[np.float64] = arr / total
    return out
