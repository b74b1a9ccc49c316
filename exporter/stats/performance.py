"""Classification and regression performance over joined labels.

Classification (per class c, from the confusion counts TP, FP, FN):
precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2TP/(2TP+FP+FN), each 0.0
when its denominator is 0 (scikit-learn's ``zero_division=0``); macro = the
unweighted mean over all configured classes; accuracy = Σ TP / n.
Log loss = −(1/n) Σᵢ ln pᵢ,yᵢ with pᵢ,yᵢ clipped to [LOG_LOSS_EPS, 1 − LOG_LOSS_EPS]
so a confident miss costs ln(1e15) ≈ 34.5 instead of infinity; rows are not
renormalised (the model's probabilities are taken as given).

Regression: MAE = mean|y − ŷ|, RMSE = sqrt(mean (y − ŷ)²),
MAPE = mean(|y − ŷ| / |y|) as a ratio over rows with y ≠ 0 (NaN when none),
R² = 1 − SS_res / SS_tot. When y is constant (SS_tot = 0) R² follows
scikit-learn's ``r2_score`` (force_finite=True): 1.0 for a perfect fit, else 0.0.
Pairs with a NaN on either side are dropped. Empty inputs give NaN metrics.
(Definitions: Hyndman & Koehler 2006; scikit-learn user guide §3.4.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

LOG_LOSS_EPS = 1e-15


@dataclass(frozen=True)
class ClassificationMetrics:
    samples: int
    accuracy: float
    classes: tuple[str, ...]
    precision: tuple[float, ...]  # per class, same order as classes
    recall: tuple[float, ...]
    f1: tuple[float, ...]
    macro_precision: float
    macro_recall: float
    macro_f1: float
    log_loss: float | None  # when probabilities are given


@dataclass(frozen=True)
class RegressionMetrics:
    samples: int
    mae: float
    rmse: float
    mape: float  # ratio; rows with y_true == 0 excluded; NaN when none remain
    r2: float


def _ratios(num: NDArray[np.int64], den: NDArray[np.int64]) -> NDArray[np.float64]:
    out = np.zeros(num.shape, dtype=np.float64)
    nz = den > 0
    out[nz] = num[nz] / den[nz]
    return out


def classification_metrics(y_true: NDArray[np.int64], y_pred: NDArray[np.int64],
                           classes: tuple[str, ...],
                           proba: NDArray[np.float64] | None = None) -> ClassificationMetrics:
    """y_true / y_pred are class indices into ``classes``; proba is (n, len(classes)).

    Precision/recall/F1 with zero division giving 0.0 (as scikit-learn's
    ``zero_division=0``); macro = unweighted mean over classes.
    """
    k = len(classes)
    if k == 0:
        raise ValueError("classes must not be empty")
    yt = np.asarray(y_true, dtype=np.int64).ravel()
    yp = np.asarray(y_pred, dtype=np.int64).ravel()
    if yt.shape != yp.shape:
        raise ValueError(f"y_true and y_pred differ in length: {yt.size} vs {yp.size}")
    for what, arr in (("y_true", yt), ("y_pred", yp)):
        if arr.size and (arr.min() < 0 or arr.max() >= k):
            raise ValueError(f"{what} holds a class index outside 0..{k - 1}")
    confusion = np.bincount(yt * k + yp, minlength=k * k).reshape(k, k)
    loss: float | None = None
    if proba is not None:
        loss = _log_loss(yt, np.asarray(proba, dtype=np.float64), k)
    return confusion_metrics(confusion, tuple(classes), loss)


def confusion_metrics(confusion: NDArray[np.int64], classes: tuple[str, ...],
                      log_loss: float | None) -> ClassificationMetrics:
    """The metrics of a k × k confusion matrix (rows: true class, columns: predicted)."""
    n = int(confusion.sum())
    tp = np.diag(confusion).astype(np.int64)
    predicted = confusion.sum(axis=0).astype(np.int64)
    actual = confusion.sum(axis=1).astype(np.int64)
    precision = _ratios(tp, predicted)
    recall = _ratios(tp, actual)
    f1 = _ratios(2 * tp, predicted + actual)  # 2TP/(2TP+FP+FN)
    return ClassificationMetrics(
        samples=n,
        accuracy=float(tp.sum() / n) if n else math.nan,
        classes=classes,
        precision=tuple(float(v) for v in precision),
        recall=tuple(float(v) for v in recall),
        f1=tuple(float(v) for v in f1),
        macro_precision=float(precision.mean()) if n else math.nan,
        macro_recall=float(recall.mean()) if n else math.nan,
        macro_f1=float(f1.mean()) if n else math.nan,
        log_loss=log_loss,
    )


def _log_loss(y_true: NDArray[np.int64], proba: NDArray[np.float64], k: int) -> float:
    if proba.shape != (y_true.size, k):
        raise ValueError(f"proba must have shape ({y_true.size}, {k}), got {proba.shape}")
    if y_true.size == 0:
        return math.nan
    if not np.all(np.isfinite(proba)) or np.any(proba < 0) or np.any(proba > 1):
        raise ValueError("probabilities must be finite and within [0, 1]")
    p = np.clip(proba[np.arange(y_true.size), y_true], LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
    return float(-np.mean(np.log(p)))


def regression_metrics(y_true: NDArray[np.float64],
                       y_pred: NDArray[np.float64]) -> RegressionMetrics:
    """MAE, RMSE, MAPE (ratio, y == 0 excluded) and R² (see the module docstring)."""
    yt = np.asarray(y_true, dtype=np.float64).ravel()
    yp = np.asarray(y_pred, dtype=np.float64).ravel()
    if yt.shape != yp.shape:
        raise ValueError(f"y_true and y_pred differ in length: {yt.size} vs {yp.size}")
    keep = ~(np.isnan(yt) | np.isnan(yp))
    yt, yp = yt[keep], yp[keep]
    n = int(yt.size)
    if n == 0:
        return RegressionMetrics(0, math.nan, math.nan, math.nan, math.nan)
    err = yt - yp
    abs_err = np.abs(err)
    nz = yt != 0
    mape = float(np.mean(abs_err[nz] / np.abs(yt[nz]))) if np.any(nz) else math.nan
    ss_res = float(np.sum(err * err))
    ss_tot = float(np.sum((yt - yt.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0.0 else (1.0 if ss_res == 0.0 else 0.0)
    return RegressionMetrics(
        samples=n,
        mae=float(np.mean(abs_err)),
        rmse=math.sqrt(ss_res / n),
        mape=mape,
        r2=r2,
    )
