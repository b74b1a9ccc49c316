"""Tests that kill mutmut survivors of exporter/stats/chi2.py and summary.py which change
what is exported (docs/development.md, "Mutation testing"). Oracles: scipy, hand values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from exporter.stats.chi2 import Chi2Result, chi2_homogeneity, chi2_pooled
from exporter.stats.summary import class_shares, summarize


def test_a_column_with_expected_count_exactly_five_is_not_pooled() -> None:
    # n = 100 of 300: expected current counts C/3 = 50, 43, 5.0 (exactly), 2.0
    ref = np.array([110, 76, 10, 4])
    cur = np.array([40, 53, 5, 2])
    got = chi2_pooled(ref, cur)
    # Cochran: pool only the columns under 5; one such column pooled alone is itself
    want = sps.chi2_contingency(np.vstack((ref, cur)))
    assert got.dof == 3
    assert got.statistic == pytest.approx(float(want.statistic), rel=1e-12)
    assert got.pvalue == pytest.approx(float(want.pvalue), rel=1e-9)


def test_no_counts_at_all_is_no_evidence() -> None:
    zero = np.zeros(3, dtype=np.int64)
    assert chi2_pooled(zero, zero) == Chi2Result(0.0, 1.0, 0)


def test_negative_current_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        chi2_homogeneity(np.array([5, 5, 5]), np.array([5, -1, 5]))


def test_summary_without_quantiles_and_class_shares_of_nothing() -> None:
    s = summarize(np.array([1.0, 2.0, 4.0]), ())
    assert s.quantiles == () and s.count == 3 and s.mean == pytest.approx(7 / 3, rel=1e-15)
    shares = class_shares(np.array([0, 0, 0]))
    assert shares.shape == (3,) and shares.dtype == np.float64 and not shares.any()
