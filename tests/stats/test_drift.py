from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from exporter.stats.chi2 import chi2_pooled
from exporter.stats.drift import (
    FeatureDrift,
    categorical_drift,
    drift_share,
    highest_severity,
    model_verdict,
    numeric_drift,
)
from exporter.stats.psi import psi_standard_error
from exporter.stats.reference import CategoricalReference, NumericReference
from exporter.stats.severity import Severity, psi_upper_bound
from exporter.stats.thresholds import Thresholds

REF = np.random.default_rng(21).normal(size=20_000)


def _reference(values: np.ndarray, sample: int = 5_000) -> NumericReference:
    edges = np.unique(np.quantile(values, np.arange(1, 10) / 10))
    counts, _ = np.histogram(values, np.concatenate(([-np.inf], edges, [np.inf])))
    return NumericReference(edges, counts.astype(np.int64), np.sort(values[:sample]))


def _hand_psi(ref: np.ndarray, cur: np.ndarray, eps: float = 1e-4) -> float:
    r = np.maximum(ref / ref.sum(), eps)
    c = np.maximum(cur / cur.sum(), eps)
    r, c = r / r.sum(), c / c.sum()
    return float(np.sum((c - r) * np.log(c / r)))


def test_numeric_drift_equals_scipy() -> None:
    ref = _reference(REF)
    cur = np.random.default_rng(4).normal(0.4, 1.0, size=3_000)
    cur[::100] = np.nan  # missing values are ignored
    got = numeric_drift("amount", ref, cur, Thresholds())
    valid = cur[~np.isnan(cur)]
    bins = np.concatenate(([-np.inf], ref.edges, [np.inf]))
    counts, _ = np.histogram(valid, bins)
    ks = sps.ks_2samp(ref.sample_sorted, valid, method="asymp")
    assert got.name == "amount" and got.kind == "numeric" and got.samples == valid.size
    np.testing.assert_array_equal(got.current_counts, counts)
    assert got.psi == pytest.approx(_hand_psi(ref.counts, counts), rel=1e-12)
    assert got.ks_statistic == float(ks.statistic)
    assert got.ks_pvalue == pytest.approx(float(ks.pvalue), rel=1e-9, abs=1e-300)
    assert got.wasserstein == pytest.approx(
        float(sps.wasserstein_distance(ref.sample_sorted, valid)), rel=1e-12)
    assert got.jensen_shannon == pytest.approx(
        float(jensenshannon(ref.counts, counts, base=2)), rel=1e-12)
    p, q = ref.counts / ref.counts.sum(), counts / counts.sum()
    assert got.hellinger == pytest.approx(math.sqrt(1 - np.sum(np.sqrt(p * q))), rel=1e-12)
    assert got.chi2_statistic is None and got.chi2_pvalue is None
    assert got.psi is not None and got.psi >= 0.1 and got.severity is not None
    assert got.severity >= Severity.MEDIUM


def test_kstwobign_option() -> None:
    ref = _reference(REF)
    cur = np.random.default_rng(8).normal(0.1, 1.0, size=2_000)
    got = numeric_drift("x", ref, cur, Thresholds(), ks_method="kstwobign")
    d = float(sps.ks_2samp(ref.sample_sorted, cur, method="asymp").statistic)
    en = 5000 * 2000 / 7000
    assert got.ks_statistic == d
    assert got.ks_pvalue == pytest.approx(float(sps.kstwobign.sf(d * math.sqrt(en))), rel=1e-12)


def test_below_min_samples_every_statistic_is_none() -> None:
    ref = _reference(REF)
    cur = np.concatenate((np.full(99, 5.0), [np.nan] * 50))
    got = numeric_drift("x", ref, cur, Thresholds(min_samples=100))
    assert got.samples == 99
    stats = (got.psi, got.ks_statistic, got.ks_pvalue, got.chi2_statistic, got.chi2_pvalue,
             got.wasserstein, got.jensen_shannon, got.hellinger, got.severity)
    assert all(s is None for s in stats)
    assert got.current_counts.sum() == 99 and got.current_counts[-1] == 99
    empty = numeric_drift("x", ref, np.array([]), Thresholds(min_samples=0))
    assert empty.samples == 0 and empty.psi is None


