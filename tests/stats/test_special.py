"""exporter.stats.special against scipy.special (the oracle) on dense grids over the
ranges the statistics core uses, plus closed forms by hand."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from fractions import Fraction

import numpy as np
import pytest
from scipy import special as sp

from exporter.stats import special

TOL = 1e-9


def rel_err(got: float, want: float) -> float:
    """|a − b| / max(|a|, |b|, 1e-300): relative, and absolute below 1e-300."""
    if math.isinf(want) or math.isinf(got):
        return 0.0 if got == want else math.inf
    return abs(got - want) / max(abs(got), abs(want), 1e-300)


def worst(mine: Callable[[float, float], float], oracle: Callable[[float, float], float],
          points: Iterable[tuple[float, float]]) -> tuple[float, tuple[float, float] | None]:
    err, where, count = 0.0, None, 0
    for a, b in points:
        e = rel_err(mine(a, b), float(oracle(a, b)))
        count += 1
        if not e <= err:  # NaN counts as the worst
            err, where = e, (a, b)
    assert count > 500
    return err, where


DFS = [*range(1, 60), *np.unique(np.geomspace(60, 1000, 40).astype(int)).tolist()]
XS = np.geomspace(1e-3, 1e4, 120).tolist()
P_CHI2 = [*(10.0 ** -np.arange(1.0, 301.0, 7.0)).tolist(), *np.linspace(0.02, 0.98, 25).tolist(),
          *(1.0 - 10.0 ** -np.arange(1.0, 12.5, 1.0)).tolist()]


def test_chdtrc_equals_scipy() -> None:
    err, where = worst(special.chdtrc, sp.chdtrc, ((df, x) for df in DFS for x in XS))
    assert err < TOL, where
    # the critical points the severity rule uses
    for df in (1, 9, 99, 999):
        for alpha in (0.05, 0.01, 1e-3):
            x = float(sp.chdtri(df, alpha))
            assert special.chdtrc(df, x) == pytest.approx(alpha, rel=1e-12)


def test_chdtrc_by_hand_and_edges() -> None:
    for x in (0.1, 1.0, 7.5, 100.0):
        assert special.chdtrc(2, x) == pytest.approx(math.exp(-x / 2), rel=1e-14)
        assert special.chdtrc(1, x) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-13)
    assert special.chdtrc(3, 0.0) == 1.0 and special.chdtrc(3, -1.0) == 1.0
    assert special.chdtrc(3, math.inf) == 0.0
    assert math.isnan(special.chdtrc(0, 1.0)) and math.isnan(special.chdtrc(2, math.nan))


def test_chdtri_equals_scipy_and_inverts_chdtrc() -> None:
    dfs = [*range(1, 30), *np.unique(np.geomspace(30, 1000, 20).astype(int)).tolist()]
    err, where = worst(special.chdtri, sp.chdtri, ((df, p) for df in dfs for p in P_CHI2))
    assert err < TOL, where
    for df in (1, 5, 50, 500):
        for p in (1e-200, 1e-8, 0.3, 0.999):
            assert special.chdtrc(df, special.chdtri(df, p)) == pytest.approx(p, rel=1e-12)
    assert special.chdtri(4, 0.0) == math.inf and special.chdtri(4, 1.0) == 0.0
    assert special.chdtri(2, 0.25) == pytest.approx(-2 * math.log(0.25), rel=1e-14)
    assert math.isnan(special.chdtri(4, 1.5)) and math.isnan(special.chdtri(-1, 0.5))


TS = [*(-np.geomspace(1e-3, 1e4, 80)).tolist(), 0.0, *np.geomspace(1e-3, 1e4, 80).tolist()]
T_DFS = [*range(1, 31), *np.geomspace(31, 1e4, 30).tolist(), 2.5, 7.25]  # Welch: any df


def test_stdtr_equals_scipy() -> None:
    err, where = worst(special.stdtr, sp.stdtr, ((df, t) for df in T_DFS for t in TS))
    assert err < TOL, where


def test_stdtr_large_df_equals_scipy() -> None:
    # Welch's df can be large: the large-a expansion from df = 10⁴ (and just below it the
    # continued fraction), up to where t is all but normal
    dfs = [9_999.0, 10_000.0, 3e4, 2e5, 1e6, 1e8, 1e12]
    ts = [*(-np.geomspace(1e-3, 38.0, 150)).tolist(), *np.geomspace(1e-3, 9.0, 30).tolist()]
    err, where = worst(special.stdtr, sp.stdtr, ((df, t) for df in dfs for t in ts))
    assert err < 1e-11, where
    for df in (1e6, 1e12):
        assert special.stdtrit(df, 0.975) == pytest.approx(float(sp.stdtrit(df, 0.975)),
                                                           rel=1e-11)


def test_stdtr_by_hand_and_edges() -> None:
    for t in (-30.0, -1.0, 0.2, 4.0):
        # ν = 1: Cauchy; ν = 2: ½ + t / (2√(2 + t²))
        assert special.stdtr(1, t) == pytest.approx(0.5 + math.atan(t) / math.pi, rel=1e-13)
        assert special.stdtr(2, t) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)),
                                                    rel=1e-13)
    assert special.stdtr(3, 0.0) == 0.5 and special.stdtr(3, 1e-200) == 0.5
    assert special.stdtr(3, -math.inf) == 0.0 and special.stdtr(3, math.inf) == 1.0
    assert special.stdtr(1, -1e300) == pytest.approx(float(sp.stdtr(1, -1e300)), rel=1e-12)
    assert math.isnan(special.stdtr(0, 1.0)) and math.isnan(special.stdtr(3, math.nan))


def test_stdtrit_equals_scipy_and_inverts_stdtr() -> None:
    ps = [*(10.0 ** -np.arange(1.0, 100.0, 6.0)).tolist(), *np.linspace(0.02, 0.98, 17).tolist(),
          0.975, 0.995, *(1.0 - 10.0 ** -np.arange(1.0, 12.5, 1.0)).tolist()]
    err, where = worst(special.stdtrit, sp.stdtrit, ((df, p) for df in T_DFS for p in ps))
    assert err < TOL, where
    for df in (1, 3, 28, 5000):
        for p in (1e-30, 0.025, 0.6, 0.995):
            assert special.stdtr(df, special.stdtrit(df, p)) == pytest.approx(p, rel=1e-12)
    assert special.stdtrit(1, 0.75) == pytest.approx(1.0, rel=1e-14)  # tan(π/4)
    assert special.stdtrit(7, 0.5) == 0.0
    assert special.stdtrit(7, 0.0) == -math.inf and special.stdtrit(7, 1.0) == math.inf


def test_ndtr_equals_scipy() -> None:
    xs = np.linspace(-38.0, 9.0, 4701).tolist()
    err, where = worst(lambda x, _: special.ndtr(x), lambda x, _: sp.ndtr(x),
                       ((x, 0.0) for x in xs))
    assert err < TOL, where
    assert special.ndtr(0.0) == 0.5 and special.ndtr(-math.inf) == 0.0
    assert special.ndtr(-1.959963984540054) == pytest.approx(0.025, rel=1e-14)


def test_gammaln_and_rel_entr_equal_scipy() -> None:
    xs = np.concatenate((np.geomspace(1e-3, 1e6, 500), -np.linspace(0.5, 20.5, 41), [0.0]))
    got, want = special.gammaln(xs), sp.gammaln(xs)
    assert np.array_equal(np.isinf(got), np.isinf(want))
    finite = np.isfinite(want)
    assert np.max(np.abs(got[finite] - want[finite]) / np.maximum(np.abs(want[finite]), 1.0)) \
        < 1e-14
    assert special.gammaln(np.array([[1.0, 5.0]])).shape == (1, 2)
    vals = np.array([0.0, 1e-300, 1e-5, 0.3, 1.0, 7.0, 1e300, np.inf, -1.0, np.nan])
    x, y = np.meshgrid(vals, vals)
    got, want = special.rel_entr(x, y), sp.rel_entr(x, y)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert np.array_equal(got[ok], want[ok])


def test_log1pmx_and_stirling_by_hand() -> None:
    for u in (-0.9, -0.49, -1e-3, 1e-9, 0.3, 0.49, 2.0):
        # Σ_{k≥2} (−1)^{k+1} u^k / k in exact rationals
        want = float(sum((-1) ** (k + 1) * Fraction(u) ** k / k for k in range(2, 200))) \
            if abs(u) < 0.5 else math.log1p(u) - u
        assert special.log1pmx(u) == pytest.approx(want, rel=1e-14)
    for x in (0.5, 3.0, 10.0, 11.5, 1e3, 1e8):
        if x < 100:  # the definition, where its cancellation is mild
            want = math.lgamma(x) - ((x - 0.5) * math.log(x) - x + 0.5 * math.log(2 * math.pi))
            assert special.stirling_correction(x) == pytest.approx(want, rel=1e-11)
        else:  # the first two terms of the series
            assert special.stirling_correction(x) == pytest.approx(
                1 / (12 * x) - 1 / (360 * x**3), rel=1e-14)
        assert special.betaln(x, 0.5) == pytest.approx(float(sp.betaln(x, 0.5)), rel=1e-13)
