"""Load and validate ``responder.yaml``; every error names the file, the key and the fix."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from exporter.config.durations import ALLOWED as DURATION_ALLOWED
from exporter.config.durations import parse_duration
from exporter.config.errors import ConfigError
from exporter.responder import schedule
from exporter.responder.config import (
    DEFAULT_LISTEN,
    SA_DIR,
    ActionConfig,
    BackendConfig,
    KubeflowRetrain,
    KubernetesRollback,
    MlflowRollback,
    ModelActions,
    ResponderConfig,
    RetryPolicy,
    WebhookTarget,
)

_BACKENDS = {"rollback": ("kubernetes", "mlflow", "webhook"),
             "retrain": ("kubeflow", "webhook")}
_ACTION_KEYS = {"backend", "cooldown", "daily_cap", "window"}
_BACKEND_KEYS = {
    "kubernetes": {"namespace", "deployment", "api_url", "token_file", "ca_file"},
    "mlflow": {"tracking_uri", "registered_model", "alias", "token_file"},
    "kubeflow": {"endpoint", "pipeline_id", "pipeline_version_id", "experiment_id",
                 "parameters", "display_name", "service_account", "token_file"},
    "webhook": {"url", "body", "headers", "token_file"},
}


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent

    def fail(self, key: str, problem: str, allowed: str) -> ConfigError:
        return ConfigError(self.path, key, problem, allowed)

    def mapping(self, value: Any, key: str, allowed_keys: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}",
                            "a YAML mapping of " + ", ".join(sorted(allowed_keys)))
        unknown = sorted(str(k) for k in value if k not in allowed_keys)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0], "unknown key",
                            ", ".join(sorted(allowed_keys)))
        return value

    def text(self, m: Mapping[str, Any], name: str, key: str, default: str | None = None,
             required: bool = True) -> str | None:
        value = m.get(name, default)
        if value is None:
            if required:
                raise self.fail(f"{key}.{name}".lstrip("."), "missing", "a non-empty string")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key}.{name}".lstrip("."), f"{value!r} is not a non-empty string",
                            "a non-empty string")
        return value

    def req(self, m: Mapping[str, Any], name: str, key: str) -> str:
        value = self.text(m, name, key)
        assert value is not None
        return value

    def url(self, m: Mapping[str, Any], name: str, key: str) -> str:
        value = self.req(m, name, key)
        if not value.startswith(("http://", "https://")):
            raise self.fail(f"{key}.{name}", f"{value!r} is not an http(s) URL",
                            "a URL such as http://host:port")
        return value.rstrip("/")

    def file(self, m: Mapping[str, Any], name: str, key: str,
             default: Path | None = None) -> Path | None:
        value = self.text(m, name, key, required=False)
        return default if value is None else self.base / value

    def duration(self, m: Mapping[str, Any], name: str, key: str, default: float,
                 zero: bool = False) -> float:
        """The project's duration syntax; ``zero`` also allows 0 (no cooldown, no pause)."""
        value = m.get(name, default)
        if zero and value == 0 and not isinstance(value, bool):
            return 0.0
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise self.fail(f"{key}.{name}".lstrip("."), str(exc),
                            DURATION_ALLOWED + (" (or 0)" if zero else "")) from None

    def integer(self, m: Mapping[str, Any], name: str, key: str, default: int,
                minimum: int) -> int:
        value = m.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(f"{key}.{name}".lstrip("."), f"{value!r} is not an integer "
                            f">= {minimum}", f"an integer >= {minimum}")
        return value


def _backend(r: _Reader, m: Mapping[str, Any], key: str, action: str) -> BackendConfig:
    kind = m.get("backend")
    if kind not in _BACKENDS[action]:
        raise r.fail(f"{key}.backend", f"{kind!r} is not a {action} backend",
                     ", ".join(_BACKENDS[action]))
    r.mapping(m, key, _ACTION_KEYS | _BACKEND_KEYS[kind])
    if kind == "kubernetes":
        api_url = r.url(m, "api_url", key) if "api_url" in m else None
        return KubernetesRollback(
            r.req(m, "namespace", key), r.req(m, "deployment", key), api_url,
            r.file(m, "token_file", key, SA_DIR / "token") or SA_DIR / "token",
            r.file(m, "ca_file", key, None if api_url else SA_DIR / "ca.crt"))
    if kind == "mlflow":
        return MlflowRollback(r.url(m, "tracking_uri", key), r.req(m, "registered_model", key),
                              r.text(m, "alias", key, "champion") or "champion",
                              r.file(m, "token_file", key))
    if kind == "kubeflow":
        params = m.get("parameters", {})
        if not isinstance(params, dict):
            raise r.fail(f"{key}.parameters", "expected a mapping",
                         "a mapping of pipeline parameter names to values")
        return KubeflowRetrain(
            r.url(m, "endpoint", key), r.req(m, "pipeline_id", key),
            r.req(m, "pipeline_version_id", key),
            r.text(m, "experiment_id", key, required=False), dict(params),
            r.text(m, "display_name", key, KubeflowRetrain.display_name) or "",
            r.text(m, "service_account", key, required=False), r.file(m, "token_file", key))
    headers = m.get("headers", {})
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise r.fail(f"{key}.headers", "expected a mapping of strings",
                     "header names to string values (secrets go in token_file)")
    return WebhookTarget(r.url(m, "url", key), m.get("body"), dict(headers),
                         r.file(m, "token_file", key))


