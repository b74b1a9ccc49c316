"""The timeline printer against a real Prometheus: alert transitions from its API, audit lines.

Prometheus (Debian's binary) loads the committed rules/ with every ``for`` scaled as
`mlmon demo --stack` scales them (MlmonFeatureDriftHigh's 5 min become 5 s; the 10 min of
MlmonSidecarTargetsAbsent become 10 s, longer than Prometheus' first target discovery,
which takes up to 5 s) and scrapes, every 250 ms, a loopback target
serving the two series that rule reads, ``mlmon_feature_psi`` and
``mlmon_feature_drift_severity``, with values the test sets: first no drift, then high
drift on ``amount``, then no drift again. The expected timeline is written from those
inputs and the rule's documented labels and ``value`` annotation (``%.3g`` of the PSI),
not from the printer: one FIRING line once the alert has waited out its ``for`` (never
while Prometheus reports it pending, which the test checks it saw), the responder's
complete audit line, one RESOLVED line.
"""

from __future__ import annotations

import io
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from exporter.demo import stack_config
from exporter.demo.receivers import Request
from exporter.demo.timeline import Timeline, describe_request
from tests.e2e.loop_support import serve_in_thread
from tests.procs import require_binary, serving

SERIES = {"model": "fraud", "version": "3"}
NO_DRIFT = {"amount": (0.05, 0), "country": (0.12, 0)}  # (PSI, severity) per feature
HIGH = 0.4137  # amount's PSI while drifted; severity 2 (high)


def _exposition(values: dict[str, tuple[float, int]]) -> str:
    lines = ["# TYPE mlmon_feature_psi gauge", "# TYPE mlmon_feature_drift_severity gauge"]
    for feature, (psi, severity) in values.items():
        labels = ",".join(f'{k}="{v}"' for k, v in {**SERIES, "feature": feature}.items())
        lines += [f"mlmon_feature_psi{{{labels}}} {psi}",
                  f"mlmon_feature_drift_severity{{{labels}}} {severity}"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, dict[str, tuple[float, int]]]]:
    """A real Prometheus with rules/ scraping a target whose values the test sets."""
    binary = require_binary("prometheus")
    values = dict(NO_DRIFT)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text=_exposition(values), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    with serve_in_thread(app) as target:
        rules = stack_config.write_rules(tmp_path / "rules.yml")
        config = stack_config.write_prometheus(
            tmp_path / "prometheus.yml", rules, target.removeprefix("http://"),
            "127.0.0.1:9", interval="250ms")  # no Alertmanager: port 9 (discard) refuses
        argv = stack_config.prometheus_argv(binary, config, tmp_path / "tsdb", "127.0.0.1:0")
        with serving(argv, tmp_path / "prometheus.log", "/-/ready", timeout=60) as served:
            yield served.url, values


def _states(prometheus: str) -> set[str]:
    with urllib.request.urlopen(f"{prometheus}/api/v1/alerts", timeout=5) as resp:
        alerts: list[dict[str, Any]] = json.loads(resp.read())["data"]["alerts"]
    return {f"{a['labels']['alertname']}:{a['state']}" for a in alerts}


def _poll_until(timeline: Timeline, out: io.StringIO, prometheus: str, event: str,
                done: Callable[[list[str]], bool], seen: set[str],
                timeout: float = 20.0) -> None:
    """Poll the timeline (as its thread would) until ``done(lines)``; note the alert
    states Prometheus reports in between."""
    deadline = time.monotonic() + timeout
    while not done(_lines(out)):
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {event}\n" \
            + out.getvalue()
        timeline.poll()
        seen |= _states(prometheus)
        time.sleep(0.1)


def _lines(out: io.StringIO) -> list[str]:
    return [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]


@pytest.mark.e2e
def test_firing_and_resolved_alerts_and_new_audit_lines_are_printed(
        tmp_path: Path, prometheus: tuple[str, dict[str, tuple[float, int]]]) -> None:
    url, values = prometheus
    audit = tmp_path / "audit.jsonl"
    out = io.StringIO()
    record = {"decision": "dry_run", "action": "rollback", "model": "fraud",
              "alertname": "MlmonAccuracyBelowFloor", "status": "firing", "result": "dry_run",
              "reason": "dry-run: rollback not executed"}
    timeline = Timeline(url, audit, out, wall=lambda: 0.0)
    seen: set[str] = set()
    drift = "MlmonFeatureDriftHigh model=fraud version=3 feature=amount " \
            "severity=critical action=notify"
    expected = [f"FIRING   {drift} (value {HIGH:.3g})",
                "responder: dry_run rollback of model fraud (MlmonAccuracyBelowFloor firing; "
                "dry_run: dry-run: rollback not executed)",
                f"RESOLVED {drift}"]

    # No drift for a few evaluations: nothing is printed.
    _poll_until(timeline, out, url, "three scrapes of the target", lambda _: _scraped(url), seen)
    values["amount"] = (HIGH, 2)
    _poll_until(timeline, out, url, "the drift alert firing", lambda lines: len(lines) >= 1,
                seen)
    audit.write_text(json.dumps(record) + "\n" + '{"decision": "acted"')  # half a line
    _poll_until(timeline, out, url, "the audit line", lambda lines: len(lines) >= 2, seen)
    values["amount"] = NO_DRIFT["amount"]
    _poll_until(timeline, out, url, "the alert resolved", lambda lines: len(lines) >= 3, seen)
    for _ in range(5):  # nothing more: no repeat, no second resolve, no half audit line
        timeline.poll()
        time.sleep(0.1)

    print(f"\nalert states seen in Prometheus: {sorted(seen)}")
    assert "MlmonFeatureDriftHigh:pending" in seen  # pending was there, and not printed
    assert "MlmonFeatureDriftHigh:firing" in seen
    assert _lines(out) == expected


def _scraped(prometheus: str) -> bool:
    query = "count_over_time(mlmon_feature_psi{feature=\"amount\"}[1m])"
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=5) as resp:
        result = json.loads(resp.read())["data"]["result"]
    return bool(result) and float(result[0]["value"][1]) >= 3


def test_notifications_are_described_by_integration() -> None:
    slack = Request("/slack", {}, {"channel": "#mlmon-critical",
                                   "attachments": [{"title": "[FIRING:1] X · model m"}]})
    pagerduty = Request("/pd", {}, {"event_action": "resolve",
                                    "payload": {"severity": "critical", "summary": "X · m"}})
    other = Request("/rollback", {}, {"model": "m"})
    assert describe_request(slack) == "Slack #mlmon-critical: [FIRING:1] X · model m"
    assert describe_request(pagerduty) == "PagerDuty resolve (critical): X · m"
    assert describe_request(other) == 'POST /rollback: {"model": "m"}'
