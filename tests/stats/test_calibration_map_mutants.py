"""Tests that kill the calibration.py mutants mutmut left alive (docs/development.md, "Mutation
testing"): group means and pooled means computed by hand or with plain numpy on the rows that
should be kept."""

from __future__ import annotations

import numpy as np
import pytest

from exporter.stats.calibration import CalibrationMap, fit_binary, fit_map, fit_multiclass, pav


def test_map_needs_matching_non_empty_points() -> None:
    with pytest.raises(ValueError):
        CalibrationMap((0.0, 1.0), (0.5,))
    with pytest.raises(ValueError):
        CalibrationMap((), ())


def test_pav_pools_with_fractional_weights() -> None:
    # violators 1.0 then 0.0 with weights 0.3 each: one block, mean (0.3 + 0) / 0.6 = 0.5
    assert pav(np.array([1.0, 0.0]), np.array([0.3, 0.3])).tolist() == [0.5, 0.5]
    # 0.8 (w 0.2) then 0.2 (w 0.6): (0.16 + 0.12) / 0.8 = 0.35
    assert pav(np.array([0.8, 0.2]), np.array([0.2, 0.6])).tolist() == pytest.approx([0.35] * 2)


@pytest.mark.parametrize(("n", "groups"), [(60, 1), (99, 1), (120, 2), (260, 5)])
def test_group_count_is_rows_over_50_rounded_down(n: int, groups: int) -> None:
    scores = np.arange(n) / n  # distinct, increasing
    positive = (np.arange(n) % 3 == 0)
    m = fit_map(scores, positive)
    assert m is not None and len(m.x) == groups
    bounds = np.linspace(0, n, groups + 1).round().astype(int)  # equal-count groups
    means = [scores[bounds[i]:bounds[i + 1]].mean() for i in range(groups)]
    assert m.x == pytest.approx(means, abs=1e-15)


def test_fit_binary_drops_unknown_labels_and_needs_a_finite_score() -> None:
    rng = np.random.default_rng(6)
    s = rng.random(300)
    labels = (rng.random(300) < s).astype(np.int64)
    labels[rng.choice(300, 40, replace=False)] = -1  # unknown
    cal = fit_binary(s, labels, ("n", "p"))
    known = labels >= 0
    direct = fit_map(s[known], labels[known] == 1)
    assert cal is not None and cal.rows == 260 and cal.maps == (direct,)
    assert fit_binary(np.array([np.nan, np.nan]), np.array([0, 1]), ("n", "p")) is None


def test_fit_multiclass_drops_only_the_bad_rows() -> None:
    rng = np.random.default_rng(7)
    n = 400
    p = rng.dirichlet([1, 1, 1], size=n)
    y = np.array([rng.choice(3, p=row) for row in p])
    y[:30] = -1  # unknown labels
    p[30:35, 1] = np.nan  # rows with a NaN
    cal = fit_multiclass(p, y, ("a", "b", "c"))
    good = np.arange(n) >= 35
    assert cal is not None and cal.rows == n - 35
    assert cal.maps == tuple(fit_map(p[good, k], y[good] == k) for k in range(3))
