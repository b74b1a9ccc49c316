"""Predictions past labels.ttl expire in a running sidecar, also when no traffic comes."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.sidecar.runtime import Sidecar
from tests.factories import config, fraud_model, fraud_profile
from tests.sidecar.threaded import ndjson, running, send_unix

FRAUD = {"v": 1, "model": "fraud", "version": "1"}
MV = {("model", "fraud"), ("version", "1")}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _metric(url: str, name: str, **labels: str) -> float:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    want = frozenset({*MV, *labels.items()})
    return next(s.value for fam in parse_text(text) for s in fam.samples
                if s.name == name and frozenset(s.labels.items()) == want)


def test_idle_sidecar_expires_pending_predictions_and_late_labels_do_not_join(
        tmp_path: Path) -> None:
    m = fraud_model(ttl=10.0)
    cfg = config(m, tmp=tmp_path, decode_processes=0)
    clock = Clock(1000.0)
    with running(Sidecar(cfg, {m.key: fraud_profile(m)}, clock=clock)) as r:
        sock = cfg.server.socket
        assert sock is not None
        send_unix(sock, ndjson([{**FRAUD, "id": f"p{i}", "prediction": 0.9} for i in range(4)]))
        r.settle(4)
        assert _metric(r.http, "mlmon_labels_pending") == 4.0
        clock.now = 1011.0  # past the ttl; no event arrives: the idle worker expires them
        deadline = time.monotonic() + 10
        while _metric(r.http, "mlmon_labels_unjoined_total", reason="expired") < 4.0:
            assert time.monotonic() < deadline, "pending predictions never expired"
            time.sleep(0.05)
        assert _metric(r.http, "mlmon_labels_pending") == 0.0
        send_unix(sock, ndjson([{**FRAUD, "id": f"p{i}", "label": 1} for i in range(4)]))
        r.settle(8)
        assert _metric(r.http, "mlmon_labels_total") == 4.0
        assert _metric(r.http, "mlmon_labels_joined_total") == 0.0
        assert _metric(r.http, "mlmon_labels_unjoined_total", reason="expired") == 4.0
