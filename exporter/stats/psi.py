"""Population stability index."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

EPSILON = 1e-4


def smoothed_proportions(counts: NDArray[np.float64] | NDArray[np.int64],
                         eps: float = EPSILON) -> NDArray[np.float64]:
    """Proportions with every bucket floored at ``eps`` and renormalised."""
    raise NotImplementedError


def psi(reference_counts: NDArray[np.float64] | NDArray[np.int64],
        current_counts: NDArray[np.float64] | NDArray[np.int64],
        eps: float = EPSILON) -> float:
    """PSI = sum_i (c_i - r_i) * ln(c_i / r_i) over smoothed proportions."""
    raise NotImplementedError
