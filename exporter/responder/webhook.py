"""Generic webhook: a templated JSON POST to any URL."""

from __future__ import annotations

from typing import Any

from exporter.responder.backend_protocol import ActionRequest
from exporter.responder.config import WebhookTarget
from exporter.responder.http import HttpClient, bearer
from exporter.responder.redact import redact, redact_url
from exporter.responder.templating import fill, fill_text


def default_body(request: ActionRequest) -> dict[str, Any]:
    return {"action": request.action, "model": request.model, "version": request.version,
            "alertname": request.alertname, "source": "mlmon-responder"}


class WebhookBackend:
    kind = "webhook"

    def __init__(self, config: WebhookTarget, http: HttpClient) -> None:
        self.config = config
        self.http = http

    async def execute(self, request: ActionRequest) -> str:
        body = (default_body(request) if self.config.body is None
                else fill(self.config.body, request))
        headers = {k: fill_text(v, request) for k, v in self.config.headers.items()}
        headers.update(bearer(self.config.token_file))
        reply = await self.http.call("POST", self.config.url, body=body, headers=headers,
                                     expect_json=False)
        return f"webhook {redact_url(self.config.url)} accepted: {redact(str(reply)[:120])!r}"
