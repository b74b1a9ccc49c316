"""grafana/mlmon.json parsed: variables, rows, panels, units, queries, generated ConfigMap."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from exporter.batch.prom import JOB as BATCH_JOB
from exporter.metric_names import METRICS
from exporter.stats.thresholds import DEFAULT_PSI_HIGH, DEFAULT_PSI_MEDIUM, Thresholds
from tests.deploy import grafana
from tests.deploy.promql import FUNCTIONS, analyse
from tests.rules.rule_files import records

ROWS = ["Overview", "Drift", "Predictions", "Performance", "Health", "Estimated performance",
        "Ranking and calibration", "Error stream", "Data quality", "Segments", "Multivariate drift"]
# Metrics each row must show (the panel list).
ROW_METRICS: dict[str, set[str]] = {
    "Overview": {"mlmon_model_drift_severity", "mlmon_events_received_total",
                 "mlmon_events_rejected_total", "mlmon_label_join_ratio", "up"},
    "Drift": {"mlmon_feature_psi", "mlmon_threshold", "mlmon_feature_ks_pvalue",
              "mlmon_feature_chi2_pvalue",
              "model_version_feature:mlmon_feature_psi:fleet_rate1h"},
    "Predictions": {"mlmon_prediction_mean", "mlmon_prediction_stddev",
                    "mlmon_prediction_quantile", "mlmon_prediction_class_ratio"},
    "Performance": {"mlmon_accuracy_ratio", "mlmon_precision_ratio", "mlmon_recall_ratio",
                    "mlmon_f1_ratio", "mlmon_regression_mae", "mlmon_regression_rmse",
                    "mlmon_regression_r2", "mlmon_label_delay_seconds_bucket"},
    "Health": {"mlmon_compute_duration_seconds_bucket", "mlmon_queue_events",
               "mlmon_events_received_total"},
    "Estimated performance": {"mlmon_estimated_accuracy_ratio", "mlmon_accuracy_ratio",
                              "mlmon_estimated_f1_ratio"},
    "Ranking and calibration": {"mlmon_roc_auc_ratio",
                                "model_version:mlmon_roc_auc_ratio:fleet_rate1h",
                                "mlmon_brier_score", "mlmon_expected_calibration_error_ratio"},
    "Error stream": {"mlmon_error_drift_detections_total", "mlmon_error_drift_statistic",
                     "mlmon_error_drift_threshold"},
    "Data quality": {"mlmon_feature_missing_ratio", "mlmon_feature_out_of_range_ratio",
                     "mlmon_feature_unseen_category_ratio", "mlmon_feature_quality_limit_ratio"},
    "Segments": {"mlmon_segment_predictions_total", "mlmon_segment_max_psi",
                 "mlmon_segment_drift_share_ratio", "mlmon_segment_accuracy_ratio",
                 "mlmon_segment_regression_mae"},
    "Multivariate drift": {"mlmon_reconstruction_error", "mlmon_reconstruction_error_upper",
                           "mlmon_reconstruction_error_lower"},
}
VARIABLES = {"$namespace", "$model", "$version", "$feature", "$__rate_interval", "$__range",
             "$segment"}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return grafana.load()


def _metrics(panels: list[grafana.Panel]) -> set[str]:
    return {s.metric for p in panels for t in p["targets"] for s in analyse(t["expr"]).selectors}


def _datasource_refs(node: Any, path: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                found.append((f"{path}.{key}", value))
            found.extend(_datasource_refs(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_datasource_refs(value, f"{path}[{index}]"))
    return found


def test_dashboard_settings(dashboard: dict[str, Any]) -> None:
    assert dashboard["editable"] is False
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
    assert dashboard["title"]


def test_template_variables(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert list(variables) == ["datasource", "namespace", "model", "version", "feature",
                               "segment"]
    source = variables["datasource"]
    assert (source["type"], source["query"]) == ("datasource", "prometheus")
    for name in ("namespace", "model", "version", "feature", "segment"):
        var = variables[name]
        assert var["type"] == "query" and var["datasource"] == grafana.DATASOURCE
        assert re.fullmatch(rf"label_values\(.+, {name}\)", var["definition"]), var["definition"]
        assert var["query"]["query"] == var["definition"]
    assert variables["feature"]["multi"] is True and variables["feature"]["includeAll"] is True
    assert variables["feature"]["allValue"] == ".*"
    # segments: several or all values of the model's segment feature (bounded label set)
    assert variables["segment"]["multi"] is True and variables["segment"]["includeAll"] is True
    assert variables["segment"]["allValue"] == ".*"


def test_the_datasource_variable_is_the_only_datasource(dashboard: dict[str, Any]) -> None:
    refs = _datasource_refs({k: v for k, v in dashboard.items() if k != "templating"})
    refs += [r for v in dashboard["templating"]["list"] if v["name"] != "datasource"
             for r in _datasource_refs(v)]
    assert refs, "panels must name the datasource"
    assert [r for r in refs if r[1] != grafana.DATASOURCE] == []
    for panel in grafana.panels(dashboard):
        assert panel["datasource"] == grafana.DATASOURCE, panel["title"]
        assert all(t["datasource"] == grafana.DATASOURCE for t in panel["targets"])


def test_rows_in_order_with_their_panels(dashboard: dict[str, Any]) -> None:
    rows = grafana.rows(dashboard)
    assert [title for title, _ in rows] == ROWS
    for title, panels in rows:
        missing = ROW_METRICS[title] - _metrics(panels)
        assert not missing, f"row {title} lacks {sorted(missing)}"
    drift = dict(rows)["Drift"]
    assert any(p["type"] == "heatmap" for p in drift)
    overview = dict(rows)["Overview"]
    severity = [p for p in overview if "mlmon_model_drift_severity" in _metrics([p])]
    assert severity and all(p["type"] in ("stat", "table") for p in severity)


def test_every_panel_has_unit_description_and_fits_the_grid(dashboard: dict[str, Any]) -> None:
    ids: set[int] = set()
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        assert panel["id"] not in ids
        ids.add(panel["id"])
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        covered = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                   for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered
    for panel in grafana.panels(dashboard):
        assert panel["description"].strip(), panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


def test_every_metric_is_exported_or_recorded(dashboard: dict[str, Any]) -> None:
    exported = grafana.exported_series()
    recorded = set(records())
    assert "model_version_feature:mlmon_feature_psi:fleet_rate1h" in recorded, \
        "rules/ has no fleet PSI recording rule"
    variables = [v["definition"] for v in dashboard["templating"]["list"][1:]]
    queries = [e for _, _, e in grafana.exprs(dashboard)] + variables
    for expr in queries:
        query = analyse(expr.removeprefix("label_values(").rsplit(",", 1)[0]
                        if expr.startswith("label_values(") else expr)
        assert query.functions <= FUNCTIONS, expr
        for selector in query.selectors:
            name = selector.metric
            assert name in exported or name in recorded or name in grafana.PROMETHEUS_SERIES, \
                f"{name} is neither exported (exporter/metric_names.py) nor recorded (rules/)"
            if name in exported:  # a label the series lacks would silently match nothing
                allowed = exported[name] | grafana.TARGET_LABELS
                assert set(selector.matchers) <= allowed, (name, selector.matchers)


def test_batch_reports_are_left_out(dashboard: dict[str, Any]) -> None:
    """Series `mlmon batch` also pushes (job mlmon-batch) never mix into sidecar panels."""
    batch = {m.name for m in METRICS if "batch" in m.sources}
    variables = [v["definition"] for v in dashboard["templating"]["list"][1:]]
    queries = [e for _, _, e in grafana.exprs(dashboard)]
    queries += [v.removeprefix("label_values(").rsplit(",", 1)[0] for v in variables]
    checked = 0
    for expr in queries:
        for selector in analyse(expr).selectors:
            if selector.metric in batch:
                assert selector.matchers.get("job") == ("!=", BATCH_JOB), expr
                checked += 1
    assert checked >= 20


def test_threshold_series_name_configured_thresholds(dashboard: dict[str, Any]) -> None:
    known = {f.name for f in dataclasses.fields(Thresholds)}
    used = {s.matchers["threshold"][1] for _, _, e in grafana.exprs(dashboard)
            for s in analyse(e).selectors if s.metric == "mlmon_threshold"}
    assert {"psi_medium", "psi_high"} <= used <= known


def test_psi_panels_colour_by_the_default_thresholds(dashboard: dict[str, Any]) -> None:
    psi = [p for p in grafana.panels(dashboard)
           if _metrics([p]) & {"mlmon_feature_psi",
                               "model_version_feature:mlmon_feature_psi:fleet_rate1h"}]
    assert len(psi) >= 3
    for panel in psi:
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [s["value"] for s in steps[1:]] == [DEFAULT_PSI_MEDIUM, DEFAULT_PSI_HIGH]
        names = {analyse(t["expr"]).selectors[0].matchers.get("threshold", ("", ""))[1]
                 for t in panel["targets"]}
        if panel["type"] == "timeseries":  # the per-model configured lines are drawn too
            assert {"psi_medium", "psi_high"} <= names, panel["title"]


def test_rates_use_the_rate_interval_and_only_known_variables(dashboard: dict[str, Any]) -> None:
    for title, ref, expr in grafana.exprs(dashboard):
        query = analyse(expr)
        for call in query.calls:
            if call.function in ("rate", "irate"):
                assert call.ranges == ["$__rate_interval"], (title, ref, expr)
            elif call.ranges:
                assert set(call.ranges) <= {"$__rate_interval", "$__range"}, (title, ref, expr)
        assert set(re.findall(r"\$\w+", expr)) <= VARIABLES, (title, expr)


def _generator() -> Any:
    path = grafana.ROOT / "scripts" / "gen_grafana_configmap.py"
    spec = importlib.util.spec_from_file_location("gen_grafana_configmap", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_provisioning_configmap_is_fresh() -> None:
    generator = _generator()
    committed: Path = generator.OUTPUT
    assert committed.read_text(encoding="utf-8") == generator.render(
        grafana.DASHBOARD.read_text(encoding="utf-8")), \
        "run: python scripts/gen_grafana_configmap.py"


def test_provisioning_configmap_carries_the_dashboard() -> None:
    import json

    import yaml
    document = yaml.safe_load(_generator().OUTPUT.read_text(encoding="utf-8"))
    assert document["kind"] == "ConfigMap"
    assert document["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(document["data"]["mlmon.json"]) == grafana.load()


def test_generator_rejects_invalid_json() -> None:
    import json
    with pytest.raises(json.JSONDecodeError):
        _generator().render('{"title": ')
