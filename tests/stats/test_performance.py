from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.stats.performance import (
    LOG_LOSS_EPS,
    classification_metrics,
    regression_metrics,
)


def test_classification_by_hand() -> None:
    classes = ("a", "b", "c")
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 0, 0])
    m = classification_metrics(y_true, y_pred, classes)
    # class a: TP 2, FP 2 (rows 4, 5), FN 1 -> P 1/2, R 2/3, F1 4/7
    # class b: TP 1, FP 1, FN 1 -> 1/2, 1/2, 1/2
    # class c: TP 0, never predicted -> P 0 (zero division), R 0, F1 0
    assert m.samples == 6 and m.classes == classes
    assert m.accuracy == pytest.approx(3 / 6)
    assert m.precision == pytest.approx((0.5, 0.5, 0.0))
    assert m.recall == pytest.approx((2 / 3, 0.5, 0.0))
    assert m.f1 == pytest.approx((4 / 7, 0.5, 0.0))
    assert m.macro_precision == pytest.approx(1 / 3)
    assert m.macro_recall == pytest.approx((2 / 3 + 0.5) / 3)
    assert m.macro_f1 == pytest.approx((4 / 7 + 0.5) / 3)
    assert m.log_loss is None


def test_class_absent_everywhere_counts_zero_in_macro() -> None:
    m = classification_metrics(np.array([0, 1]), np.array([0, 1]), ("x", "y", "z"))
    assert m.f1 == (1.0, 1.0, 0.0)
    assert m.macro_f1 == pytest.approx(2 / 3)


def test_log_loss_by_hand_with_clipping() -> None:
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.0]])
    y_true = np.array([0, 1, 1])  # the last is a certain miss: p = 0 clipped to eps
    m = classification_metrics(y_true, np.array([0, 1, 0]), ("n", "p"), proba)
    expected = -(math.log(0.9) + math.log(0.8) + math.log(LOG_LOSS_EPS)) / 3
    assert m.log_loss == pytest.approx(expected, rel=1e-12)


def test_classification_bad_input() -> None:
    with pytest.raises(ValueError, match="outside"):
        classification_metrics(np.array([0, 2]), np.array([0, 1]), ("a", "b"))
    with pytest.raises(ValueError, match="length"):
        classification_metrics(np.array([0]), np.array([0, 1]), ("a", "b"))
    with pytest.raises(ValueError, match="shape"):
        classification_metrics(np.array([0]), np.array([0]), ("a", "b"), np.array([[1.0]]))
    empty = classification_metrics(np.array([], dtype=np.int64), np.array([], dtype=np.int64),
                                   ("a",))
    assert empty.samples == 0 and math.isnan(empty.accuracy)


def test_regression_by_hand() -> None:
    y = np.array([2.0, 0.0, 4.0, 6.0, np.nan])
    p = np.array([3.0, 1.0, 2.0, 6.0, 1.0])
    m = regression_metrics(y, p)
    # errors over the 4 complete pairs: -1, -1, 2, 0
    assert m.samples == 4
    assert m.mae == pytest.approx(1.0)
    assert m.rmse == pytest.approx(math.sqrt(6 / 4))
    assert m.mape == pytest.approx((1 / 2 + 2 / 4 + 0 / 6) / 3)  # y == 0 row excluded
    # mean y = 3, SS_tot = 1 + 9 + 1 + 9 = 20, SS_res = 6
    assert m.r2 == pytest.approx(1 - 6 / 20)


def test_regression_edge_cases_follow_sklearn() -> None:
    perfect = regression_metrics(np.array([5.0, 5.0]), np.array([5.0, 5.0]))
    assert perfect.r2 == 1.0
    off = regression_metrics(np.array([5.0, 5.0]), np.array([4.0, 6.0]))
    assert off.r2 == 0.0
    zeros = regression_metrics(np.array([0.0, 0.0]), np.array([1.0, 0.0]))
    assert math.isnan(zeros.mape) and zeros.mae == 0.5
    empty = regression_metrics(np.array([]), np.array([]))
    assert empty.samples == 0 and math.isnan(empty.rmse)


@settings(deadline=None)  # timing is not under test; the machine may be busy
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40))
def test_property_bounds_and_order_invariance(pairs: list[tuple[int, int]]) -> None:
    yt = np.array([a for a, _ in pairs])
    yp = np.array([b for _, b in pairs])
    m = classification_metrics(yt, yp, ("a", "b", "c", "d"))
    assert 0.0 <= m.accuracy <= 1.0
    for v in (*m.precision, *m.recall, *m.f1, m.macro_f1):
        assert 0.0 <= v <= 1.0
    r = classification_metrics(yt[::-1], yp[::-1], ("a", "b", "c", "d"))
    assert r == m
    assert m.accuracy == pytest.approx(float(np.mean(yt == yp)))
