"""Labels that arrive before their prediction are held (bounded, for labels.early_ttl)."""

from __future__ import annotations

import dataclasses
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.config.model import LabelConfig, ModelConfig
from exporter.sidecar.compute import compute
from exporter.sidecar.label_join import DELAY_BUCKETS
from exporter.sidecar.persist import restore, save
from exporter.sidecar.runtime import Sidecar
from exporter.sidecar.state import ModelState, SidecarState
from exporter.stats.performance import ClassificationMetrics
from tests.factories import config, fraud_model, fraud_profile
from tests.sidecar.threaded import apply, ndjson, running, send_unix

FRAUD = {"v": 1, "model": "fraud", "version": "1"}


def _model(**labels: Any) -> ModelConfig:
    m = fraud_model()
    return dataclasses.replace(m, labels=dataclasses.replace(m.labels, **labels))


def _store(**labels: Any) -> SidecarState:
    m = _model(**labels)
    return SidecarState(config(m), {m.key: fraud_profile(m)})


def _labels(ids: list[str], ys: list[int]) -> list[dict[str, Any]]:
    return [{**FRAUD, "id": i, "label": y} for i, y in zip(ids, ys, strict=True)]


def _preds(ids: list[str], scores: list[float], ts: float) -> list[dict[str, Any]]:
    return [{**FRAUD, "id": i, "ts": ts, "prediction": s}
            for i, s in zip(ids, scores, strict=True)]


def _fraud(store: SidecarState) -> ModelState:
    return store.models[("fraud", "1")]


def test_label_then_prediction_joins_with_the_right_delay() -> None:
    store = _store(early_ttl=60.0, max_early=100)
    ids = ["e0", "e1", "e2", "e3"]
    assert not apply(store, _labels(ids, [1, 1, 0, 0]), now=1000.0)
    m = _fraud(store)
    assert m.join_counters.early["held"] == 4 and m.join_counters.unjoined["unmatched"] == 0
    # classes 1, 0, 1, 0; e3's event time is after its label arrived: delay clamps to 0
    preds = _preds(ids[:3], [0.9, 0.1, 0.8], ts=995.0) + _preds(ids[3:], [0.3], ts=1004.0)
    assert not apply(store, preds, now=1010.0)
    jc = m.join_counters
    assert (jc.labels, jc.joined, jc.early["joined"]) == (4, 4, 4)
    assert len(m.join) == 0 and len(m.join.early) == 0  # joined, nothing left waiting
    # delays: label received 1000 - prediction ts 995 = 5 s (three), 1000 - 1004 -> 0
    expected = np.zeros(len(DELAY_BUCKETS) + 1, dtype=np.int64)
    expected[0], expected[1] = 1, 3  # <= 1 s, <= 5 s
    assert jc.delay_buckets.tolist() == expected.tolist() and jc.delay_sum == 15.0
    perf = compute(store, clock=lambda: 1011.0).models[("fraud", "1")].performance
    assert isinstance(perf, ClassificationMetrics)
    assert perf.samples == 4 and perf.accuracy == pytest.approx(2 / 4)  # 1,0,1,0 vs 1,1,0,0


def test_early_label_past_early_ttl_is_expired_and_counted() -> None:
    store = _store(early_ttl=60.0, max_early=100)
    apply(store, _labels(["old", "young"], [1, 0]), now=1000.0)
    apply(store, _labels(["young2"], [1]), now=1030.0)
    apply(store, _preds(["other"], [0.5], ts=1060.0), now=1061.0)  # old, young: > 60 s
    m = _fraud(store)
    jc = m.join_counters
    assert jc.early["expired"] == 2 and jc.unjoined["unmatched"] == 2
    apply(store, _preds(["old", "young2"], [0.9, 0.9], ts=1061.0), now=1062.0)
    assert jc.joined == 1 and jc.early["joined"] == 1  # young2 only
    assert sorted(m.join.slots) == ["old", "other"]  # their labels are gone
    assert jc.labels == jc.joined + jc.unjoined["unmatched"] + len(m.join.early)


def test_max_early_evicts_the_oldest_and_counts() -> None:
    store = _store(max_early=3)
    ids = [f"l{i}" for i in range(5)]
    apply(store, _labels(ids[:2], [1, 1]), now=1000.0)
    apply(store, _labels(ids[2:], [1, 1, 1]), now=1001.0)
    m = _fraud(store)
    jc = m.join_counters
    assert jc.early["held"] == 5 and jc.early["evicted"] == 2
    assert jc.unjoined["unmatched"] == 2
    apply(store, _preds(ids, [0.9] * 5, ts=1001.0), now=1002.0)
    assert jc.joined == 3 and sorted(m.join.slots) == ["l0", "l1"]


