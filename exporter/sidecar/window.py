"""Fixed-size ring buffers: the sliding window of the last N events.

Every column of one model shares one write position, so a whole batch is
stored with at most two slice assignments. Memory is allocated once and never
depends on traffic volume.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


class Ring:
    """Last ``size`` rows of a 2-D array (``width`` columns) with a timestamp per row."""

    def __init__(self, size: int, width: int, dtype: Any, fill: Any) -> None:
        if size < 1:
            raise ValueError("ring size must be >= 1")
        self.size = size
        self.fill = fill
        self.data: NDArray[Any] = np.full((size, width), fill, dtype=dtype)
        self.ts: NDArray[np.float64] = np.zeros(size, dtype=np.float64)
        self.pos = 0  # next row to write
        self.count = 0  # rows holding data (<= size)

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    def extend(self, rows: NDArray[Any], ts: NDArray[np.float64]) -> None:
        n = len(rows)
        if n == 0:
            return
        if n >= self.size:
            self.data[:] = rows[n - self.size:]
            self.ts[:] = ts[n - self.size:]
            self.pos, self.count = 0, self.size
            return
        first = min(n, self.size - self.pos)
        self.data[self.pos:self.pos + first] = rows[:first]
        self.ts[self.pos:self.pos + first] = ts[:first]
        rest = n - first
        if rest:
            self.data[:rest] = rows[first:]
            self.ts[:rest] = ts[first:]
        self.pos = (self.pos + n) % self.size
        self.count = min(self.size, self.count + n)

    def ordered(self) -> tuple[NDArray[Any], NDArray[np.float64]]:
        """Copies of the rows and timestamps, oldest first."""
        if self.count < self.size:
            return self.data[:self.count].copy(), self.ts[:self.count].copy()
        order = np.r_[self.pos:self.size, 0:self.pos]
        return self.data[order], self.ts[order]

    def recent(self, now: float, max_age: float | None) -> NDArray[Any]:
        """Copy of the rows not older than ``max_age`` seconds (all when None)."""
        rows, ts = self.ordered()
        if max_age is None:
            return rows
        return rows[ts >= now - max_age]

    def load(self, rows: NDArray[Any], ts: NDArray[np.float64]) -> None:
        """Replace the content with ``rows`` (oldest first), keeping the last ``size``."""
        self.data[:] = self.fill
        self.pos = self.count = 0
        # (len(ts), width), not (-1, width): a zero-width ring (a model without categorical
        # features) has rows of size 0, from which numpy cannot infer a length
        self.extend(rows.astype(self.data.dtype, copy=False).reshape(len(ts), self.width), ts)
