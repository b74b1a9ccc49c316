from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.stats.summary import QUANTILES, class_shares, summarize


def test_summary_by_hand() -> None:
    s = summarize(np.array([1.0, 2.0, np.nan, 3.0, 4.0]), quantiles=(0.0, 0.5, 0.25, 1.0))
    assert s.count == 4
    assert s.mean == 2.5
    assert s.std == pytest.approx(math.sqrt(1.25), rel=1e-15)  # ddof = 0
    assert (s.min, s.max) == (1.0, 4.0)
    # linear: h = 3p -> p=.25 at 0.75 -> 1 + 0.75 = 1.75
    assert s.quantiles == ((0.0, 1.0), (0.5, 2.5), (0.25, 1.75), (1.0, 4.0))


def test_default_quantiles_match_numpy() -> None:
    values = np.random.default_rng(2).exponential(size=1001)
    s = summarize(values)
    assert tuple(q for q, _ in s.quantiles) == QUANTILES == (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
    # order statistics (0-based, n-1 = 1000): p=0.05 -> index 50 exactly
    ordered = np.sort(values)
    assert dict(s.quantiles)[0.05] == ordered[50]
    assert dict(s.quantiles)[0.99] == ordered[990]
    assert s.std == pytest.approx(float(np.sqrt(np.mean((values - values.mean()) ** 2))),
                                  rel=1e-12)


def test_empty_gives_count_zero_and_nan() -> None:
    s = summarize(np.array([np.nan]))
    assert s.count == 0
    assert all(math.isnan(v) for v in (s.mean, s.std, s.min, s.max))
    assert all(math.isnan(v) for _, v in s.quantiles)


def test_bad_quantile_raises() -> None:
    with pytest.raises(ValueError, match="quantiles"):
        summarize(np.arange(3.0), quantiles=(1.5,))


def test_class_shares() -> None:
    np.testing.assert_allclose(class_shares(np.array([1, 3, 0])), [0.25, 0.75, 0.0])
    np.testing.assert_array_equal(class_shares(np.array([0, 0])), [0.0, 0.0])


@settings(deadline=None)  # timing is not under test; the machine may be busy
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50))
def test_property_order_invariant_and_bounded(values: list[float]) -> None:
    a = summarize(np.array(values))
    b = summarize(np.array(values[::-1]))
    assert a.count == b.count == len(values)
    assert a.mean == pytest.approx(b.mean, rel=1e-9, abs=1e-6)
    assert a.quantiles == b.quantiles and (a.min, a.max) == (b.min, b.max)
    qs = [v for _, v in a.quantiles]
    assert qs == sorted(qs) and a.min <= qs[0] and qs[-1] <= a.max
