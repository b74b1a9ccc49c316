"""Performance metrics of a batch that has a label column, streamed chunk by chunk.

The task comes from the config's ``prediction`` when ``--config`` is given.
Without a config: a categorical prediction profile, or class names in the
prediction column, mean classification; numeric predictions mean binary
classification with classes ``0``/``1`` when every label is 0 or 1 and every
prediction lies in [0, 1] (a score), and regression otherwise. A binary score
is the class ``classes[1]`` when >= 0.5 (``THRESHOLD``) and gives the
probabilities for the log loss (unless every score is exactly 0 or 1, i.e. hard
labels). Rows whose label or prediction is missing are left out.

Which task applies is known only at the end of the file, so ``PerfCollector`` keeps,
per chunk, what every task still possible needs (``exporter.batch.perfacc``): confusion
counts (for class names, and for thresholded scores), the log-loss terms and the
regression sums. Memory does not grow with the rows: only with the number of classes,
at most ``perfacc.MAX_CLASSES`` of them (more is an input error). ``merge`` adds the
collector of the next rows (in row order): the same result as one collector over both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from exporter.batch import perfacc
from exporter.batch.collect import has_class_names, keys
from exporter.batch.errors import BatchInputError
from exporter.batch.perfacc import Confusion, LogLoss, Regression, from_confusion
from exporter.batch.quality import BatchQuality, ProbabilityQuality, ScoreQuality
from exporter.config.model import ModelConfig
from exporter.profile.model import CategoricalProfile, Profile
from exporter.readers.chunks import Chunk, Predictions
from exporter.stats.performance import ClassificationMetrics, RegressionMetrics

THRESHOLD = 0.5

Performance = ClassificationMetrics | RegressionMetrics


@dataclass(frozen=True)
class Task:
    kind: Literal["classification", "regression"]
    classes: tuple[str, ...] = ()
    scores: bool = False  # numeric predictions are scores of classes[1]


@dataclass(frozen=True)
class Facts:
    """What decides the task, over the whole file."""

    prediction_class_names: bool  # some prediction is a class name (or probabilities)
    scores_in_unit: bool  # every numeric prediction lies in [0, 1]
    binary_labels: bool  # every label is "0" or "1"
    label_class_names: bool  # some label is a class name


def infer_task(profile: Profile, model: ModelConfig | None, facts: Facts) -> Task:
    numeric = not isinstance(profile.prediction, CategoricalProfile) \
        and not facts.prediction_class_names
    if model is not None:
        if model.prediction.kind == "regression":
            return Task("regression")
        classes = model.prediction.classes
        return Task("classification", classes, numeric and len(classes) == 2)
    if isinstance(profile.prediction, CategoricalProfile):
        return Task("classification", profile.prediction.categories)
    if not numeric:
        return Task("classification")
    if facts.binary_labels and facts.scores_in_unit:
        return Task("classification", ("0", "1"), True)
    return Task("regression")


class _Named:
    """Classification by class names: confusion and the probability objects' log loss."""

    def __init__(self) -> None:
        self.confusion = Confusion()
        self.loss = LogLoss()
        self.no_probabilities = False  # a counted row without probabilities: no log loss
        self.invalid: set[str] = set()  # classes with a probability not in [0, 1]
        self.quality = ProbabilityQuality()  # Brier and ECE of the probability objects

    def add(self, truth: list[str | None], predicted: list[str | None],
            p: Predictions) -> None:
        rows = [i for i, (t, q) in enumerate(zip(truth, predicted, strict=True))
                if t is not None and q is not None]
        self.confusion.add((str(truth[i]), str(predicted[i])) for i in rows)
        if self.no_probabilities or not rows:
            return
        probs = p.probabilities
        if probs is None:
            self.no_probabilities = True
            return
        p_true: list[float] = []
        for i in rows:
            row = probs[i]
            if row is None:
                self.no_probabilities = True
                return
            self.invalid.update(c for c, v in row.items()
                                if not (math.isfinite(v) and 0.0 <= v <= 1.0))
            p_true.append(row.get(str(truth[i]), 0.0))
        self.loss.add(np.asarray(p_true, dtype=np.float64))
        self.quality.add([dict(probs[i] or {}) for i in rows], [str(truth[i]) for i in rows])

    def merge(self, other: _Named) -> None:
        overflowed = self.confusion.overflowed
        self.confusion.merge(other.confusion)
        if overflowed or other.confusion.overflowed:
            return  # no longer added to in one pass either: never read
        self.invalid |= other.invalid
        self.no_probabilities = self.no_probabilities or other.no_probabilities
        if not self.no_probabilities:
            self.loss.merge(other.loss)
            self.quality.merge(other.quality)


class _Scores:
    """Binary classification by thresholded scores of ``classes[1]``."""

    def __init__(self, classes: tuple[str, ...]) -> None:
        self.classes = classes
        self.confusion = Confusion()
        self.loss = LogLoss()
        self.hard = True  # every counted score is exactly 0 or 1
        self.in_unit = True  # every counted score lies in [0, 1]
        self.quality = ScoreQuality()  # AUC, Brier and ECE of the scores

    def add(self, truth: list[str | None], scores: np.ndarray) -> None:
        c0, c1 = self.classes
        rows = [i for i, (t, s) in enumerate(zip(truth, scores.tolist(), strict=True))
                if t is not None and not math.isnan(s)]
        if not rows:
            return
        s = scores[rows]
        t = [str(truth[i]) for i in rows]
        self.confusion.add(zip(t, (c1 if v >= THRESHOLD else c0 for v in s.tolist()),
                               strict=True))
        self.hard = self.hard and bool(np.all((s == 0) | (s == 1)))
        self.in_unit = self.in_unit and bool(np.all((s >= 0) & (s <= 1)))
        ones = np.array([k == c1 for k in t])
        known = ones | np.array([k == c0 for k in t])
        self.loss.add(np.where(ones, s, 1.0 - s)[known])  # other classes: no log loss
        self.quality.add(s[known], ones[known])

    def merge(self, other: _Scores) -> None:
        self.confusion.merge(other.confusion)
        self.hard = self.hard and other.hard
        self.in_unit = self.in_unit and other.in_unit
        self.loss.merge(other.loss)
        self.quality.merge(other.quality)


