"""Distribution distances: Wasserstein, Jensen–Shannon, Hellinger.

- Wasserstein-1 between the empirical distributions of two samples,
  W1 = ∫ |F_u(x) − F_v(x)| dx (Villani, *Optimal Transport*, 2009; Ramdas et
  al. 2015), equal to ``scipy.stats.wasserstein_distance(u, v)``. Computed by
  merging the pre-sorted reference with the sorted window (``ecdf``).
- Jensen–Shannon distance in bits, JS(p, q) = sqrt(½ KL(p‖m) + ½ KL(q‖m)) with
  m = (p + q)/2 (Lin 1991; Endres & Schindelin 2003), in [0, 1], equal to
  ``scipy.spatial.distance.jensenshannon(p, q, base=2)``. Used on bucket
  counts or proportions (normalised here); zeros need no smoothing.
- Hellinger distance H(p, q) = sqrt(1 − Σ sqrt(pᵢ qᵢ)) = ‖√p − √q‖₂ / √2
  (Hellinger 1909; Le Cam & Yang 2000), in [0, 1].
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from exporter.stats.binning import sorted_finite
from exporter.stats.ecdf import check_sorted, merge_sorted, wasserstein_1
from exporter.stats.special import rel_entr


def wasserstein_sorted_pair(reference_sorted: NDArray[np.float64],
                            current_sorted: NDArray[np.float64]) -> float:
    """Wasserstein-1 of two samples both sorted ascending without NaN (both non-empty)."""
    ref = check_sorted(reference_sorted, "reference sample")
    cur = check_sorted(current_sorted, "current sample")
    if ref.size == 0 or cur.size == 0:
        raise ValueError("Wasserstein distance needs non-empty samples")
    return wasserstein_1(merge_sorted(ref, cur))


def wasserstein(reference_sorted: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    """Equal to scipy.stats.wasserstein_distance(reference, current).

    ``reference_sorted`` must be sorted ascending without NaN; NaN in
    ``current`` are dropped.
    """
    return wasserstein_sorted_pair(reference_sorted, sorted_finite(current))


Weights = NDArray[np.float64] | NDArray[np.int64]


def _normalised_pair(p: Weights, q: Weights) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    pa = np.asarray(p, dtype=np.float64)
    qa = np.asarray(q, dtype=np.float64)
    if pa.ndim != 1 or pa.shape != qa.shape or pa.size == 0:
        raise ValueError(f"p and q must be non-empty 1-D of equal length, got "
                         f"{pa.shape} and {qa.shape}")
    if np.any(pa < 0) or np.any(qa < 0) or not (np.all(np.isfinite(pa))
                                                and np.all(np.isfinite(qa))):
        raise ValueError("p and q must be finite and non-negative")
    sp, sq = pa.sum(), qa.sum()
    if sp <= 0 or sq <= 0:
        raise ValueError("p and q must each have a positive sum")
    return pa / sp, qa / sq


def jensen_shannon(p: Weights, q: Weights) -> float:
    """Equal to scipy.spatial.distance.jensenshannon(p, q, base=2)."""
    pn, qn = _normalised_pair(p, q)
    m = (pn + qn) / 2.0
    # a·ln(a/b) with 0·ln(0/b) = 0; m > 0 wherever p or q is
    js = (np.sum(rel_entr(pn, m)) + np.sum(rel_entr(qn, m))) / np.log(2.0)
    return float(np.sqrt(max(js, 0.0) / 2.0))


def hellinger(p: Weights, q: Weights) -> float:
    """sqrt(1 - sum sqrt(p_i q_i)) over normalised p, q."""
    pn, qn = _normalised_pair(p, q)
    bc = float(np.sum(np.sqrt(pn * qn)))
    # Rounding can push the Bhattacharyya coefficient a hair above 1.
    return float(np.sqrt(max(1.0 - bc, 0.0)))
