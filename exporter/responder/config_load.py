"""Load and validate ``responder.yaml``; every error names the file, the key and the fix.

The YAML loader and the typed field readers are the main config's (``exporter.config.fields``):
the same strictness, so a key written twice is an error here as it is in ``mlmon.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from exporter.config.errors import ConfigError
from exporter.config.fields import Fields, join, load_yaml
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
from exporter.responder.redact import redact_url

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
_TOP_KEYS = {"listen", "token_file", "state_dir", "dry_run", "timeout", "retry",
             "poll_interval", "defaults", "models"}
_WINDOW_ALLOWED = ("'immediate' or 'MINUTE HOUR * * DAY-OF-WEEK' in UTC, "
                   "e.g. '00 02 * * *'")


def _known(keys: set[str]) -> dict[str, str]:
    """The allowed keys of a section, in the order error messages list them."""
    return dict.fromkeys(sorted(keys), "")


def _text(f: Fields, m: Mapping[str, Any], name: str, key: str,
          default: str | None = None) -> str | None:
    """An optional string: absent gives ``default``, null gives None."""
    value = m.get(name, default)
    return None if value is None else f.string(value, join(key, name))


def _required(f: Fields, m: Mapping[str, Any], name: str, key: str) -> str:
    value = m.get(name)
    if value is None:
        raise f.error(join(key, name), "missing", "a non-empty string")
    return f.string(value, join(key, name))


def _url(f: Fields, m: Mapping[str, Any], name: str, key: str) -> str:
    value = _required(f, m, name, key)
    if not value.startswith(("http://", "https://")):
        raise f.error(join(key, name), f"{redact_url(value)!r} is not an http(s) URL",
                      "a URL such as http://host:port")
    return value.rstrip("/")


def _file(f: Fields, m: Mapping[str, Any], name: str, key: str,
          default: Path | None = None) -> Path | None:
    """A path relative to the config file's directory."""
    value = _text(f, m, name, key)
    return default if value is None else f.file.parent / value


def _window(f: Fields, text: Any, key: str) -> schedule.Window:
    try:
        return schedule.parse(str(text))
    except schedule.WindowError as exc:
        raise f.error(key, str(exc), _WINDOW_ALLOWED) from None


def _backend(f: Fields, m: Mapping[str, Any], key: str, action: str) -> BackendConfig:
    kind = m.get("backend")
    if kind not in _BACKENDS[action]:
        raise f.error(f"{key}.backend", f"{kind!r} is not a {action} backend",
                      ", ".join(_BACKENDS[action]))
    f.mapping(m, key, _known(_ACTION_KEYS | _BACKEND_KEYS[kind]))
    if kind == "kubernetes":
        api_url = _url(f, m, "api_url", key) if "api_url" in m else None
        return KubernetesRollback(
            _required(f, m, "namespace", key), _required(f, m, "deployment", key), api_url,
            _file(f, m, "token_file", key, SA_DIR / "token") or SA_DIR / "token",
            _file(f, m, "ca_file", key, None if api_url else SA_DIR / "ca.crt"))
    if kind == "mlflow":
        return MlflowRollback(_url(f, m, "tracking_uri", key),
                              _required(f, m, "registered_model", key),
                              _text(f, m, "alias", key, "champion") or "champion",
                              _file(f, m, "token_file", key))
    if kind == "kubeflow":
        params = m.get("parameters", {})
        if not isinstance(params, dict):
            raise f.error(f"{key}.parameters", "expected a mapping",
                          "a mapping of pipeline parameter names to values")
        f.unique_keys(params, f"{key}.parameters")
        return KubeflowRetrain(
            _url(f, m, "endpoint", key), _required(f, m, "pipeline_id", key),
            _required(f, m, "pipeline_version_id", key),
            _text(f, m, "experiment_id", key), dict(params),
            _text(f, m, "display_name", key, KubeflowRetrain.display_name) or "",
            _text(f, m, "service_account", key), _file(f, m, "token_file", key))
    headers = m.get("headers", {})
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise f.error(f"{key}.headers", "expected a mapping of strings",
                      "header names to string values (secrets go in token_file)")
    f.unique_keys(headers, f"{key}.headers")
    return WebhookTarget(_url(f, m, "url", key), f.unique_keys(m.get("body"), f"{key}.body"),
                         dict(headers), _file(f, m, "token_file", key))


