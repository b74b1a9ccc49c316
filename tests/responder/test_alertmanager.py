"""A real ``prometheus-alertmanager`` notifying the real responder process on loopback.

Checks that Alertmanager's own webhook payload (version 4) and its bearer authorization
(``http_config.authorization.credentials_file``) are what the responder accepts.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from exporter.demo.receivers import HttpReceiver
from exporter.demo.stack_config import alertmanager_argv, responder_argv
from tests.procs import require_binary, serving
from tests.responder.service import audit_lines, write_config

pytestmark = pytest.mark.e2e


def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def push_alert(am_url: str, labels: dict[str, str], ends_at: datetime | None = None) -> None:
    now = datetime.now(UTC)
    item: dict[str, Any] = {"labels": labels, "annotations": {"summary": "test"},
                            "startsAt": (now - timedelta(seconds=5)).isoformat()}
    if ends_at is not None:
        item["endsAt"] = ends_at.isoformat()
    req = urllib.request.Request(f"{am_url}/api/v2/alerts", data=json.dumps([item]).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def test_alertmanager_webhook_drives_a_rollback(tmp_path: Path, sink: HttpReceiver) -> None:
    binary = require_binary("prometheus-alertmanager")
    config = write_config(tmp_path, f"""\
  - name: fraud
    rollback: {{backend: webhook, url: "{sink.url}/rollback"}}
""")
    responder = responder_argv(config, "127.0.0.1:0")  # both announce their ports
    am_config = tmp_path / "alertmanager.yml"
    am_config.write_text(f"""\
route:
  receiver: responder
  group_by: [alertname, model]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: responder
    webhook_configs:
      - url: {{url}}/v1/alerts
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials_file: {tmp_path / 'token'}}}
""")
    alertmanager = alertmanager_argv(binary, am_config, tmp_path / "am", "127.0.0.1:0")
    labels = {"alertname": "MlmonAccuracyBelowFloor", "severity": "critical",
              "action": "rollback", "model": "fraud", "version": "3"}
    with serving(responder, tmp_path / "respond.log", "/healthz", timeout=60) as served:
        am_config.write_text(am_config.read_text().replace("{url}", served.url))
        with serving(alertmanager, tmp_path / "am.log", "/-/ready", timeout=60) as am:
            am_url = am.url
            push_alert(am_url, labels)
            wait_for(lambda: len(audit_lines(tmp_path / "state")) >= 1)
            push_alert(am_url, labels, ends_at=datetime.now(UTC) - timedelta(seconds=1))
            wait_for(lambda: len(audit_lines(tmp_path / "state")) >= 2)
    lines = audit_lines(tmp_path / "state")
    assert [(x["status"], x["result"]) for x in lines] == [("firing", "ok"),
                                                           ("resolved", "ignored")]
    assert len(lines[0]["fingerprint"]) == 16  # Alertmanager's hex fingerprint
    assert lines[0]["fingerprint"] == lines[1]["fingerprint"]
    received = sink.received.snapshot()
    assert [r.path for r in received] == ["/rollback"]
    assert [r.body for r in received] == [{
        "action": "rollback", "model": "fraud", "version": "3",
        "alertname": "MlmonAccuracyBelowFloor", "source": "mlmon-responder"}]
