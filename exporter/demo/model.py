"""The simulated model: a fixed linear model fitted once on the reference data.

Numeric inputs are imputed with the reference median, log-compressed when
non-negative and skewed, and standardised; categoricals are one-hot encoded over
the reference's most frequent categories. Classifiers are one-vs-rest logistic
regressions fitted by Newton's method (IRLS) with a small L2 penalty; regressors
are ridge regressions. Deterministic: no randomness in fitting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.demo.reference import ReferenceData

MAX_ONE_HOT = 20
# Per-sample L2 penalty on standardised weights: negligible shrinkage, but keeps the
# one-hot columns (collinear with the intercept) solvable.
L2 = 1e-4
NEWTON_STEPS = 12


@dataclass(frozen=True)
class Encoding:
    medians: NDArray[np.float64]
    log: NDArray[np.bool_]
    means: NDArray[np.float64]
    stds: NDArray[np.float64]
    categories: tuple[tuple[str, ...], ...]

    @classmethod
    def fit(cls, numeric: NDArray[np.float64], categorical: NDArray[np.object_]) -> Encoding:
        medians = np.nan_to_num(np.nanmedian(numeric, axis=0)) if numeric.shape[1] else \
            np.zeros(0)
        filled = np.where(np.isnan(numeric), medians, numeric)
        nonneg = (filled >= 0).all(axis=0)
        skewed = filled.mean(axis=0) > 1.5 * np.maximum(medians, 1e-12)
        log = nonneg & skewed
        transformed = np.where(log, np.log1p(np.abs(filled)), filled)
        stds = transformed.std(axis=0)
        cats = []
        for j in range(categorical.shape[1]):
            values, counts = np.unique([v for v in categorical[:, j] if v is not None],
                                       return_counts=True)
            order = np.argsort(-counts, kind="stable")[:MAX_ONE_HOT]
            cats.append(tuple(str(values[i]) for i in order))
        return cls(medians, log, transformed.mean(axis=0), np.where(stds > 0, stds, 1.0),
                   tuple(cats))

    def design(self, numeric: NDArray[np.float64],
               categorical: NDArray[np.object_]) -> NDArray[np.float64]:
        filled = np.where(np.isnan(numeric), self.medians, numeric)
        transformed = np.where(self.log, np.log1p(np.abs(filled)), filled)
        parts = [np.ones((numeric.shape[0], 1)), (transformed - self.means) / self.stds]
        for j, cats in enumerate(self.categories):
            col = categorical[:, j]
            parts.append(np.column_stack([col == c for c in cats]).astype(np.float64)
                         if cats else np.empty((numeric.shape[0], 0)))
        return np.hstack(parts)


def _logistic(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    w = np.zeros(x.shape[1])
    penalty = L2 * np.eye(x.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) / len(y) + penalty @ w
        hess = (x * (p * (1 - p))[:, None]).T @ x / len(y) + penalty + 1e-9 * np.eye(len(w))
        w = w - np.linalg.solve(hess, grad)
    return w


class SimpleModel:
    """Scores rows: class probabilities (n, classes) or regression values (n,)."""

    def __init__(self, encoding: Encoding, weights: NDArray[np.float64],
                 classes: tuple[str, ...]) -> None:
        self.encoding = encoding
        self.weights = weights  # (columns, outputs)
        self.classes = classes  # empty for regression

    @classmethod
    def fit(cls, data: ReferenceData, classes: tuple[str, ...]) -> SimpleModel:
        enc = Encoding.fit(data.numeric, data.categorical)
        x = enc.design(data.numeric, data.categorical)
        if not classes:
            y = data.labels.astype(np.float64)
            penalty = L2 * len(y) * np.eye(x.shape[1])
            penalty[0, 0] = 0.0
            w = np.linalg.solve(x.T @ x + penalty, x.T @ y)
            return cls(enc, np.asarray(w, dtype=np.float64)[:, None], ())
        outputs = 1 if len(classes) == 2 else len(classes)
        targets = [classes[1]] if len(classes) == 2 else list(classes)
        w = np.column_stack([_logistic(x, (data.labels == t).astype(np.float64))
                             for t in targets[:outputs]])
        return cls(enc, np.asarray(w, dtype=np.float64), classes)

    def predict(self, numeric: NDArray[np.float64],
                categorical: NDArray[np.object_]) -> NDArray[np.float64]:
        z = self.encoding.design(numeric, categorical) @ self.weights
        if not self.classes:
            out: NDArray[np.float64] = z[:, 0]
            return out
        p = 1.0 / (1.0 + np.exp(-z))
        if len(self.classes) == 2:
            return np.column_stack([1.0 - p[:, 0], p[:, 0]])
        total = p.sum(axis=1, keepdims=True)
        return p / np.where(total > 0, total, 1.0)
