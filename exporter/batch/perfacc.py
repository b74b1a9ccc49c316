"""Streaming accumulators for the performance metrics: memory bounded by the file's classes.

Each keeps its per-row inputs while there are at most ``column.SAMPLE_CAP`` rows, and
then computes exactly what ``exporter.stats.performance`` does on them; beyond that it
folds them (and every later chunk) into exact sums of the per-row terms, rounded once
(``ExactSum``: integer sums, ``exporter.stats.moments``; for the variance of the
labels ``exporter.stats.moments.Moments``). The
confusion counts are exact in both regimes. Every accumulator has ``merge(other)``: the
accumulators of any split of the rows, merged in row order, give the same bits as one
over all rows (the kept rows concatenate in order; the folded sums are exact), which is
what the Spark engine's partitions rely on (``exporter.spark.batch``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from exporter.batch import column
from exporter.stats.moments import ExactSum, Moments
from exporter.stats.performance import (
    LOG_LOSS_EPS,
    ClassificationMetrics,
    RegressionMetrics,
    confusion_metrics,
    regression_metrics,
)

FloatArray = NDArray[np.float64]

MAX_CLASSES = 10_000  # distinct class names a confusion matrix holds


class Confusion:
    """Counts per (true class, predicted class); None once there are too many classes."""

    def __init__(self) -> None:
        self.pairs: Counter[tuple[str, str]] | None = Counter()
        self._names: set[str] = set()

    def add(self, pairs: Iterable[tuple[str, str]] | Counter[tuple[str, str]]) -> None:
        if self.pairs is None:
            return
        chunk = pairs if isinstance(pairs, Counter) else Counter(pairs)
        for t, p in chunk:
            self._names.add(t)
            self._names.add(p)
        if len(self._names) > MAX_CLASSES:
            self.pairs = None  # not a classification (or too large a one to hold)
            self._names = set()
            return
        self.pairs.update(chunk)

    def merge(self, other: Confusion) -> None:
        if self.pairs is None or other.pairs is None:
            self.pairs, self._names = None, set()
            return
        self.add(other.pairs)  # one step per distinct pair, not per row

    @property
    def overflowed(self) -> bool:
        return self.pairs is None


def from_confusion(pairs: Counter[tuple[str, str]], configured: tuple[str, ...],
                   loss: float | None) -> ClassificationMetrics:
    """``classification_metrics`` from the counts (the same arithmetic, so equal floats).

    Classes: the configured ones, then the others seen, sorted.
    """
    seen = {c for pair in pairs for c in pair}
    classes = (*configured, *sorted(seen - set(configured)))
    index = {c: i for i, c in enumerate(classes)}
    k = len(classes)
    confusion = np.zeros((k, k), dtype=np.int64)
    for (t, p), count in pairs.items():
        confusion[index[t], index[p]] += count
    return confusion_metrics(confusion, classes, loss)


class LogLoss:
    """−mean ln p over the rows, p the probability of the true class clipped as
    ``exporter.stats.performance`` does."""

    def __init__(self) -> None:
        self._parts: list[FloatArray] = []
        self._n = 0
        self._folded: ExactSum | None = None

    def add(self, p_true: FloatArray) -> None:
        p = np.clip(np.asarray(p_true, dtype=np.float64), LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
        self._n += int(p.size)
        if self._folded is not None:
            self._folded.add(np.log(p))
            return
        self._parts.append(p)
        self._fold_if_over()

    def _fold_if_over(self) -> None:
        if self._folded is None and self._n > column.SAMPLE_CAP:
            self._folded = ExactSum()
            for part in self._parts:
                self._folded.add(np.log(part))
            self._parts = []

    def merge(self, other: LogLoss) -> None:
        self._n += other._n
        if self._folded is None and other._folded is None:
            self._parts += other._parts
            self._fold_if_over()
            return
        if self._folded is None:
            self._folded = ExactSum()
            for part in self._parts:
                self._folded.add(np.log(part))
            self._parts = []
        if other._folded is not None:
            self._folded.merge(other._folded)
        for part in other._parts:
            self._folded.add(np.log(part))

    def value(self) -> float:
        if self._n == 0:
            return math.nan
        if self._folded is None:
            return float(-np.mean(np.log(np.concatenate(self._parts))))
        return -self._folded.value / self._n


class Regression:
    """MAE, RMSE, MAPE and R² of the pairs (y, ŷ) without NaN (``regression_metrics``)."""

    def __init__(self) -> None:
        self._y: list[FloatArray] = []
        self._p: list[FloatArray] = []
        self._rows = 0
        self._folded = False
        self._abs = ExactSum()
        self._sq = ExactSum()
        self._pct = ExactSum()
        self._nonzero = 0
        self._y_moments = Moments()  # of the labels, for R²

    def add(self, y: FloatArray, y_hat: FloatArray) -> None:
        keep = ~(np.isnan(y) | np.isnan(y_hat))
        y, y_hat = y[keep], y_hat[keep]
        if not y.size:
            return
        self._rows += int(y.size)
        if self._folded:
            self._fold(y, y_hat)
            return
        self._y.append(y)
        self._p.append(y_hat)
        if self._rows > column.SAMPLE_CAP:
            self._folded = True
            self._fold(np.concatenate(self._y), np.concatenate(self._p))
            self._y, self._p = [], []

    def _fold(self, y: FloatArray, y_hat: FloatArray) -> None:
        err = y - y_hat
        abs_err = np.abs(err)
        nz = y != 0
        self._abs.add(abs_err)
        self._sq.add(err * err)
        self._pct.add(abs_err[nz] / np.abs(y[nz]))
        self._nonzero += int(np.count_nonzero(nz))
        self._y_moments.add(y)

    def merge(self, other: Regression) -> None:
        if not other._rows:
            return
        if not self._folded and not other._folded \
                and self._rows + other._rows <= column.SAMPLE_CAP:
            self._y += other._y
            self._p += other._p
            self._rows += other._rows
            return
        if not self._folded:
            self._folded = True
            if self._y:
                self._fold(np.concatenate(self._y), np.concatenate(self._p))
            self._y, self._p = [], []
        self._rows += other._rows
        if other._folded:
            for mine, theirs in ((self._abs, other._abs), (self._sq, other._sq),
                                 (self._pct, other._pct)):
                mine.merge(theirs)
            self._nonzero += other._nonzero
            self._y_moments.merge(other._y_moments)
        elif other._y:
            self._fold(np.concatenate(other._y), np.concatenate(other._p))

    def metrics(self) -> RegressionMetrics | None:
        """None when no row has both a label and a prediction."""
        if self._rows == 0:
            return None
        if not self._folded:
            return regression_metrics(np.concatenate(self._y), np.concatenate(self._p))
        y = self._y_moments
        n = y.n
        ss_res = self._sq.value
        ss_tot = 0.0 if y.min == y.max else y.m2  # constant y: exactly 0
        r2 = 1.0 - ss_res / ss_tot if ss_tot > 0.0 else (1.0 if ss_res == 0.0 else 0.0)
        mape = self._pct.value / self._nonzero if self._nonzero else math.nan
        return RegressionMetrics(samples=n, mae=self._abs.value / n,
                                 rmse=math.sqrt(ss_res / n), mape=mape, r2=r2)
