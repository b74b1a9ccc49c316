"""Payloads, configs and a loopback server runner for the responder tests."""

from __future__ import annotations

import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.procs import free_port

TOKEN = "s3cret-token-for-tests"
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


def write_config(tmp_path: Path, models: str, extra: str = "") -> Path:
    (tmp_path / "token").write_text(TOKEN + "\n")
    path = tmp_path / "responder.yaml"
    path.write_text(f"token_file: token\nstate_dir: state\nretry: {{attempts: 3, backoff: 2s}}\n"
                    f"{extra}models:\n{models}")
    return path


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def audit_lines(state_dir: Path) -> list[dict[str, Any]]:
    path = state_dir / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@contextlib.asynccontextmanager
async def serve(app: web.Application, tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Run ``app`` on a free 127.0.0.1 port (HTTPS with ``tls``); yield its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls)
    await site.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