def test_numeric_reference_shape_checked() -> None:
    with pytest.raises(ValueError, match="edges"):
        bad = NumericReference(np.array([0.0, 1.0]), np.array([1, 2]), np.array([0.5]))
        numeric_drift("x", bad, np.ones(10), Thresholds(min_samples=1))
    with pytest.raises(ValueError, match="reference sample must be sorted"):
        NumericReference(np.array([0.0]), np.array([1, 1]), np.array([0.5, 0.2]))


def test_categorical_drift_with_unseen_categories() -> None:
    ref = CategoricalReference(np.array([600, 300, 100, 0]))  # a, b, c, __other__
    cur = np.array([200, 150, 0, 150])  # c vanished, unseen values in __other__
    got = categorical_drift("country", ref, cur, Thresholds(min_samples=100))
    table = np.array([ref.counts, cur])
    chi = sps.chi2_contingency(table)
    assert got.kind == "categorical" and got.samples == 500
    assert got.chi2_statistic == pytest.approx(float(chi.statistic), rel=1e-9)
    assert got.chi2_pvalue == pytest.approx(float(chi.pvalue), rel=1e-9, abs=1e-300)
    assert got.psi == pytest.approx(_hand_psi(ref.counts, cur), rel=1e-12)
    assert got.jensen_shannon == pytest.approx(float(jensenshannon(ref.counts, cur, base=2)),
                                               rel=1e-12)
    assert got.severity is Severity.HIGH
    assert got.ks_statistic is None and got.wasserstein is None
    np.testing.assert_array_equal(got.current_counts, cur)


def test_categorical_bucket_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="__other__"):
        categorical_drift("c", CategoricalReference(np.array([1, 2, 0])), np.array([1, 2]),
                          Thresholds())


def _fd(sev: Severity | None) -> FeatureDrift:
    return FeatureDrift("f", "numeric", 0, None, None, None, None, None, None, None, None, sev,
                        np.zeros(1, dtype=np.int64))


def test_drift_share() -> None:
    drifts = [_fd(Severity.LOW), _fd(Severity.MEDIUM), _fd(Severity.HIGH), _fd(None)]
    assert drift_share(drifts) == pytest.approx(2 / 3)
    assert drift_share([_fd(None)]) == 0.0
    assert drift_share([]) == 0.0


def test_highest_severity() -> None:
    assert highest_severity([_fd(Severity.MEDIUM), _fd(None), _fd(Severity.LOW)]) \
        is Severity.MEDIUM
    assert highest_severity([_fd(Severity.LOW), _fd(Severity.HIGH)]) is Severity.HIGH
    assert highest_severity([_fd(None)]) is None
    assert highest_severity([]) is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-30, 30).map(lambda v: v / 10), min_size=1, max_size=80),
       st.randoms(use_true_random=False))
def test_property_window_order_irrelevant(values: list[float], rnd: object) -> None:
    ref = _reference(REF, sample=300)
    shuffled = list(values)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    t = Thresholds(min_samples=1)
    a = numeric_drift("x", ref, np.array(values), t)
    b = numeric_drift("x", ref, np.array(shuffled), t)
    assert (a.psi, a.ks_statistic, a.ks_pvalue, a.jensen_shannon, a.hellinger) == (
        b.psi, b.ks_statistic, b.ks_pvalue, b.jensen_shannon, b.hellinger)
    assert a.wasserstein == pytest.approx(b.wasserstein, rel=1e-12)
    assert a.psi is not None and a.psi >= 0.0
    assert a.ks_pvalue is not None and 0.0 <= a.ks_pvalue <= 1.0
    assert a.ks_statistic == float(sps.ks_2samp(ref.sample_sorted, values,
                                                method="asymp").statistic)


