"""Tests that kill the scoring.py mutants mutmut found untested (docs/development.md, "Mutation
testing"): ``binary_quality`` and ``multiclass_quality``, what the sidecar exports, against
plain loops written from the definitions and scipy's Mann–Whitney U."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import mannwhitneyu

from exporter.stats.scoring import binary_quality, multiclass_quality


def ece_loop(confidence: list[float], correct: list[bool]) -> float:
    """Guo et al.'s ECE: 10 bins [k/10, (k+1)/10), the last closed at 1."""
    n = len(confidence)
    total = 0.0
    for b in range(10):
        members = [i for i, c in enumerate(confidence)
                   if b / 10 <= c < (b + 1) / 10 or (b == 9 and c == 1.0)]
        if members:
            acc = sum(correct[i] for i in members) / len(members)
            conf = sum(confidence[i] for i in members) / len(members)
            total += len(members) / n * abs(acc - conf)
    return total


def test_binary_quality_equals_loops_and_drops_nan_scores() -> None:
    rng = np.random.default_rng(44)
    n = 400
    scores = rng.random(n)
    positive = rng.random(n) < scores ** 2
    scores[rng.choice(n, 37, replace=False)] = np.nan
    q = binary_quality(scores, positive)
    assert q is not None
    rows = [(float(s), bool(y)) for s, y in zip(scores, positive, strict=True) if not math.isnan(s)]
    assert q.samples == len(rows) == n - 37
    brier = sum((s - y) ** 2 for s, y in rows) / len(rows)
    conf = [max(s, 1 - s) for s, _ in rows]
    correct = [(s >= 0.5) == y for s, y in rows]
    pos = [s for s, y in rows if y]
    neg = [s for s, y in rows if not y]
    auc = mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg))
    assert q.brier is not None and abs(q.brier - brier) <= 1e-12
    assert q.ece is not None and abs(q.ece - ece_loop(conf, correct)) <= 1e-12
    assert q.roc_auc is not None and abs(q.roc_auc - auc) <= 1e-12
    print(f"binary, {q.samples} rows: AUC {q.roc_auc:.6f}, Brier {q.brier:.6f}, ECE {q.ece:.6f}")


def test_binary_quality_of_no_scored_row_is_none_and_one_class_has_no_auc() -> None:
    assert binary_quality([np.nan, np.nan], [True, False]) is None
    assert binary_quality([], []) is None
    q = binary_quality([0.8, 0.3, np.nan], [True, True, False])
    assert q is not None and q.samples == 2 and q.roc_auc is None
    # by hand: Brier ((0.2)² + (0.7)²)/2 = 0.265; confidences 0.8 (right), 0.7 (wrong)
    assert q.brier is not None and abs(q.brier - 0.265) <= 1e-15
    assert q.ece is not None and abs(q.ece - (0.5 * 0.2 + 0.5 * 0.7)) <= 1e-15


def test_multiclass_quality_equals_loops_and_drops_rows_with_nan() -> None:
    rng = np.random.default_rng(45)
    n, k = 300, 4
    proba = rng.dirichlet(np.ones(k), size=n)
    labels = np.array([rng.choice(k, p=p) for p in proba])
    proba[rng.choice(n, 21, replace=False), rng.integers(0, k, 21)] = np.nan
    q = multiclass_quality(proba, labels)
    assert q is not None
    rows = [(p.tolist(), int(y)) for p, y in zip(proba, labels, strict=True)
            if not any(math.isnan(v) for v in p)]
    assert q.samples == len(rows) < n and q.roc_auc is None
    brier = sum(sum((p[j] - (y == j)) ** 2 for j in range(k)) for p, y in rows) / len(rows)
    conf = [max(p) for p, _ in rows]
    correct = [p.index(max(p)) == y for p, y in rows]
    assert q.brier is not None and abs(q.brier - brier) <= 1e-12
    assert q.ece is not None and abs(q.ece - ece_loop(conf, correct)) <= 1e-12
    print(f"4 classes, {q.samples} of {n} rows: Brier {q.brier:.6f}, ECE {q.ece:.6f}")


def test_multiclass_quality_without_usable_rows_is_none() -> None:
    assert multiclass_quality(np.full((3, 2), np.nan), [0, 1, 0]) is None
    assert multiclass_quality(np.zeros((3, 0)), [0, 1, 0]) is None
    assert multiclass_quality(np.zeros((0, 3)), np.zeros(0, np.int64)) is None
    q = multiclass_quality([[0.7, 0.2, 0.1], [np.nan, 0.5, 0.5]], [1, 0])
    assert q is not None and q.samples == 1
    # by hand: (0.7² + 0.8² + 0.1²) = 1.14; confidence 0.7, wrong: ECE 0.7
    assert q.brier is not None and abs(q.brier - 1.14) <= 1e-12
    assert q.ece is not None and abs(q.ece - 0.7) <= 1e-15
