"""The whole loop with the real programs: tap traffic -> sidecar -> Prometheus (rules/) ->
Alertmanager (alertmanager/alertmanager.yml) -> Slack, PagerDuty, email and the responder,
which rolls the model's Deployment back on a fake Kubernetes API server.

Normal traffic first (nothing may fire, and the chance that something does by chance is
computed, see the test's docstring), then the drifted rows of the fraud example
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
from tests.e2e.loop_support import (
    MODEL,
    PSI_HIGH,
    VERSION,
    Traffic,
    false_alarm_bound,
    serve_in_thread,
    sidecar_config,
)
from tests.procs import require_binary, serving
from tests.responder.fake_k8s import FakeKubernetes
from tests.responder.k8s_objects import deployment, replicaset

pytestmark = pytest.mark.e2e

TOKEN = "loop-responder-token"
SA_TOKEN = "loop-service-account-token"
DRIFT_HIGH, ACCURACY = "MlmonFeatureDriftHigh", "MlmonAccuracyBelowFloor"
# Page-Hinkley on the error stream detects the accuracy drop; its rule counts detections
# over the last hour, a range FOR_SCALE does not scale, so it stays firing after the drift.
ERROR_SHIFT = "MlmonErrorRateShift"
# Warnings the drift may or may not raise before it ends (the CBPE estimate of accuracy
# follows the drifted scores): they go to Slack #mlmon-alerts only, never page or act.
MAY_WARN = {"MlmonEstimatedAccuracyBelowFloor"}
DRIFTED = {"amount", "country"}  # what current.csv drifts (exporter/data/examples/README.md)
PREDICTION = "__prediction__"  # the score follows amount, so it drifts too (PSI 0.40)
NORMAL_SECONDS = 20.0  # longer than every scaled `for` of the sidecar alerts but 15 s ones
FALSE_ALARM_MAX = 1e-6  # what "negligible" means for the bound below: one run in a million


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = _get(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _wait(what: str, predicate: Callable[[], bool], timeout: float,
          state: Callable[[], object] = lambda: "") -> None:
    """Wait for ``predicate``; fail naming ``what`` did not happen, and ``state()``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what} {state()}")


