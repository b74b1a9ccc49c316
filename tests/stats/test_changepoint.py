"""Step or trend: the O(n) split scan and BIC choice against brute-force least squares."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exporter.stats.changepoint import MIN_SEGMENT, classify


def _rss(design: np.ndarray, y: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(np.sum((y - design @ coef) ** 2))


def _brute(t: np.ndarray, y: np.ndarray) -> tuple[dict[str, float], int, int]:
    """BIC of the four models by direct lstsq at every split (the oracle), with the
    effective sample size from the lag-1 autocorrelation of the step+trend residuals."""
    n = t.size
    one = np.ones(n)
    tc = t - t.mean()
    best_step = (math.inf, -1)
    best_both = (math.inf, -1)
    for k in range(MIN_SEGMENT, n - MIN_SEGMENT + 1):
        d = (np.arange(n) >= k).astype(float)
        best_step = min(best_step, (_rss(np.column_stack([one, d]), y), k))
        best_both = min(best_both, (_rss(np.column_stack([one, tc, d]), y), k))
    rss = {"flat": _rss(one[:, None], y), "trend": _rss(np.column_stack([one, tc]), y),
           "step": best_step[0], "step+trend": best_both[0]}
    design = np.column_stack([one, tc, (np.arange(n) >= best_both[1]).astype(float)])
    e = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    r1 = min(max(float(e[:-1] @ e[1:] / (e @ e)),
                 0.0), 0.95)
    n_eff = n * (1 - r1) / (1 + r1)
    params = {"flat": 1, "trend": 2, "step": 3, "step+trend": 4}
    bic = {m: n_eff * math.log(rss[m] / n) + params[m] * math.log(n_eff) for m in rss}
    return bic, best_step[1], best_both[1]


def test_exact_step_by_hand() -> None:
    t = np.arange(12, dtype=np.float64) * 60.0
    y = np.array([0.05] * 7 + [0.19] * 5)
    shape = classify(t, y)
    assert shape.model == "step"
    assert shape.split == 7 and shape.step_time == 420.0
    assert shape.step_size == pytest.approx(0.14, abs=1e-12)


def test_exact_line_and_constant() -> None:
    t = np.arange(50, dtype=np.float64)
    assert classify(t, 0.02 + 0.003 * t).model == "trend"
    assert classify(t, np.full(50, 0.95)).model == "flat"
    flat = classify(t, np.full(50, 0.95))
    assert flat.split is None and flat.step_time is None and flat.step_size is None


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("kind", ["flat", "trend", "step", "step+trend"])
def test_bic_and_split_equal_brute_force(seed: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    n = 80
    t = 1_700_000_000.0 + np.arange(n) * 300.0
    x = np.arange(n) / n
    signal = {"flat": 0 * x, "trend": 0.05 * x, "step": 0.03 * (x >= 0.4),
              "step+trend": 0.04 * x + 0.03 * (x >= 0.6)}[kind]
    y = 0.1 + signal + rng.normal(0, 0.005, n)
    bic, k_step, k_both = _brute(t, y)
    shape = classify(t, y)
    for model, value in bic.items():
        assert shape.bic[model] == pytest.approx(value, rel=1e-9, abs=1e-9), model
    assert shape.model == min(bic, key=lambda m: bic[m])
    assert shape.model == kind  # and the truth is recovered at this signal-to-noise
    if kind == "step":
        assert shape.split == k_step == 32
        before, after = y[:k_step].mean(), y[k_step:].mean()
        assert shape.step_size == pytest.approx(after - before, rel=1e-9)
    if kind == "step+trend":
        assert shape.split == k_both == 48
        d = (np.arange(n) >= k_both).astype(float)
        coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(n), t - t.mean(), d]), y,
                                   rcond=None)
        assert shape.step_size == pytest.approx(coef[2], rel=1e-9)
        assert shape.step_size == pytest.approx(0.03, abs=0.01)


def test_too_short_for_a_split_compares_only_flat_and_trend() -> None:
    t = np.arange(2 * MIN_SEGMENT - 1, dtype=np.float64)
    shape = classify(t, np.where(t >= 4, 1.0, 0.0))
    assert set(shape.bic) == {"flat", "trend"} and shape.split is None


def test_nan_pairs_are_dropped() -> None:
    t = np.arange(20, dtype=np.float64)
    y = np.where(t >= 10, 0.2, 0.1)
    y[3] = np.nan
    shape = classify(t, y)
    assert shape.model == "step" and shape.step_time == 10.0 and shape.split == 9


def test_serially_correlated_noise_is_rarely_called_a_step() -> None:
    # AR(1) noise, φ = 0.8 (a sliding-window PSI is autocorrelated): with n in the BIC,
    # nearly every such series would be a "step"; with n_eff = n(1 − r₁)/(1 + r₁) few are.
    t = np.arange(577, dtype=np.float64) * 300.0
    steps = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        z = rng.normal(0, 0.004, t.size)
        e = np.zeros(t.size)
        e[0] = z[0]
        for i in range(1, t.size):
            e[i] = 0.8 * e[i - 1] + z[i]
        shape = classify(t, 0.05 + e)
        assert shape.r1 == pytest.approx(0.8, abs=0.12)
        steps += shape.split is not None
    assert steps <= 4  # 3 of these 40; 39 of them with n in place of n_eff
