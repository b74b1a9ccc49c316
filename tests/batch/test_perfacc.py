"""Streaming performance accumulators against numpy hand computations on many chunks."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from exporter.batch import column, perfacc
from exporter.batch.perfacc import Confusion, LogLoss, Regression, from_confusion
from exporter.stats.performance import LOG_LOSS_EPS, classification_metrics


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(a, min(a + size, n)) for a in range(0, n, size)]


def test_confusion_metrics_equal_classification_metrics_exactly() -> None:
    rng = np.random.default_rng(5)
    names = ["cat", "dog", "eel", "fox"]
    truth = rng.integers(0, 4, 3000)
    pred = np.where(rng.random(3000) < 0.6, truth, rng.integers(0, 4, 3000))
    confusion = Confusion()
    for s in _chunks(3000, 211):
        confusion.add(zip([names[i] for i in truth[s]], [names[i] for i in pred[s]],
                          strict=True))
    assert confusion.pairs is not None
    got = from_confusion(confusion.pairs, ("dog", "cat"), 0.25)
    classes = ("dog", "cat", "eel", "fox")
    index = [classes.index(c) for c in names]
    expected = classification_metrics(np.array([index[i] for i in truth]),
                                      np.array([index[i] for i in pred]), classes)
    for field in ("samples", "accuracy", "classes", "precision", "recall", "f1",
                  "macro_precision", "macro_recall", "macro_f1"):
        assert getattr(got, field) == getattr(expected, field), field
    assert got.log_loss == 0.25


def test_confusion_gives_up_beyond_max_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(perfacc, "MAX_CLASSES", 10)
    confusion = Confusion()
    confusion.add([("a", "b")] * 5)
    assert confusion.pairs == Counter({("a", "b"): 5})
    confusion.add((str(i), "a") for i in range(10))
    assert confusion.overflowed and confusion.pairs is None


@pytest.mark.parametrize("cap", [10**9, 1000])
def test_log_loss_within_and_beyond_the_cap(monkeypatch: pytest.MonkeyPatch,
                                            cap: int) -> None:
    monkeypatch.setattr(column, "SAMPLE_CAP", cap)
    rng = np.random.default_rng(6)
    p = rng.random(20_000)
    p[::50] = 0.0  # clipped to LOG_LOSS_EPS
    loss = LogLoss()
    for s in _chunks(p.size, 777):
        loss.add(p[s])
    expected = -np.mean(np.log(np.clip(p, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)))
    assert loss.value() == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("offset", [0.0, 1e6, 1e9])
def test_regression_beyond_the_cap_matches_numpy_on_large_offsets(
        monkeypatch: pytest.MonkeyPatch, offset: float) -> None:
    monkeypatch.setattr(column, "SAMPLE_CAP", 500)
    rng = np.random.default_rng(7)
    n = 30_000
    y = offset + rng.normal(0.0, 2.0, n)
    y_hat = y + rng.normal(0.3, 0.5, n)
    y[::17] = np.nan
    y_hat[::23] = np.nan
    y[5] = 0.0
    acc = Regression()
    for s in _chunks(n, 1234):
        acc.add(y[s], y_hat[s])
    m = acc.metrics()
    keep = ~(np.isnan(y) | np.isnan(y_hat))
    yt, yp = y[keep], y_hat[keep]
    e = yt - yp
    nz = yt != 0
    assert m is not None and m.samples == int(keep.sum())
    assert m.mae == pytest.approx(np.mean(np.abs(e)), rel=1e-12)
    assert m.rmse == pytest.approx(np.sqrt(np.mean(e * e)), rel=1e-12)
    assert m.mape == pytest.approx(np.mean(np.abs(e[nz]) / np.abs(yt[nz])), rel=1e-12)
    r2 = 1 - np.sum(e * e) / np.sum((yt - yt.mean()) ** 2)
    assert m.r2 == pytest.approx(r2, rel=1e-9)


def test_regression_constant_labels_beyond_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(column, "SAMPLE_CAP", 10)
    for y_hat, r2 in ((0.1, 1.0), (0.2, 0.0)):  # scikit-learn's force_finite
        acc = Regression()
        for _ in range(7):
            acc.add(np.full(9, 0.1), np.full(9, y_hat))
        m = acc.metrics()
        assert m is not None and m.r2 == r2 and m.samples == 63


def test_regression_without_pairs_is_none() -> None:
    acc = Regression()
    acc.add(np.array([np.nan, 1.0]), np.array([2.0, np.nan]))
    assert acc.metrics() is None
