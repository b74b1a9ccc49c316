"""Trends over time series: least-squares slope, crossings, forecasts, comparisons.

Slope: ordinary least squares y = a + b·t. Its standard error is
se(b) = sqrt(Σ(yᵢ − ŷᵢ)² / (n − 2) / Σ(tᵢ − t̄)²) and the two-sided confidence
interval is b ± t_{1−α/2, n−2}·se(b) (Student's t; e.g. Montgomery & Runger,
*Applied Statistics and Probability for Engineers*, §11-4). The trend is
significant when the interval excludes 0 (equivalently the slope t-test p < α),
the same test as ``scipy.stats.linregress``.

Distribution functions come from ``exporter.stats.special`` (no scipy at run time:
``scipy.stats`` costs ~1.2 s to import, ``scipy.special`` ~0.2 s): the Student-t survival
P(T_ν > x) = ``stdtr(ν, −x)``, its quantile t_{q,ν} = ``stdtrit(ν, q)``, and the normal
survival P(Z > z) = ``ndtr(−z)``; they equal ``scipy.special``'s functions of the same
names, which ``scipy.stats.t`` and ``scipy.stats.norm`` evaluate, to < 1e-9 relative
(tests/stats/test_special.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.stats.special import ndtr, stdtr, stdtrit

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Trend:
    n: int
    slope: float  # units of y per unit of t
    intercept: float
    slope_low: float  # confidence interval of the slope
    slope_high: float
    pvalue: float  # two-sided test of slope == 0
    confidence: float
    significant: bool


def linear_trend(t: FloatArray, y: FloatArray, confidence: float = 0.95) -> Trend | None:
    """OLS slope with a Student-t confidence interval; None with fewer than 3 points.

    NaN pairs are dropped. A constant series has slope 0, a zero-width
    interval and p-value 1 (no evidence of a trend).
    """
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = ~(np.isnan(t) | np.isnan(y))
    t, y = t[keep], y[keep]
    n = int(t.size)
    if n < 3 or float(np.ptp(t)) == 0.0:
        return None
    t_mean = float(t.mean())
    y_mean = float(y.mean())
    sxx = float(np.sum((t - t_mean) ** 2))
    slope = float(np.sum((t - t_mean) * (y - y_mean)) / sxx)
    intercept = y_mean - slope * t_mean
    residuals = y - (intercept + slope * t)
    dof = n - 2
    sse = float(np.sum(residuals**2))
    se = math.sqrt(sse / dof / sxx)
    if se == 0.0:
        pvalue = 0.0 if slope != 0.0 else 1.0
        return Trend(n, slope, intercept, slope, slope, pvalue, confidence, slope != 0.0)
    crit = stdtrit(dof, 0.5 + confidence / 2.0)
    tstat = slope / se
    pvalue = 2.0 * stdtr(dof, -abs(tstat))
    low, high = slope - crit * se, slope + crit * se
    return Trend(n, slope, intercept, low, high, pvalue, confidence, low > 0.0 or high < 0.0)


def first_crossing(t: FloatArray, y: FloatArray, threshold: float) -> float | None:
    """First time at which the series is at or above ``threshold`` (None if never)."""
    y = np.asarray(y, dtype=np.float64)
    hits = np.flatnonzero(y >= threshold)
    if hits.size == 0:
        return None
    return float(np.asarray(t, dtype=np.float64)[hits[0]])


def forecast_crossing(trend: Trend, threshold: float, now: float, current: float) -> float | None:
    """When the fitted line reaches ``threshold``: only for a significant rising
    trend with the current value still below it; None otherwise."""
    if current >= threshold or not trend.significant or trend.slope <= 0.0:
        return None
    when = (threshold - trend.intercept) / trend.slope
    return max(when, now)


@dataclass(frozen=True)
class Comparison:
    a: float
    b: float
    difference: float  # b - a
    statistic: float
    pvalue: float
    significant: bool
    method: str


def compare_proportions(p_a: float, n_a: int, p_b: float, n_b: int,
                        alpha: float = 0.05) -> Comparison | None:
    """Two-proportion z-test with pooled variance (e.g. accuracy of two versions).

    z = (p_b − p_a) / sqrt(p̂(1 − p̂)(1/n_a + 1/n_b)), p̂ = (n_a·p_a + n_b·p_b)/(n_a + n_b).
    """
    if n_a <= 0 or n_b <= 0 or any(math.isnan(v) for v in (p_a, p_b)):
        return None
    pooled = (n_a * p_a + n_b * p_b) / (n_a + n_b)
    var = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
    diff = p_b - p_a
    if var <= 0.0:
        z = 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
    else:
        z = diff / math.sqrt(var)
    pvalue = 2.0 * ndtr(-abs(z))
    return Comparison(p_a, p_b, diff, z, pvalue, pvalue < alpha, "two-proportion z-test")


def compare_means(a: FloatArray, b: FloatArray, alpha: float = 0.05) -> Comparison | None:
    """Welch's t-test on two samples of a metric (e.g. MAE over time per version);
    equal to ``scipy.stats.ttest_ind(a, b, equal_var=False)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        return None
    ma, mb = float(a.mean()), float(b.mean())
    va, vb = float(a.var(ddof=1)) / a.size, float(b.var(ddof=1)) / b.size
    diff = mb - ma
    if va + vb == 0.0:
        pvalue = 1.0 if diff == 0.0 else 0.0
        stat = 0.0 if diff == 0.0 else math.copysign(math.inf, -diff)  # (a − b)/0, as below
        return Comparison(ma, mb, diff, stat, pvalue, pvalue < alpha, "Welch t-test")
    stat = (ma - mb) / math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    pvalue = 2.0 * stdtr(dof, -abs(stat))
    return Comparison(ma, mb, diff, stat, pvalue, pvalue < alpha, "Welch t-test")
