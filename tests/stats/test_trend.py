from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from exporter.stats.trend import (
    compare_means,
    compare_proportions,
    first_crossing,
    forecast_crossing,
    linear_trend,
)


def test_slope_and_pvalue_equal_linregress() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(200, dtype=np.float64) * 60.0
    y = 0.02 + 1e-5 * t + rng.normal(0, 0.01, t.size)
    trend = linear_trend(t, y)
    ref = sps.linregress(t, y)
    assert trend is not None
    assert trend.slope == pytest.approx(ref.slope, rel=1e-12)
    assert trend.intercept == pytest.approx(ref.intercept, rel=1e-9)
    assert trend.pvalue == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
    crit = sps.t.ppf(0.975, t.size - 2)
    assert trend.slope_low == pytest.approx(ref.slope - crit * ref.stderr, rel=1e-9)
    assert trend.slope_high == pytest.approx(ref.slope + crit * ref.stderr, rel=1e-9)
    assert trend.significant and trend.slope_low <= 1e-5 <= trend.slope_high


def test_flat_noise_is_not_significant() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(100, dtype=np.float64)
    y = rng.normal(0.05, 0.01, t.size)
    trend = linear_trend(t, y)
    assert trend is not None
    assert trend.slope_low < 0 < trend.slope_high
    assert trend.significant == (trend.pvalue < 0.05)
    assert not trend.significant


def test_too_few_points_and_nan_are_handled() -> None:
    assert linear_trend(np.array([1.0, 2.0]), np.array([1.0, 2.0])) is None
    t = np.array([0.0, 1.0, 2.0, 3.0, np.nan])
    y = np.array([1.0, 3.0, 5.0, 7.0, 100.0])
    trend = linear_trend(t, y)
    assert trend is not None and trend.slope == pytest.approx(2.0)
    assert trend.pvalue == 0.0 and trend.significant


def test_crossing_and_forecast_by_hand() -> None:
    t = np.array([0.0, 10.0, 20.0, 30.0])
    y = np.array([0.0, 0.1, 0.2, 0.3])
    assert first_crossing(t, y, 0.15) == 20.0
    assert first_crossing(t, y, 0.5) is None
    trend = linear_trend(t, y)
    assert trend is not None
    # y = 0.01 t reaches 0.5 at t = 50
    assert forecast_crossing(trend, 0.5, now=30.0, current=0.3) == pytest.approx(50.0)
    assert forecast_crossing(trend, 0.25, now=30.0, current=0.3) is None


def test_two_proportion_z_by_hand() -> None:
    c = compare_proportions(0.90, 1000, 0.85, 1000)
    assert c is not None
    pooled = 0.875
    z = -0.05 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert c.statistic == pytest.approx(z)
    assert c.pvalue == pytest.approx(2 * sps.norm.sf(abs(z)))
    assert c.significant and c.difference == pytest.approx(-0.05)
    small = compare_proportions(0.90, 20, 0.85, 20)
    assert small is not None and not small.significant


def test_welch_equals_scipy() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(1.0, 0.2, 50)
    b = rng.normal(1.2, 0.4, 70)
    c = compare_means(a, b)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert c is not None
    assert c.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert c.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert c.difference == pytest.approx(b.mean() - a.mean())


@pytest.mark.parametrize("n", [3, 4, 7, 30, 250, 5000])
@pytest.mark.parametrize("noise", [1e-6, 1e-3, 0.1, 3.0])
def test_trend_pvalue_and_interval_equal_scipy_t(n: int, noise: float) -> None:
    # p from near 1 down to far below 1e-300 (tiny noise, many points)
    rng = np.random.default_rng(n)
    t = np.arange(n, dtype=np.float64)
    y = 0.01 * t + rng.normal(0.0, noise, n)
    trend = linear_trend(t, y, confidence=0.9)
    ref = sps.linregress(t, y)
    assert trend is not None
    # the oracle evaluates scipy.stats.t at the module's own t statistic (for huge t the
    # last-bit difference of another se computation would move p by more than 1e-9)
    resid = y - (trend.intercept + trend.slope * t)
    se = math.sqrt(float(np.sum(resid**2)) / (n - 2) / float(np.sum((t - t.mean()) ** 2)))
    assert se == pytest.approx(ref.stderr, rel=1e-6)
    tstat = trend.slope / se
    want_p = float(2.0 * sps.t.sf(abs(tstat), n - 2))
    assert trend.pvalue == pytest.approx(want_p, rel=1e-9, abs=1e-300)
    crit = float(sps.t.ppf(0.95, n - 2))
    assert trend.slope_high - trend.slope == pytest.approx(crit * se, rel=1e-9)


@pytest.mark.parametrize(("p_a", "p_b", "n"), [(0.5, 0.5001, 10), (0.9, 0.85, 1000),
                                               (0.2, 0.8, 100), (0.01, 0.99, 10_000)])
def test_z_pvalue_equals_scipy_norm(p_a: float, p_b: float, n: int) -> None:
    c = compare_proportions(p_a, n, p_b, n)
    assert c is not None
    want = float(2.0 * sps.norm.sf(abs(c.statistic)))
    assert c.pvalue == pytest.approx(want, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("shift", [0.0, 0.05, 1.0, 10.0])
def test_welch_pvalue_equals_scipy_across_range(shift: float) -> None:
    rng = np.random.default_rng(11)
    a = rng.normal(0.0, 0.1, 40)
    b = rng.normal(shift, 0.3, 9)
    c = compare_means(a, b)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert c is not None
    assert c.pvalue == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-300)
