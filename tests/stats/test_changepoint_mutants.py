"""Tests that kill the changepoint.py mutants mutmut left alive (docs/development.md, "Mutation
testing"): brute-force least squares at every split (numpy lstsq) on irregular times, and
the docstring's formulas evaluated by hand on exact data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exporter.stats.changepoint import MIN_SEGMENT, classify

PARAMS = {"flat": 1, "trend": 2, "step": 3, "step+trend": 4}


def lstsq_resid(design: np.ndarray, y: np.ndarray) -> np.ndarray:
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    return np.asarray(y - design @ coef)


def brute_bic(t: np.ndarray, y: np.ndarray) -> tuple[dict[str, float], float, float]:
    """BIC of the four models, every split with MIN_SEGMENT points a side tried by lstsq."""
    n = t.size
    one, tc = np.ones(n), t - t.mean()
    rss = {"flat": float(np.sum(lstsq_resid(one[:, None], y) ** 2)),
           "trend": float(np.sum(lstsq_resid(np.column_stack([one, tc]), y) ** 2))}
    best: dict[str, tuple[float, int]] = {"step": (math.inf, -1), "step+trend": (math.inf, -1)}
    for k in range(MIN_SEGMENT, n - MIN_SEGMENT + 1):
        d = (np.arange(n) >= k).astype(float)
        for model, cols in (("step", [one, d]), ("step+trend", [one, tc, d])):
            r = float(np.sum(lstsq_resid(np.column_stack(cols), y) ** 2))
            best[model] = min(best[model], (r, k))
    rss.update({m: v[0] for m, v in best.items()})
    d = (np.arange(n) >= best["step+trend"][1]).astype(float)
    e = lstsq_resid(np.column_stack([one, tc, d]), y)
    r1 = min(max(float(e[:-1] @ e[1:] / (e @ e)), 0.0), 0.95)
    n_eff = max(n * (1 - r1) / (1 + r1), 3.0)
    bic = {m: n_eff * math.log(rss[m] / n) + PARAMS[m] * math.log(n_eff) for m in rss}
    return bic, r1, n_eff


@pytest.mark.parametrize("seed", range(6))
def test_step_and_trend_on_irregular_times_equal_brute_force(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(11, 40))
    t = np.cumsum(rng.exponential(1.0, n) ** 2)  # very uneven spacing
    x = (t - t[0]) / (t[-1] - t[0])
    y = 0.2 * x + 0.1 * (np.arange(n) >= n // 2) + rng.normal(0, 0.02, n)
    if seed % 2:
        y[-4:] += 0.5  # a jump in the last 4 points: too short a segment to be a split
    bic, r1, n_eff = brute_bic(t, y)
    shape = classify(t, y)
    for model, value in bic.items():
        assert shape.bic[model] == pytest.approx(value, rel=1e-9, abs=1e-9), model
    assert shape.r1 == pytest.approx(r1, abs=1e-12) and shape.n_eff == pytest.approx(n_eff)
    if shape.split is not None:
        assert MIN_SEGMENT <= shape.split <= n - MIN_SEGMENT


def test_exact_step_uses_the_rss_floor_and_full_sample_size() -> None:
    t = np.arange(20, dtype=np.float64)
    y = np.where(t >= 10, 0.5, 0.2)  # max |y| = 0.5: floor = 20·(1e-9·0.5)²
    shape = classify(t, y)
    n = 20
    floor = n * (1e-9 * 0.5) ** 2
    assert shape.model == "step" and shape.split == 10
    assert shape.r1 == 0.0 and shape.n_eff == n  # residuals at the floor: no correlation
    assert shape.bic["step"] == pytest.approx(n * math.log(floor / n) + 3 * math.log(n),
                                              rel=1e-12)
    ten = classify(t[5:15], y[5:15])  # exactly 2·MIN_SEGMENT points: a step is possible
    assert ten.model == "step" and ten.split == 5 and ten.n_eff == 10


def test_step_in_times_of_small_units() -> None:
    t = np.arange(20, dtype=np.float64) / 100  # Σ(t − t̄)² = 0.0665 < 1
    y = np.where(np.arange(20) >= 10, 0.3, 0.1)
    shape = classify(t, y)
    assert shape.model == "step" and shape.split == 10 and shape.step_time == 0.1


def test_short_series_correlation_from_the_line_residuals() -> None:
    t = np.arange(8, dtype=np.float64)
    y = np.array([0.0, 1.0, 3.0, 4.0, 4.2, 3.1, 1.0, 0.5]) + 0.3 * t  # a hump on a line
    e = y - np.polyval(np.polyfit(t, y, 1), t)
    r1 = min(max(float(e[:-1] @ e[1:] / (e @ e)), 0.0), 0.95)
    shape = classify(t, y)
    assert r1 > 0.1 and shape.r1 == pytest.approx(r1, abs=1e-12)
    assert shape.n_eff == pytest.approx(max(8 * (1 - r1) / (1 + r1), 3.0))
    three = classify(t[:3], y[:3])  # three points are enough
    assert set(three.bic) == {"flat", "trend"}



def test_pure_noise_on_irregular_times_equals_brute_force() -> None:
    # no step at all: the split scan's gain must still pick the least-squares split, which
    # depends on every term of its denominator when no jump dominates
    for seed in range(40):
        rng = np.random.default_rng(500 + seed)
        n = int(rng.integers(11, 40))
        t = np.cumsum(rng.exponential(1.0, n) ** 2)
        y = rng.normal(0, 1, n)
        bic, _, _ = brute_bic(t, y)
        shape = classify(t, y)
        for model, value in bic.items():
            assert shape.bic[model] == pytest.approx(value, rel=1e-9, abs=1e-9), (seed, model)
