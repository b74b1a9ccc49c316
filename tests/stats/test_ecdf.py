from __future__ import annotations

import numpy as np
import pytest

from exporter.stats.ecdf import check_sorted, ks_statistic, merge_sorted, wasserstein_1


def test_merge_counts_by_hand() -> None:
    merged = merge_sorted(np.array([1.0, 2.0, 2.0]), np.array([2.0, 3.0]))
    np.testing.assert_array_equal(merged.values, [1.0, 2.0, 2.0, 2.0, 3.0])
    # reference values come before equal current values
    np.testing.assert_array_equal(merged.ref_le, [1, 2, 3, 3, 3])
    np.testing.assert_array_equal(merged.cur_le, [0, 0, 0, 1, 2])


def test_ks_and_wasserstein_by_hand() -> None:
    merged = merge_sorted(np.array([1.0, 2.0, 2.0]), np.array([2.0, 3.0]))
    # F_ref: 1/3 on [1,2), 1 from 2; F_cur: 0 below 2, 1/2 on [2,3), 1 from 3
    # sup |diff| = max(1/3, |1 - 1/2|) = 1/2; W1 = 1/3 * 1 + 1/2 * 1 = 5/6
    assert ks_statistic(merged) == pytest.approx(0.5, abs=1e-15)
    assert wasserstein_1(merged) == pytest.approx(5 / 6, rel=1e-15)


def test_single_distinct_value_has_no_distance() -> None:
    merged = merge_sorted(np.array([4.0, 4.0]), np.array([4.0]))
    assert ks_statistic(merged) == 0.0
    assert wasserstein_1(merged) == 0.0


def test_check_sorted_rejects_unsorted_and_nan() -> None:
    with pytest.raises(ValueError, match="sorted"):
        check_sorted(np.array([2.0, 1.0]), "sample")
    with pytest.raises(ValueError, match="NaN"):
        check_sorted(np.array([np.nan, 1.0]), "sample")
    with pytest.raises(ValueError, match="NaN"):
        check_sorted(np.array([1.0, np.nan]), "sample")
