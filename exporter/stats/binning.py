"""Quantile binning with open outer edges.

Edges are the reference quantiles at 1/bins .. (bins-1)/bins computed with
numpy's default ("linear", Hyndman & Fan type 7) method; duplicates are
collapsed so a feature with heavy ties simply gets fewer bins. A value x falls
in bin ``searchsorted(edges, x, side="right")``, i.e. bins are closed on the
left: (-inf, e0), [e0, e1), ..., [e(k-1), +inf).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_BINS = 10


def quantile_edges(values: FloatArray, bins: int = DEFAULT_BINS) -> FloatArray:
    """Inner bin edges at the reference quantiles 1/bins .. (bins-1)/bins.

    Duplicate edges are collapsed, so fewer than ``bins`` bins may result.
    Outer edges are open: bin 0 is (-inf, e0), bin i is [e(i-1), e(i)), the last
    is [e(-1), +inf). NaN values are ignored.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        raise ValueError("cannot compute quantile edges: no non-missing values")
    if bins == 1:
        return np.empty(0, dtype=np.float64)
    probs = np.arange(1, bins, dtype=np.float64) / bins
    edges: FloatArray = np.unique(np.quantile(arr, probs))
    return edges


def bin_counts(values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts per bin (len(edges) + 1) with the convention of ``quantile_edges``.

    NaN values are not counted.
    """
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    idx = np.searchsorted(edges, arr, side="right")
    counts: IntArray = np.bincount(idx, minlength=len(edges) + 1).astype(np.int64)
    return counts


def bin_counts_sorted(sorted_values: FloatArray, edges: FloatArray) -> IntArray:
    """``bin_counts`` for values already sorted ascending without NaN: O(bins log m).

    Bin i holds the values in [e(i-1), e(i)), so its count is
    #(x < e(i)) - #(x < e(i-1)).
    """
    below = np.searchsorted(sorted_values, edges, side="left")
    bounds = np.concatenate(([0], below, [len(sorted_values)]))
    counts: IntArray = np.diff(bounds).astype(np.int64)
    return counts


def sorted_finite(values: FloatArray) -> FloatArray:
    """Values sorted ascending with NaN dropped (numpy sorts NaN last)."""
    arr = np.sort(np.asarray(values, dtype=np.float64))
    if arr.size and np.isnan(arr[-1]):
        arr = arr[: int(np.searchsorted(arr, np.nan, side="left"))]
    return arr
