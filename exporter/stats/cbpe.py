"""Estimated performance without labels: confidence-based performance estimation (CBPE).

If the (re-)calibrated probability p̂ᵢ(c) that row i belongs to class c is right, the
predicted class ĉᵢ is correct with probability p̂ᵢ(ĉᵢ), so the expected accuracy of a
window of n rows is (1/n) Σᵢ p̂ᵢ(ĉᵢ) (NannyML's CBPE; calibration after Guo et al. 2017,
"On calibration of modern neural networks"). The estimate holds under covariate shift
(P(y | x) unchanged) as long as the calibration map, fitted on the reference
(``exporter.stats.calibration``), still holds; it cannot see concept drift.

Binary (score sᵢ = P(classes[1]), predicted positive when sᵢ >= 0.5, as the sidecar
decides; pᵢ = calibrated sᵢ): expected confusion
TP = Σ pᵢ over predicted positive, FP = Σ (1 − pᵢ) over predicted positive,
FN = Σ pᵢ over predicted negative, TN = Σ (1 − pᵢ) over predicted negative;
precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2TP/(2TP+FP+FN), each 0.0 when its
denominator is 0 (as ``exporter.stats.performance``); accuracy = (TP + TN)/n.

Multi-class (probabilities): ĉᵢ = argmax of the model's own probabilities, p̂ᵢ the row
of calibrated, renormalised probabilities; accuracy = (1/n) Σᵢ p̂ᵢ(ĉᵢ).

``ExpectedSums`` keeps only the sums, so a stream of chunks (``mlmon batch``) needs
O(1) memory; rows with a NaN score are skipped. An empty window gives NaN. The sums are
kept in fixed point (each probability rounded to a multiple of 2⁻⁴⁰, then exact integer
addition), so the result does not depend on how the rows are chunked; the rounding moves
a mean by at most 2⁻⁴¹ ≈ 4.5e-13.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.stats.calibration import Calibration, calibrate_proba

FloatArray = NDArray[np.float64]
THRESHOLD = 0.5
SCALE = 1 << 40  # fixed-point unit of the sums
_BLOCK = 1 << 20  # rows per int64 partial sum (2**20 * 2**40 < 2**63)


def _fixed_sum(x: FloatArray) -> int:
    """Σ round(x · 2⁴⁰) exactly (x within [0, 1])."""
    q = np.rint(np.asarray(x, dtype=np.float64) * SCALE).astype(np.int64)
    return sum((int(q[i:i + _BLOCK].sum()) for i in range(0, q.size, _BLOCK)), 0)


@dataclass(frozen=True)
class Estimate:
    samples: int
    accuracy: float
    precision: float | None  # binary models only
    recall: float | None
    f1: float | None
    calibrated: bool  # False: the model's raw scores (no reference labels)


def _ratio(num: int, den: int) -> float:
    return num / den if den > 0 else 0.0


@dataclass
class ExpectedSums:
    """Running sums of the expected confusion (binary) or expected correct (multi-class)."""

    binary: bool
    calibrated: bool
    n: int = 0
    correct: int = 0  # all sums in units of 1 / SCALE
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add_binary(self, scores: FloatArray, calibration: Calibration | None) -> None:
        s = np.asarray(scores, dtype=np.float64)
        s = s[np.isfinite(s)]
        p = calibration.maps[0].apply(s) if calibration is not None else np.clip(s, 0.0, 1.0)
        pos = s >= THRESHOLD
        n_pos = int(pos.sum())
        tp, fn = _fixed_sum(p[pos]), _fixed_sum(p[~pos])
        fp, tn = n_pos * SCALE - tp, (int(s.size) - n_pos) * SCALE - fn
        self.n += int(s.size)
        self.tp += tp
        self.fp += fp
        self.fn += fn
        self.tn += tn
        self.correct += tp + tn

    def add_proba(self, proba: FloatArray, calibration: Calibration | None) -> None:
        p = np.asarray(proba, dtype=np.float64)
        if p.ndim != 2 or not p.shape[0]:
            return
        p = p[np.all(np.isfinite(p), axis=1)]
        if not p.shape[0]:
            return
        predicted = np.argmax(p, axis=1)
        cal = calibrate_proba(p, calibration) if calibration is not None else p
        self.n += int(p.shape[0])
        self.correct += _fixed_sum(np.clip(cal[np.arange(p.shape[0]), predicted], 0.0, 1.0))

    def estimate(self) -> Estimate:
        n = self.n
        if not n:
            return Estimate(0, math.nan, None, None, None, self.calibrated)
        if not self.binary:
            return Estimate(n, self.correct / (n * SCALE), None, None, None, self.calibrated)
        return Estimate(
            n, self.correct / (n * SCALE),
            _ratio(self.tp, self.tp + self.fp), _ratio(self.tp, self.tp + self.fn),
            _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn), self.calibrated)


def estimate_binary(scores: FloatArray, calibration: Calibration | None) -> Estimate:
    """CBPE of a binary model's window of scores P(classes[1])."""
    sums = ExpectedSums(binary=True, calibrated=calibration is not None)
    sums.add_binary(scores, calibration)
    return sums.estimate()


def estimate_proba(proba: FloatArray, calibration: Calibration | None) -> Estimate:
    """CBPE of a multi-class model's window of probability rows (n, k)."""
    sums = ExpectedSums(binary=False, calibrated=calibration is not None)
    sums.add_proba(proba, calibration)
    return sums.estimate()
