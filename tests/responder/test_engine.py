"""The engine's decisions, driven directly: which alert leads to which action, once, within
cooldown and daily cap, dry-run apart, failures forgotten so that the next repeat retries.

Real parts throughout: the ActionHistory, retrain queue and audit log on files under
tmp_path, a ManualClock (retry pauses advance it, nothing sleeps) and an in-test Backend
that records every request it is given and fails as scripted.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path
from typing import Any

from exporter.responder.action_history import ActionHistory
from exporter.responder.audit import AuditLog, AuditRecord
from exporter.responder.backend_protocol import ActionRequest, BackendError
from exporter.responder.clock import ManualClock
from exporter.responder.config import (
    ActionConfig,
    KubernetesRollback,
    ModelActions,
    ResponderConfig,
    RetryPolicy,
    WebhookTarget,
)
from exporter.responder.engine import Engine
from exporter.responder.metrics import ResponderMetrics
from exporter.responder.payload import decode
from exporter.responder.retrain_queue import RetrainQueue
from exporter.responder.schedule import parse
from tests.responder.alerts import T0, alert, body
from tests.responder.service import audit_lines

HOUR = 3600.0
DAY = 24 * HOUR
NOW = T0 + 6 * HOUR  # Thursday 2026-11-26 06:00 UTC
NEXT_2AM = T0 + 26 * HOUR  # Friday 02:00 UTC, the next start of "00 02 * * *"
STARTS = "2026-11-25T23:50:00Z"  # the startsAt of alert() by default
KEY = "f00d@2026-11-25T23:50:00+00:00"  # alert()'s fingerprint@startsAt


class ScriptedBackend:
    """A Backend: records each request, raises the scripted errors in turn, then succeeds."""

    def __init__(self, kind: str, *errors: Exception) -> None:
        self.kind = kind
        self.errors = list(errors)
        self.requests: list[ActionRequest] = []
        self.gate: asyncio.Event | None = None  # when set, each call waits for it

    async def execute(self, request: ActionRequest) -> str:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        if self.errors:
            raise self.errors.pop(0)
        return f"{self.kind} did {request.action} of {request.model}"


def fraud_actions(window: str, cooldown: float, cap: int) -> ModelActions:
    return ModelActions(
        "fraud",
        ActionConfig(KubernetesRollback("prod", "fraud-model"), cooldown, cap),
        ActionConfig(WebhookTarget("http://ci.invalid/retrain"), cooldown, cap, parse(window)))


class Rig:
    """One engine over one state directory; ``restart`` builds a new one on the same files."""

    def __init__(self, tmp_path: Path, *, window: str = "00 02 * * *", cooldown: float = HOUR,
                 cap: int = 2, dry_run: bool = False, rollback_errors: tuple[Exception, ...] = (),
                 retrain_errors: tuple[Exception, ...] = ()) -> None:
        self.config = ResponderConfig(
            tmp_path / "responder.yaml", tmp_path / "token", tmp_path / "state",
            {"fraud": fraud_actions(window, cooldown, cap)},
            retry=RetryPolicy(attempts=3, backoff=2.0, max_backoff=30.0))
        self.clock = ManualClock(NOW)
        self.rollback = ScriptedBackend("kubernetes", *rollback_errors)
        self.retrain = ScriptedBackend("webhook", *retrain_errors)
        self.restart(dry_run)

    def restart(self, dry_run: bool = False, config: ResponderConfig | None = None) -> None:
        self.config = config or self.config
        state = self.config.state_dir
        self.metrics = ResponderMetrics()
        self.metrics.initialise(self.config)
        self.history = ActionHistory(state / "state.json", HOUR)
        self.queue = RetrainQueue(state / "retrain-queue.json")
        self.engine = Engine(self.config, self.clock, self.history, self.queue,
                             AuditLog(state / "audit.jsonl"), self.metrics,
                             {("fraud", "rollback"): self.rollback,
                              ("fraud", "retrain"): self.retrain}, dry_run)

    def send(self, *alerts: dict[str, Any]) -> list[AuditRecord]:
        return asyncio.run(self.engine.handle(decode(body(*alerts))))

    def due(self) -> list[AuditRecord]:
        return asyncio.run(self.engine.run_due())

    def count(self, action: str, backend: str, result: str) -> float | None:
        return self.metrics.registry.get_sample_value(
            "mlmon_responder_actions_total",
            {"action": action, "backend": backend, "result": result})

    def audit(self) -> list[dict[str, Any]]:
        return audit_lines(self.config.state_dir)


def results(records: list[AuditRecord]) -> list[tuple[str, str]]:
    return [(r.result, r.reason) for r in records]


def fired(fingerprint: str, starts_at: str = STARTS, action: str = "rollback",
          **labels: str) -> dict[str, Any]:
    return alert(action=action, fingerprint=fingerprint, starts_at=starts_at, **labels)


def test_resolved_unlabelled_and_unconfigured_alerts_lead_to_no_action(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    records = rig.send(alert(status="resolved"), alert(action="page"), alert(model=""),
                       alert(model="housing"), alert(model="housing", action="retrain"))
    assert results(records) == [
        ("ignored", "alert is resolved"),
        ("ignored", "action label 'page' is not rollback or retrain"),
        ("ignored", "alert has no model label"),
        ("skipped_unconfigured", "no rollback backend configured for model 'housing'"),
        ("skipped_unconfigured", "no retrain backend configured for model 'housing'"),
    ]
    assert [r.decision for r in records] == ["skipped"] * 5
    assert [r.backend for r in records] == ["", "", "", "none", "none"]
    assert rig.rollback.requests == [] and rig.retrain.requests == []
    assert len(rig.queue) == 0 and not rig.history.handled(KEY)
    received = rig.metrics.registry.get_sample_value
    assert received("mlmon_responder_alerts_received_total", {"status": "firing"}) == 4
    assert received("mlmon_responder_alerts_received_total", {"status": "resolved"}) == 1
    assert rig.count("rollback", "none", "skipped_unconfigured") == 1
    assert rig.count("retrain", "none", "skipped_unconfigured") == 1
    assert rig.count("rollback", "kubernetes", "ok") == 0  # ignored alerts count nowhere
    assert [line["result"] for line in rig.audit()] == [r.result for r in records]


def test_a_rollback_runs_once_per_firing_and_is_audited(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    (first,) = rig.send(alert())
    assert (first.result, first.decision, first.reason) == ("ok", "acted", "rolled back")
    assert rig.rollback.requests == [
        ActionRequest("fraud", "3", "MlmonAccuracyBelowFloor", "rollback", "f00d")]
    assert (first.backend, first.detail, first.attempts) == (
        "kubernetes", "kubernetes did rollback of fraud", 1)
    assert (first.fingerprint, first.starts_at, first.ts) == (
        "f00d", "2026-11-25T23:50:00+00:00", NOW)
    assert rig.history.handled(KEY) and rig.history.last("fraud", "rollback", False) == NOW
    # Alertmanager repeats the firing alert: the same key is a duplicate, also after restart.
    rig.clock.advance(4 * HOUR)
    rig.restart()
    assert results(rig.send(alert())) == [
        ("skipped_duplicate", f"alert {KEY} was already handled")]
    assert len(rig.rollback.requests) == 1
    assert rig.count("rollback", "kubernetes", "skipped_duplicate") == 1
    audit = rig.audit()
    assert [line["result"] for line in audit] == ["ok", "skipped_duplicate"]
    assert {k: v for k, v in audit[0].items() if k != "time"} == asdict(first)


def test_cooldown_then_daily_cap_count_real_actions(tmp_path: Path) -> None:
    rig = Rig(tmp_path, cooldown=HOUR, cap=2)
    assert rig.send(fired("a"))[0].result == "ok"
    rig.clock.advance(30 * 60)
    assert results(rig.send(fired("b"))) == [
        ("skipped_cooldown", "last rollback of fraud was 1800s ago; cooldown is 3600s")]
    rig.clock.advance(HOUR)
    # A skipped alert is handled: its repeat stays skipped even now the cooldown is over.
    assert rig.send(fired("b"))[0].result == "skipped_duplicate"
    assert rig.send(fired("c"))[0].result == "ok"
    rig.clock.advance(2 * HOUR)
    assert results(rig.send(fired("d"))) == [
        ("skipped_cap", "2 rollback action(s) for fraud in the last 24h; daily_cap is 2")]
    rig.clock.advance(DAY - 3 * HOUR)  # "a" (at NOW) is now more than a day old
    assert rig.send(fired("e"))[0].result == "ok"
    assert [r.fingerprint for r in rig.rollback.requests] == ["a", "c", "e"]
    assert rig.count("rollback", "kubernetes", "ok") == 3
    assert rig.count("rollback", "kubernetes", "skipped_cooldown") == 1
    assert rig.count("rollback", "kubernetes", "skipped_cap") == 1


def test_dry_run_executes_nothing_and_its_history_never_blocks_real_actions(
        tmp_path: Path) -> None:
    rig = Rig(tmp_path, dry_run=True)
    (dry,) = rig.send(fired("a"))
    assert (dry.result, dry.decision, dry.reason, dry.dry_run) == (
        "dry_run", "dry_run", "dry-run: rollback not executed", True)
    assert results(rig.send(fired("b"))) == [
        ("skipped_cooldown", "last rollback of fraud was 0s ago; cooldown is 3600s")]
    assert rig.rollback.requests == []
    assert rig.history.last("fraud", "rollback", dry_run=True) == NOW
    rig.restart(dry_run=False)
    (real,) = rig.send(fired("c"))
    assert (real.result, real.dry_run) == ("ok", False)  # not cooling down: dry-run is apart
    assert [r.fingerprint for r in rig.rollback.requests] == ["c"]
    # The handled alerts are shared: what dry-run handled is not acted on again.
    assert rig.send(fired("a"))[0].result == "skipped_duplicate"


def test_a_failed_rollback_is_forgotten_so_the_next_repeat_retries(tmp_path: Path) -> None:
    rig = Rig(tmp_path, rollback_errors=(BackendError("503 from the API server"),
                                         RuntimeError("boom"), BackendError("timed out")))
    (failed,) = rig.send(alert())
    assert (failed.result, failed.decision, failed.attempts) == ("failed", "failed", 3)
    assert failed.reason == "backend failed after 3 attempt(s)"
    assert failed.detail == ("attempt 1: 503 from the API server; attempt 2: RuntimeError: "
                             "boom; attempt 3: timed out")
    assert rig.clock.slept == [2.0, 4.0]  # backoff 2s, doubled; none after the last try
    assert failed.ts == NOW + 6.0
    # Neither handled nor cooling down, on disk too.
    rig.restart()
    assert not rig.history.handled(KEY) and rig.history.last("fraud", "rollback", False) is None
    (retried,) = rig.send(alert())
    assert (retried.result, retried.attempts) == ("ok", 1)
    assert len(rig.rollback.requests) == 4
    assert rig.history.handled(KEY)
    assert rig.history.last("fraud", "rollback", False) == NOW + 6.0


def test_a_non_retryable_error_is_not_tried_again(tmp_path: Path) -> None:
    rig = Rig(tmp_path, rollback_errors=(BackendError("403 forbidden", retryable=False),))
    (failed,) = rig.send(alert())
    assert (failed.result, failed.attempts, failed.detail) == (
        "failed", 1, "attempt 1: 403 forbidden")
    assert rig.clock.slept == [] and len(rig.rollback.requests) == 1
    assert rig.count("rollback", "kubernetes", "failed") == 1


def test_concurrent_deliveries_of_one_alert_act_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path)

    async def main() -> list[list[AuditRecord]]:
        rig.rollback.gate = asyncio.Event()
        payload = decode(body(alert()))
        first = asyncio.create_task(rig.engine.handle(payload))
        second = asyncio.create_task(rig.engine.handle(payload))
        while not rig.rollback.requests:
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        rig.rollback.gate.set()
        return [await first, await second]

    first, second = asyncio.run(main())
    assert [r.result for r in first + second] == ["ok", "skipped_duplicate"]
    assert len(rig.rollback.requests) == 1


def test_retraining_waits_for_its_window_and_merges_alerts_meanwhile(tmp_path: Path) -> None:
    rig = Rig(tmp_path, cooldown=HOUR)
    (queued,) = rig.send(fired("a", action="retrain"))
    assert (queued.result, queued.decision, queued.reason, queued.detail) == (
        "queued", "queued", "retraining queued for window '00 02 * * *'",
        "scheduled_at=2026-11-27T02:00:00+00:00")
    rig.clock.advance(HOUR)
    (merged,) = rig.send(fired("b", action="retrain"))
    assert (merged.result, merged.reason, merged.detail) == (
        "queued", "merged into the pending retraining request",
        "scheduled_at=2026-11-27T02:00:00+00:00")
    assert rig.send(fired("b", action="retrain"))[0].result == "skipped_duplicate"
    assert rig.due() == [] and rig.retrain.requests == []
    assert rig.metrics.registry.get_sample_value("mlmon_responder_retrain_queue") == 1
    rig.clock.advance(NEXT_2AM - rig.clock.now())
    rig.restart()  # the queue is on disk
    (started,) = rig.due()
    assert (started.result, started.decision, started.reason, started.fingerprint) == (
        "ok", "acted", "retraining started", "a,b")
    assert rig.retrain.requests == [
        ActionRequest("fraud", "3", "MlmonAccuracyBelowFloor", "retrain", "a,b")]
    assert len(rig.queue) == 0
    assert rig.metrics.registry.get_sample_value("mlmon_responder_retrain_queue") == 0
    assert rig.history.last("fraud", "retrain", False) == NEXT_2AM
    # The cooldown counts from the start of the run, not from the queuing.
    assert results(rig.send(fired("c", action="retrain"))) == [
        ("skipped_cooldown", "last retrain of fraud was 0s ago; cooldown is 3600s")]
    assert rig.count("retrain", "webhook", "queued") == 0  # counters restarted with the rig
    assert rig.count("retrain", "webhook", "ok") == 1
    assert [line["result"] for line in rig.audit()] == [
        "queued", "queued", "skipped_duplicate", "ok", "skipped_cooldown"]


def test_an_immediate_window_starts_within_the_same_webhook(tmp_path: Path) -> None:
    rig = Rig(tmp_path, window="immediate")
    assert [r.result for r in rig.send(fired("a", action="retrain"))] == ["queued", "ok"]
    assert [r.fingerprint for r in rig.retrain.requests] == ["a"]
    assert len(rig.queue) == 0


def test_a_failed_retraining_is_forgotten_and_the_next_alert_queues_again(
        tmp_path: Path) -> None:
    rig = Rig(tmp_path, window="immediate",
              retrain_errors=(BackendError("502"), BackendError("502"), BackendError("502")))
    records = rig.send(fired("a", action="retrain"))
    assert [(r.result, r.attempts) for r in records] == [("queued", 0), ("failed", 3)]
    assert records[1].reason == "backend failed after 3 attempt(s)"
    assert len(rig.queue) == 0 and rig.history.last("fraud", "retrain", False) is None
    assert [r.result for r in rig.send(fired("b", action="retrain"))] == ["queued", "ok"]
    assert [r.fingerprint for r in rig.retrain.requests] == ["a", "a", "a", "b"]


def test_dry_run_retraining_is_queued_and_started_without_running(tmp_path: Path) -> None:
    rig = Rig(tmp_path, window="immediate", dry_run=True)
    records = rig.send(fired("a", action="retrain"))
    assert [(r.result, r.reason, r.dry_run) for r in records] == [
        ("queued", "retraining queued for window 'immediate'", True),
        ("dry_run", "dry-run: retraining not started", True)]
    assert rig.retrain.requests == []
    assert rig.history.last("fraud", "retrain", dry_run=True) == NOW
    assert rig.history.last("fraud", "retrain", dry_run=False) is None


def test_a_model_no_longer_configured_at_its_window_is_skipped(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    assert rig.send(fired("a", action="retrain"))[0].result == "queued"
    other = ResponderConfig(rig.config.path, rig.config.token_file, rig.config.state_dir,
                            {"housing": ModelActions("housing",
                                                     rig.config.models["fraud"].rollback)})
    rig.clock.advance(NEXT_2AM - NOW)
    rig.restart(config=other)
    (skipped,) = rig.due()
    assert (skipped.result, skipped.reason, skipped.backend, skipped.model) == (
        "skipped_unconfigured", "model no longer configured", "none", "fraud")
    assert len(rig.queue) == 0 and rig.retrain.requests == []
