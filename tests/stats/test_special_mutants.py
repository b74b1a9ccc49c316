"""Tests that kill the mutmut survivors of exporter/stats/special.py found to change a value
(docs/development.md, "Mutation testing"). Oracle: scipy.special."""

from __future__ import annotations

import pytest
from scipy import special as ss

from exporter.stats.special import chdtri, gammainc_pq, gammaln


@pytest.mark.parametrize(("a", "x"), [(5.0, 6.99), (0.5, 3.0), (50.0, 60.0)])
def test_lower_incomplete_gamma_on_the_continued_fraction_side(a: float, x: float) -> None:
    # x >= a + 1: Q comes from the continued fraction and P = 1 - Q
    p, q = gammainc_pq(a, x)
    assert p == pytest.approx(float(ss.gammainc(a, x)), rel=1e-12)
    assert q == pytest.approx(float(ss.gammaincc(a, x)), rel=1e-10)


def test_gammaln_of_an_integer_argument() -> None:
    assert float(gammaln(10)) == pytest.approx(float(ss.gammaln(10)), rel=1e-14)  # ln 9!


@pytest.mark.parametrize("df", [1, 10, 100])
def test_chi2_quantile_far_in_the_tail(df: int) -> None:
    # Newton starts from Wilson-Hilferty with the A&S 26.2.23 normal quantile
    assert chdtri(df, 1e-12) == pytest.approx(float(ss.chdtri(df, 1e-12)), rel=1e-9)
