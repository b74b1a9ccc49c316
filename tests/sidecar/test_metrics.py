from __future__ import annotations

import json
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.samples import Sample

from exporter.metric_names import BY_NAME, METRICS, REJECT_REASONS
from exporter.sidecar.compute import compute
from exporter.sidecar.metrics import RuntimeStats, SidecarCollector
from exporter.sidecar.snapshot import EMPTY, Snapshot
from exporter.sidecar.state import SidecarState
from tests.factories import config, fraud_events, fraud_model, fraud_profile, price_model
from tests.sidecar.threaded import apply

SPEC_BY_FAMILY = {m.family: m for m in METRICS}


def _registry(store: SidecarState, snap: Snapshot) -> CollectorRegistry:
    reg = CollectorRegistry()
    stats = RuntimeStats()
    stats.observe_compute(0.02)
    reg.register(SidecarCollector(store, lambda: snap, stats, lambda: 3, 100))
    ProcessCollector(registry=reg)
    return reg


def _loaded_store(n: int = 300) -> SidecarState:
    m = fraud_model(min_samples=100)
    store = SidecarState(config(m, price_model()), {m.key: fraud_profile(m)})
    lines = [json.dumps(e).encode() for e in fraud_events(n)]
    lines += [json.dumps({"v": 1, "model": "fraud", "version": "1", "id": f"r{i}",
                          "label": i % 2}).encode() for i in range(50)]
    lines += [json.dumps({"v": 1, "model": "price", "id": "x", "features": {"rooms": 3},
                          "prediction": 10.0, "label": 12.0}).encode()]
    apply(store, lines)
    return store


def _check_against_metric_list(families: list[object], openmetrics: bool) -> set[str]:
    seen: set[str] = set()
    for fam in families:
        name = fam.name  # type: ignore[attr-defined]
        if name.startswith(("process_", "python_")):
            continue
        spec = SPEC_BY_FAMILY.get(name)
        assert spec is not None, f"{name} is not in exporter.metric_names.METRICS"
        assert "sidecar" in spec.sources
        assert fam.type == spec.type, name  # type: ignore[attr-defined]
        if fam.samples:  # type: ignore[attr-defined]
            seen.add(spec.name)
        for s in fam.samples:  # type: ignore[attr-defined]
            assert isinstance(s, Sample)
            labels = set(s.labels) - ({"le"} if spec.type == "histogram" else set())
            if openmetrics and s.name.endswith("_created"):
                continue
            assert labels == set(spec.labels), (s.name, s.labels)
    return seen


def test_text_and_openmetrics_match_the_metric_list() -> None:
    store = _loaded_store()
    snap = compute(store, clock=lambda: 1001.0)
    reg = _registry(store, snap)
    text = generate_latest(reg).decode()
    seen = _check_against_metric_list(list(parse_text(text)), openmetrics=False)
    om = generate_openmetrics(reg).decode()
    assert om.endswith("# EOF\n")
    seen_om = _check_against_metric_list(list(parse_om(om)), openmetrics=True)
    assert seen == seen_om
    sidecar = {m.name for m in METRICS if "sidecar" in m.sources}
    # Everything the sidecar exports appears once there is data (regression-only names
    # come from the price model, log loss needs probabilities: not sent here).
    # (segment series need a `segment:` in the model config: tests/sidecar/test_segments.py)
    segments = {n for n in sidecar if n.startswith("mlmon_segment_")}
    assert sidecar - seen == {"mlmon_log_loss", *segments}
    assert "process_start_time_seconds" in text


def _values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in parse_text(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_reasons_at_zero_from_start_and_no_drift_below_min_samples() -> None:
    m = fraud_model(min_samples=100)
    store = SidecarState(config(m), {m.key: fraud_profile(m)})
    values = _values(generate_latest(_registry(store, EMPTY)).decode())
    for reason in REJECT_REASONS:
        assert values[("mlmon_events_rejected_total", (("reason", reason),))] == 0.0
    assert values[("mlmon_threshold", (("model", "fraud"), ("threshold", "psi_high"),
                                       ("version", "1")))] == 0.25
    assert values[("mlmon_threshold", (("model", "fraud"), ("threshold", "accuracy_floor"),
                                       ("version", "1")))] == 0.8
    assert values[("mlmon_queue_events", ())] == 3.0
    # reference ratios exist from start: the profile's proportions
    prof = fraud_profile(m).feature("country")
    ratio = values[("mlmon_feature_reference_ratio", (
        ("bucket", "DE"), ("feature", "country"), ("model", "fraud"), ("version", "1")))]
    assert ratio == pytest.approx(prof.proportions[0])
    small = _loaded_store(n=50)
    text = generate_latest(_registry(small, compute(small, clock=lambda: 1001.0))).decode()
    values = _values(text)
    key = (("feature", "amount"), ("model", "fraud"), ("version", "1"))
    assert values[("mlmon_feature_samples", key)] == 50.0
    assert ("mlmon_feature_psi", key) not in values


def test_bucket_counters_and_performance_values() -> None:
    store = _loaded_store(n=300)
    snap = compute(store, clock=lambda: 1001.0)
    values = _values(generate_latest(_registry(store, snap)).decode())
    state = store.models[("fraud", "1")]
    events = fraud_events(300)
    sent = Counter(e["features"]["country"] for e in events)  # the oracle: what was sent
    for label, n in zip(("DE", "FR", "GB", "US", "__other__"),
                        state.buckets["country"].tolist(), strict=True):
        key = (("bucket", label), ("feature", "country"), ("model", "fraud"), ("version", "1"))
        assert values[("mlmon_feature_bucket_total", key)] == n
        assert values[("mlmon_feature_bucket_total", key)] == sent[label]
    mv = (("model", "fraud"), ("version", "1"))
    assert values[("mlmon_predictions_total", mv)] == 300
    assert values[("mlmon_labels_joined_total", mv)] == 50
    perf = snap.models[("fraud", "1")].performance
    assert perf is not None
    assert values[("mlmon_accuracy_ratio", mv)] == perf.accuracy  # type: ignore[union-attr]
    # by hand: r0..r49 got label i % 2; a score >= 0.5 predicts class 1
    hits = sum((events[i]["prediction"] >= 0.5) == (i % 2 == 1) for i in range(50))
    assert values[("mlmon_accuracy_ratio", mv)] == pytest.approx(hits / 50)
    assert values[("mlmon_label_delay_seconds_count", mv)] == 50
    ms = snap.models[("fraud", "1")]
    psi = values[("mlmon_feature_psi", (("feature", "amount"), *mv))]
    assert psi == ms.features[0].psi
    assert BY_NAME["mlmon_feature_psi"].type == "gauge"


def test_what_the_verdict_rests_on_is_exported() -> None:
    store = _loaded_store()
    snap = compute(store, clock=lambda: 1001.0)
    values = _values(generate_latest(_registry(store, snap)).decode())
    ms = snap.models[("fraud", "1")]
    for d in (*ms.features, ms.prediction):
        if d.psi is None:
            continue
        key = (("feature", d.name), ("model", "fraud"), ("version", "1"))
        assert values[("mlmon_feature_drift_pvalue", key)] == d.pvalue
        assert values[("mlmon_feature_psi_noise_floor", key)] == d.psi_noise_floor
        assert values[("mlmon_feature_psi_upper_bound", key)] == d.psi_upper
        assert values[("mlmon_feature_drift_significant", key)] == float(bool(d.significant))
        assert d.significant or values[("mlmon_feature_drift_severity", key)] == 0.0
