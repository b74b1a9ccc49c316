"""Reference bin edges with open outer edges, and bin counts on them.

A value x falls in bin ``searchsorted(edges, x, side="right")``, i.e. bins are
closed on the left: (-inf, e0), [e0, e1), ..., [e(k-1), +inf). Edges are chosen
from the reference values (``quantile_edges``) in one of three ways:

1. **By value** when the reference has at most ``bins`` distinct values (a
   flag, a 5-level rating, a small count): one bin per distinct value, with
   the edges at the midpoints between consecutive distinct values. A value
   never seen in the reference falls in the bin of the nearest reference value
   on its side of the midpoint; below the smallest or above the largest it
   falls in the open first or last bin. A constant reference keeps one edge,
   at its value (so values below it have a bin of their own, as before).
2. **Quantiles** otherwise: the reference quantiles at 1/bins .. (bins-1)/bins
   with numpy's default ("linear", Hyndman & Fan type 7) method, kept as they
   are whenever they are strictly increasing (continuous data, and ties too
   light to matter). Each bin then holds at most ~2/bins of the reference.
3. **Ties first** when quantiles coincide (a value holds more than 1/bins of
   the reference, e.g. 60 % zeros, or Poisson counts): collapsing the equal
   quantiles, as a plain quantile binning does, would merge most of the mass
   into a few bins. Instead, "heavy" values get a bin each and the rest of the
   reference is split by quantiles among the remaining bins:

   - heavy values, largest first: a value is heavy while its count is at least
     the mean count per remaining bin, R/K (R: reference values not yet in a
     heavy value's bin, K: bins not yet given to one);
   - the other ("light") values form stretches between heavy values; each
     stretch gets one bin, and the other bins go one at a time to the stretch
     whose bins hold the most values per bin (highest averages, as
     D'Hondt apportions seats), at most one bin per distinct value;
   - a heavy value's bin is bounded by the midpoints to its neighbouring
     distinct values; each stretch is binned by this same procedure with its
     share of bins (by value, quantiles, or ties first again);
   - if the stretches outnumber the bins left, the lightest heavy value is
     returned to the light values until they fit (when none is left the
     collapsed quantiles are used, as before).

   At most ``bins`` bins result and no bin merges a heavy value with anything.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_BINS = 10


def quantile_edges(values: FloatArray, bins: int = DEFAULT_BINS) -> FloatArray:
    """Inner bin edges of the reference ``values`` (see the module docstring).

    At most ``bins`` bins result. Outer edges are open: bin 0 is (-inf, e0), bin i
    is [e(i-1), e(i)), the last is [e(-1), +inf). NaN values are ignored.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    arr = sorted_finite(np.asarray(values, dtype=np.float64))
    if arr.size == 0:
        raise ValueError("cannot compute quantile edges: no non-missing values")
    return _edges(arr, bins)


def value_edges(distinct: FloatArray) -> FloatArray:
    """Edges giving each of the sorted, distinct ``distinct`` values a bin of its own.

    Midpoints between consecutive values (where rounding puts a midpoint on the
    lower value, as between adjacent floats, the edge is the upper value). One
    value: one edge at it, as a quantile binning of a constant gives.
    """
    u = np.asarray(distinct, dtype=np.float64)
    if u.size <= 1:
        return u.copy()
    lo, hi = u[:-1], u[1:]
    mid = np.minimum(lo / 2 + hi / 2, hi)  # halves first: no overflow near ±1.8e308
    edges: FloatArray = np.where(mid > lo, mid, hi)
    return edges


def _edges(arr: FloatArray, bins: int) -> FloatArray:
    """Edges of sorted, NaN-free, non-empty ``arr``: by value, quantiles or ties first."""
    if bins == 1:
        return np.empty(0, dtype=np.float64)
    u, c = np.unique(arr, return_counts=True)
    if u.size <= bins:
        return value_edges(u)
    q = np.quantile(arr, np.arange(1, bins, dtype=np.float64) / bins)
    if np.all(q[1:] > q[:-1]):
        return q
    return _ties_first(arr, u, c.astype(np.int64), bins, q)


def _heavy(counts: IntArray, bins: int) -> list[int]:
    """Indices of the heavy values: largest first, while count >= remaining / bins left."""
    rest, left, out = int(counts.sum()), bins, []
    for i in np.argsort(-counts, kind="stable").tolist():
        if left <= 1 or counts[i] * left < rest:
            break
        out.append(int(i))
        rest -= int(counts[i])
        left -= 1
    return out


def _stretches(n_distinct: int, heavy: list[int]) -> list[tuple[int, int]]:
    """Runs [a, b) of distinct-value indices between the heavy ones (non-empty)."""
    out, start = [], 0
    for h in [*sorted(heavy), n_distinct]:
        if h > start:
            out.append((start, h))
        start = h + 1
    return out


def _apportion(mass: list[int], cap: list[int], seats: int) -> list[int]:
    """One seat each, then one at a time to the highest mass per seat (below its cap)."""
    got = [1] * len(mass)
    for _ in range(seats - len(mass)):
        open_ = [j for j in range(len(mass)) if got[j] < cap[j]]
        if not open_:
            break
        best = max(open_, key=lambda j: (mass[j] / got[j], -j))
        got[best] += 1
    return got


def _ties_first(arr: FloatArray, u: FloatArray, c: IntArray, bins: int,
                quantiles: FloatArray) -> FloatArray:
    heavy = _heavy(c, bins)
    while heavy and len(_stretches(u.size, heavy)) > bins - len(heavy):
        heavy.pop()  # the lightest: it joins the light values
    if not heavy:
        collapsed: FloatArray = np.unique(quantiles)
        return collapsed
    mids = value_edges(u)  # mids[i] separates u[i] and u[i + 1]
    parts = []
    for h in heavy:
        parts.append(mids[max(h - 1, 0):h + 1])
    stretches = _stretches(u.size, heavy)
    ends = np.concatenate(([0], np.cumsum(c)))
    mass = [int(ends[b] - ends[a]) for a, b in stretches]
    seats = _apportion(mass, [b - a for a, b in stretches], bins - len(heavy))
    for (a, b), k in zip(stretches, seats, strict=True):
        parts.append(_edges(arr[ends[a]:ends[b]], k))
    out: FloatArray = np.unique(np.concatenate(parts))
    return out


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
