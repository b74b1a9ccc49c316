from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.stats.psi import EPSILON, psi, psi_standard_error, smoothed_proportions


def test_psi_hand_computed() -> None:
    ref = np.array([50, 30, 20])
    cur = np.array([30, 30, 40])
    r = [0.5, 0.3, 0.2]
    c = [0.3, 0.3, 0.4]
    expected = sum((ci - ri) * math.log(ci / ri) for ci, ri in zip(c, r, strict=True))
    assert psi(ref, cur) == pytest.approx(expected, rel=1e-12)


def test_empty_bin_is_smoothed_with_epsilon() -> None:
    ref = np.array([0, 50, 50])
    cur = np.array([10, 45, 45])
    # reference [0, .5, .5] -> floored [eps, .5, .5] / (1 + eps)
    r = np.array([EPSILON, 0.5, 0.5]) / (1 + EPSILON)
    c = np.array([0.1, 0.45, 0.45])
    np.testing.assert_allclose(smoothed_proportions(ref), r, rtol=1e-15)
    expected = float(np.sum((c - r) * np.log(c / r)))
    assert psi(ref, cur) == pytest.approx(expected, rel=1e-12)
    assert math.isfinite(psi(ref, cur))


def test_psi_against_numpy_histogram() -> None:
    rng = np.random.default_rng(5)
    ref = rng.normal(size=20_000)
    cur = rng.normal(0.5, 1.0, size=5_000)
    edges = np.quantile(ref, np.arange(1, 10) / 10)
    bins = np.concatenate(([-np.inf], edges, [np.inf]))
    rc, _ = np.histogram(ref, bins)
    cc, _ = np.histogram(cur, bins)
    r, c = rc / rc.sum(), cc / cc.sum()  # no empty bins here, smoothing is a no-op
    assert psi(rc, cc) == pytest.approx(float(np.sum((c - r) * np.log(c / r))), rel=1e-12)


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="mismatch"):
        psi(np.array([1, 2]), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="sum to zero"):
        psi(np.array([1, 2]), np.array([0, 0]))
    with pytest.raises(ValueError, match="non-negative"):
        smoothed_proportions(np.array([1, -1]))


counts = st.lists(st.integers(0, 10_000), min_size=1, max_size=12)


@settings(deadline=None)  # timing is not under test; the machine may be busy
@given(counts, st.data())
def test_psi_non_negative_and_zero_for_identical(ref: list[int], data: st.DataObject) -> None:
    cur = data.draw(st.lists(st.integers(0, 10_000), min_size=len(ref), max_size=len(ref)))
    if sum(ref) == 0 or sum(cur) == 0:
        return
    r, c = np.array(ref), np.array(cur)
    assert psi(r, c) >= 0.0
    assert psi(r, r) == 0.0
    assert psi(r * 3, r) == pytest.approx(0.0, abs=1e-12)  # proportions, not counts
    perm = np.random.default_rng(len(ref)).permutation(len(ref))
    assert psi(r[perm], c[perm]) == pytest.approx(psi(r, c), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("k", "shift"), [(3, 0.5), (10, 0.3), (50, 0.3)])
def test_psi_standard_error_matches_the_spread_over_repeated_windows(k: int, shift: float,
                                                                     ) -> None:
    """Oracle: the standard deviation of PSI over 1,500 simulated windows."""
    rng = np.random.default_rng(k)
    p = np.full(k, 1.0 / k)
    q = p * np.exp(shift * rng.normal(size=k))
    q /= q.sum()
    values, errors = [], []
    for _ in range(1_500):
        ref = rng.multinomial(100_000, p)
        cur = rng.multinomial(2_000, q)
        values.append(psi(ref, cur))
        errors.append(psi_standard_error(ref, cur))
    assert float(np.mean(errors)) == pytest.approx(float(np.std(values)), rel=0.15)


def test_psi_standard_error_without_drift_is_the_chi2_noise_term() -> None:
    """Equal proportions: the first-order terms vanish, leaving √(2(k − 1))·(1/n + 1/N)."""
    ref = np.array([250, 250, 250, 250])
    cur = np.array([100, 100, 100, 100])
    expected = np.sqrt(2 * 3) * (1 / 400 + 1 / 1000)
    assert psi_standard_error(ref, cur) == pytest.approx(expected, rel=1e-9)


def test_psi_standard_error_rejects_mismatched_buckets() -> None:
    with pytest.raises(ValueError, match="mismatch"):
        psi_standard_error(np.array([1, 2]), np.array([1, 2, 3]))


Floats = np.ndarray[Any, np.dtype[np.float64]]


def _psi_of(c: Floats, r: Floats) -> float:
    return float(np.sum((c - r) * np.log(c / r)))


def _delta_method_se(ref: Floats, cur: Floats) -> float:
    n, big_n = cur.sum(), ref.sum()
    c, r = cur / n, ref / big_n  # every proportion above the 1e-4 floor: no smoothing
    h = 1e-7
    eye = np.eye(len(c))
    grad_c = np.array([(_psi_of(c + h * e, r) - _psi_of(c - h * e, r)) / (2 * h) for e in eye])
    grad_r = np.array([(_psi_of(c, r + h * e) - _psi_of(c, r - h * e)) / (2 * h) for e in eye])
    cov_c = (np.diag(c) - np.outer(c, c)) / n  # multinomial proportions
    cov_r = (np.diag(r) - np.outer(r, r)) / big_n
    noise = 2.0 * (len(c) - 1) * (1.0 / n + 1.0 / big_n) ** 2
    return float(np.sqrt(grad_c @ cov_c @ grad_c + grad_r @ cov_r @ grad_r + noise))


@pytest.mark.parametrize(("ref", "cur"), [
    ([500, 300, 200], [200, 300, 500]),  # a strong shift, reference as small as the window
    ([400, 100, 250, 250], [100, 400, 260, 240]),
    ([1000, 1000], [1500, 500]),
])
def test_psi_standard_error_is_the_delta_method(ref: list[int], cur: list[int]) -> None:
    r, c = np.array(ref, dtype=np.float64), np.array(cur, dtype=np.float64)
    assert psi_standard_error(r, c) == pytest.approx(_delta_method_se(r, c), rel=1e-5)


def test_psi_standard_error_of_a_single_bucket_is_zero() -> None:
    """Hand calculation: every value in one bucket in both samples. The proportions are
    identical (so both gradients vanish) and PSI's χ²(k − 1) noise has k − 1 = 0 degrees
    of freedom, so the standard error, and the upper bound built on it, is exactly 0."""
    ref = np.array([100, 0, 0])
    cur = np.array([50, 0, 0])
    assert psi(ref, cur) == 0.0
    assert psi_standard_error(ref, cur) == 0.0
