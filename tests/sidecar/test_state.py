from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from exporter.metric_names import REJECT_REASONS
from exporter.sidecar.state import SidecarState
from tests.factories import config, fraud_events, fraud_model, fraud_profile, price_model
from tests.sidecar.threaded import apply


def _fraud_store(window: int = 1000, max_pending: int = 1000) -> SidecarState:
    m = fraud_model(window=window, max_pending=max_pending)
    return SidecarState(config(m, price_model()), {m.key: fraud_profile(m)})


def test_window_buckets_and_missing_match_hand_counts() -> None:
    store = _fraud_store(window=50)
    events = fraud_events(80)
    events[5]["features"].pop("amount")
    events[70]["features"]["country"] = None
    events[71]["features"]["country"] = "JP"  # unseen -> __other__
    assert apply(store, [json.dumps(e).encode() for e in events]) == Counter()
    m = store.models[("fraud", "1")]
    assert m.predictions_total == 80
    amounts = [e["features"].get("amount", np.nan) for e in events]
    rows, _ = m.numeric.ordered()
    np.testing.assert_array_equal(rows[:, 0], amounts[-50:])  # last 50 in order
    spec = m.features[0]
    assert spec.numeric is not None
    edges = spec.numeric.edges
    finite = np.array([a for a in amounts if not np.isnan(a)])
    hand = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=len(edges) + 1)
    assert m.buckets["amount"].tolist() == hand.tolist()
    assert m.missing["amount"] == 1 and m.missing["country"] == 1
    countries = [e["features"]["country"] for e in events]
    cats = ["DE", "FR", "GB", "US"]
    expected = [countries.count(c) for c in cats] + [1]
    assert m.buckets["country"].tolist() == expected
    scores = np.array([e["prediction"] for e in events])
    pred_edges = np.asarray(fraud_profile(fraud_model()).prediction.edges)  # type: ignore[union-attr]
    hand_pred = np.bincount(np.searchsorted(pred_edges, scores, side="right"),
                            minlength=len(pred_edges) + 1)
    assert m.buckets["__prediction__"].tolist() == hand_pred.tolist()


def test_labels_join_and_accuracy_inputs() -> None:
    store = _fraud_store()
    preds = [0.9, 0.2, 0.6, 0.4]  # classes 1, 0, 1, 0
    lines = [json.dumps({"v": 1, "model": "fraud", "version": "1", "id": f"p{i}",
                         "ts": 990.0, "prediction": p}).encode() for i, p in enumerate(preds)]
    assert apply(store, lines, now=1000.0) == Counter()
    labels = [json.dumps({"v": 1, "model": "fraud", "version": "1", "id": f"p{i}",
                          "label": y}).encode() for i, y in enumerate([1, 1, "0", 0])]
    labels.append(json.dumps({"v": 1, "model": "fraud", "version": "1", "id": "nobody",
                              "label": 1}).encode())
    labels.append(json.dumps({"v": 1, "model": "fraud", "version": "1", "id": "p9",
                              "label": "maybe"}).encode())
    assert apply(store, labels, now=1005.0) == Counter({"bad_type": 1})
    m = store.models[("fraud", "1")]
    assert m.join_counters.labels == 5 and m.join_counters.joined == 4
    assert m.join_counters.unjoined["unmatched"] == 0  # "nobody" waits for its prediction
    assert list(m.join.early.labels) == ["nobody"] and m.join_counters.early["held"] == 1
    rows, _ = m.pairs.ring.ordered()
    assert rows[:, 0].tolist() == [1.0, 1.0, 0.0, 0.0]  # labels
    assert rows[:, 1].tolist() == [1.0, 0.0, 1.0, 0.0]  # predicted classes
    assert m.join_counters.delay_sum == 4 * 15.0  # label at 1005, prediction ts 990


def test_probabilities_and_class_names() -> None:
    store = _fraud_store()
    lines = [
        json.dumps({"v": 1, "model": "fraud", "version": "1", "id": "a",
                    "prediction": {"0": 0.3, "1": 0.7}, "label": 1}).encode(),
        json.dumps({"v": 1, "model": "fraud", "version": "1", "id": "b",
                    "prediction": "0", "label": "1"}).encode(),
        json.dumps({"v": 1, "model": "fraud", "version": "1", "prediction": "7"}).encode(),
        json.dumps({"v": 1, "model": "fraud", "version": "1",
                    "prediction": {"0": 0.3, "x": 0.7}}).encode(),
    ]
    assert apply(store, lines) == Counter({"bad_type": 2})
    m = store.models[("fraud", "1")]
    assert m.predictions_total == 2
    rows, _ = m.pairs.ring.ordered()
    np.testing.assert_array_equal(rows[0], [1.0, 1.0, 0.7, 0.3, 0.7])
    np.testing.assert_array_equal(rows[1, :2], [1.0, 0.0])
    assert np.isnan(rows[1, 3:]).all()


def test_regression_labels() -> None:
    store = _fraud_store()
    lines = [json.dumps({"v": 1, "model": "price", "id": "h", "features": {"rooms": 4},
                         "prediction": 100.0}).encode(),
             json.dumps({"v": 1, "model": "price", "id": "h", "label": 120.0}).encode(),
             json.dumps({"v": 1, "model": "price", "prediction": "big"}).encode()]
    assert apply(store, lines) == Counter({"bad_type": 1})
    rows, _ = store.models[("price", "7")].pairs.ring.ordered()
    assert rows[:, 0].tolist() == [120.0] and rows[:, 2].tolist() == [100.0]


def test_eviction_is_counted() -> None:
    store = _fraud_store(max_pending=10)
    apply(store, [json.dumps(e).encode() for e in fraud_events(25)])
    m = store.models[("fraud", "1")]
    assert m.join_counters.unjoined["evicted"] == 15 and len(m.join) == 10


def test_rejections_only_under_the_listed_reasons() -> None:
    store = _fraud_store()
    assert set(store.rejected) == set(REJECT_REASONS)  # every reason at 0 from start
    assert set(store.rejected.values()) == {0}
    store.reject(Counter({"bad_type": 2, "queue_full": 1}))
    assert store.rejected["bad_type"] == 2 and store.rejected["queue_full"] == 1
    with pytest.raises(KeyError):
        store.reject(Counter({"bad_typo": 1}))  # a misspelt reason fails loudly


def test_predictions_past_their_ttl_expire_on_the_next_batch() -> None:
    m = fraud_model(ttl=10.0)
    store = SidecarState(config(m), {m.key: fraud_profile(m)})
    preds = [{"v": 1, "model": "fraud", "version": "1", "id": f"p{i}", "prediction": 0.9}
             for i in range(3)]
    apply(store, preds, now=1000.0)
    apply(store, [{**preds[0], "id": "fresh"}], now=1005.0)
    labels = [{"v": 1, "model": "fraud", "version": "1", "id": i, "label": 1}
              for i in ("p0", "p1", "fresh")]
    apply(store, labels, now=1011.0)  # p0..p2 received at 1000 are older than 1011 - 10
    jc = store.models[("fraud", "1")].join_counters
    assert jc.unjoined["expired"] == 3
    assert jc.joined == 1  # fresh only: the labels of p0 and p1 come too late
