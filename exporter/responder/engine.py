"""Decisions: which alert leads to which action, once, within cooldown and daily cap."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

from exporter.responder.action_history import ActionHistory, When
from exporter.responder.audit import AuditLog, AuditRecord
from exporter.responder.backend_protocol import ActionRequest, Backend, run_with_retries
from exporter.responder.clock import Clock
from exporter.responder.config import ACTIONS, Action, ActionConfig, ActionKey, ResponderConfig
from exporter.responder.metrics import ResponderMetrics
from exporter.responder.payload import Alert, WebhookPayload
from exporter.responder.redact import responder_logger
from exporter.responder.retrain_queue import RetrainQueue, RetrainRequest

log = responder_logger()

_DECISION = {"ok": "acted", "failed": "failed", "dry_run": "dry_run", "queued": "queued"}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


class Engine:
    def __init__(self, config: ResponderConfig, clock: Clock, history: ActionHistory,
                 queue: RetrainQueue, audit: AuditLog, metrics: ResponderMetrics,
                 backends: Mapping[ActionKey, Backend], dry_run: bool) -> None:
        self.config = config
        self.clock = clock
        self.history = history
        self.queue = queue
        self.audit = audit
        self.metrics = metrics
        self.backends = backends
        self.dry_run = dry_run
        self._locks: dict[ActionKey, asyncio.Lock] = {}
        metrics.queue.set(len(queue))

    def _lock(self, model: str, action: str) -> asyncio.Lock:
        return self._locks.setdefault((model, action), asyncio.Lock())

    def _emit(self, alert: Alert | None, model: str, action: str, backend: str, result: str,
              reason: str, detail: str = "", attempts: int = 0) -> AuditRecord:
        labels = alert.labels if alert is not None else {}
        record = AuditRecord(
            ts=self.clock.now(), decision=_DECISION.get(result, "skipped"), result=result,
            reason=reason, model=model, action=action, backend=backend,
            alertname=labels.get("alertname", ""),
            fingerprint=alert.fingerprint if alert is not None else "",
            starts_at=alert.starts_at.isoformat() if alert is not None else "",
            status=alert.status if alert is not None else "", detail=detail,
            attempts=attempts, dry_run=self.dry_run)
        self._log(record)
        if result != "ignored":
            self.metrics.actions.labels(action, backend, result).inc()
        return record

    def _log(self, record: AuditRecord) -> None:
        self.audit.write(record)
        level = logging.WARNING if record.result == "failed" else logging.INFO
        log.log(level, "%s %s model=%s alert=%s fingerprint=%s: %s %s", record.result,
                record.action or "-", record.model or "-", record.alertname or "-",
                record.fingerprint or "-", record.reason, record.detail)

    async def handle(self, payload: WebhookPayload) -> list[AuditRecord]:
        records = []
        for alert in payload.alerts:
            records.append(await self.handle_alert(alert))
        if any(r.result == "queued" for r in records):
            records.extend(await self.run_due())  # immediate windows start now
        return records

    async def handle_alert(self, alert: Alert) -> AuditRecord:
        self.metrics.received.labels(alert.status).inc()
        action = alert.labels.get("action", "")
        model = alert.labels.get("model", "")
        if alert.status != "firing":
            return self._emit(alert, model, action, "", "ignored", "alert is resolved")
        if action not in ACTIONS:
            return self._emit(alert, model, action, "", "ignored",
                              f"action label {action!r} is not rollback or retrain")
        if not model:
            return self._emit(alert, model, action, "", "ignored", "alert has no model label")
        act: Action = "rollback" if action == "rollback" else "retrain"
        models = self.config.models
        cfg = models[model].action(act) if model in models else None
        if cfg is None:
            return self._emit(alert, model, act, "none", "skipped_unconfigured",
                              f"no {act} backend configured for model {model!r}")
        async with self._lock(model, act):
            return await self._decide(alert, model, act, cfg)

    async def _decide(self, alert: Alert, model: str, action: Action,
                      cfg: ActionConfig) -> AuditRecord:
        kind = cfg.backend.kind
        now = self.clock.now()
        when: When = ("now" if action == "rollback"
                      else "pending" if model in self.queue else "window")
        skip = self.history.admit(alert.key, model, action, now, cooldown=cfg.cooldown,
                                  daily_cap=cfg.daily_cap, dry_run=self.dry_run, when=when)
        if skip is not None:
            return self._emit(alert, model, action, kind, skip.result, skip.reason)
        if when == "pending":
            merged = self.queue.merge(model, alert.key)
            assert merged is not None  # the model has a pending request
            return self._emit(alert, model, action, kind, "queued",
                              "merged into the pending retraining request",
                              f"scheduled_at={iso(merged.scheduled_at)}")
        if when == "window":
            return self._enqueue(alert, model, cfg, now)
        return await self._rollback(alert, model, cfg, now)

    def _enqueue(self, alert: Alert, model: str, cfg: ActionConfig, now: float) -> AuditRecord:
        assert cfg.window is not None  # the loader always sets one for retraining
        at = cfg.window.next_start(now)
        self.queue.add(RetrainRequest(model, alert.labels.get("version", ""),
                                      alert.labels.get("alertname", ""), now, at,
                                      cfg.window.text, (alert.key,)))
        self.metrics.queue.set(len(self.queue))
        return self._emit(alert, model, "retrain", cfg.backend.kind, "queued",
                          f"retraining queued for window {cfg.window.text!r}",
                          f"scheduled_at={iso(at)}")

    async def _rollback(self, alert: Alert, model: str, cfg: ActionConfig,
                        started: float) -> AuditRecord:
        """Run an admitted rollback (already recorded at ``started`` by ``admit``)."""
        kind = cfg.backend.kind
        request = ActionRequest(model, alert.labels.get("version", ""),
                                alert.labels.get("alertname", ""), "rollback",
                                alert.fingerprint)
        if self.dry_run:
            self.history.mark_handled(alert.key, started)
            return self._emit(alert, model, "rollback", kind, "dry_run",
                              "dry-run: rollback not executed")
        outcome = await run_with_retries(self.backends[(model, "rollback")], request,
                                         self.config.retry, self.clock)
        if not outcome.ok:
            # Neither handled nor cooling down: Alertmanager's next repeat tries again.
            self.history.forget(model, "rollback", started, dry_run=False)
            return self._emit(alert, model, "rollback", kind, "failed",
                              f"backend failed after {outcome.attempts} attempt(s)",
                              outcome.detail, outcome.attempts)
        self.history.mark_handled(alert.key, self.clock.now())
        return self._emit(alert, model, "rollback", kind, "ok", "rolled back", outcome.detail,
                          outcome.attempts)

    async def run_due(self) -> list[AuditRecord]:
        """Start every queued retraining whose window has come."""
        records = []
        for request in self.queue.due(self.clock.now()):
            async with self._lock(request.model, "retrain"):
                records.append(await self._start(request))
        return records

    async def _start(self, request: RetrainRequest) -> AuditRecord:
        model = self.config.models.get(request.model)
        cfg = model.retrain if model is not None else None
        kind = cfg.backend.kind if cfg is not None else "none"
        fingerprints = ",".join(k.split("@", 1)[0] for k in request.alerts)
        base = AuditRecord(ts=self.clock.now(), decision="", result="", reason="",
                           model=request.model, action="retrain", backend=kind,
                           alertname=request.alertname, fingerprint=fingerprints,
                           status="firing", dry_run=self.dry_run)
        if cfg is None:
            result, reason, detail, attempts = ("skipped_unconfigured",
                                                "model no longer configured", "", 0)
        elif self.dry_run:
            self.history.record(request.model, "retrain", self.clock.now(), dry_run=True)
            result, reason, detail, attempts = "dry_run", "dry-run: retraining not started", "", 0
        else:
            action = ActionRequest(request.model, request.version, request.alertname,
                                   "retrain", fingerprints)
            started = self.clock.now()
            self.history.record(request.model, "retrain", started, dry_run=False)
            outcome = await run_with_retries(self.backends[(request.model, "retrain")],
                                             action, self.config.retry, self.clock)
            if not outcome.ok:
                self.history.forget(request.model, "retrain", started, dry_run=False)
            result = "ok" if outcome.ok else "failed"
            reason = ("retraining started" if outcome.ok
                      else f"backend failed after {outcome.attempts} attempt(s)")
            detail, attempts = outcome.detail, outcome.attempts
        self.queue.remove(request.model)
        self.metrics.queue.set(len(self.queue))
        record = replace(base, ts=self.clock.now(), decision=_DECISION.get(result, "skipped"),
                         result=result, reason=reason, detail=detail, attempts=attempts)
        self._log(record)
        self.metrics.actions.labels("retrain", kind, result).inc()
        return record
