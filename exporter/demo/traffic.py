"""The simulated model server's traffic: reference rows replayed, scored, optionally drifted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from exporter.demo.drift import DriftPlan
from exporter.demo.model import SimpleModel
from exporter.demo.reference import ReferenceData

Features = dict[str, float | str | None]
Prediction = dict[str, float] | float
Label = str | float


@dataclass(frozen=True)
class SimEvent:
    id: str
    features: Features
    prediction: Prediction
    label: Label


@dataclass(frozen=True)
class SimBatch:
    """One batch as columns (for checks) plus the per-event view (for the tap)."""

    rows: NDArray[np.int64]  # reference row of each event
    numeric: NDArray[np.float64]
    categorical: NDArray[np.object_]
    scores: NDArray[np.float64]  # (n, classes) probabilities or (n,) values
    labels: NDArray[np.object_]
    ids: tuple[str, ...]

    def events(self, names: tuple[tuple[str, ...], tuple[str, ...]],
               classes: tuple[str, ...]) -> list[SimEvent]:
        num_names, cat_names = names
        out: list[SimEvent] = []
        for i, ident in enumerate(self.ids):
            features: Features = {n: _number(v) for n, v in zip(num_names, self.numeric[i],
                                                                 strict=True)}
            features.update(zip(cat_names, self.categorical[i], strict=True))
            prediction: Prediction
            if classes:
                prediction = {c: round(float(p), 4) for c, p in zip(classes, self.scores[i],
                                                                    strict=True)}
            else:
                prediction = round(float(self.scores[i]), 4)
            out.append(SimEvent(ident, features, prediction, self.labels[i]))
        return out


def _number(v: Any) -> float | None:
    f = float(v)
    return None if f != f else round(f, 6)


class TrafficSimulator:
    """Deterministic for a seed: the same calls give the same events.

    Rows are drawn with replacement from the reference data. With ``drifted=True``
    the plan transforms features *after* the draw (so the same rows are drawn either
    way, from a separate random stream), the model scores what it sees, and the
    ground truth changes as the plan says: labels flipped (concept drift), or, with
    ``labels_from_model``, drawn from the model's probability for the drifted row (the
    fitted model is the simulation's P(y | x): a covariate shift).
    """

    def __init__(self, data: ReferenceData, model: SimpleModel, plan: DriftPlan,
                 seed: int = 0, id_prefix: str = "req") -> None:
        self.data = data
        self.model = model
        self.plan = plan
        self._rows = np.random.default_rng(seed)
        self._drift = np.random.default_rng([seed, 1])
        self._next_id = 0
        self._prefix = id_prefix

    @property
    def names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self.data.numeric_names, self.data.categorical_names

    def batch(self, n: int, drifted: bool = False) -> SimBatch:
        rows = self._rows.integers(0, self.data.rows, n)
        numeric = self.data.numeric[rows].copy()
        categorical = self.data.categorical[rows].copy()
        labels = self.data.labels[rows].copy()
        scores = self.model.predict(numeric, categorical)
        if drifted:
            before = scores
            self._apply(numeric, categorical, labels)
            scores = self.model.predict(numeric, categorical)
            change = scores - before
            if self.plan.labels_from_model and self.model.classes:
                labels = self._drawn(scores)
        else:
            change = np.zeros_like(scores)
        if self.data.predictions is not None:
            scores = self._replayed(self.data.predictions[rows], change)
        ids = tuple(f"{self._prefix}-{i}" for i in range(self._next_id, self._next_id + n))
        self._next_id += n
        return SimBatch(rows, numeric, categorical, scores, labels, ids)

    def _replayed(self, recorded: NDArray[np.float64],
                  change: NDArray[np.float64]) -> NDArray[np.float64]:
        """The row's recorded prediction, moved by what the drift changes in our model."""
        if change.ndim == 1:  # regression value
            out: NDArray[np.float64] = recorded + change
            return out
        p1 = np.clip(recorded + change[:, 1], 0.0, 1.0)  # binary: score of classes[1]
        return np.column_stack([1.0 - p1, p1])

    def _drawn(self, proba: NDArray[np.float64]) -> NDArray[np.object_]:
        """One label per row drawn from the model's class probabilities for that row."""
        cum = np.cumsum(proba, axis=1)
        u = self._drift.random(len(proba)) * cum[:, -1]
        index = np.minimum((cum <= u[:, None]).sum(axis=1), len(self.model.classes) - 1)
        drawn: NDArray[np.object_] = np.array(self.model.classes, dtype=object)[index]
        return drawn

    def events(self, n: int, drifted: bool = False) -> list[SimEvent]:
        return self.batch(n, drifted).events(self.names, self.model.classes)

    def _apply(self, numeric: NDArray[np.float64], categorical: NDArray[np.object_],
               labels: NDArray[np.object_]) -> None:
        n = len(labels)
        for d in self.plan.features:
            if d.feature in self.data.numeric_names:
                j = self.data.numeric_names.index(d.feature)
                numeric[:, j] = numeric[:, j] * d.scale + d.shift
            elif d.feature in self.data.categorical_names and d.mix:
                j = self.data.categorical_names.index(d.feature)
                cats = np.array([c for c, _ in d.mix], dtype=object)
                probs = np.array([p for _, p in d.mix])
                categorical[:, j] = self._drift.choice(cats, n, p=probs / probs.sum())
        classes = self.model.classes
        if self.plan.label_flip and classes:
            flip = self._drift.random(n) < self.plan.label_flip
            # Move each flipped label to the next class (for two classes: the other one).
            index = {c: i for i, c in enumerate(classes)}
            for i in np.flatnonzero(flip):
                labels[i] = classes[(index[labels[i]] + 1) % len(classes)]
        if self.plan.label_shift and not classes:
            labels[:] = labels.astype(np.float64) + self.plan.label_shift