def test_early_labels_are_bounded_in_id_bytes() -> None:
    store = _store(max_early=100, max_pending_bytes=10)
    apply(store, _labels(["aaaa", "bbbb"], [1, 1]), now=1000.0)  # 8 bytes
    apply(store, _labels(["cccc"], [1]), now=1001.0)  # 12 > 10: aaaa goes
    m = _fraud(store)
    assert list(m.join.early.labels) == ["bbbb", "cccc"] and m.join.early.bytes == 8
    assert m.join_counters.early["evicted"] == 1


def test_a_newer_label_replaces_the_held_one_and_a_resent_prediction_joins_once() -> None:
    store = _store(max_early=100)
    apply(store, _labels(["d"], [0]), now=1000.0)
    apply(store, _labels(["d"], [1]), now=1001.0)
    m = _fraud(store)
    jc = m.join_counters
    assert (jc.early["held"], jc.early["evicted"], jc.unjoined["unmatched"]) == (2, 1, 1)
    apply(store, _preds(["d", "d"], [0.9, 0.8], ts=1001.0), now=1002.0)
    assert jc.joined == 1 and list(m.join.slots) == ["d"]  # the second one waits
    rows, _ = m.pairs.ring.ordered()
    assert rows[:, 0].tolist() == [1.0]  # the newer label
    assert jc.labels == jc.joined + jc.unjoined["unmatched"] + len(m.join.early)


def test_max_early_zero_keeps_the_old_behaviour() -> None:
    store = _store(max_early=0)
    apply(store, _labels(["x"], [1]), now=1000.0)
    apply(store, _preds(["x"], [0.9], ts=1000.0), now=1001.0)
    jc = _fraud(store).join_counters
    assert jc.unjoined["unmatched"] == 1 and jc.joined == 0 and jc.early["held"] == 0


def _metrics(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in parse_text(text) for s in fam.samples}


def test_early_labels_through_a_real_sidecar(tmp_path: Path) -> None:
    m = _model(max_early=100)
    cfg = config(m, tmp=tmp_path, decode_processes=0)
    with running(Sidecar(cfg, {m.key: fraud_profile(m)})) as r:
        sock = cfg.server.socket
        assert sock is not None
        ids = [f"q{i}" for i in range(6)]
        send_unix(sock, ndjson(_labels(ids, [1, 0, 1, 1, 0, 0])))
        r.settle(6)
        send_unix(sock, ndjson(_preds(ids, [0.9, 0.4, 0.2, 0.7, 0.6, 0.1], ts=1.0)))
        r.settle(12)
        r.compute()
        values = _metrics(r.http)
    mv = {("model", "fraud"), ("version", "1")}
    early = {o: values[("mlmon_labels_early_total", frozenset({*mv, ("outcome", o)}))]
             for o in ("held", "joined", "expired", "evicted")}
    assert early == {"held": 6.0, "joined": 6.0, "expired": 0.0, "evicted": 0.0}
    assert values[("mlmon_labels_early_pending", frozenset(mv))] == 0.0
    assert values[("mlmon_labels_joined_total", frozenset(mv))] == 6.0
    # predicted 1,0,0,1,1,0 vs labels 1,0,1,1,0,0: 4 of 6 right
    assert values[("mlmon_accuracy_ratio", frozenset(mv))] == pytest.approx(4 / 6)


def test_label_config_defaults_are_bounded() -> None:
    d = LabelConfig()
    assert (d.early_ttl, d.max_early, d.max_pending_bytes) == (60.0, 10_000, 64 << 20)


def test_held_early_labels_and_their_counters_survive_a_restart(tmp_path: Path) -> None:
    """Held labels are written with the state: after a restart they still join."""
    store = _store(early_ttl=60.0, max_early=100)
    assert not apply(store, _labels(["a", "b", "c"], [1, 0, 1]), now=1000.0)
    path = tmp_path / "state.bin"
    save(store, path)
    again = _store(early_ttl=60.0, max_early=100)
    assert restore(again, path)
    m = _fraud(again)
    assert list(m.join.early.labels) == ["a", "b", "c"] and m.join.early.bytes == 3
    assert m.join_counters.early["held"] == 3
    assert not apply(again, _preds(["a", "b"], [0.9, 0.9], ts=1001.0), now=1002.0)
    jc = m.join_counters
    assert (jc.labels, jc.joined, jc.early["joined"], len(m.join.early)) == (3, 2, 2, 1)
    assert jc.labels == jc.joined + jc.unjoined["unmatched"] + len(m.join.early)
