"""Tests that kill mutmut survivors of exporter/stats/binning.py and ecdf.py which change the
reference bins (hence every PSI) or accept a corrupt reference sample (docs/development.md,
"Mutation testing"). Oracle: the edges worked out by hand from the module docstring."""

from __future__ import annotations

import numpy as np
import pytest

from exporter.stats.binning import quantile_edges
from exporter.stats.ecdf import check_sorted


def test_ties_first_with_two_heavy_values_and_apportioned_stretches() -> None:
    """Values 0..11, each twice except 5 (40 times) and 10 (20 times): 80 values, 7 bins.

    Quantiles coincide (5 holds half), so ties first. Heavy: 5 (40·7 ≥ 80), then 10
    (20·6 ≥ 40); 2 (the next, value 0) has 2·5 < 20. Stretches of light values: 0..4
    (10 values, 5 distinct), 6..9 (8, 4), 11 (2, 1); 7 − 2 = 5 bins: one each, then by
    values per bin: 0..4 (10/1), then 6..9 (8/1 > 10/2). So 0..4 and 6..9 are split at
    their medians 2 and 7.5, and the heavy values get the midpoints around them:
    4.5, 5.5 and 9.5, 10.5."""
    counts = [2, 2, 2, 2, 2, 40, 2, 2, 2, 2, 20, 2]
    values = np.repeat(np.arange(12, dtype=np.float64), counts)
    np.random.default_rng(0).shuffle(values)
    edges = quantile_edges(values, bins=7)
    np.testing.assert_array_equal(edges, [2.0, 4.5, 5.5, 7.5, 9.5, 10.5])


def test_an_unsorted_reference_sample_is_refused() -> None:
    with pytest.raises(ValueError, match="sorted"):
        check_sorted(np.array([1.0, 3.0, 2.0]), "reference sample")


def test_a_value_with_exactly_the_mean_count_per_remaining_bin_is_heavy() -> None:
    """0..4 twice, 5 forty times, 6..9 and 11 four times, 10 ten times: 80 values, 5 bins.

    Heavy: 5 (40·5 ≥ 80), then 10 with 10·4 = 40 remaining values, exactly the mean per
    remaining bin ("at least": heavy); the next (4·3 < 30) is not. Three stretches for
    the three bins left, one bin each: the edges are the midpoints around 5 and 10."""
    counts = [2, 2, 2, 2, 2, 40, 4, 4, 4, 4, 10, 4]
    values = np.repeat(np.arange(12, dtype=np.float64), counts)
    np.testing.assert_array_equal(quantile_edges(values, bins=5), [4.5, 5.5, 9.5, 10.5])