def _judged(name: str, psi: float, pvalue: float, alpha: float = 0.01,
            floor: float = 0.0) -> FeatureDrift:
    return FeatureDrift(name, "categorical", 1_000, psi, None, None, None, None, None, None,
                        None, Severity.HIGH, np.zeros(2, dtype=np.int64), pvalue, alpha,
                        True, floor)


def test_model_verdict_applies_holm_across_features() -> None:
    t = Thresholds()
    drifts = [_judged("a", 0.5, 0.004), _judged("b", 0.15, 0.003), _judged("c", 0.3, 0.2),
              _judged("d", 0.4, 1e-9, floor=0.45), _fd(None)]
    got = model_verdict(drifts, t)
    # m = 4 at alpha 0.01: 1e-9 <= .0025, .003 <= .0033, .004 <= .005, .2 > .01.
    assert [d.significant for d in got[:4]] == [True, True, False, False]
    # d is rejected by Holm but its PSI is under its noise floor.
    assert [d.severity for d in got] == [Severity.HIGH, Severity.MEDIUM, Severity.LOW,
                                        Severity.LOW, None]
    assert drift_share(got) == pytest.approx(2 / 4)
    assert highest_severity(got) is Severity.HIGH
    # 50 features at p = 0.004: each would pass alone, none passes together.
    many = model_verdict([_judged(f"f{i}", 0.3, 0.004) for i in range(50)], t)
    assert highest_severity(many) is Severity.LOW and drift_share(many) == 0.0


def test_categorical_verdict_rests_on_pooled_chi2_and_noise_floor() -> None:
    ref = CategoricalReference(np.array([600, 300, 100, 0]))
    cur = np.array([200, 150, 0, 150])
    got = categorical_drift("country", ref, cur, Thresholds(min_samples=100))
    assert got.pvalue == chi2_pooled(ref.counts, cur).pvalue and got.alpha == 0.01
    # k = 4 buckets not empty in both; n = 500, N = 1000.
    floor = (1 / 500 + 1 / 1000) * sps.chi2.ppf(0.99, 3)
    assert got.psi_noise_floor == pytest.approx(floor, rel=1e-10)
    assert got.significant is True
    assert got.psi is not None and got.psi_upper is not None
    upper = psi_upper_bound(got.psi, psi_standard_error(ref.counts, got.current_counts))
    assert got.psi_upper == pytest.approx(upper, rel=1e-12) and got.psi_upper > got.psi
    # 100 categories at n = 600 without drift: PSI ~ 0.17 >= psi_medium, still LOW.
    rng = np.random.default_rng(3)
    p = np.full(101, 1 / 101)
    ref100 = CategoricalReference(rng.multinomial(100_000, p).astype(np.int64))
    same = categorical_drift("c", ref100, rng.multinomial(600, p).astype(np.int64),
                             Thresholds())
    assert same.psi is not None and same.psi >= 0.1 and same.severity is Severity.LOW
    assert same.significant is False and same.psi_noise_floor is not None
    assert same.psi < same.psi_noise_floor


def test_numeric_without_reference_sample_uses_psi_chi2_pvalue() -> None:
    full = _reference(REF)
    ref = NumericReference(full.edges, full.counts, np.empty(0))
    cur = np.random.default_rng(8).normal(0.5, 1.0, size=2_000)
    got = numeric_drift("x", ref, cur, Thresholds())
    assert got.ks_pvalue is None and got.psi is not None
    scale = 1 / 2_000 + 1 / int(full.counts.sum())
    assert got.pvalue == pytest.approx(sps.chi2.sf(got.psi / scale, 9), rel=1e-9,
                                       abs=1e-300)
    assert got.severity is Severity.MEDIUM or got.severity is Severity.HIGH
    with_ks = numeric_drift("x", full, cur, Thresholds())
    assert with_ks.pvalue == with_ks.ks_pvalue and with_ks.alpha == 0.01
