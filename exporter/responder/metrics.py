"""The responder's own metrics, in a registry of its own (never the global one)."""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from exporter import __version__
from exporter.metric_names import BY_NAME
from exporter.responder.config import ACTIONS, ResponderConfig

RESULTS: tuple[str, ...] = ("ok", "failed", "skipped_cooldown", "skipped_cap",
                            "skipped_duplicate", "skipped_unconfigured", "dry_run", "queued")
STATUSES: tuple[str, ...] = ("firing", "resolved")


class ResponderMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        spec = BY_NAME["mlmon_responder_actions_total"]
        self.actions = Counter(spec.family, spec.help, spec.labels, registry=self.registry)
        spec = BY_NAME["mlmon_responder_alerts_received_total"]
        self.received = Counter(spec.family, spec.help, spec.labels, registry=self.registry)
        spec = BY_NAME["mlmon_responder_retrain_queue"]
        self.queue = Gauge(spec.name, spec.help, spec.labels, registry=self.registry)
        spec = BY_NAME["mlmon_build_info"]
        Gauge(spec.name, spec.help, spec.labels, registry=self.registry).labels(
            __version__, platform.python_version()).set(1)

    def initialise(self, config: ResponderConfig) -> None:
        """Every series that can move starts at 0, so rate() and absent() behave."""
        for status in STATUSES:
            self.received.labels(status)
        for model in config.models.values():
            for action in ACTIONS:
                cfg = model.action(action)
                if cfg is None:
                    continue
                for result in RESULTS:
                    self.actions.labels(action, cfg.backend.kind, result)

    def render(self) -> bytes:
        return generate_latest(self.registry)