def _action(r: _Reader, value: Any, key: str, action: str,
            defaults: Mapping[str, Any]) -> ActionConfig:
    m = r.mapping(value, key, _ACTION_KEYS | set().union(*_BACKEND_KEYS.values()))
    backend = _backend(r, m, key, action)
    window = None
    if action == "retrain":
        text = m.get("window", defaults.get("window", "00 02 * * *"))
        try:
            window = schedule.parse(str(text))
        except schedule.WindowError as exc:
            raise r.fail(f"{key}.window", str(exc),
                         "'immediate' or 'MINUTE HOUR * * DAY-OF-WEEK' in UTC, "
                         "e.g. '00 02 * * *'") from None
    elif "window" in m:
        raise r.fail(f"{key}.window", "only retraining is scheduled", "remove it (rollback "
                     "is immediate)")
    cooldown = r.duration(m, "cooldown", key,
                          r.duration(defaults, "cooldown", "defaults", 3600, zero=True), zero=True)
    cap = r.integer(m, "daily_cap", key,
                    r.integer(defaults, "daily_cap", "defaults", 3, 1), 1)
    return ActionConfig(backend, cooldown, cap, window)


def load(path: str | Path) -> ResponderConfig:
    """Read and validate a responder config file; raises ConfigError."""
    p = Path(path)
    r = _Reader(p)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(p, "(file)", f"cannot read: {exc.strerror}",
                          "a readable YAML file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(p, "(file)", f"not valid YAML: {exc}", "valid YAML") from None
    top = r.mapping(raw, "", {"listen", "token_file", "state_dir", "dry_run", "timeout",
                              "retry", "poll_interval", "defaults", "models"})
    defaults = r.mapping(top.get("defaults", {}), "defaults",
                         {"cooldown", "daily_cap", "window"})
    if "window" in defaults:
        try:
            schedule.parse(str(defaults["window"]))
        except schedule.WindowError as exc:
            raise r.fail("defaults.window", str(exc), "'immediate' or 'MINUTE HOUR * * "
                         "DAY-OF-WEEK' in UTC, e.g. '00 02 * * *'") from None
    retry_raw = r.mapping(top.get("retry", {}), "retry", {"attempts", "backoff", "max_backoff"})
    retry = RetryPolicy(r.integer(retry_raw, "attempts", "retry", 4, 1),
                        r.duration(retry_raw, "backoff", "retry", 1.0, zero=True),
                        r.duration(retry_raw, "max_backoff", "retry", 30.0))
    listen = r.text(top, "listen", "", DEFAULT_LISTEN) or DEFAULT_LISTEN
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise r.fail("listen", f"{listen!r} is not HOST:PORT", "e.g. 0.0.0.0:9848")
    dry_run = top.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise r.fail("dry_run", f"{dry_run!r} is not a boolean", "true or false")
    models_raw = top.get("models")
    if not isinstance(models_raw, list) or not models_raw:
        raise r.fail("models", "missing or empty", "a list of {name, rollback, retrain}")
    models: dict[str, ModelActions] = {}
    for i, item in enumerate(models_raw):
        key = f"models[{i}]"
        m = r.mapping(item, key, {"name", "rollback", "retrain"})
        name = r.req(m, "name", key)
        if name in models:
            raise r.fail(f"{key}.name", f"duplicate model {name!r}", "each model once")
        rollback = (_action(r, m["rollback"], f"{key}.rollback", "rollback", defaults)
                    if m.get("rollback") is not None else None)
        retrain = (_action(r, m["retrain"], f"{key}.retrain", "retrain", defaults)
                   if m.get("retrain") is not None else None)
        if rollback is None and retrain is None:
            raise r.fail(key, f"model {name!r} has no action", "a rollback and/or retrain block")
        models[name] = ModelActions(name, rollback, retrain)
    token_file = r.file(top, "token_file", "")
    state_dir = r.file(top, "state_dir", "")
    if token_file is None:
        raise r.fail("token_file", "missing", "a file holding the bearer token Alertmanager "
                     "sends (http_config.authorization.credentials_file)")
    if state_dir is None:
        raise r.fail("state_dir", "missing", "a writable directory for the dedupe store, "
                     "retrain queue and audit log")
    return ResponderConfig(p, token_file, state_dir, models, listen, dry_run,
                           r.duration(top, "timeout", "", 10.0), retry,
                           r.duration(top, "poll_interval", "", 30.0))
