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


def psi_standard_error(reference_counts: NDArray[np.float64] | NDArray[np.int64],
                       current_counts: NDArray[np.float64] | NDArray[np.int64],
                       eps: float = EPSILON) -> float:
    """Standard error of the sample PSI, for a confidence bound on the population's.

    Delta method over the two independent multinomial samples: with
    aᵢ = ∂PSI/∂cᵢ = ln(cᵢ/rᵢ) + 1 − rᵢ/cᵢ and bᵢ = ∂PSI/∂rᵢ = −ln(cᵢ/rᵢ) + 1 − cᵢ/rᵢ,

        Var ≈ (Σ cᵢaᵢ² − (Σ cᵢaᵢ)²)/n + (Σ rᵢbᵢ² − (Σ rᵢbᵢ)²)/N + 2(k − 1)(1/n + 1/N)²

    The last term is the variance of PSI's χ²(k − 1)·(1/n + 1/N) noise (Yurdakul 2018),
    which dominates where the first-order terms vanish (no drift). k counts the buckets
    not empty in both samples.
    """
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if ref.shape != cur.shape:
        raise ValueError(f"bucket count mismatch: reference {ref.size}, current {cur.size}")
    n, big_n = float(cur.sum()), float(ref.sum())
    r = smoothed_proportions(ref, eps)
    c = smoothed_proportions(cur, eps)
    log_ratio = np.log(c / r)
    a = log_ratio + 1.0 - r / c
    b = -log_ratio + 1.0 - c / r
    var_c = float(np.sum(c * a * a) - np.sum(c * a) ** 2) / n
    var_r = float(np.sum(r * b * b) - np.sum(r * b) ** 2) / big_n
    k = int(np.count_nonzero(ref + cur))
    noise = 2.0 * max(k - 1, 0) * (1.0 / n + 1.0 / big_n) ** 2
    return float(np.sqrt(max(var_c, 0.0) + max(var_r, 0.0) + noise))
