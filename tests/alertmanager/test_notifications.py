"""Notifications rendered by the real Alertmanager with the mlmon templates.

Alertmanager runs the committed config, rewritten by exporter.demo.alertmanager_config to
send to loopback sinks; the test checks what each integration receives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exporter.demo.alertmanager_config import Loopback, for_loopback
from exporter.rulegen import DASHBOARD_BASE, RUNBOOK_BASE
from tests.alertmanager.amrun import alert, alertmanager, post_alerts
from tests.alertmanager.route_table import CONFIG
from tests.alertmanager.sinks import Mail, Request, http_sink, smtp_sink

FAST = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}
RUNBOOK = RUNBOOK_BASE + "#"
DASHBOARD = DASHBOARD_BASE + "?var-model="


def _by_path(items: list[Any], path: str) -> list[Request]:
    return [r for r in items if r.path == path]


def test_each_integration_gets_its_alerts_with_model_feature_value_and_links(
        tmp_path: Path) -> None:
    alerts = [
        alert("MlmonAccuracyBelowFloor", "critical", "rollback", "fraud", version="3",
              value="74%"),
        alert("MlmonFeatureDriftHigh", "critical", "notify", "risk", version="2",
              feature="income", value="0.41"),
        alert("MlmonFeatureDriftMediumSustained", "warning", "retrain", "churn", version="1",
              feature="tenure", value="0.15"),
        alert("MlmonFeatureDriftTrendingHigh", "info", "notify", "eta", version="7",
              feature="distance", value="0.28"),
    ]
    with http_sink(200) as http, http_sink(202) as pagerduty, smtp_sink() as smtp:
        loopback = Loopback(slack_url=http.url + "/slack", pagerduty_url=pagerduty.url + "/pd",
                            responder_url=http.url + "/v1/alerts",
                            smtp_smarthost=smtp.smarthost, responder_token="s3cret")
        config = for_loopback(CONFIG, tmp_path, loopback, FAST)
        with alertmanager(config, tmp_path) as url:
            post_alerts(url, alerts)
            items = http.received.wait(lambda xs: len(_by_path(xs, "/slack")) >= 3
                                       and len(_by_path(xs, "/v1/alerts")) >= 2)
            pages = pagerduty.received.wait(lambda xs: len(xs) >= 2)
            mails = smtp.received.wait(lambda xs: len(xs) >= 2)

    # Slack: the critical page (risk), the retrain warning (churn) and the info (eta).
    slack = {r.body["attachments"][0]["title"]: r.body for r in _by_path(items, "/slack")}
    assert set(slack) == {
        "[FIRING:1] MlmonFeatureDriftHigh · model risk v2",
        "[FIRING:1] MlmonFeatureDriftMediumSustained · model churn v1",
        "[FIRING:1] MlmonFeatureDriftTrendingHigh · model eta v7",
    }
    churn = slack["[FIRING:1] MlmonFeatureDriftMediumSustained · model churn v1"]
    assert churn["channel"] == "#mlmon-alerts"
    attachment = churn["attachments"][0]
    assert attachment["color"] == "warning"
    text = attachment["text"]
    assert "model churn v1 · feature tenure · value 0.15" in text
    assert f"<{RUNBOOK}mlmonfeaturedriftmediumsustained|Runbook>" in text
    assert f"<{DASHBOARD}churn|Dashboard>" in text
    assert {a["text"]: a["url"] for a in attachment["actions"]} == {
        "Runbook": RUNBOOK + "mlmonfeaturedriftmediumsustained", "Dashboard": DASHBOARD + "churn"}
    risk = slack["[FIRING:1] MlmonFeatureDriftHigh · model risk v2"]
    assert risk["channel"] == "#mlmon-critical"
    assert risk["attachments"][0]["color"] == "danger"
    assert slack["[FIRING:1] MlmonFeatureDriftTrendingHigh · model eta v7"]["channel"] == \
        "#mlmon-info"

    # Responder: the rollback (fraud) and the retrain (churn), with the bearer token.
    hooks = {r.body["groupLabels"]["model"]: r for r in _by_path(items, "/v1/alerts")}
    assert set(hooks) == {"fraud", "churn"}
    for model, action in (("fraud", "rollback"), ("churn", "retrain")):
        assert hooks[model].headers["authorization"] == "Bearer s3cret"
        assert hooks[model].body["version"] == "4"
        assert hooks[model].body["commonLabels"]["action"] == action

    # PagerDuty: both critical alerts, Events API v2, key from the secret file.
    events = {r.body["payload"]["component"]: r.body for r in pages}
    assert set(events) == {"fraud", "risk"}
    for event in events.values():
        assert event["routing_key"] == "test-routing-key"
        assert event["event_action"] == "trigger"
        assert event["payload"]["severity"] == "critical"
    fraud = events["fraud"]
    assert fraud["payload"]["class"] == "rollback"
    assert fraud["payload"]["summary"].startswith("MlmonAccuracyBelowFloor · model fraud: ")
    details = fraud["payload"]["custom_details"]
    assert details["model"] == "fraud" and details["version"] == "3"
    assert "value 74%" in details["alerts"]
    assert {link["text"]: link["href"] for link in fraud["links"]} == {
        "Runbook": RUNBOOK + "mlmonaccuracybelowfloor", "Dashboard": DASHBOARD + "fraud"}
    assert "feature income · value 0.41" in events["risk"]["payload"]["custom_details"]["alerts"]

    # Email: every critical alert to its model's owners.
    by_rcpt: dict[str, Mail] = {m.recipients[0]: m for m in mails}
    assert set(by_rcpt) == {"ml-fraud-owners@example.com", "ml-risk-owners@example.com"}
    message = by_rcpt["ml-risk-owners@example.com"].message
    assert message["Subject"] == "[FIRING:1] MlmonFeatureDriftHigh · model risk v2"
    bodies = "".join(str(part.get_payload(decode=True), part.get_content_charset() or "utf-8")
                     for part in message.walk()
                     if part.get_content_type() in ("text/plain", "text/html"))
    assert "feature income · value 0.41" in bodies
    assert RUNBOOK + "mlmonfeaturedrifthigh" in bodies
