"""The responder's aiohttp application: /v1/alerts, /v1/queue, /metrics, /healthz."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict
from typing import Any

from aiohttp import web

from exporter.config.errors import ConfigError
from exporter.responder import payload as webhook
from exporter.responder.action_history import ActionHistory
from exporter.responder.audit import AuditLog
from exporter.responder.backend_factory import make_backends
from exporter.responder.backend_protocol import Backend
from exporter.responder.clock import Clock, SystemClock
from exporter.responder.config import ActionKey, ResponderConfig
from exporter.responder.engine import Engine, iso
from exporter.responder.http import HttpClient
from exporter.responder.metrics import ResponderMetrics
from exporter.responder.redact import responder_logger
from exporter.responder.retrain_queue import RetrainQueue

log = responder_logger()

ENGINE = web.AppKey("engine", Engine)
TOKEN = web.AppKey("token", bytes)
METRICS = web.AppKey("metrics", ResponderMetrics)
CONTENT_TYPE_METRICS = "text/plain; version=0.0.4; charset=utf-8"


def read_token(config: ResponderConfig) -> bytes:
    try:
        token = config.token_file.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(config.path, "token_file", f"cannot read {config.token_file}: "
                          f"{exc.strerror}", "a readable file holding the bearer token") from None
    if not token:
        raise ConfigError(config.path, "token_file", f"{config.token_file} is empty",
                          "a file holding a non-empty bearer token")
    return token


def _authorised(request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, provided = header.partition(" ")
    # compare_digest runs in time independent of where the strings differ.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        provided.strip().encode(), request.app[TOKEN])


def _require_auth(request: web.Request) -> None:
    if not _authorised(request):
        raise web.HTTPUnauthorized(text="missing or wrong bearer token\n",
                                   headers={"WWW-Authenticate": 'Bearer realm="mlmon"'})


async def alerts(request: web.Request) -> web.Response:
    _require_auth(request)
    try:
        payload = webhook.decode(await request.read())
    except webhook.PayloadError as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    records = await request.app[ENGINE].handle(payload)
    return web.json_response({"decisions": [asdict(r) for r in records]})


async def queue(request: web.Request) -> web.Response:
    _require_auth(request)
    engine = request.app[ENGINE]
    pending: list[dict[str, Any]] = [
        {**asdict(r), "alerts": list(r.alerts), "queued_at": iso(r.queued_at),
         "scheduled_at": iso(r.scheduled_at)} for r in engine.queue.pending()]
    return web.json_response({"now": iso(engine.clock.now()), "pending": pending})


async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_METRICS})


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def _poll(engine: Engine, interval: float) -> None:
    while True:
        try:
            await engine.run_due()
        except Exception:  # keep polling: the failure is logged, the queue stays on disk
            log.exception("retrain queue check failed")
        await asyncio.sleep(interval)


def build_app(config: ResponderConfig, clock: Clock | None = None, *,
              dry_run: bool | None = None, backends: Mapping[ActionKey, Backend] | None = None,
              poll: bool = True) -> web.Application:
    """The application; ``poll=False`` leaves starting due retrains to the caller (tests)."""
    clock = clock or SystemClock()
    config.state_dir.mkdir(parents=True, exist_ok=True)
    http = HttpClient(config.timeout)
    metrics_ = ResponderMetrics()
    metrics_.initialise(config)
    longest_cooldown = max((a.cooldown for m in config.models.values()
                            for a in (m.rollback, m.retrain) if a is not None), default=0.0)
    history = ActionHistory(config.state_dir / "state.json", longest_cooldown)
    engine = Engine(config, clock, history,
                    RetrainQueue(config.state_dir / "retrain-queue.json"),
                    AuditLog(config.state_dir / "audit.jsonl"), metrics_,
                    backends if backends is not None else make_backends(config, http),
                    config.dry_run if dry_run is None else dry_run)
    app = web.Application()
    app[ENGINE] = engine
    app[TOKEN] = read_token(config)
    app[METRICS] = metrics_
    app.router.add_post("/v1/alerts", alerts)
    app.router.add_get("/v1/queue", queue)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_poll(engine, config.poll_interval)) if poll else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await http.close()

    app.cleanup_ctx.append(lifecycle)
    return app
