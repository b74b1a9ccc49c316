from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from scipy import stats as sps

from exporter.stats.kolmogorov import smirnov_sf
from exporter.stats.ks import ks_2samp_sorted, ks_pvalue, ks_sorted_pair

CASES = [
    # (reference size, current size, rounding decimals -> ties, current shift)
    (10_000, 10_000, None, 0.05),
    (10_000, 10_000, 1, 0.0),  # heavy ties within and across samples
    (10_000, 2_000, 0, 0.3),
    (1_000, 37, None, 0.5),
    (5, 3, None, 0.0),
    (1, 2, None, 1.0),
    (200, 200, None, 3.0),  # disjoint-ish: D near 1
]


@pytest.mark.parametrize(("n", "m", "decimals", "shift"), CASES)
def test_equals_scipy_asymp(n: int, m: int, decimals: int | None, shift: float) -> None:
    rng = np.random.default_rng(n * 7 + m)
    ref = rng.normal(size=n)
    cur = rng.normal(shift, 1.0, size=m)
    if decimals is not None:
        ref, cur = np.round(ref, decimals), np.round(cur, decimals)
    got = ks_2samp_sorted(np.sort(ref), cur)
    want = sps.ks_2samp(ref, cur, method="asymp")
    assert got.statistic == float(want.statistic)  # exactly, ties included
    assert got.pvalue == pytest.approx(float(want.pvalue), rel=1e-9, abs=1e-300)


def test_drifted_regime_uses_scipy_smirnov_branch() -> None:
    # n_e * D^2 in [2.2, 370): scipy's asymp switches to 2 * smirnov(n_e, D)
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(size=4000), rng.normal(0.12, 1.0, size=4000)
    got = ks_2samp_sorted(np.sort(ref), cur)
    assert 2.2 <= 2000 * got.statistic**2 < 370
    want = sps.ks_2samp(ref, cur, method="asymp")
    assert got.pvalue == pytest.approx(float(want.pvalue), rel=1e-9)


@pytest.mark.parametrize("n_e", [141, 1_000, 5_000, 12_345, 20_000])
def test_vectorised_smirnov_branch_equals_scipy(n_e: int) -> None:
    # sweep n_e * D^2 across scipy's 2 * smirnov region [2.2, 370) and its edges
    for nx2 in np.concatenate(([2.19, 2.2], np.linspace(2.3, 369.0, 25), [370.0])):
        d = math.sqrt(nx2 / n_e)
        if d >= 0.5:
            continue
        # sample sizes giving this n_e: n = m = 2 n_e
        want = float(sps.kstwo.sf(d, float(n_e)))
        assert ks_pvalue(d, 2 * n_e, 2 * n_e) == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_smirnov_sum_by_hand_and_large_n_by_scipy_special() -> None:
    # n = 2, d < 1/2: d [C(2,0) d^-1 (1 - d)^2 + C(2,1) (d + 1/2)^0 (1/2 - d)]
    d = 0.3
    assert smirnov_sf(2, d) == pytest.approx((1 - d) ** 2 + 2 * d * (0.5 - d), rel=1e-12)
    assert smirnov_sf(700, 0.07) == pytest.approx(float(special.smirnov(700, 0.07)), rel=1e-12)
    n_e = 80_000
    d = math.sqrt(5.0 / n_e)
    want = float(sps.kstwo.sf(d, float(n_e)))
    assert ks_pvalue(d, 2 * n_e, 2 * n_e) == pytest.approx(want, rel=1e-12)


def test_kstwobign_method_equals_limiting_distribution() -> None:
    rng = np.random.default_rng(9)
    ref, cur = rng.normal(size=3000), rng.normal(0.05, 1.0, size=1200)
    got = ks_2samp_sorted(np.sort(ref), cur, method="kstwobign")
    d = float(sps.ks_2samp(ref, cur, method="asymp").statistic)
    en = 3000 * 1200 / 4200
    assert got.statistic == d
    assert got.pvalue == pytest.approx(float(sps.kstwobign.sf(d * math.sqrt(en))), rel=1e-12)


def test_en_rounding_half_to_even() -> None:
    # n=3, m=1 -> n_e = 0.75 -> rounds to 1; n=5, m=5 -> 2.5 -> rounds to 2 (half-to-even)
    assert ks_pvalue(0.7, 5, 5) == pytest.approx(float(sps.kstwo.sf(0.7, 2)), rel=1e-12)
    ref, cur = np.arange(5.0), np.arange(5.0) + 3.5
    want = sps.ks_2samp(ref, cur, method="asymp")
    assert ks_2samp_sorted(ref, cur).pvalue == pytest.approx(float(want.pvalue), rel=1e-12)


def test_one_versus_one_value_gives_pvalue_one() -> None:
    # scipy's asymp p-value is NaN here (n_e = round(0.5) = 0); D is still exact
    got = ks_2samp_sorted(np.array([0.0]), np.array([1.0]))
    assert got.statistic == 1.0 and got.pvalue == 1.0


def test_nan_in_current_dropped() -> None:
    ref = np.arange(10.0)
    cur = np.array([np.nan, 2.5, 7.5, np.nan, 9.5])
    want = sps.ks_2samp(ref, cur[~np.isnan(cur)], method="asymp")
    got = ks_2samp_sorted(ref, cur)
    assert got.statistic == float(want.statistic)
    assert got.pvalue == pytest.approx(float(want.pvalue), rel=1e-12)


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="sorted"):
        ks_2samp_sorted(np.array([3.0, 1.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="non-empty"):
        ks_2samp_sorted(np.array([1.0]), np.array([np.nan]))
    with pytest.raises(ValueError, match="unknown KS p-value method"):
        ks_pvalue(0.1, 10, 10, method="exact")  # type: ignore[arg-type]


small = st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=40)


@settings(deadline=None)  # timing is not under test; the machine may be busy
@given(small, small)
def test_property_statistic_equals_scipy_and_pvalue_in_unit_interval(
        ref: list[float], cur: list[float]) -> None:
    r, c = np.array(ref), np.array(cur)
    got = ks_2samp_sorted(np.sort(r), c)
    with np.errstate(divide="ignore"):  # scipy divides by n_e = 0 for 1 vs 1
        want = sps.ks_2samp(r, c, method="asymp")
    assert got.statistic == float(want.statistic)
    if r.size + c.size > 2:
        assert got.pvalue == pytest.approx(float(want.pvalue), rel=1e-9, abs=1e-300)
    assert 0.0 <= got.statistic <= 1.0
    assert 0.0 <= got.pvalue <= 1.0
    # order of the window does not matter, and D is symmetric in the two samples
    assert ks_2samp_sorted(np.sort(r), c[::-1]) == got
    assert ks_sorted_pair(np.sort(c), np.sort(r)).statistic == got.statistic
