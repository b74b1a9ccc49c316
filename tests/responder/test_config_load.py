"""responder.yaml: a full valid file, and errors that name the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.config.errors import ConfigError
from exporter.responder.config import (
    SA_DIR,
    KubeflowRetrain,
    KubernetesRollback,
    MlflowRollback,
    WebhookTarget,
)
from exporter.responder.config_load import load

FULL = """\
listen: 127.0.0.1:9848
token_file: secrets/token
state_dir: /var/lib/mlmon-responder
dry_run: true
timeout: 5s
poll_interval: 1m
retry: {attempts: 5, backoff: 500ms, max_backoff: 1m}
defaults: {cooldown: 2h, daily_cap: 4, window: "00 03 * * *"}
models:
  - name: fraud
    rollback: {backend: kubernetes, namespace: prod, deployment: fraud-model, cooldown: 30m}
    retrain:
      backend: kubeflow
      endpoint: http://ml-pipeline.kubeflow:8888/
      pipeline_id: p-1
      pipeline_version_id: pv-2
      experiment_id: e-3
      parameters: {model: "{model}", epochs: 5}
      window: "30 1 * * 1-5"
      daily_cap: 1
  - name: housing
    rollback: {backend: mlflow, tracking_uri: http://mlflow:5000, registered_model: housing-reg}
    retrain:
      backend: webhook
      url: https://ci.example.internal/hooks/retrain
      body: {ref: main, inputs: {model: "{model}"}}
      headers: {X-Source: mlmon}
      token_file: secrets/ci-token
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "responder.yaml"
    path.write_text(text)
    return path


def test_full_config(tmp_path: Path) -> None:
    c = load(write(tmp_path, FULL))
    assert (c.listen, c.dry_run, c.timeout, c.poll_interval) == ("127.0.0.1:9848", True, 5.0, 60.0)
    assert c.token_file == tmp_path / "secrets/token"  # relative to the config file
    assert c.state_dir == Path("/var/lib/mlmon-responder")
    assert (c.retry.attempts, c.retry.backoff, c.retry.max_backoff) == (5, 0.5, 60.0)
    fraud, housing = c.models["fraud"], c.models["housing"]
    assert fraud.rollback is not None and fraud.retrain is not None
    assert fraud.rollback.backend == KubernetesRollback(
        "prod", "fraud-model", None, SA_DIR / "token", SA_DIR / "ca.crt")
    assert (fraud.rollback.cooldown, fraud.rollback.daily_cap) == (1800.0, 4)
    assert fraud.retrain.backend == KubeflowRetrain(
        "http://ml-pipeline.kubeflow:8888", "p-1", "pv-2", "e-3", {"model": "{model}",
                                                                   "epochs": 5})
    assert fraud.retrain.window is not None and fraud.retrain.window.text == "30 1 * * 1-5"
    assert (fraud.retrain.cooldown, fraud.retrain.daily_cap) == (7200.0, 1)
    assert housing.rollback is not None and housing.retrain is not None
    assert housing.rollback.backend == MlflowRollback("http://mlflow:5000", "housing-reg")
    assert housing.retrain.window is not None and housing.retrain.window.text == "00 03 * * *"
    assert housing.retrain.backend == WebhookTarget(
        "https://ci.example.internal/hooks/retrain", {"ref": "main", "inputs": {"model":
                                                                             "{model}"}},
        {"X-Source": "mlmon"}, tmp_path / "secrets/ci-token")


@pytest.mark.parametrize(("old", "new", "key", "fix"), [
    ("dry_run: true", "dry_run: maybe", "dry_run", "true or false"),
    ("timeout: 5s", "timeout: 5 parsecs", "timeout", '"500ms", "15s", "5m"'),
    ("listen: 127.0.0.1:9848", "listen: nowhere", "listen", "0.0.0.0:9848"),
    ("token_file: secrets/token\n", "", "token_file", "bearer token"),
    ("backend: kubernetes", "backend: helm", "models[0].rollback.backend",
     "kubernetes, mlflow, webhook"),
    ("backend: kubeflow", "backend: kubernetes", "models[0].retrain.backend",
     "kubeflow, webhook"),
    ("namespace: prod, ", "", "models[0].rollback.namespace", "non-empty string"),
    ('window: "30 1 * * 1-5"', 'window: "30 1 1 * *"', "models[0].retrain.window",
     "'immediate'"),
    ("daily_cap: 1", "daily_cap: 0", "models[0].retrain.daily_cap", "integer >= 1"),
    ("pipeline_id: p-1", "pipeline_idd: p-1", "models[0].retrain.pipeline_idd",
     "pipeline_version_id"),
    ("tracking_uri: http://mlflow:5000", "tracking_uri: mlflow:5000",
     "models[1].rollback.tracking_uri", "http://host:port"),
    ("  - name: housing", "  - name: fraud", "models[1].name", "each model once"),
    ('window: "00 03 * * *"}', 'window: "3am"}', "defaults.window", "'immediate'"),
    ("retry: {attempts: 5,", "retry: {tries: 5,", "retry.tries", "attempts"),
])
def test_errors_name_file_key_and_fix(tmp_path: Path, old: str, new: str, key: str,
                                      fix: str) -> None:
    assert old in FULL
    path = write(tmp_path, FULL.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load(path)
    err = info.value
    assert (err.file, err.key) == (str(path), key)
    assert fix in err.allowed


def test_rollback_takes_no_window(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace("cooldown: 30m}", "cooldown: 30m, window: immediate}"))
    with pytest.raises(ConfigError, match=r"models\[0\].rollback.window: only retraining"):
        load(path)


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(write(tmp_path, "models: [\n"))
    with pytest.raises(ConfigError, match="models: missing or empty"):
        load(write(tmp_path, "token_file: t\nstate_dir: s\n"))


def test_durations_use_the_project_syntax(tmp_path: Path) -> None:
    c = load(write(tmp_path, FULL.replace("cooldown: 30m}", "cooldown: 1h30m}")
                   .replace("backoff: 500ms,", "backoff: 0,")))
    assert c.models["fraud"].rollback is not None
    assert c.models["fraud"].rollback.cooldown == 5400.0  # 3600 + 30 * 60
    assert c.retry.backoff == 0.0  # retry at once


@pytest.mark.parametrize(("old", "new", "key"), [
    ("poll_interval: 1m", "poll_interval: 0", "poll_interval"),  # would spin
    ("timeout: 5s", "timeout: -1", "timeout"),
])
def test_durations_that_must_be_positive(tmp_path: Path, old: str, new: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, FULL.replace(old, new, 1)))
    assert info.value.key == key and "positive" in str(info.value)


@pytest.mark.parametrize(("old", "new", "key"), [
    ("dry_run: true\n", "dry_run: true\ndry_run: false\n", "dry_run"),
    ("defaults: {cooldown: 2h,", "defaults: {cooldown: 2h, cooldown: 1h,", "defaults.cooldown"),
    ("retry: {attempts: 5,", "retry: {attempts: 5, attempts: 6,", "retry.attempts"),
    ("  - name: housing\n", "  - name: housing\n    name: housing2\n", "models[1].name"),
    ("cooldown: 30m}", "cooldown: 30m, namespace: staging}", "models[0].rollback.namespace"),
    ("      daily_cap: 1\n", "      daily_cap: 1\n      daily_cap: 2\n",
     "models[0].retrain.daily_cap"),
    ("{model: \"{model}\", epochs: 5}", "{model: \"{model}\", epochs: 5, epochs: 6}",
     "models[0].retrain.parameters.epochs"),
    ("inputs: {model: \"{model}\"}", "inputs: {model: \"{model}\", model: x}",
     "models[1].retrain.body.inputs.model"),
    ("headers: {X-Source: mlmon}", "headers: {X-Source: mlmon, X-Source: other}",
     "models[1].retrain.headers.X-Source"),
])
def test_duplicate_keys_are_errors(tmp_path: Path, old: str, new: str, key: str) -> None:
    """A key written twice is an error wherever it is (the later value is not silently kept)."""
    assert old in FULL
    path = write(tmp_path, FULL.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load(path)
    err = info.value
    assert (err.file, err.key) == (str(path), key)
    assert "more than once" in err.problem and err.allowed == "each key once"
