"""Accounting is exact per line: received = accepted + Σ rejected, on every transport."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.metric_names import REJECT_REASONS
from exporter.sidecar.runtime import Sidecar
from exporter.sidecar.state import SidecarState
from tests.factories import config, fraud_model, fraud_profile, price_model
from tests.procs import post_events
from tests.sidecar.threaded import Running, apply, ndjson, running, send_unix

FRAUD = {"v": 1, "model": "fraud", "version": "1"}
FEATURES = {"amount": 12.5, "age": 40.0, "country": "DE"}


def _mixed(prefix: str) -> list[tuple[str, str]]:
    """(line, its outcome by hand: "accepted" or the reject reason); ids start with ``prefix``."""

    def line(**fields: Any) -> str:
        return json.dumps(fields)

    a1, a2, a3 = f"{prefix}a1", f"{prefix}a2", f"{prefix}a3"
    return [
        (line(**FRAUD, id=a1, features=FEATURES, prediction=0.9), "accepted"),
        (line(**FRAUD, id=a2, features=FEATURES, prediction=0.2, label=0), "accepted"),
        # a prediction whose own label is invalid: the whole line is rejected
        (line(**FRAUD, id=a3, features=FEATURES, prediction=0.7, label="7"), "bad_type"),
        (line(**FRAUD, id=f"{prefix}a4", prediction=0.7, label=0.5), "bad_type"),
        # bad prediction and bad label on one line: one rejection, not two
        (line(**FRAUD, id=f"{prefix}a5", prediction="maybe", label="7"), "bad_type"),
        (line(**FRAUD, id=f"{prefix}a6", prediction="maybe", label=1), "bad_type"),
        (line(**FRAUD, id=a1, label=1), "accepted"),  # joins a1
        (line(**FRAUD, id=f"{prefix}ghost", label=1), "accepted"),  # no prediction (yet)
        (line(**FRAUD, id=a3, label="x"), "bad_type"),
        ("{oops", "malformed_json"),
        (line(v=1, model="nope", prediction=1), "unknown_model"),
        (line(v=1, model="fraud", version="9", prediction=1), "unknown_version"),
        (line(**FRAUD), "missing_field"),
        (line(**FRAUD, label=1), "missing_field"),  # a label without an id
        (line(**FRAUD, features={"amount": "big"}, prediction=0.1), "bad_type"),
        (line(v=7, model="fraud", version="1", prediction=0.1), "unsupported_version"),
        (line(**FRAUD, id="long", features={"country": "x" * 3000}), "line_too_long"),
        (line(v=1, model="price", id=f"{prefix}p1", prediction=10.0, label="big"), "bad_type"),
        (line(v=1, model="price", id=f"{prefix}p2", prediction=10.0, label=12.0), "accepted"),
    ]


# By hand from the list above.
ACCEPTED = 5
REJECTED = {"bad_type": 7, "malformed_json": 1, "unknown_model": 1, "unknown_version": 1,
            "missing_field": 2, "unsupported_version": 1, "line_too_long": 1}
FRAUD_PREDICTIONS = 2  # a1, a2: the bad-labelled a3 and a4 are not recorded
FRAUD_LABELS, FRAUD_JOINED = 3, 2  # a2 (own label), a1 and ghost; a2 and a1 joined


def test_hand_counts_match_the_list() -> None:
    outcomes = Counter(o for _, o in _mixed(""))
    assert outcomes == Counter({"accepted": ACCEPTED, **REJECTED})


def test_a_prediction_with_an_invalid_label_is_rejected_whole_and_once() -> None:
    m = fraud_model()
    store = SidecarState(config(m, price_model()), {m.key: fraud_profile(m)})
    lines = [line for line, _ in _mixed("") if not line.startswith("{oops")]
    lines = [x for x in lines if "x" * 3000 not in x]
    rejected = apply(store, [x.encode() for x in lines])
    assert rejected == Counter({k: v for k, v in REJECTED.items()
                                if k not in ("malformed_json", "line_too_long")})
    fraud = store.models[("fraud", "1")]
    assert fraud.predictions_total == FRAUD_PREDICTIONS
    assert fraud.join_counters.labels == FRAUD_LABELS
    assert fraud.join_counters.joined == FRAUD_JOINED
    assert "a3" not in fraud.join.slots and len(fraud.join) == 0  # a1 joined, a2 had its label
    assert store.models[("price", "7")].predictions_total == 1


@pytest.fixture(params=[1, 0], ids=["decoder-process", "in-process"])
def sidecar(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Running]:
    m = fraud_model()
    cfg = config(m, price_model(), tmp=tmp_path, tcp="127.0.0.1:0",
                 max_line_bytes=2048, decode_processes=request.param)
    with running(Sidecar(cfg, {m.key: fraud_profile(m)})) as r:
        yield r


def _metrics(sidecar: Running) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(sidecar.http + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in parse_text(text) for s in fam.samples}


def _check_totals(values: dict[tuple[str, frozenset[tuple[str, str]]], float],
                  batches: int, transports: dict[str, float]) -> None:
    received = {t: values[("mlmon_events_received_total", frozenset({("transport", t)}))]
                for t in ("unix", "tcp", "http")}
    rejected = {r: values[("mlmon_events_rejected_total", frozenset({("reason", r)}))]
                for r in REJECT_REASONS}
    assert received == transports
    assert rejected == {**dict.fromkeys(REJECT_REASONS, 0.0),
                        **{r: float(n * batches) for r, n in REJECTED.items()}}
    assert sum(received.values()) == ACCEPTED * batches + sum(rejected.values())
    mv = frozenset({("model", "fraud"), ("version", "1")})
    assert values[("mlmon_predictions_total", mv)] == FRAUD_PREDICTIONS * batches
    assert values[("mlmon_labels_total", mv)] == FRAUD_LABELS * batches
    assert values[("mlmon_labels_joined_total", mv)] == FRAUD_JOINED * batches


def test_mixed_batch_over_http_and_unix_socket_adds_up(sidecar: Running) -> None:
    http_lines = [line for line, _ in _mixed("h-")]
    status, reply = post_events(sidecar.http + "/v1/events", http_lines)
    assert status == 202
    assert reply == {"accepted": ACCEPTED, "rejected": REJECTED}
    n = len(http_lines)
    sidecar.settle(n - 1)  # the over-long line never reaches the queue
    _check_totals(_metrics(sidecar), 1, {"unix": 0.0, "tcp": 0.0, "http": float(n)})
    sock = sidecar.sidecar.config.server.socket
    assert sock is not None
    send_unix(sock, ndjson([line for line, _ in _mixed("u-")]))
    sidecar.settle(2 * (n - 1))
    _check_totals(_metrics(sidecar), 2, {"unix": float(n), "tcp": 0.0, "http": float(n)})
