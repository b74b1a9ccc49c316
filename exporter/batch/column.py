"""One numeric column of a batch in bounded memory: exact counts, a capped sample.

Per column, over all rows: the missing count, the count, mean and M2 of the values
(exact sums, rounded once: ``exporter.stats.moments``), min, max and the counts
per reference bin (``bin_counts`` per chunk: the same bins as ``numeric_drift``).
The values themselves are kept while there are at most ``SAMPLE_CAP`` of them, in
file order; beyond that a uniform sample of ``SAMPLE_CAP`` without replacement: the
values whose row index has the smallest SplitMix64 hash (``exporter.profile.bottomk``),
the same rows however the file is chunked, ordered by their keys (not by how they came).
``merge`` adds the accumulator of the next rows: the same result as one over both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.profile.bottomk import U64, BottomK, splitmix64
from exporter.stats.binning import bin_counts
from exporter.stats.moments import Moments

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

SAMPLE_CAP = 250_000  # values kept per numeric column; more are sampled down to this


def row_keys(start: int, rows: int) -> NDArray[np.uint64]:
    """The sampling key of each row of a chunk: SplitMix64 of its 0-based file row."""
    return splitmix64(np.arange(rows, dtype=np.uint64) + U64(start))


@dataclass(frozen=True)
class NumericColumn:
    """What the statistics get for one numeric column."""

    values: FloatArray  # every value (NaN dropped) in file order, or the sample
    count: int  # values in the whole file (missing not counted)
    missing: int
    sampled: bool  # ``values`` is a sample of ``count`` values
    counts: IntArray | None  # exact counts per reference bin, when edges were given
    mean: float
    std: float  # population (ddof=0)
    min: float
    max: float


class ColumnAcc:
    """``update`` with each chunk's values (NaN = missing); ``finish`` at the end."""

    def __init__(self, edges: FloatArray | None, cap: int | None = None) -> None:
        self._edges = edges
        self._counts = None if edges is None else np.zeros(len(edges) + 1, dtype=np.int64)
        self._sample = BottomK(SAMPLE_CAP if cap is None else cap)
        self._missing = 0
        self._moments = Moments()

    def update(self, values: FloatArray, keys: NDArray[np.uint64]) -> None:
        """``keys``: ``row_keys`` of the chunk the values come from."""
        ok = ~np.isnan(values)
        x = values[ok]
        self._missing += int(values.size - x.size)
        if not x.size:
            return
        if self._counts is not None and self._edges is not None:
            self._counts += bin_counts(x, self._edges)
        self._moments.add(x)
        self._sample.add(keys[ok], x)

    def merge(self, other: ColumnAcc) -> None:
        self._missing += other._missing
        if self._counts is not None and other._counts is not None:
            self._counts += other._counts
        self._moments.merge(other._moments)
        self._sample.merge(other._sample)

    def finish(self) -> NumericColumn:
        m = self._moments
        values = self._sample.values
        if m.n > self._sample.k:  # a sample: in key order, whichever way it was gathered
            values = values[np.argsort(self._sample.keys, kind="stable")]
        empty = m.n == 0
        nan = math.nan
        return NumericColumn(
            values=values, count=m.n, missing=self._missing,
            sampled=m.n > self._sample.k,
            counts=None if self._counts is None else self._counts.copy(),
            mean=nan if empty else m.mean, std=m.std,
            min=nan if empty else m.min, max=nan if empty else m.max)
