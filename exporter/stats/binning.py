"""Quantile binning with open outer edges."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def quantile_edges(values: FloatArray, bins: int = 10) -> FloatArray:
    """Inner bin edges at the reference quantiles 1/bins .. (bins-1)/bins.

    Duplicate edges are collapsed, so fewer than ``bins`` bins may result.
    Outer edges are open: bin 0 is (-inf, e0), bin i is [e(i-1), e(i)), the last
    is [e(-1), +inf). NaN values are ignored.
    """
    raise NotImplementedError


def bin_counts(values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts per bin (len(edges) + 1) with the convention of ``quantile_edges``.

    NaN values are not counted.
    """
    raise NotImplementedError
