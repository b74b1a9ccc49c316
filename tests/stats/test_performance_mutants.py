"""Tests that kill mutmut survivors of exporter/stats/performance.py which change an exported
metric (docs/development.md, "Mutation testing"). Oracles: hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exporter.stats.performance import classification_metrics, regression_metrics


def test_a_class_predicted_once_and_right_has_precision_one() -> None:
    # confusion (rows true, columns predicted): [[1, 0], [1, 1]]
    m = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), ("a", "b"))
    assert m.precision == (0.5, 1.0)  # TP/(TP+FP): 1/2, 1/1
    assert m.recall == (1.0, 0.5)
    assert m.f1 == pytest.approx((2 / 3, 2 / 3), rel=1e-15)


def test_an_empty_window_has_nan_classification_and_regression_metrics() -> None:
    empty = np.array([], dtype=np.int64)
    m = classification_metrics(empty, empty, ("a", "b"))
    assert m.samples == 0
    assert all(math.isnan(v) for v in (m.accuracy, m.macro_precision, m.macro_recall,
                                       m.macro_f1))
    r = regression_metrics(np.array([math.nan]), np.array([1.0]))  # the pair is dropped
    assert r.samples == 0
    assert all(math.isnan(v) for v in (r.mae, r.rmse, r.mape, r.r2))


def test_log_loss_of_a_single_row() -> None:
    m = classification_metrics(np.array([1]), np.array([1]), ("a", "b"),
                               proba=np.array([[0.2, 0.8]]))
    assert m.log_loss == pytest.approx(-math.log(0.8), rel=1e-15)


@pytest.mark.parametrize("bad", [1.5, -0.1, math.nan])
def test_a_probability_outside_zero_one_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="within"):
        classification_metrics(np.array([0, 1]), np.array([0, 1]), ("a", "b"),
                               proba=np.array([[0.5, 0.5], [0.5, bad]]))  # one bad entry only


def test_r2_of_a_target_with_total_sum_of_squares_below_one() -> None:
    yt = np.array([0.1, 0.2, 0.3, 0.4])
    yp = np.array([0.12, 0.18, 0.33, 0.41])
    ss_res = 0.02**2 + 0.02**2 + 0.03**2 + 0.01**2  # 0.0018
    ss_tot = 0.15**2 + 0.05**2 + 0.05**2 + 0.15**2  # 0.05, mean 0.25
    assert regression_metrics(yt, yp).r2 == pytest.approx(1 - ss_res / ss_tot, rel=1e-9)
