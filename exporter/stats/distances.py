"""Distribution distances: Wasserstein, Jensen–Shannon, Hellinger."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def wasserstein(reference_sorted: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    """Equal to scipy.stats.wasserstein_distance(reference, current)."""
    raise NotImplementedError


def jensen_shannon(p: NDArray[np.float64], q: NDArray[np.float64]) -> float:
    """Equal to scipy.spatial.distance.jensenshannon(p, q, base=2)."""
    raise NotImplementedError


def hellinger(p: NDArray[np.float64], q: NDArray[np.float64]) -> float:
    """sqrt(1 - sum sqrt(p_i q_i)) over normalised p, q."""
    raise NotImplementedError
