"""`--format prometheus`: names from the metric list, values equal to the JSON report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.cli import main
from exporter.metric_names import BY_NAME, names


def _report(files: dict[str, Path], fmt: str) -> str:
    out = files["input"].with_suffix("." + fmt)
    assert main(["batch", "--profile", str(files["profile"]), "--input", str(files["input"]),
                 "--format", fmt, "--out", str(out)]) == 0
    return out.read_text()


def test_exposition_matches_json(files: dict[str, Path]) -> None:
    report = json.loads(_report(files, "json"))
    families = {f.name: f for f in text_string_to_metric_families(_report(files, "prometheus"))}
    batch = set(names("batch"))
    assert {BY_NAME[n].name for n in batch} >= set(families)
    expected = batch - {"mlmon_prediction_class_ratio", "mlmon_regression_mae",
                        "mlmon_regression_rmse", "mlmon_regression_mape_ratio",
                        "mlmon_regression_r2"}
    assert set(families) == expected
    for fam in families.values():
        for s in fam.samples:
            assert s.labels.get("model", "fraud") == "fraud"
    by_feature = {(s.name, s.labels["feature"]): s.value
                  for fam in families.values() for s in fam.samples if "feature" in s.labels
                  and "bucket" not in s.labels}
    pairs = {"psi": "mlmon_feature_psi", "ks_statistic": "mlmon_feature_ks_statistic",
             "ks_pvalue": "mlmon_feature_ks_pvalue",
             "chi2_statistic": "mlmon_feature_chi2_statistic",
             "chi2_pvalue": "mlmon_feature_chi2_pvalue",
             "wasserstein": "mlmon_feature_wasserstein_distance",
             "jensen_shannon": "mlmon_feature_jensen_shannon_distance",
             "hellinger": "mlmon_feature_hellinger_distance"}
    severity = {"low": 0, "medium": 1, "high": 2}
    for f in report["features"]:
        for key, metric in pairs.items():
            if f[key] is None:
                assert (metric, f["name"]) not in by_feature
            else:
                assert by_feature[(metric, f["name"])] == pytest.approx(f[key], rel=1e-12)
        assert by_feature[("mlmon_feature_drift_severity", f["name"])] == severity[f["severity"]]
    model = {s.name: s.value for fam in families.values() for s in fam.samples
             if set(s.labels) == {"model", "version"}}
    assert model["mlmon_model_drift_share_ratio"] == pytest.approx(report["drift_share"])
    assert model["mlmon_batch_rows"] == report["rows"]
    assert model["mlmon_accuracy_ratio"] == pytest.approx(report["performance"]["accuracy"])
