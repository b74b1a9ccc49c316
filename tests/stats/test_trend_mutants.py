"""Tests that kill mutmut survivors of exporter/stats/trend.py which change a reported field
(docs/development.md, "Mutation testing"). Oracles: scipy.stats and hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from exporter.stats.trend import (
    Trend,
    compare_means,
    compare_proportions,
    first_crossing,
    forecast_crossing,
    linear_trend,
)


def test_linear_trend_fields_against_scipy_linregress() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 2.5, 2.9, 4.2, 4.8])
    got = linear_trend(t, y)
    want = sps.linregress(t, y)
    assert got is not None and got.n == 5 and got.confidence == 0.95
    assert got.slope == pytest.approx(float(want.slope), rel=1e-12)
    assert got.intercept == pytest.approx(float(want.intercept), rel=1e-12)
    assert got.pvalue == pytest.approx(float(want.pvalue), rel=1e-9)
    assert linear_trend(np.array([0.0, 0.5, 1.0]), np.array([1.0, 2.0, 2.5])) is not None


def test_linear_trend_of_an_exact_line_and_of_a_constant() -> None:
    line = linear_trend(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 3.0, 5.0, 7.0]))
    assert line == Trend(4, 2.0, 1.0, 2.0, 2.0, 0.0, 0.95, True)  # y = 1 + 2t, no residual
    flat = linear_trend(np.array([0.0, 1.0, 2.0]), np.array([4.0, 4.0, 4.0]))
    assert flat == Trend(3, 0.0, 4.0, 0.0, 0.0, 1.0, 0.95, False)


def test_crossings() -> None:
    assert first_crossing(np.array([0.0, 1.0, 2.0]), np.array([0.5, 0.9, 1.0]), 0.9) == 1.0
    rising = Trend(10, 2.0, 1.0, 1.5, 2.5, 0.001, 0.95, True)
    assert forecast_crossing(rising, 9.0, now=0.0, current=3.0) == 4.0  # (9 − 1)/2
    assert forecast_crossing(rising, 9.0, now=0.0, current=9.0) is None  # already there
    unsure = Trend(10, 2.0, 1.0, -0.5, 4.5, 0.3, 0.95, False)
    assert forecast_crossing(unsure, 9.0, now=0.0, current=3.0) is None


def test_compare_means_fields_against_scipy_welch() -> None:
    a = np.array([1.0, 2.0, 4.0, 3.5])
    b = np.array([3.0, 5.0, 4.5, 6.0, 7.0])
    got = compare_means(a, b)
    want = sps.ttest_ind(a, b, equal_var=False)
    assert got is not None
    assert (got.a, got.b, got.method) == (pytest.approx(2.625), pytest.approx(5.1), "Welch t-test")
    assert got.difference == pytest.approx(2.475, rel=1e-12)
    assert got.statistic == pytest.approx(float(want.statistic), rel=1e-12)
    assert got.pvalue == pytest.approx(float(want.pvalue), rel=1e-9)
    assert got.significant is (float(want.pvalue) < 0.05)


def test_compare_means_of_constant_samples() -> None:
    same = compare_means(np.array([1.0, 1.0]), np.array([1.0, 1.0]))
    assert same is not None
    assert (same.a, same.b, same.difference, same.statistic, same.pvalue, same.significant,
            same.method) == (1.0, 1.0, 0.0, 0.0, 1.0, False, "Welch t-test")
    apart = compare_means(np.array([1.0, 1.0]), np.array([2.0, 2.0]))
    assert apart is not None
    assert (apart.a, apart.b, apart.difference, apart.pvalue, apart.significant) == (
        1.0, 2.0, 1.0, 0.0, True)
    # (mean a − mean b)/0 = −inf, as scipy's ttest_ind(..., equal_var=False) gives, and the
    # sign of the finite statistic (a − b)/se
    assert apart.statistic == -math.inf


def test_compare_proportions_fields_and_edge_sizes() -> None:
    got = compare_proportions(0.10, 1000, 0.15, 1000)
    z = 0.05 / math.sqrt(0.125 * 0.875 * 0.002)  # pooled 0.125
    assert got is not None and (got.a, got.b, got.method) == (0.10, 0.15, "two-proportion z-test")
    assert got.statistic == pytest.approx(z, rel=1e-12)
    assert got.pvalue == pytest.approx(2 * float(sps.norm.sf(z)), rel=1e-9)
    none = compare_proportions(0.0, 50, 0.0, 80)  # pooled 0: no variance, no difference
    assert none is not None and (none.statistic, none.pvalue, none.significant) == (0.0, 1.0,
                                                                                    False)
    assert compare_proportions(0.1, 0, 0.2, 10) is None
    assert compare_proportions(0.1, 10, 0.2, 0) is None
    one = compare_proportions(1.0, 1, 0.0, 1)  # one row each: pooled 0.5, var 0.5
    assert one is not None and one.statistic == pytest.approx(-1.0 / math.sqrt(0.5), rel=1e-12)


def test_compare_means_of_a_shifted_copy_and_of_a_single_value() -> None:
    a = np.array([1.0, 2.0, 4.0])
    got = compare_means(a, a + 1.0)  # equal variances: still a Welch t-test, finite statistic
    want = sps.ttest_ind(a, a + 1.0, equal_var=False)
    assert got is not None
    assert got.statistic == pytest.approx(float(want.statistic), rel=1e-12)
    assert got.pvalue == pytest.approx(float(want.pvalue), rel=1e-9)
    assert compare_means(np.array([1.0]), np.array([1.0, 2.0, 3.0])) is None
