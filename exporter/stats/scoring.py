"""Probability quality: Brier score and expected calibration error (ECE).

Brier score (Brier 1950), two forms:

* binary, from the score s = P(classes[1]) and y = 1 for classes[1], else 0:
  Brier = (1/n) Σᵢ (sᵢ − yᵢ)², in [0, 1];
* multi-class, from the probability vectors p and one-hot labels:
  Brier = (1/n) Σᵢ Σₖ (pᵢₖ − [yᵢ = k])², in [0, 2].

For a binary model the multi-class form is exactly twice the binary one; mlmon uses the
binary form whenever a binary model gives a score (a probability object of a binary model
gives its score too), the multi-class form otherwise.

Expected calibration error, top-label (Guo et al. 2017, "On Calibration of Modern Neural
Networks", §2): each prediction has a confidence c, the probability of the predicted class
(binary: max(s, 1 − s), the predicted class being classes[1] when s >= 0.5; multi-class:
the largest probability, the first on ties, as ``argmax``), and is correct when the
predicted class is the label. Predictions fall in ``ECE_BINS`` = 10 equal-width confidence
bins on [0, 1]: bin b holds ECE_EDGES[b] <= c < ECE_EDGES[b+1] by float comparison with
``ECE_EDGES``, the floats k/10 (``linspace`` would make its 7th edge 0.7000000000000001
and put 0.7 in bin 6); the last bin [0.9, 1] is closed at 1, and a confidence below 0 or
above 1 falls in the first or last bin. Then

    ECE = Σᵦ (nᵦ / n)·|acc(b) − conf(b)|,

acc(b) the share of correct predictions and conf(b) the mean confidence in bin b (empty
bins contribute 0). A binary model's confidence is at least 0.5, so only bins 5–9 fill.

Both are ``None`` for no input. ``CalibrationBins`` holds the per-bin sums from which ECE
is computed, so that streams (``mlmon batch``) add them chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from exporter.stats.ranking import roc_auc

ECE_BINS = 10
ECE_EDGES: NDArray[np.float64] = np.arange(ECE_BINS + 1) / ECE_BINS  # exactly the floats k/10
THRESHOLD = 0.5  # a binary score at or above it predicts classes[1]


def brier_binary(scores: ArrayLike, positive: ArrayLike) -> float | None:
    """(1/n) Σ (s − y)², y = 1 for the positive class; None for no rows."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool).astype(np.float64)
    if s.size == 0:
        return None
    return float(np.mean((s - y) ** 2))


def brier_multiclass(proba: ArrayLike, labels: ArrayLike) -> float | None:
    """(1/n) Σᵢ Σₖ (pᵢₖ − [yᵢ = k])² for an (n, k) array of probabilities; None for no rows."""
    p = np.asarray(proba, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if p.shape[0] == 0:
        return None
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def binary_top_label(scores: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """(confidence, predicted class index) of binary scores."""
    s = np.asarray(scores, dtype=np.float64)
    predicted = (s >= THRESHOLD).astype(np.int64)
    return np.maximum(s, 1.0 - s), predicted


def top_label(proba: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """(confidence, predicted class index) of an (n, k) array of probabilities."""
    p = np.asarray(proba, dtype=np.float64)
    predicted = np.argmax(p, axis=1).astype(np.int64)
    return p[np.arange(len(p)), predicted], predicted


@dataclass
class CalibrationBins:
    """Per confidence bin: predictions, correct ones and the sum of their confidences."""

    count: NDArray[np.int64]
    correct: NDArray[np.int64]
    confidence: NDArray[np.float64]

    @classmethod
    def empty(cls) -> CalibrationBins:
        return cls(np.zeros(ECE_BINS, dtype=np.int64), np.zeros(ECE_BINS, dtype=np.int64),
                   np.zeros(ECE_BINS, dtype=np.float64))

    @classmethod
    def of(cls, confidence: ArrayLike, correct: ArrayLike) -> CalibrationBins:
        c = np.asarray(confidence, dtype=np.float64)
        ok = np.asarray(correct, dtype=bool)
        idx = np.searchsorted(ECE_EDGES[1:-1], c, side="right")
        return cls(np.bincount(idx, minlength=ECE_BINS).astype(np.int64),
                   np.bincount(idx[ok], minlength=ECE_BINS).astype(np.int64),
                   np.bincount(idx, weights=c, minlength=ECE_BINS).astype(np.float64))

    def add(self, other: CalibrationBins) -> None:
        self.count += other.count
        self.correct += other.correct
        self.confidence += other.confidence

    def ece(self) -> float | None:
        n = int(self.count.sum())
        if n == 0:
            return None
        filled = self.count > 0
        k = self.count[filled].astype(np.float64)
        gap = np.abs(self.correct[filled] / k - self.confidence[filled] / k)
        return float(np.sum(k / n * gap))


def ece(confidence: ArrayLike, correct: ArrayLike) -> float | None:
    """Top-label ECE over 10 equal-width confidence bins; None for no rows."""
    return CalibrationBins.of(confidence, correct).ece()


@dataclass(frozen=True)
class ProbabilityQuality:
    """Ranking and calibration of the rows that carry a score (binary) or probabilities."""

    samples: int
    roc_auc: float | None  # binary scores only; None without both classes
    brier: float | None
    ece: float | None


def binary_quality(scores: ArrayLike, positive: ArrayLike) -> ProbabilityQuality | None:
    """AUC, binary Brier and ECE of the rows with a (non-NaN) score; None when none has."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    keep = ~np.isnan(s)
    s, y = s[keep], y[keep]
    if not s.size:
        return None
    conf, predicted = binary_top_label(s)
    return ProbabilityQuality(int(s.size), roc_auc(s, y), brier_binary(s, y),
                              ece(conf, predicted == y))


def multiclass_quality(proba: ArrayLike, labels: ArrayLike) -> ProbabilityQuality | None:
    """Multi-class Brier and ECE of the rows whose probabilities have no NaN; None when none."""
    p = np.asarray(proba, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    keep = ~np.isnan(p).any(axis=1) if p.ndim == 2 and p.shape[1] else np.zeros(len(y), bool)
    p, y = p[keep], y[keep]
    if not len(y):
        return None
    conf, predicted = top_label(p)
    return ProbabilityQuality(len(y), None, brier_multiclass(p, y),
                              ece(conf, predicted == y))
