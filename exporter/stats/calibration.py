"""Re-calibration of a classifier's confidence on labelled reference data.

Method: isotonic regression (pool-adjacent-violators, PAV; Zadrozny & Elkan 2002,
Niculescu-Mizil & Caruana 2005) of the label indicator on the score, over at most
``MAX_POINTS`` equal-count groups of the sorted reference scores. Each group keeps
(mean score, share of positives, rows); PAV pools adjacent groups until the shares
are non-decreasing (weights = rows). The map stored is those points, x strictly
increasing: a score is mapped by linear interpolation between neighbouring points
and clamped to the end values outside them (as scikit-learn's
``IsotonicRegression(out_of_bounds="clip")`` does between its thresholds).

Why isotonic and not histogram binning: fixed-width bins put most reference rows
into a few bins when scores are concentrated (0.9+ for a good model), leaving flat
steps exactly where the estimate needs resolution; isotonic regression adapts to the
data, can only fix a monotone distortion (it never re-orders scores, so the model's
ranking is kept) and, with equal-count groups, needs no bin-count tuning. Its known
weakness — a fitted step function that over-fits small samples — is damped by the
grouping (>= ``MIN_GROUP_ROWS`` rows a group) and by interpolating between points.
The map is bounded: at most ``MAX_POINTS`` (x, y) pairs per class.

Multi-class (Zadrozny & Elkan 2002): one one-vs-rest map per class (the class's
probability against "label is this class"), applied column by column; each row is
then renormalised to sum 1 (a row whose calibrated values all map to 0 keeps its raw
probabilities).

Binary models give one map, for the score P(classes[1]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

MAX_POINTS = 100  # points per calibration map
MIN_GROUP_ROWS = 50  # reference rows per group, at least (fewer groups when n is small)


@dataclass(frozen=True)
class CalibrationMap:
    """A monotone map score -> P(positive): points x (strictly increasing) and y."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y) or not self.x:
            raise ValueError("a calibration map needs as many x as y values, at least one")
        if any(b <= a for a, b in zip(self.x, self.x[1:], strict=False)):
            raise ValueError("calibration map x values must be strictly increasing")
        if any(b < a for a, b in zip(self.y, self.y[1:], strict=False)):
            raise ValueError("calibration map y values must be non-decreasing")
        if any(not 0.0 <= v <= 1.0 for v in self.y):
            raise ValueError("calibration map y values must be within [0, 1]")

    def apply(self, scores: FloatArray) -> FloatArray:
        """Calibrated probabilities (NaN stays NaN)."""
        s = np.asarray(scores, dtype=np.float64)
        out: FloatArray = np.interp(s, np.asarray(self.x), np.asarray(self.y))
        out[np.isnan(s)] = np.nan
        return out


@dataclass(frozen=True)
class Calibration:
    """The maps fitted on ``rows`` labelled reference rows: one for a binary model's score
    (P(classes[1])), else one per class in ``classes`` order."""

    rows: int
    classes: tuple[str, ...]
    maps: tuple[CalibrationMap, ...]
    method: str = "isotonic"

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2 and len(self.maps) == 1


def pav(values: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted isotonic (non-decreasing) least-squares fit of ``values`` (PAV)."""
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    means: list[float] = []
    wsum: list[float] = []
    sizes: list[int] = []
    for vi, wi in zip(v.tolist(), w.tolist(), strict=True):
        means.append(vi)
        wsum.append(wi)
        sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            m2, w2, s2 = means.pop(), wsum.pop(), sizes.pop()
            total = wsum[-1] + w2
            means[-1] = (means[-1] * wsum[-1] + m2 * w2) / total if total > 0 else means[-1]
            wsum[-1] = total
            sizes[-1] += s2
    return np.repeat(np.array(means, dtype=np.float64), sizes)


def fit_map(scores: FloatArray, positive: NDArray[np.bool_]) -> CalibrationMap | None:
    """Isotonic map of P(positive) on the score; None without a finite score."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    ok = np.isfinite(s)
    s, y = s[ok], y[ok]
    n = s.size
    if n == 0:
        return None
    order = np.argsort(s, kind="stable")
    s, yf = s[order], y[order].astype(np.float64)
    groups = max(1, min(MAX_POINTS, n // MIN_GROUP_ROWS))
    bounds = np.linspace(0, n, groups + 1).round().astype(np.int64)
    counts = np.diff(bounds).astype(np.float64)
    xs = np.add.reduceat(s, bounds[:-1]) / counts
    ys = np.add.reduceat(yf, bounds[:-1]) / counts
    # ties across groups: merge groups with the same mean score (x must increase strictly)
    ux, inverse = np.unique(xs, return_inverse=True)
    w = np.bincount(inverse, weights=counts).astype(np.float64)
    uy = np.bincount(inverse, weights=ys * counts) / w
    fitted = np.clip(pav(uy, w), 0.0, 1.0)
    return CalibrationMap(tuple(float(v) for v in ux), tuple(float(v) for v in fitted))


def fit_binary(scores: FloatArray, labels: NDArray[np.int64],
               classes: tuple[str, ...]) -> Calibration | None:
    """The map of a binary model: ``scores`` = P(classes[1]), ``labels`` class indices
    (negative = unknown, dropped)."""
    known = np.asarray(labels) >= 0
    s = np.asarray(scores, dtype=np.float64)[known]
    keep = np.isfinite(s)
    m = fit_map(s[keep], np.asarray(labels)[known][keep] == 1)
    return None if m is None else Calibration(int(keep.sum()), classes, (m,))


def fit_multiclass(proba: FloatArray, labels: NDArray[np.int64],
                   classes: tuple[str, ...]) -> Calibration | None:
    """One-vs-rest maps: ``proba`` is (n, k) in ``classes`` order, rows with a NaN or an
    unknown label (negative index) dropped."""
    p = np.asarray(proba, dtype=np.float64)
    lab = np.asarray(labels, dtype=np.int64)
    keep = (lab >= 0) & np.all(np.isfinite(p), axis=1)
    p, lab = p[keep], lab[keep]
    if not lab.size:
        return None
    maps = []
    for k in range(len(classes)):
        m = fit_map(p[:, k], lab == k)
        assert m is not None
        maps.append(m)
    return Calibration(int(lab.size), classes, tuple(maps))


def calibrate_proba(proba: FloatArray, calibration: Calibration) -> FloatArray:
    """Per-class maps applied column by column, rows renormalised to sum 1."""
    p = np.asarray(proba, dtype=np.float64)
    out = np.column_stack([m.apply(p[:, k]) for k, m in enumerate(calibration.maps)])
    total = out.sum(axis=1, keepdims=True)
    ok = np.isfinite(total[:, 0]) & (total[:, 0] > 0)
    result = p.copy()
    result[ok] = out[ok] / total[ok]
    return result
