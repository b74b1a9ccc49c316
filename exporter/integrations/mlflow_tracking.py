"""Log a batch drift report to MLflow tracking over its REST API.

Endpoints (MLflow REST API reference, "Tracking" and "MLflow Artifacts"):
``GET  /api/2.0/mlflow/experiments/get-by-name``, ``POST /api/2.0/mlflow/experiments/create``,
``POST /api/2.0/mlflow/runs/create``, ``GET /api/2.0/mlflow/runs/get``,
``POST /api/2.0/mlflow/runs/log-batch``, ``POST /api/2.0/mlflow/runs/update`` and
``PUT /api/2.0/mlflow-artifacts/artifacts/<path>`` (artifact proxy of ``mlflow server``).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.stats.severity import Severity

MAX_METRICS_PER_CALL = 1000  # log-batch limit
_KEY_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")


class MLflowError(RuntimeError):
    """MLflow could not be reached or refused a call (its message included)."""


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    experiment_id: str
    metrics: int
    artifacts: tuple[str, ...]


def metric_key(*parts: str) -> str:
    """An MLflow metric key: allowed characters only (others become '_')."""
    return ".".join(_KEY_CHARS.sub("_", p) for p in parts)


def report_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """Flatten a `mlmon batch --format json` report into MLflow metrics."""
    out: dict[str, float] = {}
    severity = {s.label: float(s) for s in Severity}  # the gauge's 0/1/2
    for feature in report.get("features", []):
        name = str(feature["name"])
        for stat in ("psi", "ks_statistic", "ks_pvalue", "chi2_statistic", "chi2_pvalue",
                     "wasserstein", "jensen_shannon", "hellinger"):
            value = feature.get(stat)
            if isinstance(value, int | float):
                out[metric_key("mlmon", stat, name)] = float(value)
        if feature.get("severity") in severity:
            out[metric_key("mlmon", "severity", name)] = severity[feature["severity"]]
    if isinstance(report.get("drift_share"), int | float):
        out["mlmon.drift_share"] = float(report["drift_share"])
    if report.get("severity") in severity:
        out["mlmon.severity"] = severity[report["severity"]]
    if isinstance(report.get("rows"), int):
        out["mlmon.rows"] = float(report["rows"])
    for name, value in (report.get("performance") or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[metric_key("mlmon", "performance", str(name))] = float(value)
    return out


class MLflowClient:
    def __init__(self, tracking_uri: str, timeout: float = 30.0) -> None:
        self.base = tracking_uri.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None,
              query: Mapping[str, str] | None = None, raw: bytes | None = None) -> Any:
        url = f"{self.base}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type", "application/octet-stream" if raw is not None
                       else "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace")
            raise MLflowError(f"MLflow at {self.base} answered HTTP {exc.code} to "
                              f"{method} {path}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise MLflowError(f"cannot reach MLflow at {self.base}: "
                              f"{getattr(exc, 'reason', exc)}") from None
        return json.loads(payload) if payload else {}

    def experiment_id(self, name: str) -> str:
        """The id of the experiment with this name, created when missing."""
        try:
            doc = self._call("GET", "/api/2.0/mlflow/experiments/get-by-name",
                             query={"experiment_name": name})
            return str(doc["experiment"]["experiment_id"])
        except MLflowError as exc:
            if "RESOURCE_DOES_NOT_EXIST" not in str(exc):
                raise
        doc = self._call("POST", "/api/2.0/mlflow/experiments/create", {"name": name})
        return str(doc["experiment_id"])

    def create_run(self, experiment_id: str, run_name: str, tags: Mapping[str, str]) -> str:
        doc = self._call("POST", "/api/2.0/mlflow/runs/create", {
            "experiment_id": experiment_id, "run_name": run_name,
            "start_time": int(time.time() * 1000),
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        })
        return str(doc["run"]["info"]["run_id"])

    def run_info(self, run_id: str) -> dict[str, Any]:
        doc = self._call("GET", "/api/2.0/mlflow/runs/get", query={"run_id": run_id})
        info: dict[str, Any] = doc["run"]["info"]
        return info

    def log_metrics(self, run_id: str, metrics: Mapping[str, float],
                    tags: Mapping[str, str]) -> None:
        now = int(time.time() * 1000)
        items = [{"key": k, "value": v, "timestamp": now, "step": 0} for k, v in metrics.items()]
        tag_items = [{"key": k, "value": v} for k, v in tags.items()]
        for i in range(0, max(len(items), 1), MAX_METRICS_PER_CALL):
            self._call("POST", "/api/2.0/mlflow/runs/log-batch", {
                "run_id": run_id, "metrics": items[i:i + MAX_METRICS_PER_CALL],
                "tags": tag_items if i == 0 else [],
            })

    def log_artifact(self, artifact_uri: str, name: str, content: bytes) -> None:
        prefix = "mlflow-artifacts:/"
        if not artifact_uri.startswith(prefix):
            raise MLflowError(
                f"run artifact location {artifact_uri!r} is not served by the MLflow "
                "artifact proxy; start `mlflow server` with --serve-artifacts")
        path = artifact_uri[len(prefix):].strip("/") + "/" + name
        self._call("PUT", "/api/2.0/mlflow-artifacts/artifacts/" + urllib.parse.quote(path),
                   raw=content)

    def finish_run(self, run_id: str) -> None:
        self._call("POST", "/api/2.0/mlflow/runs/update", {
            "run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)})


def log_report(tracking_uri: str, report: Mapping[str, Any], artifacts: Mapping[str, bytes],
               run_id: str | None = None, experiment: str | None = None) -> LoggedRun:
    """Log the report's statistics as metrics and the reports as artifacts.

    With ``run_id`` the metrics go to that existing run; with ``experiment`` a
    new run is created in it (created if needed) and finished afterwards.
    """
    if (run_id is None) == (experiment is None):
        raise ValueError("give exactly one of run_id or experiment")
    client = MLflowClient(tracking_uri)
    tags = {"mlmon.model": str(report.get("model", "")),
            "mlmon.version": str(report.get("version", ""))}
    created = run_id is None
    if experiment is not None:
        exp_id = client.experiment_id(experiment)
        run_id = client.create_run(exp_id, f"mlmon-batch-{report.get('model', 'model')}", tags)
    assert run_id is not None
    info = client.run_info(run_id)
    metrics = report_metrics(report)
    client.log_metrics(run_id, metrics, tags)
    for name, content in artifacts.items():
        client.log_artifact(str(info["artifact_uri"]), name, content)
    if created:
        client.finish_run(run_id)
    return LoggedRun(run_id, str(info["experiment_id"]), len(metrics), tuple(artifacts))
