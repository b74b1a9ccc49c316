"""exporter.stats.quality against hand calculations (and a plain-Python count)."""

from __future__ import annotations

import numpy as np
import pytest

from exporter.stats.quality import (
    FeatureQuality,
    Limits,
    QualityCounts,
    categorical_counts,
    categorical_reference,
    limits,
    numeric_counts,
    numeric_reference,
    reference_of,
)

NAN = float("nan")


def test_numeric_counts_by_hand() -> None:
    # 8 events: 2 missing; present 1, 5, 0, 10, 10.5, -0.1 with range [0, 10]:
    # 10.5 and -0.1 are outside, the bounds themselves are inside
    c = numeric_counts(np.array([1.0, NAN, 5.0, 0.0, 10.0, NAN, 10.5, -0.1]), 0.0, 10.0)
    assert c == QualityCounts(rows=8, missing=2, outside=2)
    assert c.present == 6
    q = FeatureQuality("x", "numeric", c, Limits(0.3, 0.3))
    assert q.missing_ratio == 2 / 8
    assert q.outside_ratio == 2 / 6  # over the present values, not the events
    assert q.outside_measure == "out_of_range"
    assert q.exceeded() == (("out_of_range", 2 / 6, 0.3),)  # 0.25 <= 0.3, 0.333 > 0.3


def test_numeric_counts_match_a_python_loop() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=5000)
    x[rng.random(5000) < 0.1] = np.nan
    c = numeric_counts(x, -1.5, 2.0)
    values = x.tolist()
    missing = sum(1 for v in values if v != v)
    outside = sum(1 for v in values if v == v and (v < -1.5 or v > 2.0))
    assert (c.rows, c.missing, c.outside) == (5000, missing, outside)
    assert outside > 0 and missing > 0


def test_no_bounds_nothing_outside() -> None:
    assert numeric_counts(np.array([1e9, NAN]), None, None) == QualityCounts(2, 1, 0)


def test_categorical_counts_by_hand() -> None:
    # codes: -1 missing, 3 the __other__ bucket (unseen) of a 3-category profile
    c = categorical_counts(np.array([0, 1, -1, 3, 3, 2, -1, -1, 0, 3], dtype=np.int32), 3)
    assert c == QualityCounts(rows=10, missing=3, outside=3)
    q = FeatureQuality("c", "categorical", c, Limits(0.2, 0.5))
    assert q.outside_measure == "unseen_category"
    assert q.outside_ratio == 3 / 7
    assert q.exceeded() == (("missing", 0.3, 0.2),)
    assert categorical_counts(np.array([3, -1], dtype=np.int32), None).outside == 0


def test_counts_add_exactly() -> None:
    assert QualityCounts(3, 1, 1) + QualityCounts(5, 0, 2) == QualityCounts(8, 1, 3)


def test_limits_are_the_excess_over_the_reference() -> None:
    # numeric reference: 30 missing of 100 rows -> missing limit 0.3 + 0.05
    ref = numeric_reference(count=70, missing=30, low=-1.0, high=4.0)
    assert (ref.missing_ratio, ref.low, ref.high) == (0.3, -1.0, 4.0)
    lim = limits(ref, 0.05, 0.01, 0.5)
    assert lim.missing == pytest.approx(0.35, abs=1e-15)
    assert lim.outside == 0.01  # the reference lies within its own range
    # categorical: counts (a, b, __other__) = (50, 30, 20), 25 missing: other share 20 / 100
    cref = categorical_reference((50, 30, 20), 25)
    assert cref.missing_ratio == 25 / 125
    assert cref.outside_ratio == 0.2
    clim = limits(cref, 0.1, 0.9, 0.05)
    assert clim.missing == pytest.approx(0.3, abs=1e-15)
    assert clim.outside == pytest.approx(0.25, abs=1e-15)
    # capped at 1; without a reference the missing limit is absolute, no value check
    assert limits(categorical_reference((0, 1), 9), 0.5, 0.1, 0.5) == Limits(1.0, 1.0)
    assert limits(None, 0.05, 0.01, 0.01) == Limits(0.05, None)


def test_a_feature_missing_in_training_does_not_alert_at_its_usual_rate() -> None:
    ref = numeric_reference(count=700, missing=300, low=0.0, high=1.0)
    lim = limits(ref, 0.05, 0.01, 0.01)
    usual = FeatureQuality("x", "numeric", QualityCounts(1000, 310, 0), lim)
    broken = FeatureQuality("x", "numeric", QualityCounts(1000, 400, 0), lim)
    assert usual.exceeded() == ()
    assert broken.exceeded() == (("missing", 0.4, lim.missing),)


def test_undefined_ratios() -> None:
    empty = FeatureQuality("x", "numeric", QualityCounts(0, 0, 0), Limits(0.1, 0.1))
    assert empty.missing_ratio is None and empty.outside_ratio is None
    assert empty.ratios() == ()
    all_missing = FeatureQuality("x", "numeric", QualityCounts(4, 4, 0), Limits(0.1, 0.1))
    assert all_missing.ratios() == (("missing", 1.0, 0.1),)
    no_ref = FeatureQuality("x", "categorical", QualityCounts(4, 1, 2), Limits(0.1, None))
    assert no_ref.outside_ratio is None


def test_reference_of_reads_a_profile_feature() -> None:
    from exporter.profile.model import CategoricalProfile, NumericProfile, NumericSummary

    num = NumericProfile("x", (1.0,), (3, 3), NumericSummary(6, 2, 0.0, 1.0, -2.0, 5.0, ()), ())
    ref = reference_of(num)
    assert ref is not None
    assert (ref.kind, ref.missing_ratio, ref.outside_ratio, ref.low, ref.high) == \
        ("numeric", 2 / 8, 0.0, -2.0, 5.0)
    cat = CategoricalProfile("c", ("a", "b"), (6, 3, 1), 10)  # 1 of 10 present in __other__
    cref = reference_of(cat)
    assert cref is not None
    assert (cref.kind, cref.missing_ratio, cref.outside_ratio) == ("categorical", 0.5, 0.1)
    assert reference_of(None) is None
