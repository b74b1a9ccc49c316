"""Brier score and top-label ECE against hand calculations and an independent numpy loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.stats.scoring import (
    CalibrationBins,
    binary_top_label,
    brier_binary,
    brier_multiclass,
    ece,
    top_label,
)


def _ece_loop(confidence: list[float], correct: list[bool]) -> float:
    """Guo et al.'s ECE written out: 10 bins [k/10, (k+1)/10), the last closed at 1."""
    n = len(confidence)
    total = 0.0
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        members = [i for i, c in enumerate(confidence)
                   if (lo <= c < hi) or (b == 9 and c == 1.0)]
        if not members:
            continue
        acc = sum(correct[i] for i in members) / len(members)
        conf = sum(confidence[i] for i in members) / len(members)
        total += len(members) / n * abs(acc - conf)
    return total


def test_brier_binary_by_hand() -> None:
    # (0.9-1)^2 + (0.2-0)^2 + (0.6-0)^2 + (0.5-1)^2 = 0.01 + 0.04 + 0.36 + 0.25 = 0.66
    got = brier_binary([0.9, 0.2, 0.6, 0.5], [True, False, False, True])
    assert got == pytest.approx(0.66 / 4, abs=1e-15)
    print(f"binary Brier {got} (hand: 0.165)")


def test_brier_multiclass_by_hand() -> None:
    proba = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]
    # row 1, label 0: 0.09 + 0.04 + 0.01 = 0.14; row 2, label 1: 0.01 + 0.81 + 0.64 = 1.46
    got = brier_multiclass(proba, [0, 1])
    assert got == pytest.approx((0.14 + 1.46) / 2, abs=1e-15)
    # a binary model's multi-class Brier is twice the binary one
    s = np.array([0.9, 0.2, 0.6])
    y = np.array([1, 0, 0])
    two = brier_multiclass(np.column_stack([1 - s, s]), y)
    one = brier_binary(s, y.astype(bool))
    assert two is not None and one is not None and two == pytest.approx(2 * one, abs=1e-15)


def test_empty_inputs_are_none() -> None:
    assert brier_binary([], []) is None
    assert brier_multiclass(np.zeros((0, 3)), []) is None
    assert ece([], []) is None


def test_ece_by_hand() -> None:
    # binary scores 0.95 (y=1), 0.85 (y=0), 0.3 (y=0), 0.75 (y=1), 0.55 (y=0)
    # confidences 0.95, 0.85, 0.7, 0.75, 0.55; correct: T, F, T, T, F
    # bin 9 {0.95}: |1 - 0.95| = 0.05; bin 8 {0.85}: |0 - 0.85| = 0.85;
    # bin 7 {0.7, 0.75}: |1 - 0.725| = 0.275; bin 5 {0.55}: |0 - 0.55| = 0.55
    # ECE = (0.05 + 0.85 + 2 * 0.275 + 0.55) / 5 = 0.4
    s = np.array([0.95, 0.85, 0.3, 0.75, 0.55])
    y = np.array([1, 0, 0, 1, 0])
    conf, pred = binary_top_label(s)
    got = ece(conf, pred == y)
    assert got == pytest.approx(0.4, abs=1e-15)
    print(f"ECE {got} (hand: 0.4)")


def test_ece_bin_boundaries() -> None:
    # 0.7 belongs to bin 7 ([0.7, 0.8)), 1.0 to the last bin, 0.5 to bin 5
    bins = CalibrationBins.of([0.7, 1.0, 0.5, 0.0999, 0.1], [True, True, False, True, True])
    assert bins.count.tolist() == [1, 1, 0, 0, 0, 1, 0, 1, 0, 1]
    for k in range(11):  # every edge k/10 opens bin k (k=10: the last bin)
        assert int(np.argmax(CalibrationBins.of([k / 10], [True]).count)) == min(k, 9)


def test_binary_score_at_threshold_predicts_positive() -> None:
    conf, pred = binary_top_label([0.5, 0.49])
    assert pred.tolist() == [1, 0] and conf.tolist() == [0.5, 0.51]


def test_top_label_first_on_ties() -> None:
    conf, pred = top_label([[0.4, 0.4, 0.2], [0.1, 0.3, 0.6]])
    assert pred.tolist() == [0, 2] and conf.tolist() == [0.4, 0.6]


@pytest.mark.parametrize("seed", range(10))
def test_ece_and_brier_equal_a_numpy_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 500))
    k = 2 + seed % 3
    proba = rng.dirichlet(np.ones(k) * 0.5, size=n)
    labels = np.array([rng.choice(k, p=p) for p in proba])
    conf, pred = top_label(proba)
    want = _ece_loop(conf.tolist(), (pred == labels).tolist())
    got = ece(conf, pred == labels)
    assert got is not None and abs(got - want) <= 1e-12
    loop = sum(sum((proba[i, j] - (labels[i] == j)) ** 2 for j in range(k))
               for i in range(n)) / n
    brier = brier_multiclass(proba, labels)
    assert brier is not None and abs(brier - loop) <= 1e-12
    if seed == 0:
        print(f"n={n} k={k}: ECE {got:.6f} (loop {want:.6f}), Brier {brier:.6f} (loop {loop:.6f})")


def test_bins_add_up_across_chunks() -> None:
    rng = np.random.default_rng(3)
    conf = rng.uniform(0.5, 1, 1000)
    correct = rng.random(1000) < conf
    total = CalibrationBins.empty()
    for part in np.array_split(np.arange(1000), 7):
        total.add(CalibrationBins.of(conf[part], correct[part]))
    whole = ece(conf, correct)
    got = total.ece()
    assert whole is not None and got is not None and abs(got - whole) <= 1e-12


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=40))
def test_property_binary(pairs: list[tuple[float, bool]]) -> None:
    s = np.array([p for p, _ in pairs])
    y = np.array([b for _, b in pairs])
    conf, pred = binary_top_label(s)
    got = ece(conf, pred == y)
    assert got is not None and 0.0 <= got <= 1.0
    assert abs(got - _ece_loop(conf.tolist(), (pred == y).tolist())) <= 1e-12
    brier = brier_binary(s, y)
    loop = sum((p - b) ** 2 for p, b in pairs) / len(pairs)
    assert brier is not None and abs(brier - loop) <= 1e-12
