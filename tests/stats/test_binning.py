from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from exporter.stats.binning import (
    bin_counts,
    bin_counts_sorted,
    quantile_edges,
    sorted_finite,
    value_edges,
)
from exporter.stats.psi import EPSILON, psi

FloatArray = NDArray[np.float64]


def test_edges_are_reference_deciles() -> None:
    values = np.arange(1, 101, dtype=np.float64)  # 1..100
    # numpy linear quantile at p: 1 + 99 p -> 10.9, 20.8, ..., 90.1
    expected = 1 + 99 * np.arange(1, 10) / 10
    np.testing.assert_allclose(quantile_edges(values), expected, rtol=1e-15)


def test_edges_configurable_and_nan_ignored() -> None:
    values = np.array([np.nan, 0.0, 1.0, 2.0, 3.0, 4.0, np.nan])
    np.testing.assert_allclose(quantile_edges(values, bins=4), [1.0, 2.0, 3.0])
    assert quantile_edges(values, bins=1).size == 0


def test_few_distinct_values_are_binned_by_value_at_midpoints() -> None:
    values = np.array([0.0] * 80 + [1.0, 2.0, 3.0, 4.0, 5.0] * 4)
    # 6 distinct values <= 10 bins: one bin each (plain deciles gave [0, 0.2, 3]: 4 bins)
    np.testing.assert_array_equal(quantile_edges(values, bins=10), [0.5, 1.5, 2.5, 3.5, 4.5])


def test_a_heavy_tie_gets_its_own_bin_and_the_rest_is_split_by_quantiles() -> None:
    rest = np.arange(1.0, 41.0)  # 1..40 once each
    values = np.concatenate((np.zeros(60), rest))
    # 0 holds 60 % >= 1/10: its bin is (-inf, 0.5); the other 9 bins are the 1/9 .. 8/9
    # quantiles of 1..40 (linear: 1 + 39 k / 9). Plain deciles: [0, 0, 0, 0, 0, 1.9, ...].
    expected = np.concatenate(([0.5], 1 + 39 * np.arange(1, 9) / 9))
    np.testing.assert_allclose(quantile_edges(values, bins=10), expected, rtol=1e-15)
    np.testing.assert_array_equal(bin_counts(values, expected), [60, 5, 4, 4, 5, 4, 4, 5, 4, 5])


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


def plain_deciles(values: FloatArray, bins: int = 10) -> FloatArray:
    """The edges before discrete features were handled: quantiles, duplicates collapsed."""
    out: FloatArray = np.unique(np.quantile(values, np.arange(1, bins) / bins))
    return out


def shares(values: FloatArray, edges: FloatArray) -> FloatArray:
    c = bin_counts(values, edges)
    out: FloatArray = c / c.sum()
    return out


def top_share(values: FloatArray) -> float:
    return float(np.unique(values, return_counts=True)[1].max() / values.size)


def test_integer_age_keeps_ten_non_empty_bins() -> None:
    rng = np.random.default_rng(18)
    # ages 18..90: a third are 18-year-olds, a quarter 19..22, the rest spread to 90
    age = np.concatenate((np.full(3300, 18.0), rng.integers(19, 23, 2500),
                          rng.integers(23, 91, 4200))).astype(np.float64)
    assert plain_deciles(age).size + 1 == 8  # what the plain quantiles left
    p = shares(age, quantile_edges(age))
    assert p.size == 10 and np.all(p > 0)
    assert p.max() <= max(top_share(age), 2 / 10)
    assert p[0] == pytest.approx(0.33)  # 18 alone in the first bin


def test_each_level_of_a_5_level_feature_has_its_own_bin_and_psi_is_per_value() -> None:
    rng = np.random.default_rng(5)
    levels = np.arange(1.0, 6.0)
    ref = rng.choice(levels, 20_000, p=[0.1, 0.3, 0.3, 0.2, 0.1])
    cur = rng.choice(levels, 3_000, p=[0.15, 0.25, 0.3, 0.2, 0.1])
    edges = quantile_edges(ref)
    np.testing.assert_array_equal(edges, [1.5, 2.5, 3.5, 4.5])
    ref_counts, cur_counts = bin_counts(ref, edges), bin_counts(cur, edges)
    np.testing.assert_array_equal(ref_counts, [np.sum(ref == v) for v in levels])
    # PSI by hand over the per-value frequencies (floored at EPSILON, renormalised)
    r = np.maximum(np.array([np.mean(ref == v) for v in levels]), EPSILON)
    c = np.maximum(np.array([np.mean(cur == v) for v in levels]), EPSILON)
    r, c = r / r.sum(), c / c.sum()
    assert psi(ref_counts, cur_counts) == pytest.approx(float(np.sum((c - r) * np.log(c / r))),
                                                        rel=1e-12)
    # unseen values: the nearest level inside, the open outer bins outside
    np.testing.assert_array_equal(np.searchsorted(edges, [0.0, 2.4, 2.6, 6.0, 99.0],
                                                  side="right"), [0, 1, 2, 4, 4])


