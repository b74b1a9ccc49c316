from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from exporter.stats.distances import (
    hellinger,
    jensen_shannon,
    wasserstein,
    wasserstein_sorted_pair,
)


@pytest.mark.parametrize(("n", "m", "decimals"), [
    (10_000, 10_000, None), (10_000, 3_000, 1), (50, 7, 0), (1, 1, None)])
def test_wasserstein_equals_scipy(n: int, m: int, decimals: int | None) -> None:
    rng = np.random.default_rng(n + m)
    ref, cur = rng.normal(size=n), rng.normal(0.3, 2.0, size=m)
    if decimals is not None:
        ref, cur = np.round(ref, decimals), np.round(cur, decimals)
    got = wasserstein(np.sort(ref), cur)
    assert got == pytest.approx(float(sps.wasserstein_distance(ref, cur)), rel=1e-12, abs=1e-15)


def test_wasserstein_by_hand_and_nan_dropped() -> None:
    # scipy docs example: |F_u - F_v| integrated = 5
    assert wasserstein(np.array([0.0, 1.0, 3.0]), np.array([5.0, np.nan, 6.0, 8.0])) == 5.0
    with pytest.raises(ValueError, match="non-empty"):
        wasserstein(np.array([1.0]), np.array([np.nan]))


def test_jensen_shannon_equals_scipy_with_empty_bins() -> None:
    p = np.array([10, 0, 30, 60])
    q = np.array([0, 25, 25, 50])
    want = float(jensenshannon(p, q, base=2))
    assert jensen_shannon(p, q) == pytest.approx(want, rel=1e-12)
    # disjoint supports: maximal distance 1 bit
    assert jensen_shannon(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0, rel=1e-12)


def test_hellinger_by_hand() -> None:
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    bc = 2 * math.sqrt(0.5 * 0.25)
    assert hellinger(p, q) == pytest.approx(math.sqrt(1 - bc), rel=1e-12)
    # equivalent form: ||sqrt p - sqrt q|| / sqrt 2, and counts are normalised
    alt = float(np.linalg.norm(np.sqrt(p) - np.sqrt(q)) / math.sqrt(2))
    assert hellinger(p * 40, q * 8) == pytest.approx(alt, rel=1e-12)
    assert hellinger(np.array([1, 0]), np.array([0, 1])) == 1.0


def test_bad_weights_raise() -> None:
    with pytest.raises(ValueError, match="equal length"):
        hellinger(np.array([1.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="positive sum"):
        jensen_shannon(np.array([0.0, 0.0]), np.array([1.0, 2.0]))


weights = st.lists(st.integers(0, 1000), min_size=1, max_size=10)


@settings(deadline=None)  # timing is not under test; the machine may be busy
@given(weights, st.data())
def test_property_symmetric_bounded_and_zero_on_identity(p: list[int],
                                                         data: st.DataObject) -> None:
    q = data.draw(st.lists(st.integers(0, 1000), min_size=len(p), max_size=len(p)))
    if sum(p) == 0 or sum(q) == 0:
        return
    pa, qa = np.array(p), np.array(q)
    for f in (jensen_shannon, hellinger):
        assert f(pa, qa) == pytest.approx(f(qa, pa), abs=1e-12)
        assert -1e-12 <= f(pa, qa) <= 1.0 + 1e-12
        assert f(pa, pa) == pytest.approx(0.0, abs=1e-7)
    assert jensen_shannon(pa, qa) == pytest.approx(float(jensenshannon(pa, qa, base=2)),
                                                   rel=1e-9, abs=1e-7)


samples = st.lists(st.integers(-20, 20).map(float), min_size=1, max_size=30)


@settings(deadline=None)  # timing is not under test; the machine may be busy
@given(samples, samples)
def test_property_wasserstein_symmetric_and_equals_scipy(u: list[float],
                                                         v: list[float]) -> None:
    ua, va = np.sort(np.array(u)), np.sort(np.array(v))
    got = wasserstein_sorted_pair(ua, va)
    assert got == pytest.approx(wasserstein_sorted_pair(va, ua), rel=1e-12, abs=1e-12)
    assert got == pytest.approx(float(sps.wasserstein_distance(u, v)), rel=1e-12, abs=1e-12)
    assert wasserstein(ua, np.array(v[::-1])) == got
