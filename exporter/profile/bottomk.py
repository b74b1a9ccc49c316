"""Bottom-k sampling: a uniform sample without replacement that does not depend on chunking.

Every value carries a 64-bit key, the SplitMix64 hash of its row index (a bijection, so
keys never tie); the sample is the ``k`` values with the smallest keys. Whichever way the
rows arrive in chunks, the same rows are kept (in no particular order). While at most ``k``
values have been added they are all kept, in the order they came.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray

U64 = np.uint64


def splitmix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Steele et al.'s SplitMix64 finalizer: a bijection on 64-bit integers."""
    z = x + U64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
    out: NDArray[np.uint64] = z ^ (z >> U64(31))
    return out


def salt(name: str) -> np.uint64:
    """A per-name key salt (the first 8 bytes of the name's sha256), so samples of
    different features or tables do not keep the same rows."""
    return U64(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little"))


class BottomK:
    """The ``k`` values with the smallest keys among all added so far.

    Added values wait in a buffer of up to ``k // 4`` (or ``k``, before the sample first
    fills) and are merged in one selection: O(1) amortised work per value. Once full,
    only keys below the largest kept one can enter at all.
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self._keys = np.empty(0, dtype=np.uint64)
        self._values = np.empty(0, dtype=np.float64)
        self._waiting: list[tuple[NDArray[np.uint64], NDArray[np.float64]]] = []
        self._waiting_size = 0
        self._bound: np.uint64 | None = None  # the largest kept key, once k are kept

    @property
    def keys(self) -> NDArray[np.uint64]:
        self._merge()
        return self._keys

    @property
    def values(self) -> NDArray[np.float64]:
        self._merge()
        return self._values

    def add(self, new_keys: NDArray[np.uint64], x: NDArray[np.float64]) -> None:
        if self._bound is not None:
            enter = new_keys < self._bound
            new_keys, x = new_keys[enter], x[enter]
        if not new_keys.size:
            return
        self._waiting.append((new_keys, x))
        self._waiting_size += int(new_keys.size)
        if self._keys.size + self._waiting_size > self.k \
                and self._waiting_size >= max(self.k // 4, 1):
            self._merge()

    def merge(self, other: BottomK) -> None:
        """Add what ``other`` kept: keys are distinct row hashes, so the result is the
        sample of all rows both have seen, whichever way they were split."""
        self.add(other.keys, other.values)

    def _merge(self) -> None:
        if not self._waiting:
            return
        keys = np.concatenate((self._keys, *(k for k, _ in self._waiting)))
        vals = np.concatenate((self._values, *(v for _, v in self._waiting)))
        self._waiting, self._waiting_size = [], 0
        if keys.size > self.k:
            keep = np.argpartition(keys, self.k - 1)[: self.k]
            keys, vals = keys[keep], vals[keep]
        if keys.size == self.k:
            self._bound = keys.max()
        self._keys, self._values = keys, vals
