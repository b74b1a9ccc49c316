from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from exporter.demo.drift import DriftPlan, FeatureDrift, default_plan
from exporter.demo.model import SimpleModel
from exporter.demo.reference import ReferenceData
from exporter.demo.traffic import TrafficSimulator
from exporter.profile.files import load_profile
from exporter.profile.model import NumericProfile
from exporter.stats.psi import psi
from tests.paths import EXAMPLES

FRAUD = EXAMPLES / "fraud"

PLAN = DriftPlan((FeatureDrift("amount", scale=2.2), FeatureDrift("age", shift=-5.0),
                  FeatureDrift("country", mix=(("US", 0.7), ("GB", 0.3)))), label_flip=0.25)


def _sim(data: ReferenceData, model: SimpleModel, seed: int = 7) -> TrafficSimulator:
    return TrafficSimulator(data, model, PLAN, seed=seed)


def test_same_seed_same_events(fraud_data: ReferenceData, fraud_predictor: SimpleModel) -> None:
    a, b = _sim(fraud_data, fraud_predictor), _sim(fraud_data, fraud_predictor)
    assert a.events(300) + a.events(200, drifted=True) == \
        b.events(300) + b.events(200, drifted=True)
    assert _sim(fraud_data, fraud_predictor, seed=8).events(50) != \
        _sim(fraud_data, fraud_predictor).events(50)


def test_clean_events_replay_reference_rows(fraud_data: ReferenceData,
                                            fraud_predictor: SimpleModel) -> None:
    batch = _sim(fraud_data, fraud_predictor).batch(1_000)
    np.testing.assert_array_equal(batch.numeric, fraud_data.numeric[batch.rows])
    assert (batch.categorical == fraud_data.categorical[batch.rows]).all()
    assert (batch.labels == fraud_data.labels[batch.rows]).all()
    assert len(set(batch.ids)) == 1_000


def test_drift_shifts_exactly_the_planned_features(fraud_data: ReferenceData,
                                                   fraud_predictor: SimpleModel) -> None:
    clean = _sim(fraud_data, fraud_predictor).batch(20_000)
    drifted = _sim(fraud_data, fraud_predictor).batch(20_000, drifted=True)
    np.testing.assert_array_equal(clean.rows, drifted.rows)
    names = fraud_data.numeric_names
    np.testing.assert_allclose(drifted.numeric[:, names.index("amount")],
                               clean.numeric[:, names.index("amount")] * 2.2)
    np.testing.assert_allclose(drifted.numeric[:, names.index("age")],
                               clean.numeric[:, names.index("age")] - 5.0)
    for other in ("tenure_days", "hour", "distance_km", "balance"):
        j = names.index(other)
        np.testing.assert_array_equal(drifted.numeric[:, j], clean.numeric[:, j])
    assert (drifted.categorical[:, 1] == clean.categorical[:, 1]).all()  # channel untouched
    # country redrawn from the plan's mix: a chi-square goodness-of-fit test accepts it.
    country = drifted.categorical[:, 0]
    observed = [int((country == c).sum()) for c in ("US", "GB")]
    assert sum(observed) == 20_000
    assert stats.chisquare(observed, [14_000, 6_000]).pvalue > 0.001
    # 25% of the labels flipped to the other class.
    flipped = (drifted.labels != clean.labels).mean()
    assert flipped == pytest.approx(0.25, abs=0.01)


def test_undrifted_scores_replay_the_recorded_predictions(
        fraud_data: ReferenceData, fraud_predictor: SimpleModel) -> None:
    assert fraud_data.predictions is not None
    batch = _sim(fraud_data, fraud_predictor).batch(2_000)
    np.testing.assert_array_equal(batch.scores[:, 1], fraud_data.predictions[batch.rows])
    np.testing.assert_allclose(batch.scores.sum(axis=1), 1.0)
    # so the prediction's PSI against the shipped profile is that of a resample
    profile = load_profile(FRAUD / "profile.json")
    assert isinstance(profile.prediction, NumericProfile)
    edges = np.array(profile.prediction.edges)
    current = np.bincount(np.searchsorted(edges, batch.scores[:, 1], side="right"),
                          minlength=len(edges) + 1)
    assert psi(np.array(profile.prediction.counts), current) < 0.02


