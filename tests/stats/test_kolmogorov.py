"""kstwo_sf against scipy.stats.kstwo.sf (the oracle) on a dense (n, d) grid, region by
region, plus by-hand values of the closed forms."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator

import numpy as np
import pytest
from scipy import special
from scipy import stats as sps

from exporter.stats.kolmogorov import (
    durbin_cdf,
    kstwo_sf,
    kstwobign_sf,
    log_factorial_over_power,
    pelz_good_cdf,
    region,
)

TOL = 1e-9


def rel_err(got: float, want: float) -> float:
    """|a − b| / max(|a|, |b|, 1e-300): relative, and absolute below 1e-300."""
    return abs(got - want) / max(abs(got), abs(want), 1e-300)


def grid() -> Iterator[tuple[int, float]]:
    rng = np.random.default_rng(2011)
    # every n up to 200 (the small-n scheme ends at 140), then log-spaced up to 20,000
    ns = list(range(1, 201)) + sorted({int(v) for v in np.geomspace(201, 20_000, 40)})
    for n in ns:
        # d uniform on (0, 1), and d from n·d² uniform on the boundaries' scale
        s = np.concatenate([rng.uniform(0.0, 3.0, 6), rng.uniform(3.0, 30.0, 2),
                            rng.uniform(30.0, 500.0, 2)])
        ds = np.concatenate([rng.uniform(0.0, 1.0, 5), np.sqrt(s / n),
                             [0.5 / n, 1.0 / n, 1.0 - 1.0 / n, 0.5, 1.0]])
        for d in ds:
            if 0.0 < d <= 1.0:
                yield n, float(d)


def test_dense_grid_equals_scipy_in_every_region() -> None:
    worst: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    bad = []
    for n, d in grid():
        got, want = kstwo_sf(d, n), float(sps.kstwo.sf(d, n))
        err = rel_err(got, want)
        where = region(d, n)
        worst[where] = max(worst[where], err)
        count[where] += 1
        if err > TOL:
            bad.append((n, d, got, want, err))
    assert bad == []
    assert sum(count.values()) > 3000
    # every region but Pelz–Good (n > 20,000 here only with n·d^1.5 > 1.4) is covered
    assert set(count) >= {"d_at_least_1", "t_at_most_half", "ruben_gambino_low",
                          "ruben_gambino_high", "smirnov_exact", "durbin", "smirnov_doubled",
                          "underflow", "pelz_good"}
    assert min(count.values()) >= 10, dict(count)


@pytest.mark.parametrize("n", [20_001, 50_000, 100_000, 100_001, 1_000_000])
def test_large_n_equals_scipy(n: int) -> None:
    # Durbin up to n·d^1.5 = 1.4 (n ≤ 100,000), Pelz–Good above, one-sided doubling and 0
    s_values = [1e-4, 0.01, 0.05, 0.2, 0.5, 1.0, 1.5, 2.0, 2.19, 2.2, 3.0, 369.0, 400.0]
    if n >= 50_000:
        # the one-sided sum costs O(n) (~1 s per call at n = 10⁶, in scipy as here)
        s_values = s_values[:10] if n <= 100_001 else s_values[:9]
    for s in s_values:
        d = math.sqrt(s / n)
        assert rel_err(kstwo_sf(d, n), float(sps.kstwo.sf(d, n))) < TOL, (n, s)


def test_tiny_pvalues_equal_scipy() -> None:
    cases = [(140, 0.9), (50, 0.99), (141, 0.49), (5_000, math.sqrt(369.0 / 5_000)),
             (20_000, math.sqrt(360.0 / 20_000)), (1_000, 0.999), (300, 0.997)]
    for n, d in cases:
        want = float(sps.kstwo.sf(d, n))
        assert want < 1e-20
        assert rel_err(kstwo_sf(d, n), want) < TOL, (n, d)


def test_closed_forms_by_hand() -> None:
    # n = 1: D_1 = max(U, 1 − U) ≥ 1/2, P(D_1 ≥ d) = 2(1 − d) on [1/2, 1]
    for d in (0.1, 0.5, 0.6, 0.99):
        assert kstwo_sf(d, 1) == pytest.approx(min(1.0, 2 * (1 - d)), rel=1e-15)
    assert kstwo_sf(1.0, 7) == 0.0 and kstwo_sf(0.0, 7) == 1.0
    assert kstwo_sf(0.5 / 7, 7) == 1.0
    # 1/(2n) < d ≤ 1/n: 1 − n!/nⁿ (2nd − 1)ⁿ (Ruben & Gambino)
    n, d = 5, 0.15
    assert kstwo_sf(d, n) == pytest.approx(1 - math.factorial(n) / n**n * (2 * n * d - 1) ** n,
                                           rel=1e-14)
    # d ≥ 1 − 1/n: 2(1 − d)ⁿ
    assert kstwo_sf(0.9, 10) == pytest.approx(2 * 0.1**10, rel=1e-14)
    # d ≥ 1/2: twice the one-sided Smirnov survival
    assert kstwo_sf(0.6, 30) == pytest.approx(2 * float(special.smirnov(30, 0.6)), rel=1e-12)
    with pytest.raises(ValueError, match="n >= 1"):
        kstwo_sf(0.3, 0)


def test_log_factorial_over_power_equals_gammaln() -> None:
    for n in (1, 2, 9, 10, 11, 140, 5_000, 10**6):
        want = special.gammaln(n + 1.0) - n * math.log(n)
        assert float(log_factorial_over_power(n)) == pytest.approx(want, rel=1e-14, abs=1e-14)


def test_durbin_is_exact_where_pelz_good_is_not() -> None:
    # the Durbin matrix is exact: against the scipy oracle at small n, where scipy uses an
    # exact method as well (its own Durbin matrix, or Pomeranz's recursion)
    for n, d in [(2, 0.6), (3, 0.4), (10, 0.2), (140, 0.15)]:
        assert rel_err(1.0 - durbin_cdf(n, d), float(sps.kstwo.sf(d, n))) < 1e-11
    # Pelz–Good is an asymptotic series: close to the exact value at large n only
    for n, want_rel in [(150, 1e-5), (20_000, 1e-9)]:
        d = math.sqrt(1.0 / n)
        exact = durbin_cdf(n, d)
        assert pelz_good_cdf(n, d) == pytest.approx(exact, rel=want_rel)
    assert pelz_good_cdf(150, math.sqrt(1.0 / 150)) != pytest.approx(
        durbin_cdf(150, math.sqrt(1.0 / 150)), rel=1e-9)


def test_kstwobign_equals_scipy_kolmogorov() -> None:
    xs = [*np.linspace(0.0, 6.0, 3001).tolist(), *np.geomspace(1e-3, 27.0, 800).tolist()]
    errors = [(rel_err(kstwobign_sf(x), float(special.kolmogorov(x))), x) for x in xs]
    assert max(errors) < (TOL, 0.0)
    # the two series agree where they meet, and the tail is 2e^{−2x²} to first order
    assert kstwobign_sf(0.82) == pytest.approx(kstwobign_sf(0.8200000001), rel=1e-9)
    assert kstwobign_sf(5.0) == pytest.approx(2 * math.exp(-50.0), rel=1e-15)
    assert kstwobign_sf(0.0) == 1.0 and kstwobign_sf(0.04) == 1.0
