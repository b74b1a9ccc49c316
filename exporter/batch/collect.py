"""Stream a batch file's chunks (``exporter.readers.chunks``) into what the statistics need.

Memory is bounded whatever the file's size: per numeric profiled column (and numeric
prediction) a ``column.ColumnAcc`` (exact counts and moments, the values up to
``column.SAMPLE_CAP`` then a sample of that many); per categorical column the counts
over the profile's categories. Other columns are never read. The performance metrics
stream separately (``exporter.batch.perf``). ``Collector.merge`` adds the collector of the
next rows (row order): integer counts, exact moments, the row-keyed sample, so the
result equals one collector's over both (the Spark engine merges partitions so).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.batch.column import ColumnAcc, NumericColumn, row_keys
from exporter.batch.errors import BatchInputError
from exporter.metric_names import PREDICTION_FEATURE
from exporter.profile.model import CategoricalProfile, NumericProfile, Profile
from exporter.readers.chunks import Chunk, ColumnKind, Predictions, class_name


def class_key(number: float) -> str | None:
    """Class name of a numeric class value (``readers.class_name``); None for NaN."""
    return None if math.isnan(number) else class_name(number)


def keys(p: Predictions) -> list[str | None]:
    """Class name per row; numbers become their integer text (1.0 -> "1"), NaN None.

    One string object per distinct number in the chunk, not a new string per row.
    """
    classes = p.classes.tolist()
    if classes.count(None) == len(classes):  # numbers only: one name per distinct value
        distinct, index = np.unique(p.numbers, return_inverse=True)  # NaNs become one
        named = np.array([class_key(v) for v in distinct.tolist()], dtype=object)
        found: list[str | None] = named[index].tolist()
        return found
    names: dict[float, str] = {}

    def name(n: float) -> str | None:
        if math.isnan(n):  # never equal to itself: would add a key per row
            return None
        if n not in names:
            names[n] = class_name(n)
        return names[n]

    return [c if c is not None else name(n)
            for c, n in zip(classes, p.numbers.tolist(), strict=True)]


def has_class_names(p: Predictions) -> bool:
    classes = p.classes.tolist()
    return bool(classes.count(None) != len(classes))


@dataclass(frozen=True)
class PredictionColumn:
    """The prediction column over the whole batch."""

    has_class_names: bool  # some row holds a class name (or probabilities)
    numbers: NumericColumn | None  # its numbers, unless the profile's prediction is categorical


@dataclass(frozen=True)
class Collected:
    """Everything gathered from one pass over the batch."""

    rows: int
    numeric: dict[str, NumericColumn]  # feature (or __prediction__) -> its values
    categorical: dict[str, NDArray[np.int64]]  # feature -> counts per profile bucket
    categorical_missing: dict[str, int]
    prediction: PredictionColumn | None  # None when the file has no prediction column


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
        self._numeric: dict[str, ColumnAcc] = {}
        self._categorical: dict[str, NDArray[np.int64]] = {}
        self._missing: dict[str, int] = {}
        self._index: dict[str, dict[str, int]] = {}
        for f in profile.features:
            if isinstance(f, CategoricalProfile):
                self._add_categorical(f.name, f)
            else:
                self._numeric[f.name] = ColumnAcc(np.asarray(f.edges, dtype=np.float64))
        p = profile.prediction
        self._prediction: ColumnAcc | None = None
        self._class_names = False
        if prediction_column is not None:
            if isinstance(p, CategoricalProfile):
                self._add_categorical(PREDICTION_FEATURE, p)
            else:
                edges = (np.asarray(p.edges, dtype=np.float64) if isinstance(p, NumericProfile)
                         else None)
                self._prediction = ColumnAcc(edges)

    def _add_categorical(self, name: str, f: CategoricalProfile) -> None:
        self._categorical[name] = np.zeros(len(f.counts), dtype=np.int64)
        self._missing[name] = 0
        self._index[name] = {c: i for i, c in enumerate(f.categories)}

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
        hashes = row_keys(chunk.start, chunk.rows) if self._numeric or self._prediction \
            else None
        for name, values in chunk.numeric.items():
            if name in self._numeric:
                assert hashes is not None
                self._numeric[name].update(values, hashes)
        for name, names in chunk.categorical.items():
            if name in self._categorical:
                self._count(name, names.tolist())
        if self._prediction_column is None:
            return
        p = chunk.predictions[self._prediction_column]
        self._class_names = self._class_names or has_class_names(p)
        if self._prediction is not None:
            assert hashes is not None
            self._prediction.update(p.numbers, hashes)
        else:
            self._count(PREDICTION_FEATURE, keys(p))

    def merge(self, other: Collector) -> None:
        """Add the collector (same profile and columns) of the rows after this one's."""
        self._rows += other._rows
        for name, acc in self._numeric.items():
            acc.merge(other._numeric[name])
        for name, counts in self._categorical.items():
            counts += other._categorical[name]
            self._missing[name] += other._missing[name]
        if self._prediction is not None and other._prediction is not None:
            self._prediction.merge(other._prediction)
        self._class_names = self._class_names or other._class_names

    def _count(self, name: str, names: list[str | None]) -> None:
        self._missing[name] += _tally(self._index[name], self._categorical[name], names)

    def snapshot(self) -> Collected:
        if self._rows == 0:
            raise BatchInputError(f"{self._source}: no data rows")
        numeric = {k: v.finish() for k, v in self._numeric.items()}
        categorical = {k: v.copy() for k, v in self._categorical.items()}
        missing = dict(self._missing)
        prediction = None
        if self._prediction_column is not None:
            numbers = self._prediction.finish() if self._prediction is not None else None
            prediction = PredictionColumn(self._class_names, numbers)
            if isinstance(self._profile.prediction, NumericProfile) and numbers is not None:
                if self._class_names:
                    raise BatchInputError(
                        f"{self._source}: column {self._prediction_column!r} holds class "
                        "names or probability objects, but the profile's prediction is "
                        "numeric (scores or regression values); use the profile built from "
                        "the same kind of predictions")
                numeric[PREDICTION_FEATURE] = numbers
        return Collected(self._rows, numeric, categorical, missing, prediction)


def _tally(index: dict[str, int], counts: NDArray[np.int64], names: list[str | None]) -> int:
    """Add each key to its bucket (unknown ones to the last, ``__other__``); return the
    number of missing keys."""
    other = len(counts) - 1
    missing = 0
    for key in names:
        if key is None:
            missing += 1
        else:
            counts[index.get(key, other)] += 1
    return missing


def collect(chunks: Iterable[Chunk], collector: Collector) -> Collected:
    for chunk in chunks:
        collector.update(chunk)
    return collector.snapshot()
