"""Alertmanager webhook payloads (version 4) as the responder receives them."""

from __future__ import annotations

import json
from typing import Any

T0 = 1_795_651_200.0  # 2026-11-26T00:00:00Z, a Thursday


def alert(status: str = "firing", action: str = "rollback", model: str = "fraud",
          fingerprint: str = "f00d", starts_at: str = "2026-11-25T23:50:00Z",
          **labels: str) -> dict[str, Any]:
    """One alert as Alertmanager's webhook notifier sends it (version 4)."""
    all_labels = {"alertname": "MlmonAccuracyBelowFloor", "severity": "critical",
                  "action": action, "model": model, "version": "3", **labels}
    if not model:
        del all_labels["model"]
    return {"status": status, "labels": all_labels,
            "annotations": {"summary": "accuracy below floor"},
            "startsAt": starts_at,
            "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-26T00:10:00Z",
            "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=x", "fingerprint": fingerprint}


def payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    common = dict(alerts[0]["labels"]) if alerts else {}
    return {"receiver": "mlmon-responder", "status": "firing" if firing else "resolved",
            "alerts": list(alerts), "groupLabels": {"alertname": common.get("alertname", "")},
            "commonLabels": common, "commonAnnotations": {}, "externalURL":
            "http://127.0.0.1:9093", "version": "4",
            "groupKey": '{}:{alertname="MlmonAccuracyBelowFloor"}', "truncatedAlerts": 0}


def body(*alerts: dict[str, Any]) -> bytes:
    return json.dumps(payload(*alerts)).encode()
