"""Tests that kill mutmut survivors of exporter/stats/drift.py which change what is exported
(docs/development.md, "Mutation testing"). Oracles: scipy and hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from exporter.stats.drift import categorical_drift, model_verdict, numeric_drift
from exporter.stats.reference import CategoricalReference, NumericReference
from exporter.stats.severity import Severity
from exporter.stats.thresholds import Thresholds

CAT_REF = CategoricalReference(np.array([5000, 3000, 2000]))


def _hand_psi(ref: np.ndarray, cur: np.ndarray) -> float:
    r, c = ref / ref.sum(), cur / cur.sum()  # no empty bucket here: no smoothing
    return float(np.sum((c - r) * np.log(c / r)))


def test_below_min_samples_a_feature_keeps_its_name_kind_size_and_counts() -> None:
    t = Thresholds(min_samples=500)
    cat = categorical_drift("colour", CAT_REF, np.array([200, 100, 99]), t)
    assert (cat.name, cat.kind, cat.samples) == ("colour", "categorical", 399)
    np.testing.assert_array_equal(cat.current_counts, [200, 100, 99])
    assert cat.psi is None and cat.chi2_pvalue is None and cat.severity is None
    ref = NumericReference(np.array([0.0]), np.array([50, 50]), np.array([-1.0, 1.0]))
    num = numeric_drift("amount", ref, np.array([-2.0, 3.0, 4.0]), t)
    assert (num.name, num.kind, num.samples) == ("amount", "numeric", 3)
    np.testing.assert_array_equal(num.current_counts, [1, 2])
    assert num.psi is None and num.severity is None


def test_categorical_at_exactly_min_samples_is_judged_with_every_statistic() -> None:
    ref_counts = np.array([500, 300, 200])
    cur = np.array([100, 300, 100])  # n = 500 = min_samples; bucket 2 equal in both
    d = categorical_drift("colour", CategoricalReference(ref_counts), cur,
                          Thresholds(min_samples=500))
    assert d.name == "colour" and d.samples == 500
    assert d.psi == pytest.approx(_hand_psi(ref_counts, cur), rel=1e-12)
    p, q = ref_counts / 1000, cur / 500
    assert d.hellinger == pytest.approx(math.sqrt(1 - np.sum(np.sqrt(p * q))), rel=1e-12)
    # k = 3 buckets non-empty in either sample (one has equal counts: it still counts)
    floor = (1 / 500 + 1 / 1000) * sps.chi2.ppf(0.99, 2)
    assert d.psi_noise_floor == pytest.approx(floor, rel=1e-9)
    assert d.severity is Severity.HIGH


def test_a_reference_without_counts_gives_no_bucket_statistics_and_no_crash() -> None:
    t = Thresholds(min_samples=1)
    cat = categorical_drift("colour", CategoricalReference(np.array([0, 0, 0])),
                            np.array([5, 3, 2]), t)
    assert cat.samples == 10 and cat.psi is None and cat.severity is None
    sample = np.sort(np.random.default_rng(1).normal(size=200))
    ref = NumericReference(np.array([0.0]), np.array([0, 0]), sample)
    cur = np.random.default_rng(2).normal(size=100)
    num = numeric_drift("amount", ref, cur, t)
    assert num.psi is None and num.jensen_shannon is None and num.hellinger is None
    ks = sps.ks_2samp(sample, cur, method="asymp")
    assert num.ks_statistic == pytest.approx(float(ks.statistic), rel=1e-12)


def test_ks_significant_but_psi_under_its_noise_floor_is_not_significant() -> None:
    """A change of scale around the only bin edge: KS sees it, PSI's two bins do not."""
    ref_values = np.random.default_rng(21).normal(size=20_000)
    counts = np.array([(ref_values <= 0).sum(), (ref_values > 0).sum()])
    ref = NumericReference(np.array([0.0]), counts, np.sort(ref_values))
    cur = np.random.default_rng(3).normal(0.0, 0.5, size=3_000)
    d = numeric_drift("amount", ref, cur, Thresholds())
    assert sps.ks_2samp(ref_values, cur, method="asymp").pvalue < 0.01
    cur_counts = np.array([(cur <= 0).sum(), (cur > 0).sum()])
    floor = (1 / 3_000 + 1 / 20_000) * sps.chi2.ppf(0.99, 1)
    assert _hand_psi(counts, cur_counts) < floor
    assert d.significant is False and d.severity is Severity.LOW


def test_medium_from_the_upper_bound_survives_the_model_verdict() -> None:
    # PSI 0.0915 < psi_medium 0.1 but its upper 97.5 % bound is above it, test significant
    cur = np.array([180, 170, 150])
    d = categorical_drift("colour", CAT_REF, cur, Thresholds())
    assert d.psi == pytest.approx(_hand_psi(CAT_REF.counts, cur), rel=1e-12)
    assert d.psi < 0.1 and d.psi_upper is not None and d.psi_upper >= 0.1
    assert d.significant is True and d.severity is Severity.MEDIUM
    [m] = model_verdict([d], Thresholds())  # one feature: Holm at its own alpha
    assert m.significant is True and m.severity is Severity.MEDIUM


def test_configured_psi_thresholds_reach_the_feature_and_model_verdicts() -> None:
    t = Thresholds(psi_medium=0.02, psi_high=0.05)
    cur = np.array([190, 180, 130])  # PSI 0.0596: HIGH here, LOW/MEDIUM by the defaults
    d = categorical_drift("colour", CAT_REF, cur, t)
    assert d.psi == pytest.approx(_hand_psi(CAT_REF.counts, cur), rel=1e-12)
    assert 0.05 <= d.psi < 0.1
    assert d.severity is Severity.HIGH
    [m] = model_verdict([d], t)
    assert m.severity is Severity.HIGH
    low = categorical_drift("colour", CAT_REF, np.array([200, 170, 130]), t)  # PSI 0.043
    assert low.psi is not None and 0.02 <= low.psi < 0.05
    assert low.severity is Severity.MEDIUM


def test_a_one_row_window_is_judged_when_min_samples_is_one() -> None:
    # min_samples: 1 is the smallest the config accepts
    d = categorical_drift("colour", CAT_REF, np.array([1, 0, 0]), Thresholds(min_samples=1))
    r = np.array([0.5, 0.3, 0.2])
    c = np.array([1.0, 1e-4, 1e-4]) / 1.0002  # empty buckets floored at 1e-4, renormalised
    assert d.samples == 1
    assert d.psi == pytest.approx(float(np.sum((c - r) * np.log(c / r))), rel=1e-12)


def test_a_reference_is_checked_and_typed_once_when_built() -> None:
    ref = NumericReference(np.array([0.0]), [3, 4], [-1.0, 2.0])  # type: ignore[arg-type]
    assert isinstance(ref.counts, np.ndarray) and ref.counts.dtype == np.int64
    assert isinstance(ref.sample_sorted, np.ndarray) and ref.sample_sorted.dtype == np.float64
    with pytest.raises(ValueError, match="sorted"):
        NumericReference(np.array([0.0]), np.array([3, 4]), np.array([2.0, -1.0]))