@pytest.mark.parametrize("shape", ["zero_inflated", "poisson", "zero_inflated_counts",
                                   "geometric"])
def test_ties_do_not_merge_most_of_the_mass_into_one_bin(shape: str) -> None:
    rng = np.random.default_rng(7)
    n = 10_000
    values = {
        "zero_inflated": np.where(rng.random(n) < 0.6, 0.0, rng.lognormal(0, 1, n)),
        "poisson": rng.poisson(3.0, n).astype(np.float64),
        "zero_inflated_counts": np.where(rng.random(n) < 0.5, 0, rng.poisson(20, n)),
        "geometric": rng.geometric(0.3, n).astype(np.float64),
    }[shape].astype(np.float64)
    assert np.unique(values).size > 10
    edges = quantile_edges(values)
    p = shares(values, edges)
    assert p.size == 10 and np.all(p > 0)
    assert p.max() <= max(top_share(values), 2 / 10)
    assert shares(values, plain_deciles(values)).size < 10  # plain quantiles lost bins
    u, c = np.unique(values, return_counts=True)
    for v in u[c >= n / 10]:  # every value holding a tenth or more: a bin to itself
        i = int(np.searchsorted(edges, v, side="right"))
        lo = edges[i - 1] if i else -np.inf
        hi = edges[i] if i < edges.size else np.inf
        assert np.all((values >= lo) & (values < hi) == (values == v))


@pytest.mark.parametrize("shape", ["normal", "lognormal", "cauchy", "uniform", "age"])
def test_continuous_edges_are_the_plain_quantiles(shape: str) -> None:
    rng = np.random.default_rng(3)
    values = {
        "normal": rng.normal(size=10_000),
        "lognormal": rng.lognormal(size=10_000),
        "cauchy": rng.standard_cauchy(10_000),
        "uniform": rng.random(777),
        "age": rng.normal(41, 12, 20_000).clip(18, 90).round(),  # ties, none heavy
    }[shape]
    np.testing.assert_array_equal(quantile_edges(values),
                                  np.quantile(values, np.arange(1, 10) / 10))


def test_value_edges_separate_adjacent_and_extreme_floats() -> None:
    a = 1.0
    b = float(np.nextafter(a, 2.0))
    big = np.array([-1.7e308, 1.7e308, float(np.finfo(np.float64).max)])
    for u in (np.array([a, b]), big, np.array([-5e-324, 0.0, 5e-324])):
        edges = value_edges(u)
        assert np.all(np.isfinite(edges)) and np.all(edges[1:] > edges[:-1])
        np.testing.assert_array_equal(np.searchsorted(edges, u, side="right"),
                                      np.arange(u.size))


def test_more_heavy_stretches_than_bins_still_gives_at_most_bins_bins() -> None:
    # 4 bins cannot isolate the three 30 % values and the four thin stretches around them
    values = np.repeat([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 30, 1, 30, 1, 30, 7])
    p = shares(values, quantile_edges(values, bins=4))
    assert p.size == 4 and p.max() <= 0.37 + 1e-12


@settings(deadline=None)
@given(st.lists(st.integers(-3, 30), min_size=1, max_size=300)
       | st.lists(st.sampled_from([0.0, 0.0, 0.0, 1.5, 2.0]) | st.floats(-1e3, 1e3),
                  min_size=1, max_size=300),
       st.integers(2, 12))
def test_edges_are_increasing_and_never_exceed_bins(raw: list[float], bins: int) -> None:
    values = np.array(raw, dtype=np.float64)
    edges = quantile_edges(values, bins)
    assert np.all(edges[1:] > edges[:-1]) and edges.size <= bins - 1
    u = np.unique(values)
    if 1 < u.size <= bins:  # by value: each distinct value alone in its bin
        np.testing.assert_array_equal(np.searchsorted(edges, u, side="right"),
                                      np.arange(u.size))
