"""exporter.stats.smirnov (one-sided Smirnov survival) against scipy.special.smirnov on
the (n, d) region where kolmogorov.kstwo_sf calls it, and against exact rational sums."""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction

import numpy as np
import pytest
from scipy import special as sp

from exporter.stats.smirnov import EXACT_MAX_N, smirnov

TOL = 1e-9


def rel_err(got: float, want: float) -> float:
    """|a − b| / max(|a|, |b|, 1e-300): relative, and absolute below 1e-300."""
    return abs(got - want) / max(abs(got), abs(want), 1e-300)


def _smirnov_points() -> Iterable[tuple[int, float]]:
    """(n, d) where kolmogorov.kstwo_sf calls smirnov: d ≥ 1/2 (exact doubling), and
    n·d² > 4 (n ≤ 140) or 2.2 ≤ n·d² < 370 (n > 140), up to n = 100,000."""
    rng = np.random.default_rng(1951)
    ns = [*range(1, 141, 3), *sorted({int(v) for v in np.geomspace(141, 100_000, 40)})]
    for n in ns:
        s_lo = 4.0 if n <= 140 else 2.2
        s = [s_lo, *rng.uniform(s_lo, 30.0, 4).tolist(), *rng.uniform(30.0, 370.0, 3).tolist()]
        if n > 20_000:  # scipy's sum costs O(n) per call
            s = s[::3]
        for d in [*np.sqrt(np.array(s) / n).tolist(), 0.5, *rng.uniform(0.5, 1.0, 3).tolist()]:
            if 0.0 < d < 1.0 and (n <= 20_000 or d < 0.5):
                yield n, d


def test_smirnov_equals_scipy_where_kstwo_uses_it() -> None:
    errors = [(rel_err(smirnov(n, d), float(sp.smirnov(n, d))), n, d)
              for n, d in _smirnov_points()]
    assert len(errors) > 500
    assert max(errors) < (TOL, 0, 0.0)


def test_smirnov_exact_by_rational_arithmetic() -> None:
    # the Birnbaum–Tingey sum in exact rationals: an oracle independent of scipy
    for n, d in [(1, Fraction(1, 3)), (7, Fraction(3, 10)), (12, Fraction(1, 2)),
                 (25, Fraction(7, 40)), (40, Fraction(9, 10))]:
        exact = d * sum(math.comb(n, j) * (d + Fraction(j, n)) ** (j - 1)
                        * (1 - d - Fraction(j, n)) ** (n - j)
                        for j in range(math.floor(n * (1 - d)) + 1))
        assert smirnov(n, float(d)) == pytest.approx(float(exact), rel=1e-13)


def test_smirnov_edges_and_scipy_approximation_above_a_million() -> None:
    assert smirnov(10, 0.0) == 1.0 and smirnov(10, 1.0) == 0.0 and smirnov(10, -1.0) == 1.0
    assert math.isnan(smirnov(10, math.nan))
    with pytest.raises(ValueError, match="n >= 1"):
        smirnov(0, 0.5)
    for n in (EXACT_MAX_N + 1, 5 * EXACT_MAX_N):
        for s in (0.01, 2.2, 50.0, 369.0):
            d = math.sqrt(s / n)
            assert rel_err(smirnov(n, d), float(sp.smirnov(n, d))) < TOL
