"""HTTP layer on a real aiohttp server (loopback), with a sidecar that is not started."""

from __future__ import annotations

import asyncio
import json

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from exporter.sidecar.http import build_app
from exporter.sidecar.runtime import Sidecar
from tests.factories import config, fraud_model


async def _scenario() -> dict[str, object]:
    sidecar = Sidecar(config(fraud_model(), max_body_bytes=100), {})
    server = TestServer(build_app(sidecar), host="127.0.0.1")
    await server.start_server()
    out: dict[str, object] = {}
    try:
        async with ClientSession() as http:
            async with http.get(server.make_url("/readyz")) as r:
                out["readyz"] = r.status  # config loaded, but nothing listening yet
            async with http.get(server.make_url("/healthz")) as r:
                out["healthz"] = r.status
            async with http.post(server.make_url("/v1/events"), data=b"x" * 101) as r:
                out["too_large"] = (r.status, json.loads(await r.read()))
            async with http.get(server.make_url("/v1/status")) as r:
                body = json.loads(await r.read())
                out["last_compute"] = body["models"][0]["last_compute"]
    finally:
        await server.close()
    return out


def test_not_ready_until_listening_and_body_limit() -> None:
    out = asyncio.run(_scenario())
    assert out["readyz"] == 503 and out["healthz"] == 200
    status, body = out["too_large"]  # type: ignore[misc]
    assert status == 413 and "max_body_bytes (100 bytes)" in body["error"]
    assert out["last_compute"] is None


async def _post_to_a_full_queue() -> tuple[int, str | None, dict[str, object], int, int]:
    sidecar = Sidecar(config(fraud_model(), queue_size=3), {})
    sidecar.intake.submit("unix", [b"{}"] * 3, force=True)  # full, and no worker drains it
    server = TestServer(build_app(sidecar), host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession() as http, \
                http.post(server.make_url("/v1/events"), data=b"{}\n{}\n") as r:
            out = (r.status, r.headers.get("Retry-After"), json.loads(await r.read()))
    finally:
        await server.close()
    return (*out, sidecar.store.received["http"], sidecar.queue.size)


def test_a_body_the_queue_cannot_take_gets_503_with_retry_after_and_is_not_taken() -> None:
    status, retry_after, body, received, queued = asyncio.run(_post_to_a_full_queue())
    assert (status, retry_after) == (503, "1") and "queue full" in str(body["error"])
    assert (received, queued) == (0, 3)  # nothing counted, nothing queued: the client retries
