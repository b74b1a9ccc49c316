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
from exporter.profile import CategoricalProfile, NumericProfile

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
        codes = list(map(self.index.get, values, itertools.repeat(self.other)))
        if not self.fixed and len(self.categories) < self.limit and self.other in codes:
            codes = [self._learn(v) if c == self.other else c
                     for v, c in zip(values, codes, strict=True)]
        return np.array(codes, dtype=np.int32)

    def code_names(self, names: list[str | None]) -> NDArray[np.int32]:
        return self.code(np.array(names, dtype=object))

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
