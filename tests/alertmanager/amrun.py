"""Run the real prometheus-alertmanager on loopback and talk to its API v2."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from exporter.rulegen import DASHBOARD_BASE, RUNBOOK_BASE
from tests.procs import require_binary, serving


@contextlib.contextmanager
def alertmanager(config: Path, workdir: Path) -> Iterator[str]:
    """Start Alertmanager with ``config`` (clustering off); yield its base URL."""
    binary = require_binary("prometheus-alertmanager")
    argv = [binary, f"--config.file={config}", f"--storage.path={workdir / 'am-data'}",
            "--web.listen-address=127.0.0.1:0", "--cluster.listen-address=",
            "--log.level=debug"]  # it announces the port it bound (tests/procs.py serving)
    with serving(argv, workdir / "alertmanager.log", "/-/ready") as am:
        yield am.url


def post_alerts(url: str, alerts: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(f"{url}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def get_alerts(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=10) as response:
        alerts: list[dict[str, Any]] = json.loads(response.read())
        return alerts


def alert(name: str, severity: str, action: str, model: str, **labels: str) -> dict[str, Any]:
    """An alert shaped like the mlmon rules' (labels and annotations)."""
    feature = labels.get("feature", "")
    value = labels.pop("value", "0.42")
    anchor = name.lower()
    return {
        "labels": {"alertname": name, "severity": severity, "action": action, "model": model,
                   **labels},
        "annotations": {
            "summary": f"{model}: {name}{' on ' + feature if feature else ''} (value {value})",
            "description": f"{name} fired for model {model}.",
            "value": value,
            "runbook_url": f"{RUNBOOK_BASE}#{anchor}",
            "dashboard_url": f"{DASHBOARD_BASE}?var-model={model}",
        },
        "generatorURL": "http://prometheus.example/graph",
    }
