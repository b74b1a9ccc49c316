from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.profile.model import Profile
from exporter.sidecar.compute import compute
from exporter.sidecar.exposition import Exposition
from exporter.sidecar.metrics import RuntimeStats, SidecarCollector
from exporter.sidecar.runtime import Sidecar
from exporter.sidecar.snapshot import Snapshot
from exporter.sidecar.state import SidecarState
from tests.factories import (
    categorical_profile,
    config,
    fraud_events,
    fraud_model,
    fraud_profile,
    price_model,
)
from tests.procs import post_events, require_binary
from tests.sidecar.threaded import apply, running

ODD = 'a"b\\c\nd'  # a category that needs every escape


def _store() -> SidecarState:
    m = fraud_model(min_samples=10)
    base = fraud_profile(m)
    country = categorical_profile("country", ["DE", "FR", ODD, ODD])
    profile = Profile(base.schema_version, base.model, base.version, base.rows,
                      (base.features[0], base.features[1], country), base.prediction, "odd")
    store = SidecarState(config(m), {m.key: profile})
    events = fraud_events(100)
    for e in events[:30]:
        e["features"]["country"] = ODD
    apply(store, events)
    return store


def _parsed(families: Any) -> dict[str, Any]:
    return {f.name: (f.type, f.documentation,
                     sorted((s.name, tuple(sorted(s.labels.items())), s.value)
                            for s in f.samples if not s.name.startswith("process_")))
            for f in families if not f.name.startswith("process_")}


@pytest.mark.parametrize("openmetrics", [False, True])
def test_same_families_as_prometheus_client_encoders(openmetrics: bool) -> None:
    store = _store()
    snap = compute(store, clock=lambda: 1001.0)
    holder: dict[str, Snapshot] = {"snap": snap}
    collector = SidecarCollector(store, lambda: holder["snap"], RuntimeStats(), lambda: 0, 9)
    registry = CollectorRegistry()
    registry.register(collector)
    expo = Exposition(collector, [ProcessCollector(registry=None)])
    ours = expo.render(openmetrics).decode()
    if openmetrics:
        theirs = generate_openmetrics(registry).decode()
        assert ours.endswith("# EOF\n") and ours.count("# EOF") == 1
        assert _parsed(parse_om(ours)) == _parsed(parse_om(theirs))
        assert "process_start_time_seconds" in {f.name for f in parse_om(ours)}
    else:
        theirs = generate_latest(registry).decode()
        assert _parsed(parse_text(ours)) == _parsed(parse_text(theirs))
        assert "process_start_time_seconds" in {f.name for f in parse_text(ours)}
    buckets = [s for f in parse_text(generate_latest(registry).decode()) for s in f.samples
               if s.name == "mlmon_feature_bucket_total" and s.labels["bucket"] == ODD]
    assert [s.value for s in buckets] == [30.0]


def test_snapshot_part_is_cached_until_the_snapshot_changes() -> None:
    store = _store()
    holder = {"snap": compute(store, clock=lambda: 1001.0)}
    collector = SidecarCollector(store, lambda: holder["snap"], RuntimeStats(), lambda: 0, 9)
    expo = Exposition(collector)
    line = 'mlmon_window_samples{model="fraud",version="1"}'
    assert f"{line} 100.0" in expo.render(False).decode()
    apply(store, fraud_events(5, start=500), now=1002.0)
    text = expo.render(False).decode()
    assert f"{line} 100.0" in text  # snapshot gauges wait for the next compute...
    assert 'mlmon_predictions_total{model="fraud",version="1"} 105.0' in text  # counters don't
    holder["snap"] = compute(store, clock=lambda: 2002.0)
    assert f"{line} 105.0" in expo.render(False).decode()
    assert expo.negotiate("application/openmetrics-text; version=1.0.0")[0]
    assert not expo.negotiate("text/plain")[0]


def test_promtool_check_metrics_accepts_a_real_scrape(tmp_path: Path) -> None:
    """The real ``promtool check metrics`` lints a served /metrics with every kind of family
    present (prediction quantiles, per-class and regression performance): no problems."""
    promtool = require_binary("promtool")
    m = fraud_model(window=400, min_samples=50)
    cfg = config(m, price_model(), tmp=tmp_path, decode_processes=0)
    events = [json.dumps(e) for e in fraud_events(200)]
    events += [json.dumps({"v": 1, "model": "fraud", "id": f"r{i}", "label": i % 2})
               for i in range(100)]
    events += [json.dumps({"v": 1, "model": "price", "id": f"p{i}", "features": {"rooms": i % 5},
                           "prediction": 100.0 + i, "label": 101.0 + i}) for i in range(60)]
    with running(Sidecar(cfg, {m.key: fraud_profile(m)})) as r:
        code, body = post_events(r.http + "/v1/events", events)
        assert code == 202 and body["accepted"] == len(events), body
        r.settle(len(events))
        r.compute()
        with urllib.request.urlopen(r.http + "/metrics", timeout=10) as resp:
            scrape = resp.read().decode()
    families = {f.name for f in parse_text(scrape)}
    assert {"mlmon_prediction_quantile", "mlmon_accuracy_ratio",
            "mlmon_regression_mae", "mlmon_label_delay_seconds"} <= families
    assert {"mlmon_estimated_accuracy_ratio", "mlmon_estimated_precision_ratio",
            "mlmon_estimated_recall_ratio", "mlmon_estimated_f1_ratio"} <= families  # CBPE
    assert {"mlmon_error_drift_detections", "mlmon_error_drift_statistic",
            "mlmon_error_drift_threshold"} <= families  # error-stream change detection
    assert {"mlmon_reconstruction_error", "mlmon_reconstruction_error_upper",
            "mlmon_reconstruction_error_lower"} <= families  # multivariate drift (PCA)
    assert {"mlmon_feature_missing_ratio", "mlmon_feature_out_of_range_ratio",
            "mlmon_feature_unseen_category_ratio",
            "mlmon_feature_quality_limit_ratio"} <= families  # data quality
    lint = subprocess.run([promtool, "check", "metrics"], input=scrape, capture_output=True,
                          text=True, timeout=60, check=False)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")
