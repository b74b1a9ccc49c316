"""`mlmon batch --mlflow-*` against a real `mlflow server` on loopback.

REST endpoints read back: runs/get (metrics and tags) and mlflow-artifacts
(download), per the MLflow REST API reference.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from exporter.integrations.mlflow_tracking import metric_key, report_metrics
from tests.mlflow_server import mlflow_server
from tests.paths import EXAMPLES

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXAMPLE = EXAMPLES / "fraud"


def _get(base: str, path: str, **query: str) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = resp.read()
    return json.loads(body) if path.startswith("/api/2.0/mlflow/") else body


def _post(base: str, path: str, payload: dict[str, Any]) -> Any:
    req = urllib.request.Request(f"{base}{path}", data=json.dumps(payload).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def mlflow_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow-tracking")) as base:
        yield base


def _batch(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exporter", "batch",
                           "--profile", str(EXAMPLE / "profile.json"),
                           "--input", str(EXAMPLE / "current.csv"), "--format", "json",
                           *extra], capture_output=True, text=True, timeout=300)


def _run_metrics(base: str, run_id: str) -> dict[str, float]:
    run = _get(base, "/api/2.0/mlflow/runs/get", run_id=run_id)["run"]
    return {m["key"]: m["value"] for m in run["data"].get("metrics", [])}


def test_new_run_in_experiment_gets_metrics_and_reports(mlflow_url: str) -> None:
    out = _batch("--mlflow-uri", mlflow_url, "--mlflow-experiment", "fraud-drift")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    run_id = out.stderr.rsplit("MLflow run ", 1)[1].split()[0]
    metrics = _run_metrics(mlflow_url, run_id)
    amount = next(f for f in report["features"] if f["name"] == "amount")
    assert metrics[metric_key("mlmon", "psi", "amount")] == pytest.approx(amount["psi"])
    assert metrics[metric_key("mlmon", "ks_pvalue", "amount")] == pytest.approx(
        amount["ks_pvalue"], rel=1e-12, abs=1e-300)
    assert metrics["mlmon.drift_share"] == pytest.approx(report["drift_share"])
    assert metrics["mlmon.severity"] == 2.0  # high
    assert set(metrics) == set(report_metrics(report))
    run = _get(mlflow_url, "/api/2.0/mlflow/runs/get", run_id=run_id)["run"]
    assert run["info"]["status"] == "FINISHED"
    exp = _get(mlflow_url, "/api/2.0/mlflow/experiments/get-by-name",
               experiment_name="fraud-drift")["experiment"]
    assert run["info"]["experiment_id"] == exp["experiment_id"]
    prefix = run["info"]["artifact_uri"].removeprefix("mlflow-artifacts:/")
    stored = _get(mlflow_url, f"/api/2.0/mlflow-artifacts/artifacts/{prefix}/mlmon-report.json")
    assert json.loads(stored)["features"] == report["features"]
    page = _get(mlflow_url, f"/api/2.0/mlflow-artifacts/artifacts/{prefix}/mlmon-report.html")
    assert page.count(b"<svg") == len(report["features"])


def test_existing_run_and_errors(mlflow_url: str) -> None:
    exp = _post(mlflow_url, "/api/2.0/mlflow/experiments/create", {"name": "training"})
    run = _post(mlflow_url, "/api/2.0/mlflow/runs/create",
                {"experiment_id": exp["experiment_id"], "run_name": "train-42"})
    run_id = run["run"]["info"]["run_id"]
    out = _batch("--mlflow-uri", mlflow_url, "--mlflow-run", run_id)
    assert out.returncode == 0, out.stderr
    assert "mlmon.psi.country" in _run_metrics(mlflow_url, run_id)
    still = _get(mlflow_url, "/api/2.0/mlflow/runs/get", run_id=run_id)["run"]["info"]
    assert still["status"] == "RUNNING"  # the caller's run is left for the caller to end
    out = _batch("--mlflow-uri", mlflow_url, "--mlflow-run", "0" * 32)
    assert out.returncode == 2 and "answered HTTP 404" in out.stderr
    out = _batch("--mlflow-uri", "http://127.0.0.1:9", "--mlflow-experiment", "x")
    assert out.returncode == 2 and "cannot reach MLflow" in out.stderr
