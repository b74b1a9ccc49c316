"""CBPE target (issue 13 item 1): under covariate shift the estimated accuracy of a
calibrated classifier is within 0.02 of the realized accuracy of the same 10k-row window,
and moves in the same direction as the realized accuracy, in every scenario.

Generated data: the true P(y | x) is known (logistic or softmax in x), the model's score
is that probability (calibrated by construction), labels are drawn from it. The
reference (20k rows with labels) fits the calibration map; each shifted window (10k
rows) changes only the distribution of x. The oracle is the realized accuracy of the
drawn labels, and the hand-computed sums below.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray

from exporter.stats.calibration import fit_binary, fit_multiclass
from exporter.stats.cbpe import ExpectedSums, estimate_binary, estimate_proba

REF_ROWS, WINDOW_ROWS = 20_000, 10_000
TOLERANCE = 0.02
W = np.array([2.0, -1.0])
B = 0.3
WM = np.array([[1.5, 0.0], [-0.8, 1.3], [-0.7, -1.3]])  # 3-class logits = WM @ x


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-z))


def _binary(rng: np.random.Generator, n: int, mean: tuple[float, float], scale: float,
            ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    x = rng.normal(mean, scale, size=(n, 2))
    p = _sigmoid(x @ W + B)
    return p, (rng.random(n) < p).astype(np.int64)


def _softmax_data(rng: np.random.Generator, n: int, mean: tuple[float, float], scale: float,
                  ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    x = rng.normal(mean, scale, size=(n, 2))
    z = x @ WM.T
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random(n)[:, None]
    y = (u > np.cumsum(p, axis=1)).sum(axis=1).astype(np.int64)
    return p, np.minimum(y, 2)


def _realized_binary(scores: NDArray[np.float64], y: NDArray[np.int64]) -> float:
    return float(np.mean((scores >= 0.5).astype(np.int64) == y))


# The boundary is 2 x0 - x1 + 0.3 = 0: the reference mean (0, 0) sits 0.3/sqrt(5) off it.
BINARY_SHIFTS = {
    "toward boundary (x0 -0.15, scale 0.7)": ((-0.15, 0.0), 0.7),
    "onto boundary (x0 -0.15, x1 +0.3)": ((-0.15, 0.3), 0.6),
    "away from boundary (x0 mean +1)": ((1.0, 0.0), 1.0),
    "variance down (scale 0.5)": ((0.0, 0.0), 0.5),
    "variance up (scale 2)": ((0.0, 0.0), 2.0),
    "far side (x0 mean -1.5)": ((-1.5, 0.0), 1.0),
}


def test_binary_covariate_shift_estimate_tracks_realized_accuracy() -> None:
    rng = np.random.default_rng(13)
    ref_s, ref_y = _binary(rng, REF_ROWS, (0.0, 0.0), 1.0)
    cal = fit_binary(ref_s, ref_y, ("0", "1"))
    assert cal is not None and cal.rows == REF_ROWS
    base_s, base_y = _binary(rng, WINDOW_ROWS, (0.0, 0.0), 1.0)
    base_est = estimate_binary(base_s, cal).accuracy
    base_real = _realized_binary(base_s, base_y)
    print(f"\nbinary reference window: estimated {base_est:.4f} realized {base_real:.4f}")
    assert abs(base_est - base_real) <= TOLERANCE
    for name, (mean, scale) in BINARY_SHIFTS.items():
        s, y = _binary(rng, WINDOW_ROWS, mean, scale)
        est = estimate_binary(s, cal)
        real = _realized_binary(s, y)
        print(f"{name:36s} estimated {est.accuracy:.4f} realized {real:.4f} "
              f"|diff| {abs(est.accuracy - real):.4f}  "
              f"change est {est.accuracy - base_est:+.4f} real {real - base_real:+.4f}")
        assert est.samples == WINDOW_ROWS and est.calibrated
        assert abs(est.accuracy - real) <= TOLERANCE, name
        assert abs(real - base_real) > 0.02, f"{name}: the scenario must move accuracy"
        assert np.sign(est.accuracy - base_est) == np.sign(real - base_real), name


def test_binary_expected_confusion_against_realized_precision_recall() -> None:
    """Estimated precision / recall / F1 at 0.5 against the realized ones on a shifted window."""
    rng = np.random.default_rng(7)
    ref_s, ref_y = _binary(rng, REF_ROWS, (0.0, 0.0), 1.0)
    cal = fit_binary(ref_s, ref_y, ("0", "1"))
    s, y = _binary(rng, WINDOW_ROWS, (-0.15, 0.3), 0.6)
    est = estimate_binary(s, cal)
    pred = s >= 0.5
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    fn = int((~pred & (y == 1)).sum())
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    f1 = 2 * tp / (2 * tp + fp + fn)
    print(f"\nprecision est {est.precision:.4f} real {precision:.4f}; recall est "
          f"{est.recall:.4f} real {recall:.4f}; F1 est {est.f1:.4f} real {f1:.4f}")
    assert est.precision is not None and est.recall is not None and est.f1 is not None
    assert abs(est.precision - precision) <= TOLERANCE
    assert abs(est.recall - recall) <= TOLERANCE
    assert abs(est.f1 - f1) <= TOLERANCE


MULTI_SHIFTS = {
    "toward the 3-way corner (scale 0.4)": ((0.0, 0.0), 0.4),
    "toward the class-b/c boundary": ((-1.0, 0.0), 0.5),
    "away (scale 2)": ((0.0, 0.0), 2.0),
    "deep into class 0 (x0 mean +2)": ((2.0, 0.0), 1.0),
}


def test_multiclass_covariate_shift_estimate_tracks_realized_accuracy() -> None:
    rng = np.random.default_rng(31)
    classes = ("a", "b", "c")
    ref_p, ref_y = _softmax_data(rng, REF_ROWS, (0.0, 0.0), 1.0)
    cal = fit_multiclass(ref_p, ref_y, classes)
    assert cal is not None and len(cal.maps) == 3
    base_p, base_y = _softmax_data(rng, WINDOW_ROWS, (0.0, 0.0), 1.0)
    base_est = estimate_proba(base_p, cal).accuracy
    base_real = float(np.mean(np.argmax(base_p, axis=1) == base_y))
    print(f"\nmulti-class reference window: estimated {base_est:.4f} realized {base_real:.4f}")
    assert abs(base_est - base_real) <= TOLERANCE
    for name, (mean, scale) in MULTI_SHIFTS.items():
        p, y = _softmax_data(rng, WINDOW_ROWS, mean, scale)
        est = estimate_proba(p, cal)
        real = float(np.mean(np.argmax(p, axis=1) == y))
        print(f"{name:36s} estimated {est.accuracy:.4f} realized {real:.4f} "
              f"|diff| {abs(est.accuracy - real):.4f}  "
              f"change est {est.accuracy - base_est:+.4f} real {real - base_real:+.4f}")
        assert est.precision is None
        assert abs(est.accuracy - real) <= TOLERANCE, name
        assert abs(real - base_real) > 0.02, f"{name}: the scenario must move accuracy"
        assert np.sign(est.accuracy - base_est) == np.sign(real - base_real), name


def test_miscalibrated_scores_need_the_map() -> None:
    """Scores squared (s' = s², over-confident negatives): the raw-score estimate is off by
    far more than the tolerance; the map fitted on the reference brings it back within it."""
    rng = np.random.default_rng(5)
    ref_s, ref_y = _binary(rng, REF_ROWS, (0.0, 0.0), 1.0)
    cal = fit_binary(ref_s**2, ref_y, ("0", "1"))
    for name, (mean, scale) in (("no shift", ((0.0, 0.0), 1.0)),
                                ("toward boundary", ((-0.15, 0.3), 0.6))):
        s, y = _binary(rng, WINDOW_ROWS, mean, scale)
        distorted = s**2
        real = _realized_binary(distorted, y)
        raw = estimate_binary(distorted, None)
        fixed = estimate_binary(distorted, cal)
        print(f"\nmiscalibrated, {name}: realized {real:.4f}, raw-score estimate "
              f"{raw.accuracy:.4f}, calibrated estimate {fixed.accuracy:.4f}")
        assert not raw.calibrated and fixed.calibrated
        assert abs(raw.accuracy - real) > 0.05
        assert abs(fixed.accuracy - real) <= TOLERANCE


def test_expected_confusion_by_hand() -> None:
    """Identity map: TP = 0.9 + 0.6, FP = 0.1 + 0.4, FN = 0.2, TN = 0.8 + 1.0."""
    scores = np.array([0.9, 0.6, 0.2, 0.0, np.nan])
    est = estimate_binary(scores, None)
    tp, fp, fn, tn = 1.5, 0.5, 0.2, 1.8
    assert est.samples == 4 and not est.calibrated
    assert est.accuracy == pytest.approx((tp + tn) / 4)
    assert est.precision == pytest.approx(tp / (tp + fp))
    assert est.recall == pytest.approx(tp / (tp + fn))
    assert est.f1 == pytest.approx(2 * tp / (2 * tp + fp + fn))


def test_zero_division_and_empty() -> None:
    est = estimate_binary(np.array([0.0, 0.0]), None)  # nothing predicted positive, p = 0
    assert est.accuracy == 1.0 and est.precision == 0.0 and est.recall == 0.0 and est.f1 == 0.0
    assert math.isnan(estimate_binary(np.array([]), None).accuracy)
    assert math.isnan(estimate_proba(np.empty((0, 3)), None).accuracy)


def test_multiclass_by_hand_and_streamed_sums_match_one_shot() -> None:
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4], [0.3, 0.3, 0.4]])
    assert estimate_proba(proba, None).accuracy == pytest.approx((0.7 + 0.5 + 0.4) / 3)
    rng = np.random.default_rng(2)
    s = rng.random(1000)
    one = estimate_binary(s, None)
    sums = ExpectedSums(binary=True, calibrated=False)
    for part in np.array_split(s, 7):
        sums.add_binary(part, None)
    streamed = sums.estimate()
    assert streamed.accuracy == pytest.approx(one.accuracy, abs=1e-12)
    assert streamed.f1 == pytest.approx(one.f1, abs=1e-12)