def _action(f: Fields, value: Any, key: str, action: str,
            defaults: Mapping[str, Any]) -> ActionConfig:
    m = f.mapping(value, key, _known(_ACTION_KEYS | set().union(*_BACKEND_KEYS.values())))
    backend = _backend(f, m, key, action)
    window = None
    if action == "retrain":
        window = _window(f, m.get("window", defaults.get("window", "00 02 * * *")),
                         f"{key}.window")
    elif "window" in m:
        raise f.error(f"{key}.window", "only retraining is scheduled", "remove it (rollback "
                      "is immediate)")
    cooldown = f.duration_or_zero(
        m.get("cooldown", f.duration_or_zero(defaults.get("cooldown", 3600),
                                             "defaults.cooldown")), f"{key}.cooldown")
    cap = f.integer(m.get("daily_cap", f.integer(defaults.get("daily_cap", 3),
                                                 "defaults.daily_cap", 1)),
                    f"{key}.daily_cap", 1)
    return ActionConfig(backend, cooldown, cap, window)


def load(path: str | Path) -> ResponderConfig:
    """Read and validate a responder config file; raises ConfigError."""
    p = Path(path)
    f = Fields(p)
    try:
        raw = load_yaml(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(p, "(file)", f"cannot read: {exc.strerror}",
                          "a readable YAML file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(p, "(file)", f"not valid YAML: {exc}", "valid YAML") from None
    top = f.mapping(raw, "", _known(_TOP_KEYS))
    defaults = f.mapping(top.get("defaults", {}), "defaults",
                         _known({"cooldown", "daily_cap", "window"}))
    if "window" in defaults:
        _window(f, defaults["window"], "defaults.window")
    retry_raw = f.mapping(top.get("retry", {}), "retry",
                          _known({"attempts", "backoff", "max_backoff"}))
    retry = RetryPolicy(f.integer(retry_raw.get("attempts", 4), "retry.attempts", 1),
                        f.duration_or_zero(retry_raw.get("backoff", 1.0), "retry.backoff"),
                        f.duration(retry_raw.get("max_backoff", 30.0), "retry.max_backoff"))
    listen = f.string(top.get("listen", DEFAULT_LISTEN), "listen", "HOST:PORT, e.g. 0.0.0.0:9848")
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise f.error("listen", f"{listen!r} is not HOST:PORT", "e.g. 0.0.0.0:9848")
    dry_run = f.boolean(top.get("dry_run", False), "dry_run")
    models_raw = top.get("models")
    if not isinstance(models_raw, list) or not models_raw:
        raise f.error("models", "missing or empty", "a list of {name, rollback, retrain}")
    models: dict[str, ModelActions] = {}
    for i, item in enumerate(models_raw):
        key = f"models[{i}]"
        m = f.mapping(item, key, _known({"name", "rollback", "retrain"}))
        name = _required(f, m, "name", key)
        if name in models:
            raise f.error(f"{key}.name", f"duplicate model {name!r}", "each model once")
        rollback = (_action(f, m["rollback"], f"{key}.rollback", "rollback", defaults)
                    if m.get("rollback") is not None else None)
        retrain = (_action(f, m["retrain"], f"{key}.retrain", "retrain", defaults)
                   if m.get("retrain") is not None else None)
        if rollback is None and retrain is None:
            raise f.error(key, f"model {name!r} has no action", "a rollback and/or retrain block")
        models[name] = ModelActions(name, rollback, retrain)
    token_file = _file(f, top, "token_file", "")
    state_dir = _file(f, top, "state_dir", "")
    if token_file is None:
        raise f.error("token_file", "missing", "a file holding the bearer token Alertmanager "
                      "sends (http_config.authorization.credentials_file)")
    if state_dir is None:
        raise f.error("state_dir", "missing", "a writable directory for the dedupe store, "
                      "retrain queue and audit log")
    return ResponderConfig(p, token_file, state_dir, models, listen, dry_run,
                           f.duration(top.get("timeout", 10.0), "timeout"), retry,
                           f.duration(top.get("poll_interval", 30.0), "poll_interval"))
