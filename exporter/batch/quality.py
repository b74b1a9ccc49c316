"""Ranking and calibration of a batch's labelled rows, streamed: ROC AUC, Brier score, ECE.

Formulas in ``exporter.stats.ranking`` and ``exporter.stats.scoring``. Binary scores
(the task ``perf`` infers with ``scores``): AUC, the binary Brier score and ECE;
probability objects (``_Named``): the multi-class Brier score and top-label ECE, except
that a binary model's probability objects give the binary Brier score of P(classes[1]),
as the sidecar does (the multi-class form would be exactly twice it), and their ROC AUC
from P(classes[1]).

Brier and ECE stream exactly, and the same whichever way the file is chunked: the sum
of squared errors and ECE's per-bin confidence sums are kept as exact sums
(``ExactSum``), the per-bin counts as integers. AUC is exact (midranks) while the
labelled scores number at most ``column.SAMPLE_CAP``; beyond that the kept pairs and
every later chunk are folded into ``FINE_BINS`` equal-width score bins on [0, 1] and the
AUC is the binned one (``roc_auc_method`` "binned"), off the exact one by at most
``roc_auc_error_bound`` (half the share of positive/negative pairs within one bin).

Each accumulator has ``merge(other)``: the accumulators of any split of the rows, merged
in row order, give the same result as one over all rows (the Spark engine's partitions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.batch import column
from exporter.stats.moments import ExactSum
from exporter.stats.ranking import binned_auc, binned_auc_bound, binned_counts, roc_auc
from exporter.stats.scoring import ECE_BINS, ECE_EDGES, CalibrationBins, binary_top_label

FINE_BINS = 100_000
FINE_EDGES: NDArray[np.float64] = np.arange(FINE_BINS + 1) / FINE_BINS


class Calibration:
    """ECE's per-bin sums over chunks: integer counts, exact confidence sums."""

    def __init__(self) -> None:
        self._bins = CalibrationBins.empty()
        self._conf = [ExactSum() for _ in range(ECE_BINS)]

    def add(self, confidence: NDArray[np.float64], correct: NDArray[np.bool_]) -> None:
        chunk = CalibrationBins.of(confidence, correct)
        self._bins.count += chunk.count
        self._bins.correct += chunk.correct
        idx = np.searchsorted(ECE_EDGES[1:-1], confidence, side="right")
        for b in np.flatnonzero(chunk.count).tolist():
            self._conf[b].add(confidence[idx == b])

    def merge(self, other: Calibration) -> None:
        self._bins.count += other._bins.count
        self._bins.correct += other._bins.correct
        for mine, theirs in zip(self._conf, other._conf, strict=True):
            mine.merge(theirs)

    def ece(self) -> float | None:
        self._bins.confidence[:] = [s.value for s in self._conf]
        return self._bins.ece()


@dataclass(frozen=True)
class BatchQuality:
    samples: int  # labelled rows with a score or probabilities
    roc_auc: float | None
    roc_auc_method: str | None  # "exact" or "binned"; None without an AUC
    roc_auc_error_bound: float | None  # binned only: |binned - exact| <= this
    brier: float | None
    ece: float | None


class ScoreQuality:
    """Binary scores with their labels (``positive``: the label is classes[1])."""

    def __init__(self) -> None:
        self._scores: list[NDArray[np.float64]] = []
        self._positive: list[NDArray[np.bool_]] = []
        self._n = 0
        self._pos: NDArray[np.int64] | None = None  # fine bins once over the cap
        self._neg: NDArray[np.int64] | None = None
        self._sq = ExactSum()
        self._bins = Calibration()

    def add(self, scores: NDArray[np.float64], positive: NDArray[np.bool_]) -> None:
        keep = ~np.isnan(scores)
        s, y = scores[keep], positive[keep]
        if not s.size:
            return
        self._n += int(s.size)
        self._sq.add((s - y) ** 2)
        conf, predicted = binary_top_label(s)
        self._bins.add(conf, predicted == y)
        if self._pos is not None and self._neg is not None:
            pos, neg = binned_counts(s, y, FINE_EDGES)
            self._pos += pos
            self._neg += neg
            return
        self._scores.append(s)
        self._positive.append(y)
        if self._n > column.SAMPLE_CAP:
            self._pos, self._neg = binned_counts(np.concatenate(self._scores),
                                                 np.concatenate(self._positive), FINE_EDGES)
            self._scores, self._positive = [], []

    def merge(self, other: ScoreQuality) -> None:
        if not other._n:
            return
        self._n += other._n
        self._sq.merge(other._sq)
        self._bins.merge(other._bins)
        if self._pos is None and other._pos is None and self._n <= column.SAMPLE_CAP:
            self._scores += other._scores
            self._positive += other._positive
            return
        for acc in (self, other):  # over the cap: both in fine bins
            if acc._pos is None:
                acc._pos, acc._neg = binned_counts(
                    np.concatenate(acc._scores or [np.empty(0)]),
                    np.concatenate(acc._positive or [np.empty(0, dtype=bool)]), FINE_EDGES)
                acc._scores, acc._positive = [], []
        assert self._pos is not None and self._neg is not None
        assert other._pos is not None and other._neg is not None
        self._pos += other._pos
        self._neg += other._neg

    def result(self, calibrated: bool) -> BatchQuality | None:
        """None without rows; Brier and ECE only when ``calibrated`` (scores in [0, 1])."""
        if self._n == 0:
            return None
        if self._pos is not None and self._neg is not None:
            auc = binned_auc(self._pos, self._neg)
            bound = binned_auc_bound(self._pos, self._neg)
            method = "binned"
        else:
            auc = roc_auc(np.concatenate(self._scores), np.concatenate(self._positive))
            bound, method = None, "exact"
        return BatchQuality(self._n, auc, method if auc is not None else None,
                            bound if auc is not None else None,
                            self._sq.value / self._n if calibrated else None,
                            self._bins.ece() if calibrated else None)


