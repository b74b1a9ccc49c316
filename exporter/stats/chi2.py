"""Chi-square test of homogeneity for categorical features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Chi2Result:
    statistic: float
    pvalue: float
    dof: int


def chi2_homogeneity(reference_counts: NDArray[np.int64],
                     current_counts: NDArray[np.int64]) -> Chi2Result:
    """Equal to scipy.stats.chi2_contingency([ref, cur]) after dropping all-zero columns."""
    raise NotImplementedError
