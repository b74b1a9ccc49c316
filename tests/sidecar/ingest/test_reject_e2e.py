"""Rejections through a real sidecar: reply counts, /metrics counts and finite statistics."""

from __future__ import annotations

import json
import math
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.metric_names import REJECT_REASONS
from exporter.sidecar.runtime import Sidecar
from tests.factories import config, fraud_events, fraud_model, price_model
from tests.procs import post_events
from tests.sidecar.threaded import Running, running

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(params=[1, 0], ids=["decoder-process", "in-process"])
def sidecar(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Running]:
    cfg = config(fraud_model(), price_model(), tmp=tmp_path, decode_processes=request.param,
                 max_id_bytes=64)
    with running(Sidecar(cfg, {})) as r:
        yield r


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as resp:
        body: bytes = resp.read()
        return body


def _metrics(r: Running) -> Samples:
    text = _get(r.http + "/metrics").decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in parse_text(text) for s in fam.samples}


def _rejected(values: Samples) -> dict[str, float]:
    return {r: values[("mlmon_events_rejected_total", frozenset({("reason", r)}))]
            for r in REJECT_REASONS}


DEEP = ('{"v":1,"model":"fraud","version":"1","features":{"amount":'
        + "[" * 1000 + "]" * 1000 + "}}")


def test_a_poison_line_in_a_post_is_rejected_alone(sidecar: Running) -> None:
    good = [json.dumps(e) for e in fraud_events(40, seed=3)]
    long_id = json.dumps({**fraud_events(1)[0], "id": "i" * 65})  # max_id_bytes: 64
    out_of_range = json.dumps(fraud_events(1)[0]).replace('"prediction": ',
                                                          '"prediction": 1e999, "x": ')
    lines = [*good[:10], DEEP, *good[10:25], long_id, out_of_range, *good[25:]]
    status, answer = post_events(sidecar.http + "/v1/events", lines)
    assert status == 202
    assert answer == {"accepted": 40, "rejected": {"too_deep": 1, "id_too_long": 1,
                                                   "bad_value": 1}}
    sidecar.settle(len(lines))
    values = _metrics(sidecar)
    rejected = _rejected(values)
    assert {k: v for k, v in rejected.items() if v} == {"too_deep": 1, "id_too_long": 1,
                                                         "bad_value": 1}
    received = values[("mlmon_events_received_total", frozenset({("transport", "http")}))]
    preds = values[("mlmon_predictions_total",
                    frozenset({("model", "fraud"), ("version", "1")}))]
    assert received == len(lines) == preds + sum(rejected.values())
    last = json.loads(_get(sidecar.http + "/v1/status"))["events"]["last_rejection"]
    assert set(last) == {"too_deep", "id_too_long", "bad_value"}
    assert "'fraud'" in last["id_too_long"] and "'fraud'" in last["bad_value"]


def _no_constants(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def test_non_finite_regression_values_leave_the_statistics_finite(sidecar: Running) -> None:
    preds = [100.0, 250.0, 175.5, 90.0]
    labels = [110.0, 240.0, 170.5, 100.0]
    lines = [json.dumps({"v": 1, "model": "price", "id": f"p{i}", "features": {"rooms": 3},
                         "prediction": p}) for i, p in enumerate(preds)]
    lines += [json.dumps({"v": 1, "model": "price", "id": f"p{i}", "label": y})
              for i, y in enumerate(labels)]
    poison = [json.dumps({"v": 1, "model": "price", "id": "q1", "prediction": "Infinity"}),
              json.dumps({"v": 1, "model": "price", "id": "q2", "prediction": "NaN"}),
              '{"v":1,"model":"price","id":"q3","prediction":1e999}',
              json.dumps({"v": 1, "model": "price", "id": "p0", "label": "Infinity"}),
              '{"v":1,"model":"price","id":"p1","label":-1e999}',
              json.dumps({"v": 1, "model": "price", "id": "q4", "prediction": 5.0,
                          "label": "NaN"})]
    status, answer = post_events(sidecar.http + "/v1/events", lines[:4] + poison[:3])
    assert (status, answer) == (202, {"accepted": 4, "rejected": {"bad_value": 3}})
    status, answer = post_events(sidecar.http + "/v1/events", poison[3:] + lines[4:])
    assert status == 202 and answer["rejected"] == {"bad_value": 3}
    sidecar.settle(len(lines) + len(poison))
    sidecar.compute()
    values = _metrics(sidecar)
    key = frozenset({("model", "price"), ("version", "7")})
    errors = [p - y for p, y in zip(preds, labels, strict=True)]
    assert values[("mlmon_regression_mae", key)] == pytest.approx(
        sum(abs(e) for e in errors) / 4)
    assert values[("mlmon_regression_rmse", key)] == pytest.approx(
        math.sqrt(sum(e * e for e in errors) / 4))
    assert values[("mlmon_prediction_mean", key)] == pytest.approx(sum(preds) / 4)
    status_doc = json.loads(_get(sidecar.http + "/v1/status"), parse_constant=_no_constants)
    assert status_doc["events"]["rejected"]["bad_value"] == 6
