"""The loopback rewrite of alertmanager/alertmanager.yml used by tests and the demo."""

from __future__ import annotations

import copy
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.demo.alertmanager_config import (
    AlertmanagerConfigError,
    Loopback,
    for_loopback,
    rewrite,
)
from tests.paths import ROOT
from tests.procs import require_binary

CONFIG = ROOT / "alertmanager" / "alertmanager.yml"
LOOPBACK = Loopback(slack_url="http://127.0.0.1:1001/slack",
                    pagerduty_url="http://127.0.0.1:1002/pd",
                    responder_url="http://127.0.0.1:1003/v1/alerts",
                    smtp_smarthost="127.0.0.1:1004", responder_token="tok")


def _original() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return loaded


def test_rewrite_points_every_integration_at_loopback(tmp_path: Path) -> None:
    original = _original()
    before = copy.deepcopy(original)
    out = rewrite(original, LOOPBACK, tmp_path, CONFIG.parent)
    assert original == before  # the input is left alone
    g = out["global"]
    assert g["smtp_smarthost"] == "127.0.0.1:1004" and g["smtp_require_tls"] is False
    assert g["slack_api_url_file"] == str(tmp_path / "slack-webhook-url")
    assert g["smtp_auth_password_file"] == str(tmp_path / "smtp-password")
    hooks = [h for r in out["receivers"] for h in r.get("webhook_configs", [])]
    pds = [p for r in out["receivers"] for p in r.get("pagerduty_configs", [])]
    assert len(hooks) == 2 and len(pds) == 2
    for hook in hooks:
        assert hook["url"] == "http://127.0.0.1:1003/v1/alerts"
        assert hook["http_config"]["authorization"]["credentials_file"] == \
            str(tmp_path / "responder-token")
    for pd in pds:
        assert pd["url"] == "http://127.0.0.1:1002/pd"
        assert pd["routing_key_file"] == str(tmp_path / "pagerduty-routing-key")
    (template,) = out["templates"]
    assert template == str(CONFIG.parent / "templates" / "*.tmpl")
    assert out["route"] == original["route"]  # no timings asked: routes untouched


def test_timings_replace_every_route(tmp_path: Path) -> None:
    out = rewrite(_original(), LOOPBACK, tmp_path, CONFIG.parent,
                  {"group_wait": "1s", "repeat_interval": "1h"})
    routes = [out["route"], *out["route"]["routes"]]
    assert all(r["group_wait"] == "1s" and r["repeat_interval"] == "1h" for r in routes)
    assert out["route"]["routes"][1]["group_interval"] == "1m"  # not asked: kept


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["global"].update(slack_api_url_file="/etc/alertmanager/secrets/other"),
     "not a known secret"),
    (lambda c: c["global"].update(slack_api_url_file="/tmp/slack-webhook-url"),
     "not a known secret"),
    (lambda c: c["global"].update(slack_api_url="https://hooks.slack.com/x"), "inline secret"),
    (lambda c: c["receivers"][0]["webhook_configs"][0].update(url="http://elsewhere/"),
     "not the responder's"),
])
def test_rewrite_refuses_what_it_cannot_redirect(tmp_path: Path, change: Any,
                                                 message: str) -> None:
    config = _original()
    change(config)
    with pytest.raises(AlertmanagerConfigError, match=message):
        rewrite(config, LOOPBACK, tmp_path, CONFIG.parent)


def test_for_loopback_writes_a_config_amtool_accepts(tmp_path: Path) -> None:
    path = for_loopback(CONFIG, tmp_path / "am", LOOPBACK)
    secrets = tmp_path / "am" / "secrets"
    assert (secrets / "slack-webhook-url").read_text() == "http://127.0.0.1:1001/slack"
    assert (secrets / "responder-token").read_text() == "tok"
    assert (secrets / "pagerduty-routing-key").read_text() == "test-routing-key"
    assert stat.S_IMODE((secrets / "smtp-password").stat().st_mode) == 0o600
    out = subprocess.run([require_binary("amtool"), "check-config", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert " - 1 templates" in out.stdout
