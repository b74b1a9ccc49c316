"""Map raw feature values to reference buckets, vectorised.

Numeric: bin index on the profile's inner edges (bin 0 is (-inf, e0), bin i is
[e(i-1), e(i)), the last is [e(-1), +inf)). Categorical: index of the category
in the profile (or, without a profile, in the categories seen first, up to a
limit); anything else is the ``__other__`` bucket, last. Missing is -1.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.typing import NDArray

from exporter.metric_names import OTHER_BUCKET
from exporter.profile.model import CategoricalProfile, NumericProfile
from exporter.sidecar.ingest.decode import Column

MISSING = -1


class NumericBuckets:
    def __init__(self, profile: NumericProfile) -> None:
        self.edges = np.asarray(profile.edges, dtype=np.float64)
        self.labels = profile.bucket_labels
        self.reference = np.asarray(profile.proportions, dtype=np.float64)

    def counts(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        """Counts per bucket of the non-NaN values."""
        finite = values[~np.isnan(values)]
        idx = np.searchsorted(self.edges, finite, side="right")
        return np.bincount(idx, minlength=len(self.edges) + 1).astype(np.int64)


class NumericColumns:
    """Bucket counts of several numeric columns of one batch at once.

    Bucket of v = number of edges <= v (the ``side="right"`` convention of
    ``NumericBuckets``), computed as one comparison per edge *position* over all
    columns together (edges padded with NaN, which compares false), then one
    ``bincount`` over per-feature offsets. Counters are views of one flat array,
    so a batch updates every feature with a single addition.
    """

    def __init__(self, edges: list[NDArray[np.float64]]) -> None:
        """One edge array per column (empty: a column counted for NaNs only)."""
        sizes = [len(e) + 1 for e in edges]
        width = max((len(e) for e in edges), default=0)
        self.edges = np.full((len(edges), width), np.nan)
        for i, e in enumerate(edges):
            self.edges[i, :len(e)] = e
        bounds = np.cumsum([0, *sizes])
        self.offsets = bounds[:-1].reshape(-1, 1).astype(np.intp)
        self.total = int(bounds[-1])
        self.counts = np.zeros(self.total, dtype=np.int64)
        self.views = [self.counts[bounds[i]:bounds[i + 1]] for i in range(len(edges))]
        self._dtype = np.uint8 if width < 255 else np.intp
        # per-edge-position columns, each (features, 1), broadcast over a batch
        self._edge_columns = [self.edges[:, k:k + 1] for k in range(width)]

    def add(self, columns: NDArray[np.float64]) -> NDArray[np.int64]:
        """Count a (features, n) array into the counters; returns NaNs per feature."""
        if columns.shape[1] == 0 or not len(self.views):
            return np.zeros(len(self.views), dtype=np.int64)
        index = np.zeros(columns.shape, dtype=self._dtype)
        for edge in self._edge_columns:  # one pass per edge position, not per value
            np.add(index, columns >= edge, out=index)
        flat = index.astype(np.intp)
        flat += self.offsets
        nan = np.isnan(columns)
        missing: NDArray[np.int64] = nan.sum(axis=1)
        if missing.any():
            flat[nan] = self.total  # a spill bucket, dropped below
        self.counts += np.bincount(flat.ravel(), minlength=self.total + 1)[:self.total]
        return missing


class CategoricalBuckets:
    """Category -> bucket index; a fixed profile list, or learnt up to ``limit`` categories."""

    def __init__(self, profile: CategoricalProfile | None, limit: int = 100) -> None:
        self.fixed = profile is not None
        self.categories: list[str] = list(profile.categories) if profile else []
        self.index: dict[str | None, int] = {c: i for i, c in enumerate(self.categories)}
        self.index[None] = MISSING
        self.limit = len(self.categories) if profile else limit
        self.reference = (np.asarray(profile.proportions, dtype=np.float64)
                          if profile else None)

    @property
    def size(self) -> int:
        """Bucket count including ``__other__`` (fixed for the lifetime of the state)."""
        return self.limit + 1

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.categories, OTHER_BUCKET)

    @property
    def other(self) -> int:
        return self.limit

    def code(self, column: NDArray[Any]) -> NDArray[np.int32]:
        """Bucket index per value of an object column of str | None (None -> MISSING)."""
        values = column.tolist()
        # dict.get(value, other) mapped in C: no Python code per value.
        if self.fixed or len(self.categories) >= self.limit:  # nothing left to learn
            return np.fromiter(map(self.index.get, values, itertools.repeat(self.other)),
                               dtype=np.int32, count=len(values))
        codes = list(map(self.index.get, values, itertools.repeat(self.other)))
        if self.other in codes:
            codes = [self._learn(v) if c == self.other else c
                     for v, c in zip(values, codes, strict=True)]
        return np.array(codes, dtype=np.int32)

    def code_column(self, column: Column) -> NDArray[np.int32]:
        """Bucket index per row of a decoded column: each distinct value is looked up once."""
        return self.code_names(column.values)[column.codes()]

    def code_names(self, names: list[str | None]) -> NDArray[np.int32]:
        return self.code(np.array(names, dtype=object))

    def class_codes(self, classes: tuple[str, ...],
                    index: NDArray[np.float64]) -> NDArray[np.int32]:
        """Bucket codes of predicted class indices into ``classes`` (NaN: no class, MISSING)."""
        lut = self.code_names([*classes, None])
        return lut[np.where(np.isnan(index), len(classes), index).astype(np.int64)]

    def set_categories(self, categories: list[str]) -> None:
        """Replace learnt categories (restoring state)."""
        self.categories[:] = categories[:self.limit]
        self.index.clear()
        self.index.update({c: i for i, c in enumerate(self.categories)})
        self.index[None] = MISSING

    def _learn(self, value: str | None) -> int:
        if value is None:
            return MISSING
        idx = self.index.get(value)
        if idx is not None:
            return idx
        if len(self.categories) < self.limit and value != OTHER_BUCKET:
            self.index[value] = len(self.categories)
            self.categories.append(value)
            return self.index[value]
        return self.other

    def counts(self, codes: NDArray[np.int32]) -> NDArray[np.int64]:
        present = codes[codes >= 0]
        return np.bincount(present, minlength=self.size).astype(np.int64)