class PerfCollector:
    """``update`` with every chunk; ``performance`` at the end."""

    def __init__(self, profile: Profile, model: ModelConfig | None, prediction_column: str,
                 label_column: str) -> None:
        self._profile = profile
        self._model = model
        self._prediction_column = prediction_column
        self._label_column = label_column
        categorical = isinstance(profile.prediction, CategoricalProfile)
        regression = model is not None and model.prediction.kind == "regression"
        self._named = None if regression else _Named()
        classes = ("0", "1") if model is None else model.prediction.classes
        self._scores = (_Scores(classes) if not regression and not categorical
                        and len(classes) == 2 else None)
        self._regression = (Regression() if (model is None and not categorical) or regression
                            else None)
        self._prediction_class_names = False
        self._scores_in_unit = True
        self._binary_labels = True
        self._label_class_names = False

    def update(self, chunk: Chunk) -> None:
        p = chunk.predictions[self._prediction_column]
        y = chunk.predictions[self._label_column]
        truth = keys(y)
        s = p.numbers[~np.isnan(p.numbers)]
        self._prediction_class_names = self._prediction_class_names or has_class_names(p)
        self._scores_in_unit = self._scores_in_unit and bool(np.all((s >= 0) & (s <= 1)))
        self._binary_labels = self._binary_labels and set(truth) - {None} <= {"0", "1"}
        self._label_class_names = self._label_class_names or has_class_names(y)
        if self._named is not None and not self._named.confusion.overflowed:
            self._named.add(truth, keys(p), p)
        if self._scores is not None:
            if self._model is None and not self._binary_labels:
                self._scores = None  # labels beyond 0/1: never the task without a config
            else:
                self._scores.add(truth, p.numbers)
        if self._regression is not None:
            self._regression.add(y.numbers, p.numbers)

    def merge(self, other: PerfCollector) -> None:
        """Add the collector of the rows after this one's."""
        if self._named is not None and other._named is not None:
            self._named.merge(other._named)
        if self._scores is not None and other._scores is not None:
            self._scores.merge(other._scores)
        if self._regression is not None and other._regression is not None:
            self._regression.merge(other._regression)
        self._prediction_class_names |= other._prediction_class_names
        self._scores_in_unit &= other._scores_in_unit
        self._binary_labels &= other._binary_labels
        self._label_class_names |= other._label_class_names
        if other._scores is None or (self._model is None and not self._binary_labels):
            self._scores = None

    def facts(self) -> Facts:
        return Facts(self._prediction_class_names, self._scores_in_unit, self._binary_labels,
                     self._label_class_names)

    def performance(self, source: str) -> Performance | None:
        """Metrics over the rows with both a prediction and a label; None when none."""
        task = infer_task(self._profile, self._model, self.facts())
        if task.kind == "regression":
            if self._label_class_names:
                raise BatchInputError(f"{source}: column {self._label_column!r} holds "
                                      "non-numeric labels but the model is a regression")
            assert self._regression is not None
            return self._regression.metrics()
        if task.scores:
            assert self._scores is not None
            return _scored(self._scores, task, source, self._prediction_column)
        assert self._named is not None
        return _named(self._named, task, source, self._prediction_column)


    def quality(self) -> BatchQuality | None:
        """AUC, Brier and ECE of the task ``performance`` reports (call after it)."""
        task = infer_task(self._profile, self._model, self.facts())
        if task.kind == "regression":
            return None
        if task.scores:
            return None if self._scores is None else self._scores.quality.result(
                self._scores.in_unit)
        if self._named is None or self._named.no_probabilities:
            return None
        return self._named.quality.result(task.classes)


def _too_many(source: str, column: str) -> BatchInputError:
    return BatchInputError(f"{source}: more than {perfacc.MAX_CLASSES} distinct classes in "
                           f"column {column!r} and the labels; too many for a classification")


def _scored(acc: _Scores, task: Task, source: str, column: str) -> Performance | None:
    if acc.confusion.pairs is None:
        raise _too_many(source, column)
    if not acc.confusion.pairs:
        return None
    metrics = from_confusion(acc.confusion.pairs, task.classes, None)
    if len(metrics.classes) != 2 or acc.hard or not acc.in_unit:
        return metrics
    return from_confusion(acc.confusion.pairs, task.classes, acc.loss.value())


def _named(acc: _Named, task: Task, source: str, column: str) -> Performance | None:
    if acc.confusion.pairs is None:
        raise _too_many(source, column)
    if not acc.confusion.pairs:
        return None
    metrics = from_confusion(acc.confusion.pairs, task.classes, None)
    if acc.no_probabilities:
        return metrics
    if acc.invalid & set(metrics.classes):
        raise ValueError("probabilities must be finite and within [0, 1]")
    return from_confusion(acc.confusion.pairs, task.classes, acc.loss.value())
