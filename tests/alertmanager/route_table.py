"""The committed Alertmanager config, and the route table it must implement."""

from __future__ import annotations

import functools
from typing import Any

import yaml

from tests.paths import ROOT

AM_DIR = ROOT / "alertmanager"
CONFIG = AM_DIR / "alertmanager.yml"

# The route table: which integrations an alert reaches, by severity and action.
# `email` is the model owners' list, which gets every critical alert.
SEVERITIES = ("critical", "warning", "info", None)
ACTIONS = ("rollback", "retrain", "notify", None)


def expected_integrations(severity: str | None, action: str | None) -> set[str]:
    if severity == "critical" and action == "rollback":
        return {"pagerduty", "responder", "email"}
    if severity == "critical":
        return {"pagerduty", "slack", "email"}
    if severity == "warning" and action == "retrain":
        return {"slack", "responder"}
    return {"slack"}  # warning, info, and anything unlabelled


@functools.cache
def config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return loaded


def integrations(receiver: str) -> set[str]:
    """What a receiver sends to: slack, pagerduty, email, responder (webhook)."""
    (spec,) = [r for r in config()["receivers"] if r["name"] == receiver]
    kinds = {"slack_configs": "slack", "pagerduty_configs": "pagerduty",
             "email_configs": "email", "webhook_configs": "responder"}
    return {kinds[k] for k in spec if k != "name"}
