"""Chi-square test of homogeneity for categorical features.

The 2×k contingency table has the reference counts in row 0 and the current
counts in row 1, one column per known category plus the ``__other__`` bucket.
Columns empty in both rows are dropped (their expected count is 0, which the
test cannot handle). With E_ij = R_i·C_j / N,

    χ² = Σ_ij (O_ij − E_ij)² / E_ij,  dof = k' − 1,  p = P(χ²_dof ≥ χ²)

(Pearson 1900; Agresti, *Categorical Data Analysis*, §3.2). This is exactly
``scipy.stats.chi2_contingency(table)`` with its default ``correction=True``:
Yates' continuity correction (|O − E| reduced by min(0.5, |O − E|)) is applied
only when dof == 1, i.e. when just two non-empty columns remain. Fewer than two
non-empty columns, or an empty row, carry no evidence: statistic 0, p-value 1,
dof 0. The p-value is ``exporter.stats.special.chdtrc`` (scipy's ``chdtrc`` to < 1e-9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.stats.special import chdtrc

YATES_WHEN_DOF_1 = True


@dataclass(frozen=True)
class Chi2Result:
    statistic: float
    pvalue: float
    dof: int


def contingency_table(reference_counts: NDArray[np.int64],
                      current_counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """The 2×k' table [reference, current] with all-zero columns dropped."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if ref.ndim != 1 or ref.shape != cur.shape:
        raise ValueError(
            f"reference and current counts must be 1-D of equal length, got "
            f"{ref.shape} and {cur.shape}")
    if np.any(ref < 0) or np.any(cur < 0):
        raise ValueError("counts must be non-negative")
    keep = (ref + cur) > 0
    return np.vstack((ref[keep], cur[keep]))


def chi2_homogeneity(reference_counts: NDArray[np.int64],
                     current_counts: NDArray[np.int64]) -> Chi2Result:
    """Equal to scipy.stats.chi2_contingency([ref, cur]) after dropping all-zero columns."""
    observed = contingency_table(reference_counts, current_counts)
    k = observed.shape[1]
    rows = observed.sum(axis=1, keepdims=True)
    if k < 2 or np.any(rows == 0):
        return Chi2Result(0.0, 1.0, 0)
    cols = observed.sum(axis=0, keepdims=True)
    expected = rows * cols / observed.sum()
    dof = k - 1
    if dof == 1 and YATES_WHEN_DOF_1:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    stat = float(np.sum((observed - expected) ** 2 / expected))
    return Chi2Result(stat, chdtrc(dof, stat), dof)


MIN_EXPECTED = 5.0


def chi2_pooled(reference_counts: NDArray[np.int64], current_counts: NDArray[np.int64],
                min_expected: float = MIN_EXPECTED) -> Chi2Result:
    """The same test after pooling sparse columns: the one severity rests on.

    Columns whose expected current count E_1j = n·C_j/N is below ``min_expected`` are
    merged into one column (Cochran's rule, "Some methods for strengthening the common χ²
    tests", Biometrics 1954: the χ² approximation needs expected counts of about 5).
    Without pooling, a window of 500 rows over 100 skewed categories rejects at α = 0.01
    in up to 12 % of undrifted windows; pooled, in about 1 % (docs/statistics.md).
    Then ``chi2_homogeneity`` of the pooled table (with Yates when one dof remains).
    """
    observed = contingency_table(reference_counts, current_counts)
    total = observed.sum()
    if total == 0:
        return Chi2Result(0.0, 1.0, 0)
    expected_cur = observed[1].sum() * observed.sum(axis=0) / total
    sparse = expected_cur < min_expected
    if not sparse.any():
        return chi2_homogeneity(observed[0].astype(np.int64), observed[1].astype(np.int64))
    pooled = np.hstack((observed[:, ~sparse], observed[:, sparse].sum(axis=1, keepdims=True)))
    return chi2_homogeneity(pooled[0].astype(np.int64), pooled[1].astype(np.int64))
