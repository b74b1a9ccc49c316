"""The responder service end to end on loopback: auth, decode, decisions, audit, metrics.

Backends are generic webhooks pointed at a recording sink, so every execution is seen;
time is a ManualClock, so cooldown, cap and windows need no sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from exporter.responder.app import ENGINE, build_app
from exporter.responder.clock import ManualClock
from exporter.responder.config import ResponderConfig
from exporter.responder.config_load import load
from tests.responder.alerts import T0, alert, body
from tests.responder.service import TOKEN, audit_lines, auth, serve, write_config
from tests.responder.sink import Sink

HOUR = 3600.0


def models(sink_url: str, window: str = "00 02 * * *", cooldown: str = "1h",
           cap: int = 2) -> str:
    return f"""\
  - name: fraud
    rollback: {{backend: webhook, url: "{sink_url}/rollback", cooldown: {cooldown},
               daily_cap: {cap}}}
    retrain: {{backend: webhook, url: "{sink_url}/retrain", window: "{window}",
              body: {{model: "{{model}}", reason: "{{alertname}}"}}}}
"""


class Harness:
    """A responder app (restartable on the same state dir) and a sink, on loopback."""

    def __init__(self, tmp_path: Path, sink_url: str, clock: ManualClock, **kw: Any) -> None:
        self.config: ResponderConfig = load(write_config(tmp_path, models(sink_url, **kw)))
        self.clock = clock
        self.app = build_app(self.config, clock, poll=False)

    def restart(self, dry_run: bool | None = None) -> None:
        self.app = build_app(self.config, self.clock, poll=False, dry_run=dry_run)


def run(tmp_path: Path, scenario: Callable[[Harness, Sink, aiohttp.ClientSession, str],
                                           Awaitable[None]],
        sink: Sink | None = None, **kw: Any) -> tuple[Harness, Sink]:
    sink = sink or Sink()
    clock = ManualClock(T0 + 6 * HOUR)  # Thursday 06:00 UTC

    async def main() -> Harness:
        async with serve(sink.app()) as sink_url, aiohttp.ClientSession() as session:
            h = Harness(tmp_path, sink_url, clock, **kw)
            async with serve(h.app) as url:
                await scenario(h, sink, session, url)
            return h

    return asyncio.run(main()), sink


async def post(session: aiohttp.ClientSession, url: str, data: bytes,
               headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with session.post(f"{url}/v1/alerts", data=data,
                            headers=auth() if headers is None else headers) as resp:
        text = await resp.text()
        return resp.status, (await resp.json() if resp.status == 200 else text)


async def scrape(session: aiohttp.ClientSession, url: str) -> dict[tuple[str, tuple[Any, ...]],
                                                                    float]:
    async with session.get(f"{url}/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def action_count(metrics: dict[tuple[str, tuple[Any, ...]], float], action: str, backend: str,
                 result: str) -> float:
    key = ("mlmon_responder_actions_total",
           (("action", action), ("backend", backend), ("result", result)))
    return metrics[key]


def test_bearer_token_and_malformed_payloads(tmp_path: Path) -> None:
    async def scenario(h: Harness, sink: Sink, s: aiohttp.ClientSession,
                       url: str) -> None:
        good = body(alert())
        wrong_same_length = "x" * len(TOKEN)
        for headers in ({}, auth("wrong"), auth(wrong_same_length),
                        {"Authorization": f"Basic {TOKEN}"}):
            status, text = await post(s, url, good, headers)
            assert status == 401 and "bearer token" in text
        async with s.get(f"{url}/v1/queue") as resp:
            assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
        status, text = await post(s, url, b"{oops")
        assert (status, "body is not JSON" in text) == (400, True)
        status, text = await post(s, url, good.replace(b'"version": "4"', b'"version": "3"'))
        assert (status, "unsupported payload version '3'" in text) == (400, True)
        status, text = await post(s, url, b'{"version": "4", "status": "firing"}')
        assert (status, "missing required field `alerts`" in text) == (400, True)
        async with s.get(f"{url}/healthz") as resp:
            assert (resp.status, await resp.text()) == (200, "ok\n")
        m = await scrape(s, url)
        assert m[("mlmon_responder_alerts_received_total", (("status", "firing"),))] == 0
        assert action_count(m, "rollback", "webhook", "ok") == 0

    h, sink = run(tmp_path, scenario)
    assert sink.received == [] and audit_lines(h.config.state_dir) == []


def test_only_firing_actionable_alerts_act(tmp_path: Path) -> None:
    async def scenario(h: Harness, sink: Sink, s: aiohttp.ClientSession,
                       url: str) -> None:
        status, reply = await post(s, url, body(
            alert(status="resolved", fingerprint="r1"),
            alert(action="notify", fingerprint="n1"),
            alert(model="", fingerprint="m1"),
            alert(model="unknown-model", fingerprint="u1"),
            alert(fingerprint="ok1")))
        assert status == 200
        assert [d["result"] for d in reply["decisions"]] == [
            "ignored", "ignored", "ignored", "skipped_unconfigured", "ok"]
        m = await scrape(s, url)
        assert m[("mlmon_responder_alerts_received_total", (("status", "firing"),))] == 4
        assert m[("mlmon_responder_alerts_received_total", (("status", "resolved"),))] == 1
        assert action_count(m, "rollback", "webhook", "ok") == 1
        assert action_count(m, "rollback", "none", "skipped_unconfigured") == 1

    h, sink = run(tmp_path, scenario)
    assert [(r.method, r.path) for r in sink.received] == [("POST", "/rollback")]
    assert sink.received[0].body == {"action": "rollback", "model": "fraud", "version": "3",
                                     "alertname": "MlmonAccuracyBelowFloor",
                                     "source": "mlmon-responder"}
    lines = audit_lines(h.config.state_dir)
    assert [(x["fingerprint"], x["decision"], x["reason"]) for x in lines[:4]] == [
        ("r1", "skipped", "alert is resolved"),
        ("n1", "skipped", "action label 'notify' is not rollback or retrain"),
        ("m1", "skipped", "alert has no model label"),
        ("u1", "skipped", "no rollback backend configured for model 'unknown-model'")]
    last = lines[4]
    assert (last["decision"], last["model"], last["action"], last["backend"]) == (
        "acted", "fraud", "rollback", "webhook")
    assert last["time"] == "2026-11-26T06:00:00+00:00" and last["ts"] == T0 + 6 * HOUR
    assert last["starts_at"] == "2026-11-25T23:50:00+00:00" and last["attempts"] == 1
    assert last["alertname"] == "MlmonAccuracyBelowFloor" and last["dry_run"] is False


def test_once_per_alert_even_across_a_restart(tmp_path: Path) -> None:
    async def scenario(h: Harness, sink: Sink, s: aiohttp.ClientSession,
                       url: str) -> None:
        assert (await post(s, url, body(alert())))[0] == 200
        h.clock.advance(2 * HOUR)  # past the cooldown: only dedupe can stop a repeat
        h.restart()
        async with serve(h.app) as second:
            _, reply = await post(s, second, body(alert()))
            assert reply["decisions"][0]["result"] == "skipped_duplicate"
            # Same fingerprint, new startsAt: a new firing of the alert, acted on.
            _, reply = await post(s, second, body(alert(starts_at="2026-11-26T07:00:00Z")))
            assert reply["decisions"][0]["result"] == "ok"

    _, sink = run(tmp_path, scenario)
    assert len(sink.received) == 2


def test_a_crash_mid_rollback_does_not_roll_back_twice(tmp_path: Path) -> None:
    gate = asyncio.Event()

    async def scenario(h: Harness, sink: Sink, s: aiohttp.ClientSession, url: str) -> None:
        stuck = asyncio.create_task(post(s, url, body(alert())))
        while not sink.received:  # the backend call is in flight, its reply held back
            await asyncio.sleep(0.01)
        h.restart()  # a new process on the same state dir, as after a crash
        async with serve(h.app) as second:
            _, reply = await post(s, second, body(alert()))
        assert reply["decisions"][0]["result"] == "skipped_cooldown"
        gate.set()
        await stuck

    _, sink = run(tmp_path, scenario, sink=Sink(gate=gate))
    assert len(sink.received) == 1


def test_cooldown_and_daily_cap_per_model_and_action(tmp_path: Path) -> None:
    async def scenario(h: Harness, sink: Sink, s: aiohttp.ClientSession,
                       url: str) -> None:
        results = []
        for i, step in enumerate([0, 10 * 60, 51 * 60, 61 * 60, 1317 * 60, 2 * 60]):
            h.clock.advance(step)
            _, reply = await post(s, url, body(alert(fingerprint=f"a{i}")))
            results.append(reply["decisions"][0]["result"])
        # t=0 ok; 10m in cooldown; 61m ok (2nd in 24h); 122m cap reached;
        # 23h59m: the first is still inside 24 h; 24h01m: it has aged out.
        assert results == ["ok", "skipped_cooldown", "ok", "skipped_cap", "skipped_cap", "ok"]
        m = await scrape(s, url)
        assert action_count(m, "rollback", "webhook", "ok") == 3
        assert action_count(m, "rollback", "webhook", "skipped_cooldown") == 1
        assert action_count(m, "rollback", "webhook", "skipped_cap") == 2

    h, sink = run(tmp_path, scenario)
    assert len(sink.received) == 3
    reasons = [x["reason"] for x in audit_lines(h.config.state_dir)]
    assert reasons[1] == "last rollback of fraud was 600s ago; cooldown is 3600s"
    assert reasons[3] == "2 rollback action(s) for fraud in the last 24h; daily_cap is 2"


def test_dry_run_audits_but_executes_nothing(tmp_path: Path) -> None:
    async def scenario(h: Harness, sink: Sink, s: aiohttp.ClientSession,
                       url: str) -> None:
        h.restart(dry_run=True)
        async with serve(h.app) as dry:
            _, reply = await post(s, dry, body(alert(fingerprint="d1"),
                                               alert(action="retrain", fingerprint="d2")))
            assert [d["result"] for d in reply["decisions"]] == ["dry_run", "queued", "dry_run"]
            m = await scrape(s, dry)
            assert action_count(m, "rollback", "webhook", "dry_run") == 1
            assert action_count(m, "retrain", "webhook", "dry_run") == 1
        # Dry-run history never blocks the real service: no cooldown from the dry run.
        _, reply = await post(s, url, body(alert(fingerprint="real")))
        assert reply["decisions"][0]["result"] == "ok"

    h, sink = run(tmp_path, scenario, window="immediate")
    assert [r.path for r in sink.received] == ["/rollback"]  # only the real one
    lines = audit_lines(h.config.state_dir)
    assert [(x["decision"], x["action"], x["dry_run"]) for x in lines] == [
        ("dry_run", "rollback", True), ("queued", "retrain", True),
        ("dry_run", "retrain", True), ("acted", "rollback", False)]


def test_backend_failure_is_retried_then_audited_and_counted(tmp_path: Path) -> None:
    async def scenario(h: Harness, sink: Sink, s: aiohttp.ClientSession,
                       url: str) -> None:
        _, reply = await post(s, url, body(alert()))
        d = reply["decisions"][0]
        assert (d["result"], d["decision"], d["attempts"]) == ("failed", "failed", 3)
        assert d["detail"].count("HTTP 503") == 3
        assert h.clock.slept == [2.0, 4.0]  # backoff 2s, doubling, between 3 attempts
        m = await scrape(s, url)
        assert action_count(m, "rollback", "webhook", "failed") == 1
        # Not remembered as handled: Alertmanager's repeat of the same alert tries again.
        _, reply = await post(s, url, body(alert()))
        assert reply["decisions"][0]["result"] == "ok"

    h, sink = run(tmp_path, scenario, sink=Sink(statuses=[503, 503, 503]))
    assert len(sink.received) == 4
    assert [x["result"] for x in audit_lines(h.config.state_dir)] == ["failed", "ok"]


def test_retraining_waits_for_its_window_deduplicated_per_model(tmp_path: Path) -> None:
    async def scenario(h: Harness, sink: Sink, s: aiohttp.ClientSession,
                       url: str) -> None:
        retrain = {"action": "retrain", "alertname": "MlmonFeatureDriftSustained"}
        _, r1 = await post(s, url, body(alert(fingerprint="q1", **retrain)))
        h.clock.advance(60)
        _, r2 = await post(s, url, body(alert(fingerprint="q2", **retrain)))
        assert [r1["decisions"][0]["result"], r2["decisions"][0]["result"]] == ["queued"] * 2
        assert r2["decisions"][0]["reason"] == "merged into the pending retraining request"
        async with s.get(f"{url}/v1/queue", headers=auth()) as resp:
            queue = await resp.json()
        [pending] = queue["pending"]
        assert pending["model"] == "fraud" and pending["window"] == "00 02 * * *"
        assert pending["scheduled_at"] == "2026-11-27T02:00:00+00:00"  # next 02:00 UTC
        assert [k.split("@")[0] for k in pending["alerts"]] == ["q1", "q2"]
        m = await scrape(s, url)
        assert m[("mlmon_responder_retrain_queue", ())] == 1
        assert await h.app[ENGINE].run_due() == [] and sink.received == []
        # The queue survives a restart and starts once the window comes.
        h.restart()
        h.clock.advance(datetime(2026, 11, 27, 2, tzinfo=UTC).timestamp() - h.clock.now())
        async with serve(h.app) as second:
            [started] = await h.app[ENGINE].run_due()
            assert (started.result, started.fingerprint) == ("ok", "q1,q2")
            m = await scrape(s, second)
            assert m[("mlmon_responder_retrain_queue", ())] == 0
            assert action_count(m, "retrain", "webhook", "ok") == 1
            async with s.get(f"{second}/v1/queue", headers=auth()) as resp:
                assert (await resp.json())["pending"] == []

    _, sink = run(tmp_path, scenario)
    assert [(r.path, r.body) for r in sink.received] == [
        ("/retrain", {"model": "fraud", "reason": "MlmonFeatureDriftSustained"})]


def test_immediate_window_starts_within_the_request(tmp_path: Path) -> None:
    async def scenario(h: Harness, sink: Sink, s: aiohttp.ClientSession,
                       url: str) -> None:
        _, reply = await post(s, url, body(alert(action="retrain")))
        assert [d["result"] for d in reply["decisions"]] == ["queued", "ok"]
        h.clock.advance(10 * 60)  # within the 1 h cooldown of the started run
        _, reply = await post(s, url, body(alert(action="retrain", fingerprint="again")))
        assert [d["result"] for d in reply["decisions"]] == ["skipped_cooldown"]

    _, sink = run(tmp_path, scenario, window="immediate")
    assert [r.path for r in sink.received] == ["/retrain"]


def test_app_uses_a_fresh_registry_each_time(tmp_path: Path) -> None:
    config = load(write_config(tmp_path, models("http://127.0.0.1:9")))
    first = build_app(config, ManualClock(T0), poll=False)
    second = build_app(config, ManualClock(T0), poll=False)
    assert isinstance(first, web.Application) and isinstance(second, web.Application)
    assert first[ENGINE].metrics.registry is not second[ENGINE].metrics.registry