def _audit(state: Path) -> list[dict[str, Any]]:
    path = state / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _firing(prometheus: str) -> list[dict[str, str]]:
    return [a["labels"] for a in _get(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
            if a["state"] == "firing"]


def _names(alerts: list[dict[str, str]]) -> set[str]:
    return {a["alertname"] for a in alerts}


def _slack_titles(requests: list[Request]) -> list[str]:
    return [r.body["attachments"][0]["title"] for r in requests]


def _pd(requests: list[Request], action: str) -> set[str]:
    """PagerDuty events of ``event_action``, as the alert name their summary starts with."""
    return {r.body["payload"]["summary"].split(" ")[0] for r in requests
            if r.body["event_action"] == action}


def _mail_subjects(mails: list[Mail]) -> list[str]:
    return [str(m.message["Subject"]) for m in mails]


def test_drift_and_falling_accuracy_page_notify_and_roll_back_once(tmp_path: Path) -> None:
    """Nothing fires under normal traffic; drift pages, notifies and rolls back once.

    Why "nothing fires" is not luck (tests/e2e/loop_support.false_alarm_bound, computed
    with scipy and printed by the test). Normal traffic is a with-replacement sample of
    reference.csv, the profile's own data: no drift. The normal phase lasts at most 30 s
    (waiting for accuracy) + NORMAL_SECONDS = 50 s after Prometheus starts, so only alerts
    whose scaled `for` is shorter can fire; the medium-drift warning needs 60 s of a medium
    verdict, so the per-window medium rates of docs/statistics.md#calibration (≤ 1.1 % per
    feature, ≤ 1 % per model after Holm) never get the time to alert. Per compute cycle,
    with n ≥ MIN_SAMPLES = 400 (the windows' minimum; was 200):

    - FeatureDriftHigh needs PSI ≥ 0.25; under no drift n·PSI ~ χ²(k − 1):
      P(χ²(9) ≥ 100) = 1.6e-17 for each of the 7 ten-bucket features (6 numeric + the
      prediction), P(χ²(5) ≥ 100) = 5.3e-20 (country), P(χ²(2) ≥ 100) = 1.9e-22 (channel);
    - AccuracyBelowFloor: P(Binomial(400, 0.9617) ≤ 339) = 7.2e-20;
    - EstimatedAccuracyBelowFloor: Hoeffding, confidences in [0.5, 1] of mean 0.9608:
      exp(−2·400·(0.9608 − 0.85)²/0.25) = 8.7e-18;

    and for the whole phase ErrorRateShift (Page-Hinkley, δ = 0.04, λ = 18, error rate
    p = 0.0383: θ = 1.383) ≤ labels · exp(−θλ) = labels · 1.6e-11. Union bound over T
    seconds from the sidecar's start (T + 1 cycles, 100 labels/s):
    P(any alert) ≤ (T + 1)·1.2e-16 + 100·T·1.6e-11, e.g. 9.3e-8 for T = 60 s
    (asserted ≤ FALSE_ALARM_MAX = 1e-6). With MIN_SAMPLES = 200 the drift terms alone
    were (T + 1)·7.5e-7, 4.6e-5 for T = 60 s.
    """
    prometheus_bin = require_binary("prometheus")
    alertmanager_bin = require_binary("prometheus-alertmanager")
    history = [replicaset(1, "fraud:v1"), replicaset(2, "fraud:v2"), replicaset(3, "fraud:v3")]
    fake = FakeKubernetes(SA_TOKEN, deployment("fraud:v3", 3), history)
    any_port = "127.0.0.1:0"  # every program announces the port it bound (tests/procs.py)

    with serve_in_thread(fake.app()) as k8s_url, HttpReceiver("slack") as slack, \
            HttpReceiver("pagerduty", status=202) as pagerduty, SmtpReceiver() as smtp:
        resp_dir = tmp_path / "responder"
        resp_dir.mkdir()
        (resp_dir / "sa-token").write_text(SA_TOKEN + "\n")
        resp_config = stack_config.write_responder(resp_dir, TOKEN, {MODEL: {"rollback": {
            "backend": "kubernetes", "namespace": "prod", "deployment": "fraud-model",
            "api_url": k8s_url, "token_file": "sa-token"}}})
        rules = stack_config.write_rules(tmp_path / "rules.yml")
        serve = sidecar_argv(sidecar_config(tmp_path / "mlmon.yaml"),
                             tmp_path / "mlmon.sock", any_port)
        started = time.monotonic()
        with serving(stack_config.responder_argv(resp_config, any_port),
                     tmp_path / "responder.log", "/healthz", timeout=60) as responder:
            am_config = stack_config.write_alertmanager(tmp_path / "am", Loopback(
                slack_url=slack.url + "/slack", pagerduty_url=pagerduty.url + "/v2/enqueue",
                responder_url=f"{responder.url}/v1/alerts", smtp_smarthost=smtp.smarthost,
                responder_token=TOKEN))
            with serving(stack_config.alertmanager_argv(alertmanager_bin, am_config,
                                                        tmp_path / "am-data", any_port),
                         tmp_path / "alertmanager.log", "/-/ready", 60) as alertmanager, \
                    serving(serve, tmp_path / "sidecar.log", "/readyz", 60,
                            env={**os.environ, "MLMON_COMPUTE_INTERVAL": "1s"}) as sidecar:
                prom_config = stack_config.write_prometheus(
                    tmp_path / "prometheus.yml", rules, sidecar.address["http"],
                    alertmanager.address["http"])
                with serving(stack_config.prometheus_argv(prometheus_bin, prom_config,
                                                          tmp_path / "tsdb", any_port),
                             tmp_path / "prometheus.log", "/-/ready", 60) as prometheus, \
                        Traffic(sidecar.url) as traffic:
                    _run_loop(traffic, prometheus.url, alertmanager.url, slack, pagerduty,
                              smtp, resp_dir / "state", fake, started)


def _run_loop(traffic: Traffic, prometheus: str, alertmanager: str, slack: HttpReceiver,
              pagerduty: HttpReceiver, smtp: SmtpReceiver, state: Path,
              fake: FakeKubernetes, started: float) -> None:
    # --- normal traffic: the model is watched (accuracy known) and nothing fires --------
    _wait("accuracy over min_samples pairs in Prometheus", lambda: bool(_query(
        prometheus, 'model_version:mlmon_accuracy_ratio:fleet_avg{model="fraud"}')), 30)
    time.sleep(NORMAL_SECONDS)
    accuracy = float(_query(prometheus, "model_version:mlmon_accuracy_ratio:fleet_avg")[0]
                     ["value"][1])
    assert accuracy > 0.9
    assert _firing(prometheus) == []
    bound = false_alarm_bound(time.monotonic() - started)
    top = _query(prometheus, "topk(1, max_over_time(mlmon_feature_psi[5m]))")[0]
    print(f"\nnormal phase: {bound.cycles} compute cycles, P(any alert by chance) <= "
          f"{bound.total:.2g} (error-shift term {bound.error_shift_tail:.2g}, "
          f"estimated accuracy {bound.confidence:.4f}); largest PSI seen "
          f"{float(top['value'][1]):.4f} "
          f"({top['metric'].get('feature')}) vs psi_high {PSI_HIGH}; accuracy {accuracy:.3f} "
          f"(reference {bound.accuracy:.4f})")
    assert bound.total <= FALSE_ALARM_MAX, bound
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

    _wait(f"{ERROR_SHIFT} firing", lambda: ERROR_SHIFT in _names(_firing(prometheus)), 30)

    # --- normal again: everything resolves but the error-shift warning -------------------
    traffic.drifted = False
    _wait(f"no alert firing in Prometheus but {ERROR_SHIFT}",
          lambda: _names(_firing(prometheus)) <= {ERROR_SHIFT}, 60,
          lambda: f"(still firing: {_firing(prometheus)})")
    _wait("resolved notifications", lambda: (
        _pd(pagerduty.received.snapshot(), "resolve") == {DRIFT_HIGH, ACCURACY}
        and any(t.startswith("[RESOLVED]") and DRIFT_HIGH in t
                for t in _slack_titles(slack.received.snapshot()))
        and any(r["status"] == "resolved" for r in _audit(state))), 30)
    _wait(f"Alertmanager holds no active alert but {ERROR_SHIFT}", lambda: {
        a["labels"]["alertname"] for a in _get(f"{alertmanager}/api/v2/alerts")
        if a["status"]["state"] == "active"} <= {ERROR_SHIFT}, 30)
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
    ever_fired = {(s["metric"]["alertname"], s["metric"].get("feature", "")) for s in ever}
    assert ever_fired - {(w, "") for w in MAY_WARN} == \
        {(DRIFT_HIGH, f) for f in drift} | {(ACCURACY, ""), (ERROR_SHIFT, "")}

    # Each receiver got what the route table says, and nothing else.
    slack_items = slack.received.snapshot()
    assert {r.path for r in slack_items} == {"/slack"}
    by_channel = {c: _slack_titles([r for r in slack_items if r.body["channel"] == c])
                  for c in {r.body["channel"] for r in slack_items}}
    assert set(by_channel) == {"#mlmon-critical", "#mlmon-alerts"}
    assert all(DRIFT_HIGH in t for t in by_channel["#mlmon-critical"])  # not the rollback
    assert any(ERROR_SHIFT in t for t in by_channel["#mlmon-alerts"])
    assert all(any(w in t for w in {ERROR_SHIFT, *MAY_WARN}) for t in by_channel["#mlmon-alerts"])
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
