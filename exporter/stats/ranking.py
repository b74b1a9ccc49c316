"""ROC AUC of a binary classifier's scores: exact from ranks, and from binned counts.

Exact: AUC = U / (n₁·n₀), where U = R₁ − n₁(n₁+1)/2 is the Mann–Whitney statistic of
the positives' scores, R₁ the sum of the positives' ranks among all scores, ties
given their midrank (the mean of the ranks they span). It is the probability that a
random positive scores above a random negative, a tie counting one half (Mann &
Whitney 1947; Hanley & McNeil 1982; Fawcett 2006 §7). Ranks are half-integers, so
R₁ is summed exactly in float64 for up to ~10⁸ scores.

Binned (the fleet formula): with Pᵦ positives and Nᵦ negatives in score bin b
(bins ordered by score), P = ΣPᵦ, N = ΣNᵦ and P₍>b₎ the positives in bins above b,

    AUC = Σᵦ Nᵦ·(P₍>b₎ + ½·Pᵦ) / (P·N).

It equals the exact AUC of the scores rounded to their bin: pairs within one bin
count one half, so it differs from the exact AUC by at most Σᵦ Pᵦ·Nᵦ / (2·P·N)
(``binned_auc_bound``). With one bin per distinct score value it is exact.

The sidecar counts joined labels' scores in ``SCORE_BINS`` equal-width bins on [0, 1]
(``SCORE_EDGES``, the floats k/50): bin b is [SCORE_EDGES[b], SCORE_EDGES[b+1]) by
float comparison with the edges, the last bin closed at 1; scores below 0 fall in the
first bin, above 1 in the last. The positive class is ``classes[1]`` (the score is its probability).

Undefined inputs: with no positive or no negative the AUC is undefined and ``None``
is returned. Pairs whose score is NaN are dropped.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

SCORE_BINS = 50
SCORE_EDGES: NDArray[np.float64] = np.arange(SCORE_BINS + 1) / SCORE_BINS  # the floats k/50


def midranks(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ranks 1..n of the values, ties given the mean of the ranks they span."""
    n = len(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.ones(n, dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)  # exclusive: a group spans ranks starts+1 .. ends
    mean_rank = (starts + 1 + ends) / 2.0
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = mean_rank[np.cumsum(new) - 1]
    return ranks


def roc_auc(scores: ArrayLike, positive: ArrayLike) -> float | None:
    """Exact ROC AUC of ``scores`` for the boolean labels ``positive`` (True = classes[1]).

    None when there is no positive or no negative (after dropping NaN scores).
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    if s.shape != y.shape:
        raise ValueError("scores and labels differ in length")
    keep = ~np.isnan(s)
    s, y = s[keep], y[keep]
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return None
    r1 = float(midranks(s)[y].sum())
    u = r1 - n1 * (n1 + 1) / 2.0
    return u / (float(n1) * float(n0))


def score_bins(scores: ArrayLike, edges: NDArray[np.float64] = SCORE_EDGES) -> NDArray[np.intp]:
    """Bin index of each (non-NaN) score on ``edges`` (see the module docstring)."""
    s = np.asarray(scores, dtype=np.float64)
    return np.searchsorted(edges[1:-1], s, side="right")


def binned_counts(scores: ArrayLike, positive: ArrayLike,
                  edges: NDArray[np.float64] = SCORE_EDGES,
                  ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(positives, negatives) per score bin; NaN scores dropped."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    keep = ~np.isnan(s)
    idx = score_bins(s[keep], edges)
    y = y[keep]
    k = len(edges) - 1
    pos = np.bincount(idx[y], minlength=k).astype(np.int64)
    neg = np.bincount(idx[~y], minlength=k).astype(np.int64)
    return pos, neg


def positives_above(positives: ArrayLike) -> NDArray[np.int64]:
    """P₍>b₎ per bin: the positives in the bins above bin b."""
    p = np.asarray(positives, dtype=np.int64)
    return (int(p.sum()) - np.cumsum(p)).astype(np.int64)


def _bin_totals(positives: ArrayLike, negatives: ArrayLike,
                ) -> tuple[NDArray[np.float64], NDArray[np.float64], float, float] | None:
    """Counts per bin as floats and their totals; None without both classes."""
    p = np.asarray(positives, dtype=np.float64)
    n = np.asarray(negatives, dtype=np.float64)
    total_p, total_n = float(p.sum()), float(n.sum())
    if total_p <= 0 or total_n <= 0:
        return None
    return p, n, total_p, total_n


def binned_auc(positives: ArrayLike, negatives: ArrayLike) -> float | None:
    """AUC from counts per bin, bins in increasing score order; None without both classes."""
    if (t := _bin_totals(positives, negatives)) is None:
        return None
    p, n, total_p, total_n = t
    above = total_p - np.cumsum(p)
    return float(np.sum(n * (above + 0.5 * p)) / (total_p * total_n))


def binned_auc_bound(positives: ArrayLike, negatives: ArrayLike) -> float | None:
    """Largest possible |binned AUC − exact AUC|: the within-bin pairs' share, halved."""
    if (t := _bin_totals(positives, negatives)) is None:
        return None
    p, n, total_p, total_n = t
    return float(np.sum(p * n) / (2.0 * total_p * total_n))
