"""`mlmon batch --pushgateway` against a real prometheus-pushgateway on loopback."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.cli import main
from exporter.metric_names import names
from tests.factories import current, make_profile, reference, write_csv, write_profile
from tests.procs import require_binary, serving

pytestmark = pytest.mark.e2e

FEATURE_METRICS = {
    "psi": "mlmon_feature_psi", "ks_statistic": "mlmon_feature_ks_statistic",
    "ks_pvalue": "mlmon_feature_ks_pvalue", "chi2_statistic": "mlmon_feature_chi2_statistic",
    "chi2_pvalue": "mlmon_feature_chi2_pvalue", "wasserstein": "mlmon_feature_wasserstein_distance",
    "jensen_shannon": "mlmon_feature_jensen_shannon_distance",
    "hellinger": "mlmon_feature_hellinger_distance",
}


def test_batch_metrics_pushed_and_read_back(tmp_path: Path) -> None:
    binary = require_binary("prometheus-pushgateway")
    profile = write_profile(make_profile(reference()), tmp_path / "profile.json")
    data = write_csv(tmp_path / "batch.csv", current())
    report_file = tmp_path / "report.json"
    # --log.level=info: the "Listening on" line announces the port it bound (tests/procs.py)
    argv = [binary, "--web.listen-address=127.0.0.1:0",
            f"--persistence.file={tmp_path / 'pgw.data'}", "--log.level=info"]
    with serving(argv, tmp_path / "pushgateway.log", "/-/ready") as pushgateway:
        url = pushgateway.url
        code = main(["batch", "--profile", str(profile), "--input", str(data),
                     "--format", "json", "--out", str(report_file), "--pushgateway", url])
        assert code == 0
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
            exposition = resp.read().decode()
    report = json.loads(report_file.read_text())

    pushed = [s for fam in text_string_to_metric_families(exposition) for s in fam.samples
              if s.labels.get("job") == "mlmon-batch"]
    assert pushed, exposition[:2000]
    assert {s.name for s in pushed} <= set(names("batch")) | {"push_time_seconds",
                                                              "push_failure_time_seconds"}
    for s in pushed:
        assert (s.labels["model"], s.labels["version"], s.labels["instance"]) == \
            ("fraud", "3", "")
    values = {(s.name, s.labels.get("feature")): s.value for s in pushed
              if "bucket" not in s.labels and "class" not in s.labels
              and "q" not in s.labels and "threshold" not in s.labels}
    for f in report["features"]:
        for key, metric in FEATURE_METRICS.items():
            if f[key] is None:
                assert (metric, f["name"]) not in values
            else:
                assert values[(metric, f["name"])] == pytest.approx(f[key], rel=1e-12)
        sev = {"low": 0, "medium": 1, "high": 2}[f["severity"]]
        assert values[("mlmon_feature_drift_severity", f["name"])] == sev
        assert values[("mlmon_feature_samples", f["name"])] == f["samples"]
    assert values[("mlmon_model_drift_share_ratio", None)] == pytest.approx(report["drift_share"])
    assert values[("mlmon_batch_rows", None)] == report["rows"]
    assert values[("mlmon_accuracy_ratio", None)] == pytest.approx(
        report["performance"]["accuracy"], rel=1e-12)
    assert values[("mlmon_prediction_mean", None)] == pytest.approx(
        report["prediction"]["mean"], rel=1e-12)
    f1 = {s.labels["class"]: s.value for s in pushed if s.name == "mlmon_f1_ratio"}
    assert f1["__macro__"] == pytest.approx(report["performance"]["macro"]["f1"], rel=1e-12)
    assert f1["1"] == pytest.approx(report["performance"]["classes"]["1"]["f1"], rel=1e-12)
