from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.stats.binning import bin_counts, bin_counts_sorted, quantile_edges, sorted_finite


def test_edges_are_reference_deciles() -> None:
    values = np.arange(1, 101, dtype=np.float64)  # 1..100
    # numpy linear quantile at p: 1 + 99 p -> 10.9, 20.8, ..., 90.1
    expected = 1 + 99 * np.arange(1, 10) / 10
    np.testing.assert_allclose(quantile_edges(values), expected, rtol=1e-15)


def test_edges_configurable_and_nan_ignored() -> None:
    values = np.array([np.nan, 0.0, 1.0, 2.0, 3.0, 4.0, np.nan])
    np.testing.assert_allclose(quantile_edges(values, bins=4), [1.0, 2.0, 3.0])
    assert quantile_edges(values, bins=1).size == 0


def test_duplicate_edges_collapse() -> None:
    values = np.array([0.0] * 80 + [1.0, 2.0, 3.0, 4.0, 5.0] * 4)
    # sorted: 80 zeros, then 1 x4, 2 x4, ...; decile k sits at index 9.9k (linear):
    # k=1..7 -> 0, k=8 -> 0 + 0.2 * (1 - 0) = 0.2, k=9 -> index 89.1, both neighbours 3
    np.testing.assert_allclose(quantile_edges(values, bins=10), [0.0, 0.2, 3.0], rtol=1e-12)


def test_constant_reference_gives_one_edge() -> None:
    edges = quantile_edges(np.full(50, 3.5))
    np.testing.assert_array_equal(edges, [3.5])
    np.testing.assert_array_equal(bin_counts(np.array([3.4, 3.5, 9.0]), edges), [1, 2])


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="bins"):
        quantile_edges(np.arange(5.0), bins=0)
    with pytest.raises(ValueError, match="no non-missing"):
        quantile_edges(np.array([np.nan, np.nan]))


def test_bin_convention_left_closed_open_outer() -> None:
    edges = np.array([1.0, 2.0, 3.0])
    values = np.array([-np.inf, 0.5, 1.0, 1.5, 2.0, 2.999, 3.0, 1e9, np.inf, np.nan])
    # (-inf,1): -inf, 0.5 | [1,2): 1, 1.5 | [2,3): 2, 2.999 | [3,inf): 3, 1e9, inf
    np.testing.assert_array_equal(bin_counts(values, edges), [2, 2, 2, 3])
    finite = sorted_finite(values)
    np.testing.assert_array_equal(bin_counts_sorted(finite, edges), [2, 2, 2, 3])


def test_empty_bins_counted_as_zero() -> None:
    edges = np.array([0.0, 10.0, 20.0])
    np.testing.assert_array_equal(bin_counts(np.array([15.0, 16.0]), edges), [0, 0, 2, 0])
    np.testing.assert_array_equal(bin_counts(np.array([]), edges), [0, 0, 0, 0])


def test_counts_match_numpy_histogram_on_inner_bins() -> None:
    rng = np.random.default_rng(11)
    ref = rng.normal(size=5000)
    cur = rng.normal(0.3, 1.2, size=3000)
    edges = quantile_edges(ref)
    counts = bin_counts(cur, edges)
    # np.histogram bins are [a, b) except the last; wrap with open outer edges
    hist, _ = np.histogram(cur, bins=np.concatenate(([-np.inf], edges, [np.inf])))
    np.testing.assert_array_equal(counts, hist)
    assert counts.sum() == cur.size


@settings(deadline=None)  # timing is not under test; the machine may be busy
@given(st.lists(st.floats(-1e6, 1e6) | st.just(float("nan")), max_size=60),
       st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20))
def test_sorted_counts_equal_unsorted_counts(values: list[float], ref: list[float]) -> None:
    edges = quantile_edges(np.array(ref), bins=5)
    arr = np.array(values, dtype=np.float64)
    expected = bin_counts(arr, edges)
    np.testing.assert_array_equal(bin_counts_sorted(sorted_finite(arr), edges), expected)
    np.testing.assert_array_equal(bin_counts(arr[::-1], edges), expected)
    assert expected.sum() == int(np.sum(~np.isnan(arr)))
