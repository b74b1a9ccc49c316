"""Map raw feature values to reference buckets, vectorised.

Numeric: bin index on the profile's inner edges (bin 0 is (-inf, e0), bin i is
[e(i-1), e(i)), the last is [e(-1), +inf)). Categorical: index of the category
in the profile (or, without a profile, in the categories seen first, up to a
limit); anything else is the ``__other__`` bucket, last. Missing is -1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from exporter.metric_names import OTHER_BUCKET
from exporter.profile import CategoricalProfile, NumericProfile

MISSING = -1
_NONE = "\x1f__mlmon_none__"  # stands for None while the column is a str array


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
        self.index: dict[str, int] = {c: i for i, c in enumerate(self.categories)}
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
        if len(column) == 0:
            return np.empty(0, dtype=np.int32)
        col = column.copy()
        col[col == None] = _NONE  # noqa: E711 - elementwise comparison
        uniques, inverse = np.unique(col.astype(str), return_inverse=True)
        lut = np.array([self._lookup(str(u)) for u in uniques], dtype=np.int32)
        return lut[inverse.reshape(-1)]

    def code_names(self, names: list[str | None]) -> NDArray[np.int32]:
        return self.code(np.array(names, dtype=object))

    def _lookup(self, value: str) -> int:
        if value == _NONE:
            return MISSING
        idx = self.index.get(value)
        if idx is not None:
            return idx
        if not self.fixed and len(self.categories) < self.limit and value != OTHER_BUCKET:
            self.index[value] = len(self.categories)
            self.categories.append(value)
            return self.index[value]
        return self.other

    def counts(self, codes: NDArray[np.int32]) -> NDArray[np.int64]:
        present = codes[codes >= 0]
        return np.bincount(present, minlength=self.size).astype(np.int64)
