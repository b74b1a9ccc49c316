"""/v1/status and the status page show what each drift verdict rests on, as /metrics does.

A real sidecar (loopback HTTP, in a thread) gets a window where ``amount`` drifts
strongly and ``age`` and the prediction do not. Per feature and for ``__prediction__``,
the JSON carries PSI, its upper confidence bound, its noise floor, the test's p-value
and level, whether the shift is significant (after Holm) and the severity; the page
shows the same row by row. The oracle is the /metrics exposition of the same snapshot.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.metric_names import PREDICTION_FEATURE
from exporter.sidecar.runtime import Sidecar
from tests.factories import config, fraud_events, fraud_model, fraud_profile
from tests.procs import post_events
from tests.sidecar.test_status_page import Page
from tests.sidecar.threaded import ndjson, running

SEVERITY = {0.0: "low", 1.0: "medium", 2.0: "high"}


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return str(resp.read().decode())


def _scenario(tmp: Path) -> tuple[dict[str, Any], str, dict[tuple[str, str], float]]:
    fraud = fraud_model(window=600, min_samples=100)
    events = fraud_events(600, shift=1.0)  # amount: lognormal mean ×e; age, score as profiled
    with running(Sidecar(config(fraud, tmp=tmp), {fraud.key: fraud_profile(fraud)})) as r:
        assert post_events(f"{r.http}/v1/events", ndjson(events))[0] == 202
        r.settle(len(events))
        r.compute()
        doc = json.loads(_get(f"{r.http}/v1/status"))
        page = _get(f"{r.http}/")
        exposition = _get(f"{r.http}/metrics")
    metrics = {(s.name, s.labels.get("feature", "")): s.value
               for fam in parse_text(exposition) for s in fam.samples
               if s.labels.get("model") == "fraud"}
    return doc["models"][0], page, metrics


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory,
             ) -> tuple[dict[str, Any], str, dict[tuple[str, str], float]]:
    return _scenario(tmp_path_factory.mktemp("verdict"))


def _rows(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [*model["features"], model["prediction"]]


def test_status_json_carries_the_verdict_basis_as_metrics_export_it(
        scenario: tuple[dict[str, Any], str, dict[tuple[str, str], float]]) -> None:
    model, _, metrics = scenario
    assert [f["name"] for f in model["features"]] == ["amount", "age", "country"]
    assert model["prediction"]["name"] == PREDICTION_FEATURE == "__prediction__"
    for f in _rows(model):
        name = f["name"]
        assert f["psi"] == pytest.approx(metrics[("mlmon_feature_psi", name)], rel=1e-12)
        assert f["psi_upper_bound"] == pytest.approx(
            metrics[("mlmon_feature_psi_upper_bound", name)], rel=1e-12)
        assert f["psi_upper_bound"] >= f["psi"]
        assert f["psi_noise_floor"] == pytest.approx(
            metrics[("mlmon_feature_psi_noise_floor", name)], rel=1e-12)
        assert f["pvalue"] == pytest.approx(metrics[("mlmon_feature_drift_pvalue", name)],
                                            rel=1e-12, abs=1e-300)
        assert f["significant"] is (metrics[("mlmon_feature_drift_significant", name)] == 1.0)
        assert f["severity"] == SEVERITY[metrics[("mlmon_feature_drift_severity", name)]]
        t = fraud_model().thresholds
        assert f["alpha"] == (t.ks_alpha if f["kind"] == "numeric" else t.chi2_alpha)
    by_name = {f["name"]: f for f in _rows(model)}
    amount, age, pred = by_name["amount"], by_name["age"], by_name[PREDICTION_FEATURE]
    # amount: far over the threshold, its floor and significant; age and the score: not.
    assert amount["significant"] is True and amount["severity"] == "high"
    assert amount["psi"] > amount["psi_noise_floor"] and amount["pvalue"] < amount["alpha"]
    assert age["significant"] is False and age["severity"] == "low"
    assert pred["significant"] is False and pred["severity"] == "low"
    assert pred["pvalue"] > pred["alpha"]  # the score is drawn as profiled
    # drift_share counts the prediction: flagged rows over all rows with a verdict
    judged = [f for f in _rows(model) if f["severity"] is not None]
    flagged = [f for f in judged if f["severity"] in ("medium", "high")]
    assert len(judged) == 4
    assert model["drift_share"] == pytest.approx(len(flagged) / len(judged))
    assert model["drift_share"] == pytest.approx(
        metrics[("mlmon_model_drift_share_ratio", "")])


def test_status_page_shows_the_verdict_basis_for_features_and_prediction(
        scenario: tuple[dict[str, Any], str, dict[tuple[str, str], float]]) -> None:
    model, html, metrics = scenario
    page = Page()
    page.feed(html)
    page.close()
    for f in _rows(model):
        attrs, cells = page.feature(0, f["name"])
        name = f["name"]
        assert cells["name"] == name
        assert f"sev-{f['severity']}" in attrs["class"].split()
        assert abs(float(cells["psi"]) - metrics[("mlmon_feature_psi", name)]) <= 5e-5
        assert abs(float(cells["upper"])
                   - metrics[("mlmon_feature_psi_upper_bound", name)]) <= 5e-5
        assert abs(float(cells["floor"])
                   - metrics[("mlmon_feature_psi_noise_floor", name)]) <= 5e-5
        p = metrics[("mlmon_feature_drift_pvalue", name)]
        assert cells["pvalue"] == "0" if p == 0.0 else \
            abs(float(cells["pvalue"]) - p) <= max(5e-5, 0.006 * p)
        assert float(cells["alpha"]) == pytest.approx(f["alpha"])
        assert cells["significant"] == \
            ("yes" if metrics[("mlmon_feature_drift_significant", name)] == 1.0 else "no")
        assert cells["severity"] == SEVERITY[metrics[("mlmon_feature_drift_severity", name)]]
    assert page.feature(0, PREDICTION_FEATURE)[0]["class"].split()[0] == "prediction"
    assert page.feature(0, "amount")[1]["significant"] == "yes"
    assert page.feature(0, "age")[1]["significant"] == "no"
