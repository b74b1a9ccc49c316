"""Performance metrics of a batch that has a label column.

The task comes from the config's ``prediction`` when ``--config`` is given.
Without a config: a categorical prediction profile, or class names in the
prediction column, mean classification; numeric predictions mean binary
classification with classes ``0``/``1`` when every label is 0 or 1 and every
prediction lies in [0, 1] (a score), and regression otherwise. A binary score
is the class ``classes[1]`` when >= 0.5 (``THRESHOLD``) and gives the
probabilities for the log loss (unless every score is exactly 0 or 1, i.e. hard
labels). Rows whose label or prediction is missing are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from exporter.batch.collect import Values
from exporter.batch.errors import BatchInputError
from exporter.config.model import ModelConfig
from exporter.profile.model import CategoricalProfile, Profile
from exporter.stats.performance import (
    ClassificationMetrics,
    RegressionMetrics,
    classification_metrics,
    regression_metrics,
)

THRESHOLD = 0.5

Performance = ClassificationMetrics | RegressionMetrics


@dataclass(frozen=True)
class Task:
    kind: Literal["classification", "regression"]
    classes: tuple[str, ...] = ()
    scores: bool = False  # numeric predictions are scores of classes[1]


def infer_task(profile: Profile, model: ModelConfig | None, prediction: Values,
               labels: Values) -> Task:
    numeric = not isinstance(profile.prediction, CategoricalProfile) \
        and not prediction.has_class_names
    if model is not None:
        if model.prediction.kind == "regression":
            return Task("regression")
        classes = model.prediction.classes
        return Task("classification", classes, numeric and len(classes) == 2)
    if isinstance(profile.prediction, CategoricalProfile):
        return Task("classification", profile.prediction.categories)
    if not numeric:
        return Task("classification")
    s = prediction.numbers[~np.isnan(prediction.numbers)]
    label_keys = set(labels.keys()) - {None}
    if label_keys <= {"0", "1"} and bool(np.all((s >= 0) & (s <= 1))):
        return Task("classification", ("0", "1"), True)
    return Task("regression")


def evaluate(task: Task, prediction: Values, labels: Values, source: str,
             label_column: str) -> Performance | None:
    """Metrics over the rows with both a prediction and a label; None when there is none."""
    if task.kind == "regression":
        if labels.has_class_names:
            raise BatchInputError(f"{source}: column {label_column!r} holds non-numeric labels "
                                  "but the model is a regression")
        keep = ~(np.isnan(labels.numbers) | np.isnan(prediction.numbers))
        if not keep.any():
            return None
        return regression_metrics(labels.numbers[keep], prediction.numbers[keep])
    return _classification(task, prediction, labels)


def _classification(task: Task, prediction: Values,
                    labels: Values) -> ClassificationMetrics | None:
    true_keys = labels.keys()
    if task.scores:
        s = prediction.numbers
        pred_keys: list[str | None] = [
            None if np.isnan(v) else task.classes[1] if v >= THRESHOLD else task.classes[0]
            for v in s.tolist()]
    else:
        pred_keys = prediction.keys()
    rows = [i for i, (t, p) in enumerate(zip(true_keys, pred_keys, strict=True))
            if t is not None and p is not None]
    if not rows:
        return None
    y_true_k = [str(true_keys[i]) for i in rows]
    y_pred_k = [str(pred_keys[i]) for i in rows]
    classes = (*task.classes, *sorted(set(y_true_k + y_pred_k) - set(task.classes)))
    index = {c: i for i, c in enumerate(classes)}
    y_true = np.array([index[k] for k in y_true_k], dtype=np.int64)
    y_pred = np.array([index[k] for k in y_pred_k], dtype=np.int64)
    return classification_metrics(y_true, y_pred, classes, _proba(task, prediction, rows, classes))


def _proba(task: Task, prediction: Values, rows: list[int],
           classes: tuple[str, ...]) -> np.ndarray | None:
    """Class probabilities for the log loss, when the predictions carry them."""
    if task.scores:
        s = prediction.numbers[rows]
        if len(classes) != 2 or np.all((s == 0) | (s == 1)) or not np.all((s >= 0) & (s <= 1)):
            return None
        return np.column_stack([1.0 - s, s])
    probs = prediction.probabilities
    if probs is None:
        return None
    out = np.zeros((len(rows), len(classes)))
    for j, i in enumerate(rows):
        p = probs[i]
        if p is None:
            return None
        out[j] = [p.get(c, 0.0) for c in classes]
    return out
