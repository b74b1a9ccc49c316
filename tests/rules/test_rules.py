"""Static contract of rules/: labels, annotations, names, constants, escalations, coverage."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from typing import Any

import pytest

from exporter.batch.prom import JOB as BATCH_JOB
from exporter.config.model import Config
from exporter.metric_names import METRICS, REJECT_REASONS
from exporter.rulegen import DASHBOARD_BASE, RUNBOOK_BASE, parse_duration
from exporter.sidecar.label_join import UNJOINED_REASONS
from exporter.sidecar.metrics import THRESHOLD_NAMES
from exporter.stats.psi import EPSILON
from exporter.stats.severity import Severity
from exporter.stats.thresholds import Thresholds
from tests.deploy.grafana import PROMETHEUS_SERIES, exported_series
from tests.deploy.promql import analyse
from tests.rules.rule_files import (
    ROOT,
    RUNBOOKS,
    alerts,
    annotation_queries,
    github_anchors,
    load_test_file,
    metric_names,
    records,
    rules,
    unit_test_files,
)

SEVERITIES = {"info", "warning", "critical"}
ACTIONS = {"notify", "retrain", "rollback"}
ANNOTATIONS = {"summary", "description", "runbook_url", "dashboard_url"}
# Alerts whose value carries no information (up == 0, a zero rate, absent() == 1).
NO_VALUE = {"MlmonSidecarDown", "MlmonSidecarDownEscalated", "MlmonSidecarTargetsAbsent",
            "MlmonNoPredictions", "MlmonNoPredictionsEscalated"}


def _known_metric(name: str) -> bool:
    return name in PROMETHEUS_SERIES or name in exported_series() or name in records()


@pytest.mark.parametrize("name", sorted(alerts()))
def test_alert_labels_and_annotations(name: str) -> None:
    rule = alerts()[name]
    labels, annotations = rule["labels"], rule["annotations"]
    assert labels["severity"] in SEVERITIES
    assert labels["action"] in ACTIONS
    assert set(annotations) == (ANNOTATIONS if name in NO_VALUE else ANNOTATIONS | {"value"})
    if name not in NO_VALUE:  # shown as-is by the Slack, PagerDuty and email templates
        assert "$value" in annotations["value"]
    if not rule["expr"].startswith("absent("):  # absent() has no series labels to show
        assert "{{" in annotations["summary"]
        assert "$labels." in annotations["description"]
    assert annotations["runbook_url"].startswith(RUNBOOK_BASE + "#")
    assert annotations["dashboard_url"].startswith(DASHBOARD_BASE)


def test_only_rollback_alerts_are_critical_performance_alerts() -> None:
    rollback = {n for n, r in alerts().items() if r["labels"]["action"] == "rollback"}
    assert rollback == {"MlmonAccuracyBelowFloor", "MlmonRegressionMAEAboveCeiling",
                        "MlmonRegressionRMSEAboveCeiling"}
    assert all(alerts()[n]["labels"]["severity"] == "critical" for n in rollback)
    retrain = {n for n, r in alerts().items() if r["labels"]["action"] == "retrain"}
    assert retrain == {"MlmonFeatureDriftMediumSustained"}
    assert alerts()["MlmonFeatureDriftMediumSustained"]["labels"]["severity"] == "warning"


def test_every_runbook_anchor_exists() -> None:
    anchors = github_anchors(RUNBOOKS.read_text(encoding="utf-8"))
    used = {r["annotations"]["runbook_url"].split("#", 1)[1] for r in alerts().values()}
    assert used - anchors == set()
    # and every runbook section is used by some alert (no orphaned runbooks)
    sections = {a for a in anchors if re.fullmatch(r"mlmon[a-z]+", a)}
    assert sections - used == set()


def _runbook_section(anchor: str) -> str:
    text = RUNBOOKS.read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    (section,) = [s for s in sections if github_anchors("## " + s.split("\n", 1)[0]) == {anchor}]
    return section


@pytest.mark.parametrize("anchor, reasons", [
    ("mlmoneventsrejected", REJECT_REASONS),
    ("mlmonlabelsnotjoining", UNJOINED_REASONS),
])
def test_runbook_explains_every_reason_the_exporter_counts(anchor: str,
                                                           reasons: tuple[str, ...]) -> None:
    named = set(re.findall(r"`([a-z_]+)`", _runbook_section(anchor)))
    assert set(reasons) <= named, set(reasons) - named


def test_dashboard_url_names_the_committed_dashboard() -> None:
    dashboard = json.loads((ROOT / "grafana" / "mlmon.json").read_text(encoding="utf-8"))
    assert f"/d/{dashboard['uid']}/" in DASHBOARD_BASE + "/"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for rule in alerts().values():
        for var in re.findall(r"var-(\w+)=", rule["annotations"]["dashboard_url"]):
            assert var in variables, (rule["alert"], var)


def test_every_metric_in_rules_is_exported_or_recorded() -> None:
    unknown: set[str] = set()
    for rule in rules():
        names = metric_names(rule["expr"])
        for text in rule.get("annotations", {}).values():
            for query in annotation_queries(text):
                names |= metric_names(query)
        unknown |= {n for n in names if not _known_metric(n)}
    assert unknown == set()


def test_every_selector_of_a_batch_metric_excludes_the_batch_job() -> None:
    batch = {m.name for m in METRICS if "batch" in m.sources}
    checked = 0
    for rule in rules():
        texts = [rule["expr"]]
        for text in rule.get("annotations", {}).values():
            texts.extend(annotation_queries(text))
        for text in texts:
            for selector in analyse(text).selectors:
                if selector.metric in batch:
                    assert selector.matchers.get("job") == ("!=", BATCH_JOB), \
                        (rule.get("alert"), selector)
                    checked += 1
    assert checked > 20


def test_dashboard_contract_recording_rules_exist() -> None:
    assert "model_version_feature_bucket:mlmon_feature_bucket:ratio_rate1h" in records()
    assert "model_version_feature:mlmon_feature_psi:fleet_rate1h" in records()


@pytest.mark.parametrize("name", sorted(records()))
def test_recording_rule_names_are_level_metric_operations(name: str) -> None:
    level, metric, operations = name.split(":")
    assert level and operations and metric.startswith("mlmon_")
    expr = records()[name]["expr"]
    by = re.search(r"(?:sum|max) by \(([^)]*)\)", expr)
    if by is not None:  # the level names every label the first aggregation keeps
        kept = {label.strip() for label in by.group(1).split(",")}
        assert kept <= set(level.split("_")), (name, kept)


@pytest.mark.parametrize("name", [
    "model_version_feature_bucket_side:mlmon_feature_bucket_ratio:floored",  # fleet vs reference
    "model_feature_bucket_track:mlmon_feature_bucket_ratio:floored",  # canary vs stable
])
def test_psi_epsilon_is_written_once_and_equals_the_exporters(name: str) -> None:
    # once per PSI: only the two floored rules hold a clamp_min, once each
    exprs = {r["record"]: r["expr"] for r in rules() if "clamp_min(" in r["expr"]}
    assert set(exprs) == {
        "model_version_feature_bucket_side:mlmon_feature_bucket_ratio:floored",
        "model_feature_bucket_track:mlmon_feature_bucket_ratio:floored",
    }
    assert exprs[name].count("clamp_min(") == 1
    m = re.search(r",\s*([0-9.eE+-]+)\s*\)\s*$", exprs[name])
    assert m is not None
    assert float(m.group(1)) == EPSILON


def test_drift_severity_levels_match_the_exporter() -> None:
    def levels(name: str) -> set[int]:
        pattern = r"mlmon_feature_drift_severity(?:\{[^}]*\})?\s*>=\s*(\d+)"
        found = re.findall(pattern, alerts()[name]["expr"])
        return {int(x) for x in found}

    assert levels("MlmonFeatureDriftHigh") == {Severity.HIGH}
    assert levels("MlmonFeatureDriftMediumSustained") == {Severity.MEDIUM}
    assert levels("MlmonFeatureDriftTrendingHigh") == {Severity.HIGH}


def test_threshold_names_are_config_fields() -> None:
    fields = {f.name for f in dataclasses.fields(Thresholds)}
    used = set()
    for rule in rules():
        text = rule["expr"] + " ".join(rule.get("annotations", {}).values())
        used |= set(re.findall(r"threshold\s*=\s*['\"](\w+)['\"]", text))
    assert used and used <= fields
    assert set(THRESHOLD_NAMES) == fields  # the sidecar exports every configured threshold


def test_compute_stall_threshold_spans_many_default_compute_cycles() -> None:
    default = next(f.default for f in dataclasses.fields(Config) if f.name == "compute_interval")
    assert isinstance(default, float)
    expr = alerts()["MlmonComputeStalled"]["expr"]
    found = {float(x) for x in re.findall(r"mlmon_last_compute_timestamp_seconds > (\d+)", expr)}
    assert len(found) == 1  # written the same in both branches
    (stall,) = found
    assert stall >= 10 * default


def test_escalations_repeat_their_warning_with_a_longer_for() -> None:
    escalations = {n: r for n, r in alerts().items() if "escalated_from" in r["labels"]}
    assert set(escalations) == {"MlmonFeatureDriftMediumEscalated", "MlmonSidecarDownEscalated",
                                "MlmonNoPredictionsEscalated"}
    for name, rule in escalations.items():
        source = alerts()[rule["labels"]["escalated_from"]]
        assert rule["expr"] == source["expr"], name
        assert source["labels"]["severity"] == "warning"
        assert rule["labels"]["severity"] == "critical"
        assert parse_duration(rule["for"]) > parse_duration(source["for"])
        assert rule["annotations"]["runbook_url"] == source["annotations"]["runbook_url"]


@functools.cache
def _alert_tests() -> list[dict[str, Any]]:
    cases = []
    for path in unit_test_files():
        for group in load_test_file(path)["tests"]:
            cases.extend(group.get("alert_rule_test", []))
    return cases


@pytest.mark.parametrize("name", sorted(alerts()))
def test_every_alert_is_unit_tested_firing_and_not_firing(name: str) -> None:
    cases = [c for c in _alert_tests() if c["alertname"] == name]
    firing = [a for c in cases for a in c.get("exp_alerts") or []]
    assert any(not c.get("exp_alerts") for c in cases), f"{name}: no not-firing case"
    assert firing, f"{name}: no firing case"
    for alert in firing:  # the labels every notification route relies on
        labels = alert["exp_labels"]
        assert labels["model"] and labels["severity"] and labels["action"]
        assert set(alert["exp_annotations"]) == set(alerts()[name]["annotations"])
