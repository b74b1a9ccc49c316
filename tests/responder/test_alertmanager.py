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
from tests.procs import free_port, require_binary, running
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
    port, am_port = free_port(), free_port()
    url, am_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{am_port}"
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
      - url: {url}/v1/alerts
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials_file: {tmp_path / 'token'}}}
""")
    responder = responder_argv(config, f"127.0.0.1:{port}")
    alertmanager = alertmanager_argv(binary, am_config, tmp_path / "am", f"127.0.0.1:{am_port}")
    labels = {"alertname": "MlmonAccuracyBelowFloor", "severity": "critical",
              "action": "rollback", "model": "fraud", "version": "3"}
    with running(responder, tmp_path / "respond.log", f"{url}/healthz", timeout=60), \
            running(alertmanager, tmp_path / "am.log", f"{am_url}/-/ready", timeout=60):
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
