"""Tests that kill the cbpe.py mutants mutmut left alive (docs/development.md, "Mutation
testing"): expected confusion and accuracy computed by hand, and exact Python integers for
the fixed-point sums."""

from __future__ import annotations

import math

import numpy as np

from exporter.stats.calibration import Calibration, CalibrationMap
from exporter.stats.cbpe import SCALE, ExpectedSums, estimate_binary, estimate_proba


def constant_map(v: float) -> CalibrationMap:
    return CalibrationMap((0.0, 1.0), (v, v))


def test_raw_scores_outside_the_unit_interval_are_clipped() -> None:
    # no calibration: p = clip(s) = 1, 0, 0.7; predicted positive: 1.5 and 0.7
    # TP = 1 + 0.7, FP = 0 + 0.3, FN = 0 (the -0.2 row's p is 0), TN = 1
    e = estimate_binary(np.array([1.5, -0.2, 0.7]), None)
    assert abs(e.accuracy - (1.7 + 1.0) / 3) <= 1e-12
    assert e.precision is not None and abs(e.precision - 1.7 / 2.0) <= 1e-12
    assert e.recall is not None and abs(e.recall - 1.0) <= 1e-12


def test_score_of_exactly_one_half_predicts_positive() -> None:
    e = estimate_binary(np.array([0.5]), None)  # TP = FP = 0.5, FN = TN = 0
    assert e.precision == 0.5 and e.recall == 1.0 and e.f1 is not None
    assert abs(e.f1 - 2 * 0.5 / (2 * 0.5 + 0.5)) <= 1e-15


def test_multiclass_uses_the_calibration_and_reports_it() -> None:
    cal = Calibration(100, ("a", "b", "c"),
                      (constant_map(0.5), constant_map(0.25), constant_map(0.25)))
    raw = np.array([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])  # predicted b, a
    e = estimate_proba(raw, cal)
    # calibrated rows are [0.5, 0.25, 0.25] (sum 1): the predicted classes get 0.25 and 0.5
    assert e.samples == 2 and e.calibrated is True
    assert abs(e.accuracy - 0.375) <= 1e-12
    e = estimate_proba(raw, None)
    assert e.samples == 2 and e.calibrated is False
    assert abs(e.accuracy - (0.8 + 0.6) / 2) <= 1e-12
    empty = estimate_proba(np.zeros((0, 3)), cal)
    assert empty.samples == 0 and math.isnan(empty.accuracy) and empty.calibrated is True


def test_multiclass_sums_add_up_over_chunks_and_clip_raw_probabilities() -> None:
    sums = ExpectedSums(binary=False, calibrated=False)
    sums.add_proba(np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]]), None)
    sums.add_proba(np.array([[1.4, -0.4, 0.0], [-0.1, -0.2, -0.3]]), None)  # clipped: 1, 0
    sums.add_proba(np.array([0.3, 0.7]), None)  # not a 2-D window: ignored
    e = sums.estimate()
    assert e.samples == 4
    assert abs(e.accuracy - (0.7 + 0.5 + 1.0 + 0.0) / 4) <= 1e-12


def test_fixed_point_sums_are_exact_integers() -> None:
    rng = np.random.default_rng(12)
    scores = 0.5 + 0.5 * rng.random(30_000)  # all predicted positive: TP = Σ round(s·2⁴⁰)
    exact = sum(round(v * SCALE) for v in scores.tolist())  # Python ints: no rounding
    whole = ExpectedSums(binary=True, calibrated=False)
    whole.add_binary(scores, None)
    chunked = ExpectedSums(binary=True, calibrated=False)
    for i in range(0, scores.size, 4096):
        chunked.add_binary(scores[i:i + 4096], None)
    assert whole.tp == chunked.tp == exact
    assert whole.estimate() == chunked.estimate()
    print(f"30,000 scores: TP sum {exact} (units of 2^-40), exact in one shot and in chunks")
