"""Point alertmanager/alertmanager.yml at loopback receivers (tests, `mlmon demo --stack`).

The committed file is plain YAML whose secrets live in files under
``/etc/alertmanager/secrets/``. ``for_loopback`` writes a copy in which every receiver
URL points at a local stand-in (HTTP sinks for Slack and PagerDuty, the real responder,
a local SMTP server), the secret files exist in a directory of the caller's, templates
resolve to the repository's, and optionally every route's timings are replaced.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from exporter.responder.config import DEFAULT_LISTEN

SECRETS_DIR = "/etc/alertmanager/secrets"
# The in-cluster Service of `mlmon respond`, on the responder's default port.
RESPONDER_URL = f"http://mlmon-responder:{DEFAULT_LISTEN.rsplit(':', 1)[1]}/v1/alerts"
TIMING_KEYS = ("group_wait", "group_interval", "repeat_interval")
# Fields that would hold a secret inline; each has a `<field>_file` twin in Alertmanager.
INLINE_SECRETS = frozenset({"api_url", "slack_api_url", "routing_key", "service_key",
                            "auth_password", "smtp_auth_password", "credentials", "password",
                            "bearer_token"})


@dataclass(frozen=True)
class Loopback:
    """Where each integration's traffic goes instead, and the secrets to hand out."""

    slack_url: str  # stands in for the Slack incoming-webhook URL
    pagerduty_url: str  # stands in for https://events.pagerduty.com/v2/enqueue
    responder_url: str  # the mlmon responder's POST /v1/alerts
    smtp_smarthost: str  # host:port of a plain (no TLS) SMTP server
    responder_token: str = "test-responder-token"
    pagerduty_routing_key: str = "test-routing-key"
    smtp_password: str = "test-smtp-password"

    def secrets(self) -> dict[str, str]:
        """Contents of each secret file, by the file name the config uses."""
        return {
            "slack-webhook-url": self.slack_url,
            "pagerduty-routing-key": self.pagerduty_routing_key,
            "smtp-password": self.smtp_password,
            "responder-token": self.responder_token,
        }


class AlertmanagerConfigError(ValueError):
    """The config uses something the loopback rewrite does not know how to redirect."""


def _walk(node: Any, visit: Any) -> None:
    if isinstance(node, dict):
        for key in list(node):
            visit(node, key)
            _walk(node[key], visit)
    elif isinstance(node, list):
        for item in node:
            _walk(item, visit)


def rewrite(config: Mapping[str, Any], loopback: Loopback, secrets_dir: Path,
            config_dir: Path, timings: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A copy of ``config`` sending everything to ``loopback``; secrets under ``secrets_dir``.

    ``config_dir`` is the directory of the original file (relative template paths are
    made absolute against it). ``timings`` (e.g. ``{"group_wait": "1s"}``) replaces those
    keys on the root route and every child route.
    """
    out: dict[str, Any] = copy.deepcopy(dict(config))
    known = loopback.secrets()

    def visit(node: dict[str, Any], key: str) -> None:
        value = node[key]
        if key.endswith("_file") and isinstance(value, str):
            path = Path(value)
            if str(path.parent) != SECRETS_DIR or path.name not in known:
                raise AlertmanagerConfigError(
                    f"{key}: {value}: not a known secret under {SECRETS_DIR} "
                    f"(known: {', '.join(sorted(known))})")
            node[key] = str(secrets_dir / path.name)
        elif key == "webhook_configs":
            for hook in value:
                if hook.get("url") != RESPONDER_URL:
                    raise AlertmanagerConfigError(f"webhook url {hook.get('url')!r} is not "
                                                  f"the responder's ({RESPONDER_URL})")
                hook["url"] = loopback.responder_url
        elif key == "pagerduty_configs":
            for pd in value:
                pd["url"] = loopback.pagerduty_url
        elif key in INLINE_SECRETS:
            raise AlertmanagerConfigError(f"{key}: inline secret; use {key}_file")

    _walk(out, visit)
    glob = out.setdefault("global", {})
    glob["smtp_smarthost"] = loopback.smtp_smarthost
    glob["smtp_require_tls"] = False
    glob["pagerduty_url"] = loopback.pagerduty_url
    out["templates"] = [t if Path(t).is_absolute() else str(config_dir / t)
                        for t in out.get("templates", [])]
    if timings:
        stack = [out["route"]]
        while stack:
            route = stack.pop()
            for key in TIMING_KEYS:
                if key in timings and (key in route or route is out["route"]):
                    route[key] = timings[key]
            stack.extend(route.get("routes", []))
    return out


def write_secrets(loopback: Loopback, secrets_dir: Path) -> None:
    secrets_dir.mkdir(parents=True, exist_ok=True)
    for name, content in loopback.secrets().items():
        path = secrets_dir / name
        path.write_text(content, encoding="utf-8")
        path.chmod(0o600)


def for_loopback(source: Path, directory: Path, loopback: Loopback,
                 timings: Mapping[str, str] | None = None) -> Path:
    """Write ``directory/alertmanager.yml`` and its secrets; return the config's path."""
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    secrets_dir = directory / "secrets"
    write_secrets(loopback, secrets_dir)
    rewritten = rewrite(config, loopback, secrets_dir, source.resolve().parent, timings)
    path = directory / "alertmanager.yml"
    path.write_text(yaml.safe_dump(rewritten, sort_keys=False), encoding="utf-8")
    return path
