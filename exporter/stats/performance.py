"""Classification and regression performance over joined labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


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


def classification_metrics(y_true: NDArray[np.int64], y_pred: NDArray[np.int64],
                           classes: tuple[str, ...],
                           proba: NDArray[np.float64] | None = None) -> ClassificationMetrics:
    """y_true / y_pred are class indices into ``classes``; proba is (n, len(classes)).

    Precision/recall/F1 with zero division giving 0.0 (as scikit-learn's
    ``zero_division=0``); macro = unweighted mean over classes.
    """
    raise NotImplementedError


def regression_metrics(y_true: NDArray[np.float64],
                       y_pred: NDArray[np.float64]) -> RegressionMetrics:
    raise NotImplementedError
