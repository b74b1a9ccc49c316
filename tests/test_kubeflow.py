"""The Kubeflow Pipelines component: valid for kfp, and it really gates on drift."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.paths import EXAMPLES, ROOT
from tests.procs import IN_CI

COMPONENT = ROOT / "kubeflow" / "component.yaml"
EXAMPLE = EXAMPLES / "fraud"


def _component() -> dict[str, Any]:
    doc = yaml.safe_load(COMPONENT.read_text())
    assert isinstance(doc, dict)
    return doc


def _placeholders(args: list[Any]) -> list[tuple[str, str]]:
    return [(kind, value) for a in args if isinstance(a, dict) for kind, value in a.items()]


def test_component_follows_the_component_spec() -> None:
    doc = _component()
    assert set(doc) <= {"name", "description", "inputs", "outputs", "implementation", "metadata"}
    inputs = {i["name"]: i for i in doc["inputs"]}
    outputs = {o["name"] for o in doc["outputs"]}
    assert {"profile", "batch", "fail_on"} <= set(inputs)
    assert inputs["fail_on"]["default"] in ("medium", "high")
    container = doc["implementation"]["container"]
    assert ":" in container["image"] and not container["image"].endswith(":latest")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert container["image"].rpartition(":")[2] == version, "tag the mlmon image " + version
    # `mlmon batch` reads CSV/Parquet: the batch image (NAME-batch:TAG, scripts/build-image.sh),
    # not the sidecar image, which leaves pyarrow out
    assert container["image"].rpartition(":")[0].endswith("/mlmon-batch"), container["image"]
    for kind, name in _placeholders(container["args"]):
        assert kind in ("inputValue", "inputPath", "outputPath")
        assert name in (outputs if kind == "outputPath" else inputs), name
    assert {n for k, n in _placeholders(container["args"]) if k == "outputPath"} == outputs


def _kfp_python() -> str:
    candidate = os.environ.get("MLMON_KFP_PYTHON", str(ROOT / ".venv-kfp" / "bin" / "python"))
    if not Path(candidate).exists():
        message = "kfp test venv missing: run scripts/ensure-kfp.sh (make test does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return candidate


def test_kfp_loads_the_component_and_compiles_the_example_pipeline(tmp_path: Path) -> None:
    out = tmp_path / "pipeline.yaml"
    subprocess.run([_kfp_python(), str(ROOT / "kubeflow" / "pipeline_example.py"), str(out)],
                   check=True, capture_output=True, timeout=120)
    docs = list(yaml.safe_load_all(out.read_text()))
    spec = docs[0]
    executors = spec["deploymentSpec"]["executors"]
    check = executors["exec-mlmon-drift-check"]["container"]
    assert check["image"] == _component()["implementation"]["container"]["image"]
    assert "--fail-on" in check["args"][0]
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["deploy"]["dependentTasks"] == ["mlmon-drift-check"]


def _run_component(batch: Path, fail_on: str, tmp: Path) -> tuple[int, Path]:
    container = _component()["implementation"]["container"]
    values = {"profile": str(EXAMPLE / "profile.json"), "batch": str(batch),
              "fail_on": fail_on, "label_column": "label",
              "report_json": str(tmp / "report.json"), "report_html": str(tmp / "report.html")}
    argv = [a if isinstance(a, str) else values[next(iter(a.values()))]
            for a in container["args"]]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    proc = subprocess.run([*container["command"], *argv], env=env, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, tmp / "report.json"


def test_component_command_fails_the_step_on_drift(tmp_path: Path) -> None:
    code, report = _run_component(EXAMPLE / "current.csv", "high", tmp_path)
    assert code == 3
    assert json.loads(report.read_text())["severity"] == "high"
    assert "<svg" in (tmp_path / "report.html").read_text()


def test_component_command_passes_without_drift(tmp_path: Path) -> None:
    code, report = _run_component(EXAMPLE / "reference.csv", "medium", tmp_path)
    assert code == 0, report
    assert json.loads(report.read_text())["severity"] == "low"