class ProbabilityQuality:
    """Probability objects (class -> probability) with their true class.

    The Brier sum is kept per class c, S_c = Σ_i (p_i,c − [t_i = c])², a class absent
    from a row counting 0 (S_c = Σ over the rows holding c of p² − 2·p·[t = c], plus
    the rows whose truth is c): the multi-class score is Σ_c S_c / n and the binary one
    S_{classes[1]} / n, which needs the classes only at the end of the file.
    """

    def __init__(self) -> None:
        self._n = 0
        self._sq: dict[str, ExactSum] = {}
        self._truth: dict[str, int] = {}
        self._bins = Calibration()
        # While at most two classes appear: each one's probability as a score, for the
        # ROC AUC of a binary model (which class is classes[1] is known at the end only)
        self._scores: dict[str, ScoreQuality] | None = {}

    def add(self, rows: list[dict[str, float]], truth: list[str]) -> None:
        pairs = [(row, t) for row, t in zip(rows, truth, strict=True) if row]
        if not pairs:
            return
        terms: dict[str, list[float]] = {}
        conf, correct = [], []
        for row, t in pairs:
            for c, v in row.items():
                terms.setdefault(c, []).append(v * v - (2.0 * v if c == t else 0.0))
            self._truth[t] = self._truth.get(t, 0) + 1
            best = max(row, key=row.__getitem__)  # the first on ties, as argmax
            conf.append(row[best])
            correct.append(best == t)
        self._n += len(pairs)
        self._track_scores(pairs)
        for c, values in terms.items():
            self._sq.setdefault(c, ExactSum()).add(np.asarray(values, dtype=np.float64))
        self._bins.add(np.asarray(conf, dtype=np.float64), np.asarray(correct, dtype=bool))

    def _track_scores(self, pairs: list[tuple[dict[str, float], str]]) -> None:
        if self._scores is None:
            return
        before = self._n - len(pairs)
        seen = {*self._scores, *(c for row, t in pairs for c in (*row, t))}
        if len(seen) > 2:  # not a binary model: no AUC, nothing kept
            self._scores = None
            return
        for c in seen:
            if c not in self._scores and before:  # earlier rows: score 0, truth not c
                self._scores[c] = _zeros(before)
            score = np.asarray([row.get(c, 0.0) for row, _ in pairs], dtype=np.float64)
            truth = np.asarray([t == c for _, t in pairs], dtype=bool)
            self._scores.setdefault(c, ScoreQuality()).add(score, truth)

    def merge(self, other: ProbabilityQuality) -> None:
        if self._scores is not None and other._scores is not None:
            seen = {*self._scores, *other._scores}
            if len(seen) > 2:
                self._scores = None
            else:
                for c in seen:
                    mine = self._scores.get(c) or _zeros(self._n)
                    mine.merge(other._scores.get(c) or _zeros(other._n))
                    self._scores[c] = mine
        else:
            self._scores = None
        self._n += other._n
        for c, total in other._sq.items():
            self._sq.setdefault(c, ExactSum()).merge(total)
        for c, n in other._truth.items():
            self._truth[c] = self._truth.get(c, 0) + n
        self._bins.merge(other._bins)

    def _class_sum(self, c: str) -> float:
        return (self._sq[c].value if c in self._sq else 0.0) + self._truth.get(c, 0)

    def result(self, classes: tuple[str, ...] = ()) -> BatchQuality | None:
        """Binary Brier of classes[1] when ``classes`` has two, else the multi-class one."""
        if self._n == 0:
            return None
        auc: BatchQuality | None = None
        if len(classes) == 2:
            brier = self._class_sum(classes[1]) / self._n
            if self._scores is not None and classes[1] in self._scores:
                auc = self._scores[classes[1]].result(calibrated=False)
        else:
            brier = math.fsum(self._class_sum(c) for c in {*self._sq, *self._truth}) / self._n
        if auc is None or auc.roc_auc is None:
            return BatchQuality(self._n, None, None, None, brier, self._bins.ece())
        return BatchQuality(self._n, auc.roc_auc, auc.roc_auc_method, auc.roc_auc_error_bound,
                            brier, self._bins.ece())


ZERO_BLOCK = 1 << 16


def _zeros(n: int) -> ScoreQuality:
    """The scores of a class absent from ``n`` rows (not their truth either): all 0."""
    acc = ScoreQuality()
    for start in range(0, n, ZERO_BLOCK):  # blocks: memory does not grow with n
        k = min(ZERO_BLOCK, n - start)
        acc.add(np.zeros(k), np.zeros(k, dtype=bool))
    return acc


def quality_dict(q: BatchQuality | None) -> dict[str, object]:
    """The JSON report's keys (in its performance section)."""
    if q is None:
        return {}
    out: dict[str, object] = {
        "roc_auc": q.roc_auc, "roc_auc_method": q.roc_auc_method,
        "brier_score": q.brier, "expected_calibration_error": q.ece,
        "probability_samples": q.samples,
    }
    if q.roc_auc_error_bound is not None:
        out["roc_auc_bins"] = FINE_BINS
        out["roc_auc_error_bound"] = q.roc_auc_error_bound
    return out
