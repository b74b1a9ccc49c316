"""Population stability index.

PSI = Σᵢ (cᵢ − rᵢ)·ln(cᵢ / rᵢ) over the reference buckets (numeric bins or
categories with ``__other__`` last), where rᵢ and cᵢ are the reference and
current proportions (Siddiqi, *Credit Risk Scorecards*, 2006, ch. 8; Yurdakul,
"Statistical properties of the population stability index", 2018).

Smoothing: an empty bucket would make ln(cᵢ/rᵢ) infinite, so each proportion
is floored at ``EPSILON`` (1e-4, i.e. 0.01 %) and the vector renormalised to sum
to 1. Every term is ≥ 0 (sign(cᵢ − rᵢ) = sign(ln(cᵢ/rᵢ))), so PSI ≥ 0, and
identical inputs give exactly 0. A bucket empty in both contributes 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

EPSILON = 1e-4


def smoothed_proportions(counts: NDArray[np.float64] | NDArray[np.int64],
                         eps: float = EPSILON) -> NDArray[np.float64]:
    """Proportions with every bucket floored at ``eps`` and renormalised."""
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("counts must be a non-empty 1-D array")
    if np.any(arr < 0) or not np.all(np.isfinite(arr)):
        raise ValueError("counts must be finite and non-negative")
    total = arr.sum()
    if total <= 0:
        raise ValueError("counts sum to zero: proportions are undefined")
    p = np.maximum(arr / total, eps)
    out: NDArray[np.float64] = p / p.sum()
    return out


def psi(reference_counts: NDArray[np.float64] | NDArray[np.int64],
        current_counts: NDArray[np.float64] | NDArray[np.int64],
        eps: float = EPSILON) -> float:
    """PSI = sum_i (c_i - r_i) * ln(c_i / r_i) over smoothed proportions."""
    if len(reference_counts) != len(current_counts):
        raise ValueError(
            f"bucket count mismatch: reference {len(reference_counts)}, "
            f"current {len(current_counts)}")
    r = smoothed_proportions(reference_counts, eps)
    c = smoothed_proportions(current_counts, eps)
    return float(np.sum((c - r) * np.log(c / r)))
