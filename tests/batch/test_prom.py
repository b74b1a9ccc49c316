"""`--format prometheus`: names from the metric list, values equal to the JSON report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.cli import main
from exporter.metric_names import BY_NAME, names
from exporter.profile.model import SCHEMA_VERSION, Profile
from tests.factories import categorical_profile, numeric_profile, write_csv, write_profile
from tests.procs import require_binary


def _report(files: dict[str, Path], fmt: str) -> str:
    out = files["input"].with_suffix("." + fmt)
    assert main(["batch", "--profile", str(files["profile"]), "--input", str(files["input"]),
                 "--format", fmt, "--out", str(out)]) == 0
    return out.read_text()


def test_exposition_matches_json(files: dict[str, Path]) -> None:
    report = json.loads(_report(files, "json"))
    # a counter family's name lacks its samples' _total (mlmon_error_drift_detections_total)
    families = {f.name + ("_total" if f.type == "counter" else ""): f
                for f in text_string_to_metric_families(_report(files, "prometheus"))}
    batch = set(names("batch"))
    assert {BY_NAME[n].name for n in batch} >= set(families)
    expected = batch - {"mlmon_prediction_class_ratio", "mlmon_regression_mae",
                        "mlmon_regression_rmse", "mlmon_regression_mape_ratio",
                        "mlmon_regression_r2",
                        # the factory profile has no multivariate section (test_multivariate)
                        "mlmon_reconstruction_error", "mlmon_reconstruction_error_upper",
                        "mlmon_reconstruction_error_lower",
                        # no `segment:` in the config here (tests/batch/test_segments.py)
                        *(n for n in batch if n.startswith("mlmon_segment_"))}
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
             "hellinger": "mlmon_feature_hellinger_distance",
             "drift_pvalue": "mlmon_feature_drift_pvalue",
             "psi_noise_floor": "mlmon_feature_psi_noise_floor"}
    severity = {"low": 0, "medium": 1, "high": 2}
    for f in report["features"]:
        for key, metric in pairs.items():
            if f[key] is None:
                assert (metric, f["name"]) not in by_feature
            else:
                assert by_feature[(metric, f["name"])] == pytest.approx(f[key], rel=1e-12)
        assert by_feature[("mlmon_feature_drift_severity", f["name"])] == severity[f["severity"]]
        assert by_feature[("mlmon_feature_drift_significant", f["name"])] == f["significant"]
        assert f["significant"] or f["severity"] == "low"
    model = {s.name: s.value for fam in families.values() for s in fam.samples
             if set(s.labels) == {"model", "version"}}
    assert model["mlmon_model_drift_share_ratio"] == pytest.approx(report["drift_share"])
    assert model["mlmon_batch_rows"] == report["rows"]
    assert model["mlmon_accuracy_ratio"] == pytest.approx(report["performance"]["accuracy"])


def _families(profile: Path, data: Path, tmp_path: Path) -> dict[str, list[Any]]:
    out = tmp_path / "m.prom"
    assert main(["batch", "--profile", str(profile), "--input", str(data),
                 "--format", "prometheus", "--out", str(out)]) == 0
    return {f.name: f.samples for f in text_string_to_metric_families(out.read_text())}


def test_regression_and_class_ratio_metrics(tmp_path: Path) -> None:
    x = np.linspace(0.0, 1.0, 40)
    prof = Profile(SCHEMA_VERSION, "m", "1", 40, (numeric_profile("x", x),),
                   categorical_profile("__prediction__", ["a", "b"] * 20, ["a", "b"]), "")
    profile = write_profile(prof, tmp_path / "p.json")
    data = write_csv(tmp_path / "c.csv", {"x": [0.5] * 5, "prediction": ["a", "b", "b", "b", "z"],
                                          "label": ["a", "b", "a", "b", "b"]})
    fams = _families(profile, data, tmp_path)
    shares = {s.labels["class"]: s.value for s in fams["mlmon_prediction_class_ratio"]}
    assert shares == {"a": 0.2, "b": 0.6, "__other__": 0.2}
    assert "mlmon_regression_mae" not in fams
    acc = fams["mlmon_accuracy_ratio"][0]
    assert (acc.labels, acc.value) == ({"model": "m", "version": "1"}, 3 / 5)

    reg = Profile(SCHEMA_VERSION, "r", "2", 40, (numeric_profile("x", x),),
                  numeric_profile("__prediction__", x * 10), "")
    rdata = write_csv(tmp_path / "r.csv", {"x": [0.5] * 3, "prediction": [1.0, 2.0, 4.0],
                                           "label": [2.0, 2.0, 3.0]})
    fams = _families(write_profile(reg, tmp_path / "r.json"), rdata, tmp_path)
    value = {n: fams[n][0].value for n in ("mlmon_regression_mae", "mlmon_regression_rmse",
                                           "mlmon_regression_mape_ratio", "mlmon_regression_r2",
                                           "mlmon_prediction_mean", "mlmon_performance_samples")}
    # errors -1, 0, 1; mean label 7/3, SS_tot = 2/3; MAPE (1/2 + 0 + 1/3) / 3
    assert value == pytest.approx({
        "mlmon_regression_mae": 2 / 3, "mlmon_regression_rmse": (2 / 3) ** 0.5,
        "mlmon_regression_mape_ratio": (1 / 2 + 1 / 3) / 3, "mlmon_regression_r2": 1 - 2 / (2 / 3),
        "mlmon_prediction_mean": 7 / 3, "mlmon_performance_samples": 3})
    assert "mlmon_accuracy_ratio" not in fams
    # predictions 1, 2, 4: linear interpolation at position q * 2 of the sorted values
    quantiles = {s.labels["q"]: s.value for s in fams["mlmon_prediction_quantile"]}
    assert quantiles == pytest.approx({"0.05": 1.1, "0.25": 1.5, "0.5": 2.0, "0.75": 3.0,
                                       "0.95": 3.8, "0.99": 3.96})


def test_promtool_check_metrics_accepts_the_batch_output(files: dict[str, Path]) -> None:
    """The real ``promtool check metrics`` lints `mlmon batch --format prometheus`."""
    promtool = require_binary("promtool")
    text = _report(files, "prometheus")
    assert "mlmon_prediction_quantile" in {f.name for f in text_string_to_metric_families(text)}
    lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60, check=False)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")
