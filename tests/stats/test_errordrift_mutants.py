"""Tests that kill the errordrift.py mutants mutmut left alive (docs/development.md, "Mutation
testing"): River's ``drift.PageHinkley`` (its internal sums) and hand computations are the
oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from river import drift

from exporter.stats.errordrift import (
    CLASSIFICATION,
    REGRESSION,
    ErrorDrift,
    PageHinkley,
    PageHinkleyParams,
    default_params,
)


def river(p: PageHinkleyParams) -> drift.PageHinkley:
    return drift.PageHinkley(min_instances=p.min_instances, delta=p.delta,
                             threshold=p.threshold, alpha=p.alpha, mode="up")


def test_default_params_are_the_documented_ones() -> None:
    # module docstring: classifiers δ 0.04, λ 18; regressors δ 0.5, λ 20; both 100, α = 1
    assert default_params("classification") == PageHinkleyParams(0.04, 18.0, 100, 1.0)
    assert default_params("regression") == PageHinkleyParams(0.5, 20.0, 100, 1.0)
    assert CLASSIFICATION.min_instances == REGRESSION.min_instances == 100
    assert PageHinkleyParams(0.1, 2.0) == PageHinkleyParams(0.1, 2.0, 100, 1.0)


def test_classifier_statistic_count_and_detections_follow_river_error_by_error() -> None:
    # a 1,000-error warm-up at 30 % (held, then replayed divided by √0.21/0.3), then rises;
    # River is fed the divided errors once the warm-up is complete, restarting after each
    # detection (its next 1,000 errors are the new warm-up: p̂ recomputed by hand)
    rng = np.random.default_rng(17)
    p = PageHinkleyParams(0.01, 4.0, 20, 1.0)
    xs = np.concatenate([rng.random(1000) < 0.3, rng.random(1500) < 0.6,
                         rng.random(1500) < 0.05, rng.random(1500) < 0.5]).astype(float).tolist()
    ref, ours = river(p), ErrorDrift("classification", p)
    held: list[float] = []
    divisor = None
    detections = fed = 0
    for i, x in enumerate(xs):
        got = ours.update(x)
        if divisor is None:
            held.append(x)
            if len(held) < 1000:
                assert not got and ours.scale is None, i
                continue
            rate = sum(held) / 1000
            divisor, todo, held = math.sqrt(max(0.09, rate * (1 - rate))) / 0.3, held, []
        else:
            todo = [x]
        detected = False
        for k, e in enumerate(todo):
            ref.update(e / divisor)
            fed += 1
            if ref.drift_detected:
                detected, divisor, held = True, None, todo[k + 1:]
                break
        assert got == detected, i
        # River's PH statistic of the up test: its cumulative sum minus that sum's minimum;
        # 0 while the next warm-up runs
        expected = ref._sum_increase - ref._min_increase if divisor is not None else 0.0
        assert ours.statistic == pytest.approx(expected, abs=1e-9), i
        detections += int(detected)
        assert ours.errors == i + 1
        assert ours.detections == detections
    print(f"5,500 classifier errors: {detections} detections, {fed} fed to River; statistic "
          "= River's at each")
    assert detections >= 2  # the count must add up, not just be set


def test_classifier_scale_is_the_warmup_rates_sd_over_0_3_floored_at_1() -> None:
    # by hand: p̂ = 0.3 gives √(0.3·0.7)/0.3 = 1.5275...; p̂ = 0.05 (σ̂ 0.218 < 0.3), 0 and 1
    # (σ̂ = 0: no division by zero) give 1; the scale is unknown until the 1,000th error
    for ones, expected in ((300, math.sqrt(0.21) / 0.3), (50, 1.0), (0, 1.0), (1000, 1.0),
                           (600, math.sqrt(0.24) / 0.3)):
        ed = ErrorDrift("classification", CLASSIFICATION)
        errors = [1.0] * ones + [0.0] * (1000 - ones)
        for e in errors[:-1]:
            ed.update(e)
        assert ed.scale is None and ed.test.n == 0
        ed.update(errors[-1])
        assert ed.scale == pytest.approx(expected, rel=1e-12)
        assert ed.calibration == [] and ed.test.n == 1000
        assert ed.test.mean == pytest.approx(ones / 1000 / expected, rel=1e-12)
    assert ErrorDrift("classification", PageHinkleyParams(0.04, 18.0, 1500)).warmup == 1500


def test_detection_on_the_last_calibration_error_is_reported() -> None:
    # regressor, k = 10: nine zeros then 10.0. Scale = 10/10 = 1, so the test sees nine 0s
    # and min(10/1, 5) = 5; by hand mean 0.5, m = 4.5, min m = 0: PH = 4.5 > λ = 1 at n = 10
    p = PageHinkleyParams(0.0, 1.0, 10, 1.0)
    ref = river(p)
    for x in [0.0] * 9 + [5.0]:
        ref.update(x)
    assert ref.drift_detected
    ed = ErrorDrift("regression", p)
    assert [ed.update(e) for e in [0.0] * 9 + [10.0]] == [False] * 9 + [True]
    assert ed.detections == 1


def test_second_calibration_after_a_detection_counts_its_own_zeros_only() -> None:
    p = PageHinkleyParams(0.0, 20.0, 10, 1.0)
    ed = ErrorDrift("regression", p)
    for _ in range(10):
        ed.update(1.0)  # scale 1
    assert ed.scale == 1.0 and ed.zeros == 0
    while not ed.update(5.0):  # a detection (m grows by 5 − mean per error) restarts the scale
        assert ed.errors < 40
    assert ed.scale is None
    for _ in range(10):
        assert not ed.update(0.0)
    ed.update(2.2)  # all-zero calibration: 2.2 over the 11 errors = 0.2
    assert ed.scale == pytest.approx(0.2)
    assert ed.zeros == 0


def test_page_hinkley_state_is_checked_when_loaded() -> None:
    ph = PageHinkley(CLASSIFICATION)
    fresh = ph.state()  # minimum = +inf before any error: accepted
    ph.load(fresh)
    assert ph.statistic == 0.0
    for bad in ([1.5, 0.1, -0.2, -0.3, 0.0], [-1.0, 0.1, -0.2, -0.3, 0.0],
                [-2.0, 0.1, -0.2, -0.3, 0.0], [3.0, math.nan, -0.2, -0.3, 0.0],
                [3.0, 0.1, math.inf, -0.3, 0.0]):
        with pytest.raises(ValueError):
            ph.load(bad)


def test_error_drift_state_is_checked_when_loaded() -> None:
    p = PageHinkleyParams(0.5, 20.0, 10, 1.0)
    ed = ErrorDrift("regression", p)
    for _ in range(10):
        ed.update(0.0)  # all-zero calibration: k values held, legitimately
    good = ed.state()
    other = ErrorDrift("regression", p)
    other.load(good)
    assert other.calibration == [0.0] * 10 and other.errors == 10
    bad_docs = [
        {**good, "detections": 1.5}, {**good, "errors": "3"}, {**good, "zeros": None},
        {**good, "scale": 0.0}, {**good, "scale": "1"},
        {**good, "calibration": [1.0] * 12},
        {**good, "test": 5, "params": [0.1, 1.0, 10, 1.0]},  # even with other parameters
    ]
    for bad in bad_docs:
        with pytest.raises((ValueError, TypeError)):
            ErrorDrift("regression", p).load(bad)
