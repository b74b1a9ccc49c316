"""ROC AUC against scipy's Mann-Whitney U, and the binned (fleet) formula against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu, rankdata

from exporter.stats.ranking import (
    SCORE_BINS,
    SCORE_EDGES,
    binned_auc,
    binned_auc_bound,
    binned_counts,
    midranks,
    positives_above,
    roc_auc,
)


def _oracle(scores: np.ndarray, positive: np.ndarray) -> float:
    """U of the positives over n1*n0 (scipy's Mann-Whitney U with midranks)."""
    u = mannwhitneyu(scores[positive], scores[~positive], alternative="two-sided").statistic
    return float(u) / (positive.sum() * (~positive).sum())


def _case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    positive = rng.random(n) < rng.uniform(0.05, 0.95)
    kind = seed % 4
    if kind == 0:  # continuous, separated by a shift
        scores = rng.normal(size=n) + positive * rng.uniform(0, 2)
    elif kind == 1:  # heavy ties: few distinct values
        scores = rng.integers(0, 4, size=n) + positive * rng.integers(0, 2, size=n)
        scores = scores.astype(float)
    elif kind == 2:  # scores rounded to 2 decimals, in [0, 1]
        scores = np.round(rng.beta(2, 5, size=n) + 0.3 * positive, 2).clip(0, 1)
    else:  # large-n-like ties: half the values identical
        scores = np.where(rng.random(n) < 0.5, 0.5, rng.random(n))
    return scores, positive


@pytest.mark.parametrize("seed", range(60))
def test_auc_equals_mann_whitney_u(seed: int) -> None:
    scores, positive = _case(seed)
    if positive.all() or not positive.any():
        assert roc_auc(scores, positive) is None
        return
    got = roc_auc(scores, positive)
    want = _oracle(scores, positive)
    assert got is not None
    assert abs(got - want) <= 1e-12, (seed, got, want)
    if seed < 4:
        print(f"seed {seed}: n={len(scores)} AUC {got:.15f} scipy U/(n1 n0) {want:.15f}")


def test_midranks_equal_scipy_rankdata() -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(0, 20, size=1000).astype(float)
    assert np.array_equal(midranks(values), rankdata(values, method="average"))


def test_all_equal_scores_give_one_half() -> None:
    positive = np.array([True, False, True, False, False])
    assert roc_auc(np.full(5, 0.3), positive) == 0.5
    assert _oracle(np.full(5, 0.3), positive) == 0.5


def test_by_hand() -> None:
    # positives 0.9, 0.4; negatives 0.4, 0.1, 0.8: pairs (p > n): 0.9 beats all 3;
    # 0.4 beats 0.1, ties 0.4 (half), loses to 0.8 -> (3 + 1 + 0.5) / 6 = 0.75
    scores = np.array([0.9, 0.4, 0.4, 0.1, 0.8])
    positive = np.array([True, True, False, False, False])
    assert roc_auc(scores, positive) == 0.75
    assert binned_auc(*binned_counts(scores, positive)) == 0.75  # no two in one bin but 0.4s


def test_one_class_only_is_none() -> None:
    assert roc_auc([0.1, 0.2], [True, True]) is None
    assert roc_auc([0.1, 0.2], [False, False]) is None
    assert roc_auc([], []) is None
    assert binned_auc([0, 3], [0, 0]) is None
    assert binned_auc_bound([0, 3], [0, 0]) is None


def test_nan_scores_are_dropped() -> None:
    scores = np.array([0.9, np.nan, 0.2, 0.5])
    positive = np.array([True, False, False, True])
    assert roc_auc(scores, positive) == _oracle(scores[[0, 2, 3]], positive[[0, 2, 3]]) == 1.0


def test_binned_auc_equals_numpy_histogram_and_brackets_exact() -> None:
    rng = np.random.default_rng(11)
    for n in (50, 2000, 100_000):
        positive = rng.random(n) < 0.3
        scores = np.clip(rng.normal(0.4 + 0.2 * positive, 0.2), 0, 1)
        pos, neg = binned_counts(scores, positive)
        hp = np.histogram(scores[positive], bins=SCORE_EDGES)[0]
        hn = np.histogram(scores[~positive], bins=SCORE_EDGES)[0]
        assert np.array_equal(pos, hp) and np.array_equal(neg, hn)
        # independent oracle: Mann-Whitney of the bin indices (ties within a bin count half)
        want = _oracle(np.digitize(scores, SCORE_EDGES[1:-1]).astype(float), positive)
        got = binned_auc(pos, neg)
        assert got is not None and abs(got - want) <= 1e-12
        exact = _oracle(scores, positive)
        bound = binned_auc_bound(pos, neg)
        assert bound is not None and abs(got - exact) <= bound
        print(f"n={n}: exact AUC {exact:.6f}, {SCORE_BINS}-bin AUC {got:.6f}, "
              f"|diff| {abs(got - exact):.2e} <= bound {bound:.2e}")


def test_positives_above() -> None:
    assert positives_above([1, 0, 2, 3]).tolist() == [5, 5, 3, 0]


def test_scores_outside_unit_interval_go_to_the_end_bins() -> None:
    pos, neg = binned_counts([-0.5, 1.0, 7.0, 0.0], [True, True, False, False])
    assert pos[0] == 1 and pos[-1] == 1 and neg[-1] == 1 and neg[0] == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=60))
def test_property_auc_and_one_bin_per_value(pairs: list[tuple[int, bool]]) -> None:
    scores = np.array([float(s) for s, _ in pairs])
    positive = np.array([b for _, b in pairs])
    got = roc_auc(scores, positive)
    if positive.all() or not positive.any():
        assert got is None
        return
    assert got is not None and abs(got - _oracle(scores, positive)) <= 1e-12
    # counts over one bin per distinct value: the binned formula is exact
    pos = np.bincount(scores[positive].astype(int), minlength=7)
    neg = np.bincount(scores[~positive].astype(int), minlength=7)
    b = binned_auc(pos, neg)
    assert b is not None and abs(b - got) <= 1e-12
    # flipping the labels gives 1 - AUC
    flipped = roc_auc(scores, ~positive)
    assert flipped is not None and abs(flipped - (1 - got)) <= 1e-12
