"""alertmanager/alertmanager.yml: amtool accepts it; secrets, templates and SLAs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from exporter.demo.alertmanager_config import INLINE_SECRETS, RESPONDER_URL, SECRETS_DIR
from tests.alertmanager.route_table import AM_DIR, CONFIG, config, integrations
from tests.procs import require_binary

# Response-time SLAs per route (docs/alerting.md): group_wait, group_interval, repeat_interval.
SLA = {
    "email-model-owners": ("30s", "5m", "4h"),
    "critical-rollback": ("10s", "1m", "1h"),
    "critical-page": ("30s", "5m", "1h"),
    "warning-retrain": ("5m", "30m", "12h"),
    "slack-warning": ("2m", "15m", "4h"),
    "slack-info": ("10m", "1h", "24h"),
}


def _walk(node: Any, path: str = "") -> list[tuple[str, str, Any]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((path, key, value))
            found.extend(_walk(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(_walk(item, f"{path}[{i}]"))
    return found


def test_amtool_check_config() -> None:
    out = subprocess.run([require_binary("amtool"), "check-config", str(CONFIG)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout
    assert " - 6 receivers" in out.stdout and " - 2 inhibit rules" in out.stdout
    assert " - 1 templates" in out.stdout


def test_amtool_rejects_a_broken_copy(tmp_path: Path) -> None:
    """check-config is a real check: an unknown field (a typo of a *_file key) fails it."""
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(CONFIG.read_text(encoding="utf-8").replace(
        "routing_key_file:", "routing_key_fil:", 1), encoding="utf-8")
    out = subprocess.run([require_binary("amtool"), "check-config", str(broken)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "routing_key_fil" in out.stdout + out.stderr


def test_secrets_come_only_from_files() -> None:
    entries = _walk(config())
    inline = [(p, k) for p, k, _ in entries if k in INLINE_SECRETS]
    assert inline == []
    files = {(k, v) for _, k, v in entries if k.endswith("_file")}
    assert {k for k, _ in files} == {"smtp_auth_password_file", "slack_api_url_file",
                                     "routing_key_file", "credentials_file"}
    assert all(str(Path(v).parent) == SECRETS_DIR for _, v in files)


def test_receivers_send_where_the_route_table_says() -> None:
    assert integrations("critical-rollback") == {"pagerduty", "responder"}
    assert integrations("critical-page") == {"pagerduty", "slack"}
    assert integrations("warning-retrain") == {"slack", "responder"}
    assert integrations("slack-warning") == {"slack"}
    assert integrations("slack-info") == {"slack"}
    assert integrations("email-model-owners") == {"email"}
    for receiver in config()["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            assert hook["url"] == RESPONDER_URL
            assert hook["http_config"]["authorization"]["type"] == "Bearer"
        for pd in receiver.get("pagerduty_configs", []):
            assert pd["severity"] == "critical"  # PagerDuty: high urgency
            assert {link["text"] for link in pd["links"]} == {"Runbook", "Dashboard"}


def test_grouping_and_inhibition() -> None:
    assert config()["route"]["group_by"] == ["model", "alertname"]
    rules = config()["inhibit_rules"]
    assert all(rule["equal"] == ["model"] for rule in rules)
    assert {(tuple(r["source_matchers"]), tuple(r["target_matchers"])) for r in rules} == {
        (('severity="critical"',), ('severity=~"warning|info"',)),
        (('severity="warning"',), ('severity="info"',)),
    }


def test_route_timings_encode_the_slas() -> None:
    routes = {r["receiver"]: r for r in config()["route"]["routes"]}
    assert set(routes) == set(SLA)
    for receiver, (wait, interval, repeat) in SLA.items():
        route = routes[receiver]
        assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == \
            (wait, interval, repeat), receiver


def test_every_template_used_is_defined_and_every_defined_one_used() -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in (AM_DIR / "templates").glob("*.tmpl"))
    defined = set(re.findall(r'{{-?\s*define "([^"]+)"', text))
    used_in_config = set(re.findall(r'template "([^"]+)"', CONFIG.read_text(encoding="utf-8")))
    used_in_templates = set(re.findall(r'template "([^"]+)"', text))
    assert used_in_config <= defined
    assert defined <= used_in_config | used_in_templates
    for field in ("Labels.model", "Labels.feature", "Annotations.value",
                  "Annotations.runbook_url", "Annotations.dashboard_url"):
        assert field in text, field
