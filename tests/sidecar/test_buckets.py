from __future__ import annotations

import numpy as np

from exporter.profile.model import CategoricalProfile, NumericProfile, NumericSummary
from exporter.sidecar.buckets import MISSING, CategoricalBuckets, NumericBuckets


def _numeric(edges: tuple[float, ...]) -> NumericProfile:
    summary = NumericSummary(4, 0, 0.0, 0.0, 0.0, 0.0, ())
    return NumericProfile("x", edges, (1,) * (len(edges) + 1), summary, (0.0,))


def test_numeric_bins_follow_the_open_edge_convention() -> None:
    b = NumericBuckets(_numeric((1.0, 2.0, 3.0)))
    values = np.array([-5.0, 0.99, 1.0, 1.5, 2.0, 2.999, 3.0, 100.0, np.nan])
    # bins: (-inf,1) [1,2) [2,3) [3,inf); NaN not counted
    assert b.counts(values).tolist() == [2, 2, 2, 2]
    assert b.labels == ("1.0", "2.0", "3.0", "+Inf")


def test_categorical_profile_codes_with_other_and_missing() -> None:
    prof = CategoricalProfile("c", ("DE", "FR"), (3, 1, 0), 0)
    b = CategoricalBuckets(prof)
    col = np.array(["FR", None, "XX", "DE", "FR", ""], dtype=object)
    codes = b.code(col)
    assert codes.tolist() == [1, MISSING, 2, 0, 1, 2]
    assert b.counts(codes).tolist() == [1, 2, 2]
    assert b.labels == ("DE", "FR", "__other__")
    assert b.reference is not None and b.reference.tolist() == [0.75, 0.25, 0.0]


def test_learnt_categories_are_bounded() -> None:
    b = CategoricalBuckets(None, limit=2)
    codes = b.code(np.array(["b", "a", "c", "b", None], dtype=object))
    # learnt in arrival order: b, a; c overflows to __other__
    assert b.categories == ["b", "a"]
    assert codes.tolist() == [0, 1, 2, 0, MISSING]
    b.set_categories(["z"])
    assert b.code(np.array(["z", "b", None], dtype=object)).tolist() == [0, 1, MISSING]
    assert b.size == 3


def test_numeric_columns_match_searchsorted_per_column() -> None:
    from exporter.sidecar.buckets import NumericColumns

    rng = np.random.default_rng(7)
    edges = [np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.0, 0.5, 1.0, 8.0]), np.empty(0)]
    cols = rng.normal(1.0, 2.0, (3, 500))
    cols[0, :4] = [1.0, 3.0, np.inf, -np.inf]  # on an edge, beyond the last edge
    cols[1, ::7] = np.nan
    cols[2, ::3] = np.nan
    nc = NumericColumns(edges)
    for _ in range(2):  # counters accumulate across batches
        missing = nc.add(cols)
    assert missing.tolist() == [0, len(range(0, 500, 7)), len(range(0, 500, 3))]
    for e, col, view in zip(edges, cols, nc.views, strict=True):
        finite = col[~np.isnan(col)]
        hand = np.bincount(np.searchsorted(e, finite, side="right"), minlength=len(e) + 1)
        assert view.tolist() == (2 * hand).tolist()


def test_class_codes_follow_the_profile_order_not_the_class_order() -> None:
    # profile lists "1" before "0"; class index 0 is "0", so it lands in bucket 1
    b = CategoricalBuckets(CategoricalProfile("__prediction__", ("1", "0"), (2, 3, 0), 0))
    index = np.array([0.0, 1.0, np.nan, 1.0])
    assert b.class_codes(("0", "1"), index).tolist() == [1, 0, MISSING, 0]
    # a class the profile never saw goes to __other__
    assert b.class_codes(("0", "1", "2"), np.array([2.0])).tolist() == [2]