def test_drift_moves_the_score_by_what_it_changes_in_the_model(
        fraud_data: ReferenceData, fraud_predictor: SimpleModel) -> None:
    assert fraud_data.predictions is not None
    batch = _sim(fraud_data, fraud_predictor).batch(500, drifted=True)
    seen = fraud_predictor.predict(batch.numeric, batch.categorical)[:, 1]
    original = fraud_predictor.predict(fraud_data.numeric[batch.rows],
                                       fraud_data.categorical[batch.rows])[:, 1]
    expected = np.clip(fraud_data.predictions[batch.rows] + seen - original, 0.0, 1.0)
    np.testing.assert_allclose(batch.scores[:, 1], expected, atol=1e-12)
    assert not np.allclose(batch.scores[:, 1], fraud_data.predictions[batch.rows])


def test_events_are_tap_ready(fraud_data: ReferenceData, fraud_predictor: SimpleModel) -> None:
    sim = _sim(fraud_data, fraud_predictor)
    batch = sim.batch(400)
    events = batch.events(sim.names, ("0", "1"))
    missing = 0
    for i, ev in enumerate(events):
        assert set(ev.features) == {*fraud_data.numeric_names, *fraud_data.categorical_names}
        assert ev.prediction == {"0": round(batch.scores[i, 0], 4),
                                 "1": round(batch.scores[i, 1], 4)}
        assert ev.label in ("0", "1")
        missing += ev.features["amount"] is None
    assert missing == int(np.isnan(batch.numeric[:, 0]).sum())


def test_default_plan_for_the_fraud_example(fraud_data: ReferenceData) -> None:
    plan = default_plan(fraud_data, regression=False)
    amount, country = plan.features
    assert (amount.feature, amount.scale, amount.shift) == ("amount", 10.0, 0.0)
    assert country.feature == "country"
    # Reversed mix: the reference's most frequent category becomes the least frequent.
    ref = fraud_data.categorical[:, 0]
    cats, counts = np.unique(ref.astype(str), return_counts=True)
    mix = dict(country.mix)
    assert mix[str(cats[counts.argmax()])] == pytest.approx(counts.min() / counts.sum())
    assert sum(mix.values()) == pytest.approx(1.0)
    # a covariate shift: labels from the model's P(y | drifted x), none flipped
    assert plan.labels_from_model and plan.label_flip == 0.0


def test_default_plan_for_a_symmetric_feature_and_regression() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(1300.0, 300.0, (4_000, 1))
    y = rng.normal(200_000.0, 40_000.0, 4_000).astype(object)
    data = ReferenceData(("sqft",), (), x, np.empty((4_000, 0), dtype=object), y)
    plan = default_plan(data, regression=True)
    (sqft,) = plan.features
    # Not skewed: shifted by one standard deviation instead of scaled.
    assert sqft.scale == 1.0 and sqft.shift == pytest.approx(x.std(), rel=1e-6)
    assert plan.label_flip == 0.0 and not plan.labels_from_model
    assert plan.label_shift == pytest.approx(0.5 * y.astype(float).std(), rel=1e-6)


def test_covariate_shift_labels_follow_the_models_probability(
        fraud_data: ReferenceData, fraud_predictor: SimpleModel) -> None:
    """With ``labels_from_model`` each drifted row's label is drawn from the simulated
    model's probability for the drifted row. Oracle: within each decile of that
    probability, the count of "1" labels against its expectation Σp (chi-square on 10
    bins, scipy); and the original labels are not kept (they would fail the same test)."""
    plan = DriftPlan((FeatureDrift("amount", scale=10.0),), labels_from_model=True)
    batch = TrafficSimulator(fraud_data, fraud_predictor, plan, seed=5).batch(
        40_000, drifted=True)
    p = fraud_predictor.predict(batch.numeric, batch.categorical)[:, 1]
    bins = np.array_split(np.argsort(p, kind="stable"), 10)

    def pvalue(labels: np.ndarray) -> float:
        ones = [float((labels[b] == "1").sum()) for b in bins]
        expected = [float(p[b].sum()) for b in bins]
        var = [float((p[b] * (1 - p[b])).sum()) for b in bins]  # Bernoulli sums' variances
        stat = sum((o - e) ** 2 / v for o, e, v in zip(ones, expected, var, strict=True))
        return float(stats.chi2.sf(stat, len(bins)))

    drawn, kept = pvalue(batch.labels), pvalue(fraud_data.labels[batch.rows])
    print(f"\nlabels vs the model's probability: p={drawn:.3f} drawn, p={kept:.2g} kept")
    assert drawn > 0.001 and kept < 1e-6
    assert set(batch.labels) == {"0", "1"}
