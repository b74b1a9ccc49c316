from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import stats as sps

from exporter.profile.model import CategoricalProfile, NumericProfile
from exporter.sidecar.compute import compute
from exporter.sidecar.state import SidecarState
from exporter.stats.performance import ClassificationMetrics, RegressionMetrics
from tests.factories import (
    COUNTRIES,
    config,
    fraud_events,
    fraud_model,
    fraud_profile,
    price_model,
)
from tests.oracle import LEVELS, categorical, hand_psi, numeric, verdicts
from tests.sidecar.threaded import apply


def _store(window: int = 500, min_samples: int = 100) -> SidecarState:
    m = fraud_model(window=window, min_samples=min_samples)
    return SidecarState(config(m, price_model()), {m.key: fraud_profile(m)})


def _apply(store: SidecarState, events: list[dict[str, object]], now: float = 1000.0) -> None:
    assert apply(store, events, now) == Counter()


def test_drift_equals_scipy_on_the_window() -> None:
    store = _store(window=500)
    events = fraud_events(800, shift=0.3)
    _apply(store, events)
    snap = compute(store, clock=lambda: 1001.0)
    ms = snap.models[("fraud", "1")]
    profile = fraud_profile(fraud_model())
    window = events[-500:]
    amount = np.array([e["features"]["amount"] for e in window])  # type: ignore[index]
    ref = profile.feature("amount")
    assert isinstance(ref, NumericProfile)
    d = ms.features[0]
    assert d.name == "amount" and d.samples == 500
    ks = sps.ks_2samp(amount, np.asarray(ref.sample), method="asymp")  # the documented method
    assert d.ks_statistic == pytest.approx(ks.statistic, abs=1e-12)
    assert d.ks_pvalue == pytest.approx(ks.pvalue, rel=1e-6, abs=1e-300)
    edges = np.asarray(ref.edges)
    cur = np.bincount(np.searchsorted(edges, amount, side="right"), minlength=len(edges) + 1)
    assert d.psi == pytest.approx(hand_psi(np.asarray(ref.counts), cur), rel=1e-12)
    # categorical: chi-square of homogeneity against the reference counts
    country = [e["features"]["country"] for e in window]  # type: ignore[index]
    cref = profile.feature("country")
    assert isinstance(cref, CategoricalProfile)
    table = np.array([cref.counts[:4], [country.count(c) for c in COUNTRIES]])
    chi2 = sps.chi2_contingency(table, correction=False)
    c = ms.features[2]
    assert c.samples == 500
    assert c.chi2_statistic == pytest.approx(chi2.statistic, rel=1e-9)
    assert c.chi2_pvalue == pytest.approx(chi2.pvalue, rel=1e-6, abs=0)  # p ~ 1e-26
    assert c.ks_statistic is None and d.chi2_statistic is None
    assert ms.top_drifted()[0] == max(ms.features, key=lambda f: f.psi or 0).name


def test_no_drift_below_min_samples_but_samples_reported() -> None:
    store = _store(min_samples=100)
    _apply(store, fraud_events(60))
    ms = compute(store, clock=lambda: 1001.0).models[("fraud", "1")]
    assert [f.samples for f in ms.features] == [60, 60, 60]
    assert all(f.psi is None and f.severity is None for f in ms.features)
    assert ms.drift_share is None and ms.severity is None


def test_accuracy_equals_hand_computation() -> None:
    store = _store()
    scores = [0.9, 0.8, 0.3, 0.1, 0.7, 0.2, 0.55, 0.45]
    labels = [1, 0, 0, 0, 1, 1, 1, 0]
    _apply(store, [{"v": 1, "model": "fraud", "version": "1", "id": str(i), "prediction": s}
                   for i, s in enumerate(scores)])
    _apply(store, [{"v": 1, "model": "fraud", "version": "1", "id": str(i), "label": y}
                   for i, y in enumerate(labels)], now=1010.0)
    perf = compute(store, clock=lambda: 1011.0).models[("fraud", "1")].performance
    assert isinstance(perf, ClassificationMetrics)
    predicted = [1 if s >= 0.5 else 0 for s in scores]
    tp = sum(p == y == 1 for p, y in zip(predicted, labels, strict=True))
    fp = sum(p == 1 and y == 0 for p, y in zip(predicted, labels, strict=True))
    fn = sum(p == 0 and y == 1 for p, y in zip(predicted, labels, strict=True))
    assert perf.samples == 8
    assert perf.accuracy == pytest.approx(6 / 8)
    assert perf.precision[1] == pytest.approx(tp / (tp + fp))
    assert perf.recall[1] == pytest.approx(tp / (tp + fn))
    assert perf.log_loss is None  # scores are not class probabilities


