"""Generic webhook: templated JSON body and headers, bearer token from a file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from exporter.responder.backend_protocol import ActionRequest
from exporter.responder.config import WebhookTarget
from exporter.responder.http import HttpClient
from exporter.responder.webhook import WebhookBackend
from tests.responder.service import serve
from tests.responder.sink import Sink


def test_templated_post(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("hook-secret")
    sink = Sink()
    template = {"ref": "main", "inputs": {"model": "{model}", "why": "{alertname} on {model}",
                                          "version": "{version}", "literal": "{not_a_field}"},
                "retries": 2}

    async def scenario() -> None:
        async with serve(sink.app()) as url:
            http = HttpClient(5.0)
            cfg = WebhookTarget(f"{url}/hooks/retrain", template,
                                {"X-Model": "{model}"}, tmp_path / "tok")
            try:
                await WebhookBackend(cfg, http).execute(
                    ActionRequest("fraud", "3", "Drift", "retrain"))
            finally:
                await http.close()

    asyncio.run(scenario())
    [got] = sink.received
    assert (got.method, got.path) == ("POST", "/hooks/retrain")
    assert got.body == {"ref": "main", "inputs": {"model": "fraud", "why": "Drift on fraud",
                                                  "version": "3", "literal": "{not_a_field}"},
                        "retries": 2}
    assert got.headers["X-Model"] == "fraud"
    assert got.headers["Authorization"] == "Bearer hook-secret"
    assert got.headers["Content-Type"] == "application/json"
