"""Category counts of one categorical feature for the profile builder, split-invariant.

While a column has at most ``capacity`` distinct values (``max(10_000, 20 ×
max_categories)``) every count is kept exactly, and the profile's categories are the
``max_categories`` most frequent (ties by name). A column with more distinct values
("pruned") drops its counts and chooses from a bottom-k sample of its rows instead:
the ``capacity`` rows whose splitmix64 hash of (global row index, feature) is
smallest, the same rows whichever way the file is split. The ``max_categories`` values
most frequent in that sample (ties by name) are the categories, and pass 2 counts them
exactly (known before pass 2, so pass-2 sections can bucket by them). Both states merge
exactly (``merge``): counts add up, the distinct count only grows, and the bottom-k
sample of a union is the bottom-k of the samples. So the chosen categories and their
counts do not depend on the order rows arrive in, unlike pruning counts as they come.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from numpy.typing import NDArray

from exporter.profile.bottomk import U64, splitmix64


def top(counts: Counter[str], k: int) -> list[tuple[str, int]]:
    """The ``k`` largest counts, ties by name."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


class CategoricalAcc:
    def __init__(self, name: str, max_categories: int, salt: np.uint64) -> None:
        self.name = name
        self.max_categories = max_categories
        self.capacity = max(10_000, 20 * max_categories)
        self.salt = salt
        self.counts: Counter[str] | None = Counter()  # None once pruned
        self.missing = 0
        self._keys = np.empty(0, dtype=np.uint64)
        self._values = np.empty(0, dtype=object)

    @property
    def pruned(self) -> bool:
        return self.counts is None

    def update(self, values: NDArray[np.object_], start: int) -> None:
        present = np.flatnonzero(values != None)  # noqa: E711 (elementwise)
        self.missing += int(values.size - present.size)
        if self.counts is not None:
            c = Counter(values.tolist())
            c.pop(None, 0)
            self.counts.update(c)
            if len(self.counts) > self.capacity:
                self.counts = None
        keys = splitmix64(present.astype(np.uint64) + U64(start)) ^ self.salt
        self._keep(keys, values[present])

    def _keep(self, keys: NDArray[np.uint64], values: NDArray[np.object_]) -> None:
        if self._keys.size == self.capacity and keys.size:
            enter = keys < self._keys.max()
            keys, values = keys[enter], values[enter]
        if not keys.size:
            return
        keys = np.concatenate((self._keys, keys))
        values = np.concatenate((self._values, values))
        if keys.size > self.capacity:
            keep = np.argpartition(keys, self.capacity - 1)[: self.capacity]
            keys, values = keys[keep], values[keep]
        self._keys, self._values = keys, values

    def merge(self, other: CategoricalAcc) -> None:
        self.missing += other.missing
        if self.counts is not None and other.counts is not None:
            self.counts.update(other.counts)
            if len(self.counts) > self.capacity:
                self.counts = None
        else:
            self.counts = None
        self._keep(other._keys, other._values)

    def categories(self) -> tuple[str, ...]:
        """The profile's categories, sorted: the most frequent ones (pruned: in the sample)."""
        counts = self.counts if self.counts is not None else Counter(self._values.tolist())
        return tuple(sorted(k for k, _ in top(counts, self.max_categories)))
