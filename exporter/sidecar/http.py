"""HTTP endpoints: /metrics, /healthz, /readyz, /v1/status, / and POST /v1/events."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from concurrent.futures import Future
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry

from exporter import __version__
from exporter.config.model import Config
from exporter.sidecar.access import read_token, refusal
from exporter.sidecar.exposition import Exposition
from exporter.sidecar.ingest.intake import Intake
from exporter.sidecar.ingest.lines import LineSplitter
from exporter.sidecar.ingest.queue import Item
from exporter.sidecar.multivariate import status as mv_status
from exporter.sidecar.segments import status as segment_status
from exporter.sidecar.snapshot import ModelSnapshot, Snapshot
from exporter.sidecar.state import ModelState, SidecarState
from exporter.sidecar.status_page import render as render_status_page
from exporter.stats.drift import FeatureDrift
from exporter.types import ModelKey


class Runtime(Protocol):
    """What the HTTP layer needs from the running sidecar."""

    config: Config
    store: SidecarState
    intake: Intake
    registry: CollectorRegistry
    exposition: Exposition
    started: float

    @property
    def ready(self) -> bool: ...

    def snapshot(self) -> Snapshot: ...


RUNTIME = web.AppKey("runtime", Runtime)
TOKEN: web.AppKey[bytes | None] = web.AppKey("ingest_token")
RETRY_AFTER = 1  # seconds a client waits before re-posting a body the queue could not take


async def metrics(request: web.Request) -> web.Response:
    exposition = request.app[RUNTIME].exposition
    openmetrics, content_type = exposition.negotiate(request.headers.get("Accept", ""))
    body = await asyncio.get_running_loop().run_in_executor(None, exposition.render, openmetrics)
    return web.Response(body=body, headers={"Content-Type": content_type})


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    if request.app[RUNTIME].ready:
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "starting"}, status=503)


def _finite(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) else v


def _drift_status(f: FeatureDrift) -> dict[str, Any]:
    """One feature's (or the prediction's) drift and what its verdict rests on."""
    return {"name": f.name, "kind": f.kind, "samples": f.samples, "psi": _finite(f.psi),
            "ks_pvalue": _finite(f.ks_pvalue), "chi2_pvalue": _finite(f.chi2_pvalue),
            "pvalue": _finite(f.pvalue), "alpha": f.alpha,
            "psi_upper_bound": _finite(f.psi_upper),
            "psi_noise_floor": _finite(f.psi_noise_floor), "significant": f.significant,
            "severity": f.severity.label if f.severity is not None else None}


def _model_status(rt: Runtime, ms: ModelSnapshot | None, key: ModelKey) -> dict[str, Any]:
    state = rt.store.models[key]
    out: dict[str, Any] = {
        "model": key[0], "version": key[1], "window_size": state.config.window.size,
        "window_samples": state.pred.count,
        "window_fill": state.pred.count / state.config.window.size,
        "last_compute": None, "predictions_total": state.predictions_total,
        "labels_joined": state.join_counters.joined, "severity": None, "drift_share": None,
        "features": [], "prediction": None, "top_drifted": [], "performance": {},
    }
    out.update(_estimate_status(state, ms))
    ed = state.error_drift  # Page-Hinkley on the joined-label errors (None: turned off)
    out["error_drift"] = None if ed is None else {
        "detector": "page_hinkley", "detections": ed.detections, "errors": ed.errors,
        "statistic": ed.statistic, "threshold": ed.params.threshold}
    out["multivariate"] = mv_status(state.mv_note, ms.multivariate if ms else None)
    if ms is None:
        return out
    out["last_compute"] = ms.computed_at
    out["severity"] = ms.severity.label if ms.severity is not None else None
    out["drift_share"] = ms.drift_share
    out["features"] = [_drift_status(f) for f in ms.features]
    out["prediction"] = _drift_status(ms.prediction)
    out["top_drifted"] = ms.top_drifted()
    out["data_quality"] = [q.summary() for q in ms.quality]  # [] below min_samples events
    if ms.segments:  # only for a model with `segment:` (exporter.sidecar.segments)
        out["segments"] = segment_status(ms.segments)
    p = ms.performance
    if p is not None:
        perf = {k: v for k, v in vars(p).items() if isinstance(v, int | float)}
        out["performance"] = {k: (None if isinstance(v, float) and v != v else v)
                              for k, v in perf.items()}
    pq = ms.probability_quality
    if pq is not None:  # ranking and calibration of the scored pairs (exporter.stats.scoring)
        out["performance"].update({"roc_auc": pq.roc_auc, "brier_score": pq.brier,
                                   "expected_calibration_error": pq.ece,
                                   "probability_samples": pq.samples})
    return out


def _estimate_status(state: ModelState, ms: ModelSnapshot | None) -> dict[str, Any]:
    """CBPE: the estimate (None below min_samples) and what its confidence rests on."""
    if state.config.prediction.kind != "classification":
        return {"estimate": None, "estimate_basis": None}
    cal = state.calibration
    basis = (f"calibrated on {cal.rows} reference rows" if cal is not None
             else "raw scores (no reference labels)")
    e = ms.estimate if ms is not None else None
    est = None if e is None else {
        "samples": e.samples, "accuracy": _finite(e.accuracy), "precision": e.precision,
        "recall": e.recall, "f1": e.f1, "calibrated": e.calibrated}
    return {"estimate": est, "estimate_basis": basis}


def _status_document(rt: Runtime) -> dict[str, Any]:
    snap = rt.snapshot()
    with rt.store.lock:
        models = [_model_status(rt, snap.models.get(key), key) for key in rt.store.models]
        events = {"received": dict(rt.store.received), "rejected": dict(rt.store.rejected),
                  "last_rejection": dict(rt.store.last_rejection)}
    return {"version": __version__, "uptime_seconds": time.time() - rt.started,
            "models": models, "events": events}


async def status(request: web.Request) -> web.Response:
    return web.json_response(_status_document(request.app[RUNTIME]))


async def status_page(request: web.Request) -> web.Response:
    return web.Response(text=render_status_page(_status_document(request.app[RUNTIME])),
                        content_type="text/html", charset="utf-8")


def _peer(request: web.Request) -> str | None:
    # The socket's peer, never a header: X-Forwarded-For would let anyone claim loopback.
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else None


async def _read_body(request: web.Request, limit: int, idle: float) -> bytes | web.Response:
    """The body, or the error response: 413 over ``limit``, 408 after ``idle`` s of silence."""
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = await asyncio.wait_for(request.content.read(1 << 16), idle)
        except TimeoutError:
            # A Content-Length longer than what arrives would otherwise hold the connection;
            # closing at once skips aiohttp's lingering read of a body that is not coming.
            response = web.json_response(
                {"error": f"no body bytes for server.idle_timeout ({idle:g}s); "
                          "send the whole body promptly"}, status=408)
            response.force_close()
            await response.prepare(request)
            await response.write_eof()
            request.protocol.force_close()
            return response
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return _too_large(limit)
        chunks.append(chunk)


async def post_events(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    refused = refusal(_peer(request), request.app[TOKEN], request.headers.get("Authorization"))
    if refused is not None:
        status, reason = refused
        return web.json_response({"error": reason}, status=status, headers=(
            {"WWW-Authenticate": "Bearer"} if status == 401 else None))
    limit = rt.config.server.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _too_large(limit)
    body = await _read_body(request, limit, rt.config.server.idle_timeout)
    if isinstance(body, web.Response):
        return body
    splitter = LineSplitter(rt.config.server.max_line_bytes)
    lines = splitter.feed(body) + splitter.finish()
    too_long = splitter.take_too_long()
    if not lines and not too_long:
        return web.json_response({"error": "empty body; send NDJSON, one event per line"},
                                 status=400)
    reply: Future[Counter[str]] = Future()
    if lines and not rt.intake.queue.offer(Item(lines, reply)):
        # Nothing was taken or counted: the client still holds the body and retries it.
        return web.json_response(
            {"error": "ingest queue full; retry after the Retry-After seconds"}, status=503,
            headers={"Retry-After": str(RETRY_AFTER)})
    rt.intake.count("http", len(lines) + too_long, too_long)
    counts = await asyncio.wrap_future(reply) if lines else Counter[str]()
    rejected = {k: v for k, v in counts.items() if k != "accepted" and v}
    if too_long:
        rejected["line_too_long"] = too_long
    accepted = counts.get("accepted", 0)
    if accepted == 0 and set(rejected) <= {"malformed_json", "line_too_long"}:
        return web.json_response(
            {"error": "body is not NDJSON (one JSON object per line)", "accepted": 0,
             "rejected": rejected}, status=400)
    return web.json_response({"accepted": accepted, "rejected": rejected}, status=202)


def _too_large(limit: int) -> web.Response:
    return web.json_response(
        {"error": f"body larger than server.max_body_bytes ({limit} bytes); "
                  "split it into several requests"}, status=413)


def build_app(runtime: Runtime) -> web.Application:
    # The body limit is enforced in post_events with a reason; aiohttp's own limit is higher.
    app = web.Application(client_max_size=runtime.config.server.max_body_bytes + 1)
    app[RUNTIME] = runtime
    app[TOKEN] = read_token(runtime.config.server.ingest_token_file)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/v1/status", status)
    app.router.add_get("/", status_page)
    app.router.add_post("/v1/events", post_events)
    return app
