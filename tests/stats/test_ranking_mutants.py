"""Tests that kill the ranking.py mutants mutmut left alive (docs/development.md, "Mutation
testing"): scipy's Mann–Whitney U, numpy's histogram and hand computations are the oracles."""

from __future__ import annotations

import numpy as np
from scipy.stats import mannwhitneyu

from exporter.stats.ranking import (
    SCORE_EDGES,
    binned_auc,
    binned_auc_bound,
    binned_counts,
    roc_auc,
    score_bins,
)


def scipy_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    u = mannwhitneyu(scores[positive], scores[~positive], alternative="two-sided").statistic
    return float(u) / (int(positive.sum()) * int((~positive).sum()))


def test_integer_labels_mean_the_same_as_booleans() -> None:
    rng = np.random.default_rng(31)
    scores = rng.random(200).round(2)
    labels = (rng.random(200) < scores).astype(np.int64)  # 0/1 as ints, not bools
    expected = scipy_auc(scores, labels == 1)
    assert roc_auc(scores, labels) == roc_auc(scores, labels.tolist()) == expected
    pos, neg = binned_counts(scores, labels)
    ref_pos = np.histogram(scores[labels == 1], bins=SCORE_EDGES)[0]
    ref_neg = np.histogram(scores[labels == 0], bins=SCORE_EDGES)[0]
    # np.histogram puts 1.0 in the last bin and a value on an inner edge in the bin above it
    assert pos.tolist() == ref_pos.tolist() and neg.tolist() == ref_neg.tolist()
    print(f"AUC of 0/1 int labels {expected:.6f} = scipy's")


def test_score_on_an_edge_goes_to_the_bin_above() -> None:
    edges = [0.0, 0.02, 0.5, 0.98, 1.0]  # the floats k/50 for k = 0, 1, 25, 49, 50
    assert score_bins(edges).tolist() == [0, 1, 25, 49, 49]
    assert score_bins([0.5 - 1e-12, 0.5 + 1e-12]).tolist() == [24, 25]


def test_binned_counts_drop_nan_and_use_the_edges_given() -> None:
    scores = np.array([0.1, np.nan, 0.3, 0.7, np.nan, 0.9, 0.45])
    positive = np.array([True, True, False, True, False, False, True])
    edges = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    pos, neg = binned_counts(scores, positive, edges)
    keep = ~np.isnan(scores)
    assert pos.tolist() == np.histogram(scores[keep & positive], bins=edges)[0].tolist()
    assert neg.tolist() == np.histogram(scores[keep & ~positive], bins=edges)[0].tolist()
    assert pos.tolist() == [1, 1, 1, 0] and neg.tolist() == [0, 1, 0, 1]  # by hand


def test_binned_auc_and_bound_need_both_classes() -> None:
    assert binned_auc([0, 0, 0], [3, 4, 0]) is None
    assert binned_auc_bound([0, 0, 0], [3, 4, 0]) is None
    assert binned_auc_bound([3, 4, 0], [0, 0, 0]) is None
    # one positive and one negative in one bin: a coin flip, the bound is ½·1·1/(1·1)
    assert binned_auc([0, 1, 0], [0, 1, 0]) == 0.5
    assert binned_auc_bound([0, 1, 0], [0, 1, 0]) == 0.5


def test_bound_is_reached_when_every_bin_puts_its_positives_on_top() -> None:
    rng = np.random.default_rng(8)
    for _ in range(20):
        k = int(rng.integers(2, 8))
        pos = rng.integers(0, 6, k)
        neg = rng.integers(0, 6, k)
        pos[0] += 1
        neg[-1] += 1
        # scores: bin b spans [b, b+1); within it negatives at b + 0.25, positives at b + 0.75
        scores = np.concatenate([np.full(int(neg[b]), b + 0.25) for b in range(k)]
                                + [np.full(int(pos[b]), b + 0.75) for b in range(k)])
        positive = np.concatenate([np.zeros(int(neg.sum()), bool), np.ones(int(pos.sum()), bool)])
        exact = scipy_auc(scores, positive)
        hand = float(np.sum(pos * neg)) / (2.0 * pos.sum() * neg.sum())
        bound = binned_auc_bound(pos, neg)
        binned = binned_auc(pos, neg)
        assert bound is not None and binned is not None
        assert abs(bound - hand) <= 1e-15
        assert abs((exact - binned) - bound) <= 1e-12
