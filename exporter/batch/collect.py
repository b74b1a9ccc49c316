"""Stream a batch file's chunks (``exporter.readers.chunks``) into what the statistics need.

Memory: for every numeric profiled column all values are kept (KS and
Wasserstein need the whole batch sample), for categorical columns only the
counts over the profile's categories; the prediction and label columns are
kept for the performance metrics. Other columns are never read. A batch file
is therefore assumed to fit in memory for the profiled columns only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from exporter.batch.errors import BatchInputError
from exporter.metric_names import PREDICTION_FEATURE
from exporter.profile.model import CategoricalProfile, FeatureProfile, Profile
from exporter.readers.chunks import Chunk, ColumnKind, Predictions, class_name

FloatArray = NDArray[np.float64]
ObjectArray = NDArray[np.object_]


def class_key(number: float) -> str | None:
    """Class name of a numeric class value (``readers.class_name``); None for NaN."""
    return None if math.isnan(number) else class_name(number)


@dataclass(frozen=True)
class Values:
    """A prediction-like column (prediction or label) over the whole batch."""

    numbers: FloatArray  # NaN where not a number
    classes: ObjectArray  # str where a class name (or argmax of probabilities), else None
    probabilities: tuple[dict[str, float] | None, ...] | None

    def keys(self) -> list[str | None]:
        """Class name per row; numbers become their integer text (1.0 -> "1").

        One string object per distinct number: a list over millions of rows then costs
        a pointer per row, not a new string per row.
        """
        names: dict[float, str] = {}

        def name(n: float) -> str | None:
            if math.isnan(n):  # never equal to itself: would add a key per row
                return None
            if n not in names:
                names[n] = class_name(n)
            return names[n]

        return [c if c is not None else name(n)
                for c, n in zip(self.classes.tolist(), self.numbers.tolist(), strict=True)]

    @property
    def has_class_names(self) -> bool:
        return any(c is not None for c in self.classes.tolist())


@dataclass
class _Parts:
    numbers: list[FloatArray] = field(default_factory=list)
    classes: list[ObjectArray] = field(default_factory=list)
    # per chunk its probabilities, or its row count when it has none (no None per row)
    probabilities: list[tuple[dict[str, float] | None, ...] | int] = field(
        default_factory=list)
    any_probabilities: bool = False

    def add(self, p: Predictions) -> None:
        self.numbers.append(p.numbers)
        self.classes.append(p.classes)
        if p.probabilities is not None:
            self.any_probabilities = True
            self.probabilities.append(p.probabilities)
        else:
            self.probabilities.append(len(p.numbers))

    def values(self) -> Values:
        numbers = np.concatenate(self.numbers) if self.numbers else np.empty(0)
        classes = (np.concatenate(self.classes) if self.classes
                   else np.empty(0, dtype=object))
        if not self.any_probabilities:
            return Values(numbers, classes, None)
        probabilities: list[dict[str, float] | None] = []
        for part in self.probabilities:
            probabilities.extend([None] * part if isinstance(part, int) else part)
        return Values(numbers, classes, tuple(probabilities))


@dataclass(frozen=True)
class Collected:
    """Everything gathered from one pass over the batch."""

    rows: int
    numeric: dict[str, FloatArray]  # feature (or __prediction__) -> values, NaN = missing
    categorical: dict[str, NDArray[np.int64]]  # feature -> counts per profile bucket
    categorical_missing: dict[str, int]
    prediction: Values | None  # None when the file has no prediction column
    labels: Values | None  # None when the file has no label column


class Collector:
    """Accumulates reader chunks; ``update`` per chunk, ``snapshot`` at the end."""

    def __init__(self, profile: Profile, source: str, prediction_column: str | None,
                 label_column: str | None) -> None:
        self._profile = profile
        self._source = source
        self._prediction_column = prediction_column
        self._label_column = label_column
        features = {f.name for f in profile.features}
        for role, column in (("prediction", prediction_column), ("label", label_column)):
            if column in features:
                raise BatchInputError(f"{source}: the {role} column {column!r} is also a "
                                      "profiled feature; name another with "
                                      f"--{role}-column")
        self._rows = 0
        self._numeric: dict[str, list[FloatArray]] = {}
        self._categorical: dict[str, NDArray[np.int64]] = {}
        self._missing: dict[str, int] = {}
        self._index: dict[str, dict[str, int]] = {}
        for f in profile.features:
            if isinstance(f, CategoricalProfile):
                self._categorical[f.name] = np.zeros(len(f.counts), dtype=np.int64)
                self._missing[f.name] = 0
                self._index[f.name] = {c: i for i, c in enumerate(f.categories)}
            else:
                self._numeric[f.name] = []
        self._prediction = _Parts()
        self._labels = _Parts()

    def columns(self) -> dict[str, ColumnKind]:
        """What to ask the reader for."""
        cols: dict[str, ColumnKind] = {f.name: f.kind for f in self._profile.features}
        if self._prediction_column is not None:
            cols[self._prediction_column] = "prediction"
        if self._label_column is not None:
            cols[self._label_column] = "prediction"  # numbers and class names both kept
        return cols

    def update(self, chunk: Chunk) -> None:
        self._rows += chunk.rows
        for name, values in chunk.numeric.items():
            if name in self._numeric:
                self._numeric[name].append(values)
        for name, keys in chunk.categorical.items():
            if name in self._categorical:
                self._count(name, keys.tolist())
        if self._prediction_column is not None:
            self._prediction.add(chunk.predictions[self._prediction_column])
        if self._label_column is not None:
            self._labels.add(chunk.predictions[self._label_column])

    def _count(self, name: str, keys: list[str | None]) -> None:
        self._missing[name] += _tally(self._index[name], self._categorical[name], keys)

    def snapshot(self) -> Collected:
        if self._rows == 0:
            raise BatchInputError(f"{self._source}: no data rows")
        numeric = {k: np.concatenate(v) for k, v in self._numeric.items()}
        categorical = {k: v.copy() for k, v in self._categorical.items()}
        missing = dict(self._missing)
        prediction = self._prediction.values() if self._prediction_column else None
        p = self._profile.prediction
        if p is not None and prediction is not None:
            self._prediction_drift_input(p, prediction, numeric, categorical, missing)
        return Collected(self._rows, numeric, categorical, missing, prediction,
                         self._labels.values() if self._label_column else None)

    def _prediction_drift_input(self, p: FeatureProfile, prediction: Values,
                                numeric: dict[str, FloatArray],
                                categorical: dict[str, NDArray[np.int64]],
                                missing: dict[str, int]) -> None:
        if isinstance(p, CategoricalProfile):
            counts = np.zeros(len(p.counts), dtype=np.int64)
            index = {c: i for i, c in enumerate(p.categories)}
            missing[PREDICTION_FEATURE] = _tally(index, counts, prediction.keys())
            categorical[PREDICTION_FEATURE] = counts
            return
        if prediction.has_class_names:
            raise BatchInputError(
                f"{self._source}: column {self._prediction_column!r} holds class names or "
                "probability objects, but the profile's prediction is numeric (scores or "
                "regression values); use the profile built from the same kind of predictions")
        numeric[PREDICTION_FEATURE] = prediction.numbers


def _tally(index: dict[str, int], counts: NDArray[np.int64], keys: list[str | None]) -> int:
    """Add each key to its bucket (unknown ones to the last, ``__other__``); return the
    number of missing keys."""
    other = len(counts) - 1
    missing = 0
    for key in keys:
        if key is None:
            missing += 1
        else:
            counts[index.get(key, other)] += 1
    return missing


def collect(chunks: Iterable[Chunk], collector: Collector) -> Collected:
    for chunk in chunks:
        collector.update(chunk)
    return collector.snapshot()
