"""Two-sample Kolmogorov–Smirnov test against a pre-sorted reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class KSResult:
    statistic: float
    pvalue: float


def ks_2samp_sorted(reference_sorted: NDArray[np.float64],
                    current: NDArray[np.float64]) -> KSResult:
    """KS D equal to scipy.stats.ks_2samp; p-value by the documented method.

    ``reference_sorted`` must be sorted ascending without NaN; NaN in
    ``current`` are dropped. Costs O(m log m + m log n).
    """
    raise NotImplementedError
