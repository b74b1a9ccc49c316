"""The timeline printer: alert transitions from a Prometheus-shaped API, audit lines."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from exporter.demo.receivers import Request
from exporter.demo.timeline import Timeline, describe_request
from tests.e2e.loop_support import serve_in_thread

DRIFT = {"alertname": "MlmonFeatureDriftHigh", "model": "fraud", "version": "3",
         "feature": "amount", "severity": "critical", "action": "notify"}


def test_firing_and_resolved_alerts_and_new_audit_lines_are_printed(tmp_path: Path) -> None:
    answers: list[list[dict[str, Any]]] = [
        [{"labels": DRIFT, "state": "pending", "annotations": {"value": "0.2"}}],
        [{"labels": DRIFT, "state": "firing", "annotations": {"value": "0.41"}}],
        [{"labels": DRIFT, "state": "firing", "annotations": {"value": "0.5"}}],
        [],
    ]

    async def alerts(request: web.Request) -> web.Response:
        return web.json_response({"status": "success", "data": {"alerts": answers.pop(0)}})

    app = web.Application()
    app.router.add_get("/api/v1/alerts", alerts)
    audit = tmp_path / "audit.jsonl"
    out = io.StringIO()
    record = {"decision": "dry_run", "action": "rollback", "model": "fraud",
              "alertname": "MlmonAccuracyBelowFloor", "status": "firing", "result": "dry_run",
              "reason": "dry-run: rollback not executed"}
    with serve_in_thread(app) as url:
        timeline = Timeline(url, audit, out, wall=lambda: 0.0)
        timeline.poll()  # pending: nothing
        audit.write_text(json.dumps(record) + "\n" + '{"decision": "acted"')  # half a line
        timeline.poll()  # firing, and the one complete audit line
        timeline.poll()  # still firing: nothing new
        timeline.poll()  # gone: resolved
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == [
        "FIRING   MlmonFeatureDriftHigh model=fraud version=3 feature=amount "
        "severity=critical action=notify (value 0.41)",
        "responder: dry_run rollback of model fraud (MlmonAccuracyBelowFloor firing; "
        "dry_run: dry-run: rollback not executed)",
        "RESOLVED MlmonFeatureDriftHigh model=fraud version=3 feature=amount "
        "severity=critical action=notify",
    ]


def test_notifications_are_described_by_integration() -> None:
    slack = Request("/slack", {}, {"channel": "#mlmon-critical",
                                   "attachments": [{"title": "[FIRING:1] X · model m"}]})
    pagerduty = Request("/pd", {}, {"event_action": "resolve",
                                    "payload": {"severity": "critical", "summary": "X · m"}})
    other = Request("/rollback", {}, {"model": "m"})
    assert describe_request(slack) == "Slack #mlmon-critical: [FIRING:1] X · model m"
    assert describe_request(pagerduty) == "PagerDuty resolve (critical): X · m"
    assert describe_request(other) == 'POST /rollback: {"model": "m"}'
