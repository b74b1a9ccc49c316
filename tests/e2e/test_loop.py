"""The whole loop with the real programs: tap traffic -> sidecar -> Prometheus (rules/) ->
Alertmanager (alertmanager/alertmanager.yml) -> Slack, PagerDuty, email and the responder,
which rolls the model's Deployment back on a fake Kubernetes API server.

Normal traffic first (nothing may fire), then the drifted rows of the fraud example
(amount and country drift high, accuracy falls below the floor), then normal again
(everything resolves). Rules run with every `for` scaled by
exporter.demo.stack_config.FOR_SCALE; Alertmanager notifies after 1 s and repeats every
3 s, so the responder sees the rollback alert several times and must act once.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exporter.demo import stack_config
from exporter.demo.alertmanager_config import Loopback
from exporter.demo.receivers import HttpReceiver, Mail, Request, SmtpReceiver
from exporter.demo.sidecar import sidecar_argv
from tests.e2e.loop_support import MODEL, VERSION, Traffic, serve_in_thread, sidecar_config
from tests.procs import free_port, require_binary, running
from tests.responder.fake_k8s import FakeKubernetes
from tests.responder.k8s_objects import deployment, replicaset

pytestmark = pytest.mark.e2e

TOKEN = "loop-responder-token"
SA_TOKEN = "loop-service-account-token"
DRIFT_HIGH, ACCURACY = "MlmonFeatureDriftHigh", "MlmonAccuracyBelowFloor"
DRIFTED = {"amount", "country"}  # what current.csv drifts (exporter/data/examples/README.md)
PREDICTION = "__prediction__"  # the score follows amount, so it drifts too (PSI 0.40)
NORMAL_SECONDS = 20.0  # longer than every scaled `for` of the sidecar alerts but 15 s ones


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = _get(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _wait(what: str, predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what}")


def _audit(state: Path) -> list[dict[str, Any]]:
    path = state / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _firing(prometheus: str) -> list[dict[str, str]]:
    return [a["labels"] for a in _get(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
            if a["state"] == "firing"]


def _slack_titles(requests: list[Request]) -> list[str]:
    return [r.body["attachments"][0]["title"] for r in requests]


def _pd(requests: list[Request], action: str) -> set[str]:
    """PagerDuty events of ``event_action``, as the alert name their summary starts with."""
    return {r.body["payload"]["summary"].split(" ")[0] for r in requests
            if r.body["event_action"] == action}


def _mail_subjects(mails: list[Mail]) -> list[str]:
    return [str(m.message["Subject"]) for m in mails]


def test_drift_and_falling_accuracy_page_notify_and_roll_back_once(tmp_path: Path) -> None:
    prometheus_bin = require_binary("prometheus")
    alertmanager_bin = require_binary("prometheus-alertmanager")
    sidecar_port, prom_port, am_port, resp_port = (free_port() for _ in range(4))
    sidecar = f"http://127.0.0.1:{sidecar_port}"
    prometheus = f"http://127.0.0.1:{prom_port}"
    alertmanager = f"http://127.0.0.1:{am_port}"
    responder = f"http://127.0.0.1:{resp_port}"
    history = [replicaset(1, "fraud:v1"), replicaset(2, "fraud:v2"), replicaset(3, "fraud:v3")]
    fake = FakeKubernetes(SA_TOKEN, deployment("fraud:v3", 3), history)

    with serve_in_thread(fake.app()) as k8s_url, HttpReceiver("slack") as slack, \
            HttpReceiver("pagerduty", status=202) as pagerduty, SmtpReceiver() as smtp:
        resp_dir = tmp_path / "responder"
        resp_dir.mkdir()
        (resp_dir / "sa-token").write_text(SA_TOKEN + "\n")
        resp_config = stack_config.write_responder(resp_dir, TOKEN, {MODEL: {"rollback": {
            "backend": "kubernetes", "namespace": "prod", "deployment": "fraud-model",
            "api_url": k8s_url, "token_file": "sa-token"}}})
        am_config = stack_config.write_alertmanager(tmp_path / "am", Loopback(
            slack_url=slack.url + "/slack", pagerduty_url=pagerduty.url + "/v2/enqueue",
            responder_url=f"{responder}/v1/alerts", smtp_smarthost=smtp.smarthost,
            responder_token=TOKEN))
        rules = stack_config.write_rules(tmp_path / "rules.yml")
        prom_config = stack_config.write_prometheus(
            tmp_path / "prometheus.yml", rules, f"127.0.0.1:{sidecar_port}",
            f"127.0.0.1:{am_port}")
        serve = sidecar_argv(sidecar_config(tmp_path / "mlmon.yaml"),
                             tmp_path / "mlmon.sock", f"127.0.0.1:{sidecar_port}")
        with running(stack_config.responder_argv(resp_config, f"127.0.0.1:{resp_port}"),
                     tmp_path / "responder.log", f"{responder}/healthz", timeout=60), \
                running(stack_config.alertmanager_argv(alertmanager_bin, am_config,
                                                       tmp_path / "am-data",
                                                       f"127.0.0.1:{am_port}"),
                        tmp_path / "alertmanager.log", f"{alertmanager}/-/ready", 60), \
                running(serve, tmp_path / "sidecar.log", f"{sidecar}/readyz", 60,
                        env={**os.environ, "MLMON_COMPUTE_INTERVAL": "1s"}), \
                running(stack_config.prometheus_argv(prometheus_bin, prom_config,
                                                     tmp_path / "tsdb", f"127.0.0.1:{prom_port}"),
                        tmp_path / "prometheus.log", f"{prometheus}/-/ready", 60), \
                Traffic(sidecar) as traffic:
            _run_loop(traffic, prometheus, alertmanager, slack, pagerduty, smtp,
                      resp_dir / "state", fake)


def _run_loop(traffic: Traffic, prometheus: str, alertmanager: str, slack: HttpReceiver,
              pagerduty: HttpReceiver, smtp: SmtpReceiver, state: Path,
              fake: FakeKubernetes) -> None:
    # --- normal traffic: the model is watched (accuracy known) and nothing fires --------
    _wait("accuracy over min_samples pairs in Prometheus", lambda: bool(_query(
        prometheus, 'model_version:mlmon_accuracy_ratio:fleet_avg{model="fraud"}')), 30)
    time.sleep(NORMAL_SECONDS)
    accuracy = float(_query(prometheus, "model_version:mlmon_accuracy_ratio:fleet_avg")[0]
                     ["value"][1])
    assert accuracy > 0.9
    assert _firing(prometheus) == []
    assert (slack.received.snapshot(), pagerduty.received.snapshot(),
            smtp.received.snapshot(), _audit(state)) == ([], [], [], [])

    # --- drift: the rollback alert reaches the responder, which acts once ---------------
    traffic.drifted = True
    _wait("a rollback in the audit log", lambda: any(
        r["decision"] == "acted" for r in _audit(state)), 60)
    # Alertmanager repeats the rollback notification every 3 s while it fires.
    _wait("two repeats of the rollback alert", lambda: sum(
        r["status"] == "firing" for r in _audit(state)) >= 3, 30)
    _wait("Slack, PagerDuty and email for both alerts", lambda: (
        any(DRIFT_HIGH in t for t in _slack_titles(slack.received.snapshot()))
        and _pd(pagerduty.received.snapshot(), "trigger") == {DRIFT_HIGH, ACCURACY}
        and {s.split(" ")[1] for s in _mail_subjects(smtp.received.snapshot())}
        == {DRIFT_HIGH, ACCURACY}), 30)
    firing = _firing(prometheus)
    acted = next(r for r in _audit(state) if r["decision"] == "acted")
    assert traffic.drift_started is not None
    print(f"\ndrift onset to rollback: {acted['ts'] - traffic.drift_started:.1f} s")

    # --- normal again: everything resolves ---------------------------------------------
    traffic.drifted = False
    _wait("no alert firing in Prometheus", lambda: _firing(prometheus) == [], 60)
    _wait("resolved notifications", lambda: (
        _pd(pagerduty.received.snapshot(), "resolve") == {DRIFT_HIGH, ACCURACY}
        and any(t.startswith("[RESOLVED]") and DRIFT_HIGH in t
                for t in _slack_titles(slack.received.snapshot()))
        and any(r["status"] == "resolved" for r in _audit(state))), 30)
    _wait("Alertmanager holds no active alert",
          lambda: _get(f"{alertmanager}/api/v2/alerts") == [], 30)
    assert traffic.errors == []

    # The right alerts, with the right labels, and nothing else ever fired.
    drift = {a["feature"]: a for a in firing if a["alertname"] == DRIFT_HIGH}
    assert DRIFTED <= set(drift) <= DRIFTED | {PREDICTION}
    for labels in drift.values():
        assert (labels["severity"], labels["action"], labels["model"], labels["version"]) \
            == ("critical", "notify", MODEL, VERSION)
    (acc,) = [a for a in firing if a["alertname"] == ACCURACY]
    assert (acc["severity"], acc["action"], acc["model"], acc["version"]) == \
        ("critical", "rollback", MODEL, VERSION)
    ever = _query(prometheus, 'count by (alertname, feature) '
                              '(max_over_time(ALERTS{alertstate="firing"}[10m]))')
    assert {(s["metric"]["alertname"], s["metric"].get("feature", "")) for s in ever} == \
        {(DRIFT_HIGH, f) for f in drift} | {(ACCURACY, "")}

    # Each receiver got what the route table says, and nothing else.
    slack_items = slack.received.snapshot()
    assert {r.path for r in slack_items} == {"/slack"}
    assert {r.body["channel"] for r in slack_items} == {"#mlmon-critical"}
    assert all(DRIFT_HIGH in t for t in _slack_titles(slack_items))  # not the rollback
    pages = pagerduty.received.snapshot()
    assert {r.body["payload"]["class"] for r in pages if r.body["event_action"] == "trigger"} \
        == {"rollback", DRIFT_HIGH}
    assert {r.body["routing_key"] for r in pages} == {"test-routing-key"}
    mails = smtp.received.snapshot()
    assert {m.recipients for m in mails} == {("ml-fraud-owners@example.com",)}
    audit = _audit(state)
    assert {r["alertname"] for r in audit} == {ACCURACY}  # drift (notify) never reaches it

    # The rollback happened once, on the API server, whatever Alertmanager repeated.
    firing_audit = [r for r in audit if r["status"] == "firing"]
    assert [r["decision"] for r in firing_audit[:1]] == ["acted"]
    assert {r["result"] for r in firing_audit[1:]} == {"skipped_duplicate"}
    assert len(fake.patches) == 1
    print(f"drift alerts on {sorted(drift)}; notifications: slack {len(slack_items)}, "
          f"pagerduty {len(pages)}, email {len(mails)}, responder {len(audit)} "
          f"({len(firing_audit)} firing)")
    ctype, patch = fake.patches[0]
    assert ctype == "application/json-patch+json"
    template = next(op["value"] for op in patch if op["path"] == "/spec/template")
    assert template["spec"]["containers"][0]["image"] == "fraud:v2"