def test_log_loss_with_probabilities_and_regression_metrics() -> None:
    store = _store()
    probs = [(0.2, 0.8), (0.6, 0.4), (0.1, 0.9)]
    labels = ["1", "1", "0"]
    _apply(store, [{"v": 1, "model": "fraud", "version": "1", "id": str(i), "label": y,
                    "prediction": {"0": p0, "1": p1}}
                   for i, ((p0, p1), y) in enumerate(zip(probs, labels, strict=True))])
    _apply(store, [{"v": 1, "model": "price", "id": f"h{i}", "prediction": p, "label": y}
                   for i, (p, y) in enumerate([(100.0, 110.0), (200.0, 190.0), (50.0, 40.0)])])
    snap = compute(store, clock=lambda: 1001.0)
    perf = snap.models[("fraud", "1")].performance
    assert isinstance(perf, ClassificationMetrics)
    hand = -np.mean([np.log(0.8), np.log(0.4), np.log(0.1)])
    assert perf.log_loss == pytest.approx(hand)
    reg = snap.models[("price", "7")].performance
    assert isinstance(reg, RegressionMetrics)
    assert reg.mae == pytest.approx(10.0) and reg.rmse == pytest.approx(10.0)


def test_prediction_summary_and_class_shares() -> None:
    store = _store()
    scores = [0.1, 0.2, 0.6, 0.9]
    _apply(store, [{"v": 1, "model": "fraud", "version": "1", "prediction": s} for s in scores])
    ms = compute(store, clock=lambda: 1001.0).models[("fraud", "1")]
    assert ms.prediction_summary is not None
    assert ms.prediction_summary.mean == pytest.approx(np.mean(scores))
    assert dict(ms.class_shares) == {"0": 0.5, "1": 0.5}
    assert ms.window_samples == 4


def test_max_age_limits_the_window() -> None:
    m = fraud_model(window=100, min_samples=1)
    from dataclasses import replace

    from exporter.config.model import WindowConfig
    m = replace(m, window=WindowConfig(size=100, max_age=60.0))
    store = SidecarState(config(m), {m.key: fraud_profile(m)})
    _apply(store, fraud_events(10), now=1000.0)
    _apply(store, fraud_events(5, start=10), now=1100.0)
    ms = compute(store, clock=lambda: 1120.0).models[("fraud", "1")]
    assert ms.window_samples == 5 and ms.features[0].samples == 5


def test_model_verdict_counts_the_prediction_like_a_feature() -> None:
    store = _store(window=500)
    events = fraud_events(800, shift=0.3)
    _apply(store, events)
    ms = compute(store, clock=lambda: 1001.0).models[("fraud", "1")]
    # The oracle: every statistic recomputed from the window with scipy and numpy
    # (tests/oracle.py), Holm by hand over the three features and the prediction.
    window = events[-500:]
    profile = fraud_profile(fraud_model())
    judged = []
    for f in (*profile.features, profile.prediction):
        assert f is not None
        if isinstance(f, CategoricalProfile):
            seen = [e["features"][f.name] for e in window]
            counts = [seen.count(c) for c in f.categories] + [
                sum(v not in f.categories for v in seen)]
            judged.append(categorical(f.name, f.counts, counts))
        else:
            assert isinstance(f, NumericProfile)
            values = [e["prediction"] if f.name == "__prediction__"
                      else e["features"][f.name] for e in window]
            judged.append(numeric(f.name, f.counts, f.edges, f.sample, values))
    expected = verdicts(judged)
    got = {f.name: LEVELS[f.severity] for f in [*ms.features, ms.prediction]
           if f.severity is not None}
    assert got == expected
    assert "__prediction__" in expected and len(expected) == 4
    drifted = [n for n, s in expected.items() if s != "low"]
    assert ms.drift_share == pytest.approx(len(drifted) / 4)
    assert 0 < len(drifted) < 4  # the prediction's verdict counts in the share
    assert LEVELS[ms.severity] == max(expected.values(), key=LEVELS.index)  # type: ignore[index]


def test_model_verdict_is_holm_over_the_features_and_the_prediction() -> None:
    store = _store(window=500)
    _apply(store, fraud_events(800, shift=0.3))
    ms = compute(store, clock=lambda: 1001.0).models[("fraud", "1")]
    judged = [*ms.features, ms.prediction]
    # The oracle: Holm by hand over every judged feature's p-value, each at its alpha.
    ratios = sorted((f.pvalue / f.alpha, f.name) for f in judged  # type: ignore[operator]
                    if f.pvalue is not None and f.alpha is not None)
    assert len(ratios) == len(judged)
    rejected: set[str] = set()
    for i, (ratio, name) in enumerate(ratios):
        if ratio > 1 / (len(ratios) - i):
            break
        rejected.add(name)
    for f in judged:
        assert f.psi is not None and f.psi_noise_floor is not None
        assert f.significant == (f.name in rejected and f.psi >= f.psi_noise_floor)
        if not f.significant:
            assert f.severity == 0
    assert any(f.significant for f in judged)
