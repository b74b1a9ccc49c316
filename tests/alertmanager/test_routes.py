"""Routing by severity and action (amtool), and inhibition on a real Alertmanager."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from exporter.demo.alertmanager_config import Loopback, for_loopback
from tests.alertmanager.amrun import alert, alertmanager, get_alerts, post_alerts
from tests.alertmanager.route_table import (
    ACTIONS,
    CONFIG,
    SEVERITIES,
    expected_integrations,
    integrations,
)
from tests.procs import require_binary

COMBINATIONS = [(s, a) for s in SEVERITIES for a in ACTIONS]


def _routes(*labels: str) -> list[str]:
    out = subprocess.run([require_binary("amtool"), "config", "routes", "test",
                          f"--config.file={CONFIG}", *labels],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip().split(",")


@pytest.mark.parametrize(("severity", "action"), COMBINATIONS)
def test_every_severity_and_action_reaches_exactly_its_receivers(
        severity: str | None, action: str | None) -> None:
    labels = ["alertname=MlmonTest", "model=fraud"]
    labels += [f"severity={severity}"] if severity else []
    labels += [f"action={action}"] if action else []
    receivers = _routes(*labels)
    assert len(receivers) == len(set(receivers))
    reached = set().union(*(integrations(r) for r in receivers))
    assert reached == expected_integrations(severity, action)


def test_critical_rollback_goes_to_owners_then_rollback() -> None:
    assert _routes("severity=critical", "action=rollback", "model=fraud") == \
        ["email-model-owners", "critical-rollback"]
    assert _routes("severity=warning", "action=rollback", "model=fraud") == ["slack-warning"]


def _loopback() -> Loopback:
    # Nothing listens on port 9: notifications fail, which this test does not look at.
    dead = "http://127.0.0.1:9/"
    return Loopback(dead + "slack", dead + "pagerduty", dead + "responder", "127.0.0.1:9")


def test_critical_inhibits_warning_and_info_of_the_same_model(tmp_path: Path) -> None:
    config = for_loopback(CONFIG, tmp_path, _loopback())
    alerts = [
        alert("MlmonAccuracyBelowFloor", "critical", "rollback", "fraud", version="3"),
        alert("MlmonFeatureDriftMediumSustained", "warning", "retrain", "fraud",
              version="3", feature="amount"),
        alert("MlmonFeatureDriftTrendingHigh", "info", "notify", "fraud", feature="age"),
        alert("MlmonFeatureDriftMediumSustained", "warning", "retrain", "churn",
              version="1", feature="tenure"),
        alert("MlmonFeatureDriftTrendingHigh", "info", "notify", "churn", feature="plan"),
        alert("MlmonFeatureDriftTrendingHigh", "info", "notify", "eta", feature="distance"),
    ]
    with alertmanager(config, tmp_path) as url:
        post_alerts(url, alerts)
        deadline = time.monotonic() + 20
        while True:
            state = {(a["labels"]["model"], a["labels"]["severity"]): a for a in get_alerts(url)}
            if len(state) == 6 and all(a["status"]["state"] != "unprocessed"
                                       for a in state.values()):
                inhibited = {k for k, a in state.items() if a["status"]["inhibitedBy"]}
                if inhibited == {("fraud", "warning"), ("fraud", "info"), ("churn", "info")} \
                        or time.monotonic() > deadline:
                    break
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
    critical = state[("fraud", "critical")]["fingerprint"]
    assert state[("fraud", "warning")]["status"]["inhibitedBy"] == [critical]
    assert state[("fraud", "info")]["status"]["inhibitedBy"] == [critical]
    assert state[("fraud", "warning")]["status"]["state"] == "suppressed"
    assert state[("churn", "info")]["status"]["inhibitedBy"] == \
        [state[("churn", "warning")]["fingerprint"]]
    for key in (("fraud", "critical"), ("churn", "warning"), ("eta", "info")):
        assert state[key]["status"]["state"] == "active", key
        assert state[key]["status"]["inhibitedBy"] == []
