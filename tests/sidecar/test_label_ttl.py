"""labels.ttl and labels.early_ttl through a running sidecar, read back from /metrics: what
waited past its ttl is counted as expired and never joins, what came in time still joins."""

from __future__ import annotations

import dataclasses
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.sidecar.runtime import Sidecar
from tests.factories import config, fraud_model, fraud_profile
from tests.sidecar.threaded import ndjson, running, send_unix

FRAUD = {"v": 1, "model": "fraud", "version": "1"}
MV = frozenset({("model", "fraud"), ("version", "1")})


class Clock:
    """A clock the test moves by hand (the sidecar's receive time)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _metrics(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in parse_text(text) for s in fam.samples}


def _model(**labels: Any) -> Any:
    m = fraud_model(ttl=10.0)
    return dataclasses.replace(m, labels=dataclasses.replace(m.labels, **labels))


def _preds(ids: list[str], score: float) -> list[dict[str, Any]]:
    return [{**FRAUD, "id": i, "prediction": score} for i in ids]


def _labels(ids: list[str], y: int) -> list[dict[str, Any]]:
    return [{**FRAUD, "id": i, "label": y} for i in ids]


def _join(values: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> dict[str, float]:
    """The join counters of the fraud model, by short name."""
    def one(name: str, **labels: str) -> float:
        return values[(name, MV | frozenset(labels.items()))]
    return {"labels": one("mlmon_labels_total"), "joined": one("mlmon_labels_joined_total"),
            "expired": one("mlmon_labels_unjoined_total", reason="expired"),
            "evicted": one("mlmon_labels_unjoined_total", reason="evicted"),
            "unmatched": one("mlmon_labels_unjoined_total", reason="unmatched"),
            "pending": one("mlmon_labels_pending"),
            "early_held": one("mlmon_labels_early_total", outcome="held"),
            "early_joined": one("mlmon_labels_early_total", outcome="joined"),
            "early_expired": one("mlmon_labels_early_total", outcome="expired"),
            "early_pending": one("mlmon_labels_early_pending")}


def test_predictions_past_ttl_expire_and_their_late_labels_never_join(tmp_path: Path) -> None:
    m = _model(max_early=100)  # a late label is then held as an early one, not joined
    cfg = config(m, tmp=tmp_path, decode_processes=0)
    clock = Clock(1000.0)
    with running(Sidecar(cfg, {m.key: fraud_profile(m)}, clock=clock)) as r:
        sock = cfg.server.socket
        assert sock is not None
        late, on_time = [f"a{i}" for i in range(4)], ["b0", "b1"]
        send_unix(sock, ndjson(_preds(late, 0.9)))  # received at 1000: class 1
        r.settle(4)
        clock.now = 1005.0
        send_unix(sock, ndjson(_preds(on_time, 0.9)))  # received at 1005
        r.settle(6)
        # 1012: the first four waited 12 s > ttl 10 s, the last two 7 s. Their labels come
        # now: expiry (at this batch or by the idle worker first) must drop the four before
        # the labels are joined. Had they joined, accuracy would be 2/6 (labels 0 vs class 1).
        clock.now = 1012.0
        send_unix(sock, ndjson(_labels(late, 0) + _labels(on_time, 1)))
        r.settle(12)
        r.compute()
        values = _metrics(r.http)
    assert _join(values) == {
        "labels": 6.0, "joined": 2.0, "expired": 4.0, "evicted": 0.0, "unmatched": 0.0,
        "pending": 0.0,
        # the four late labels found no prediction: held as early labels, never joined
        "early_held": 4.0, "early_joined": 0.0, "early_expired": 0.0, "early_pending": 4.0}
    assert values[("mlmon_accuracy_ratio", MV)] == pytest.approx(1.0)  # b0, b1 only
    assert values[("mlmon_label_join_ratio", MV)] == pytest.approx(2 / 6)


def test_early_labels_past_early_ttl_expire_and_never_join(tmp_path: Path) -> None:
    m = _model(max_early=100, early_ttl=30.0)
    cfg = config(m, tmp=tmp_path, decode_processes=0)
    clock = Clock(1000.0)
    with running(Sidecar(cfg, {m.key: fraud_profile(m)}, clock=clock)) as r:
        sock = cfg.server.socket
        assert sock is not None
        old, young = ["e0", "e1", "e2"], ["f0"]
        send_unix(sock, ndjson(_labels(old, 0)))  # held from 1000
        r.settle(3)
        clock.now = 1020.0
        send_unix(sock, ndjson(_labels(young, 1)))  # held from 1020
        r.settle(4)
        # 1031: the first three were held 31 s > early_ttl 30 s; f0 for 11 s. Their
        # predictions come now; joined, the old ones would put accuracy at 1/4.
        clock.now = 1031.0
        send_unix(sock, ndjson(_preds(old + young, 0.9)))
        r.settle(8)
        r.compute()
        values = _metrics(r.http)
    assert _join(values) == {
        "labels": 4.0, "joined": 1.0, "expired": 0.0, "evicted": 0.0,
        "unmatched": 3.0,  # the expired early labels never joined
        "pending": 3.0,  # e0..e2's predictions now wait for labels that are gone
        "early_held": 4.0, "early_joined": 1.0, "early_expired": 3.0, "early_pending": 0.0}
    assert values[("mlmon_accuracy_ratio", MV)] == pytest.approx(1.0)  # f0 only
