from __future__ import annotations

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
from exporter.sidecar.snapshot import Snapshot
from exporter.sidecar.state import SidecarState
from tests.factories import categorical_profile, config, fraud_events, fraud_model, fraud_profile
from tests.sidecar.threaded import apply

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
