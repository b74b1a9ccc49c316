"""Parse and validate the YAML configuration into the frozen objects of exporter.config."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from exporter.config.errors import ConfigError
from exporter.config.fields import Fields, join, load_yaml, type_name
from exporter.config.model import (
    QUALITY_KEYS,
    Config,
    ErrorDriftConfig,
    FeatureConfig,
    LabelConfig,
    ModelConfig,
    PredictionConfig,
    QualityConfig,
    SegmentConfig,
    ServerConfig,
    WindowConfig,
)
from exporter.config.multivariate import parse_multivariate
from exporter.stats.thresholds import Thresholds
from exporter.types import ModelKey

TOP = {"compute_interval": "duration", "models": "list of models", "server": "mapping"}


def _keys(cls: type[Any]) -> dict[str, str]:
    """The YAML keys of a config section: the fields of its dataclass."""
    return {f.name: "" for f in dataclasses.fields(cls)}


MODEL = _keys(ModelConfig)
PREDICTION = _keys(PredictionConfig)
WINDOW = _keys(WindowConfig)
THRESHOLDS = _keys(Thresholds)
LABELS = _keys(LabelConfig)
ERROR_DRIFT = _keys(ErrorDriftConfig)
SERVER = _keys(ServerConfig)
SEGMENT = _keys(SegmentConfig)
MAX_SEGMENT_VALUES = 50  # segment.max_values: (max_values + 1) x 5 series per model at most
KINDS = ("numeric", "categorical")
ENV_NONE = ("", "none", "off")
MIN_TOKEN = 16  # characters of server.ingest_token_file; shorter tokens are guessable


class _Parser:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.f = Fields(file)

    def err(self, key: str, problem: str, allowed: str) -> ConfigError:
        return ConfigError(self.file, key, problem, allowed)

    def config(self, raw: Any) -> Config:
        d = self.f.mapping(raw, "", TOP)
        if "models" not in d:
            raise self.err("models", "missing", "a list of at least one model")
        models_raw = d["models"]
        if not isinstance(models_raw, list) or not models_raw:
            raise self.err("models", f"expected a non-empty list, got {type_name(models_raw)}",
                           "a list of at least one model")
        models = [self.model(m, f"models[{i}]") for i, m in enumerate(models_raw)]
        seen: dict[ModelKey, int] = {}
        for i, m in enumerate(models):
            if m.key in seen:
                raise self.err(f"models[{i}]", f"model {m.name!r} version {m.version!r} is "
                               f"already defined at models[{seen[m.key]}]",
                               "each (name, version) once")
            seen[m.key] = i
        interval = self.f.duration(d.get("compute_interval", Config.compute_interval),
                                   "compute_interval")
        return Config(self.file, tuple(models), interval, self.server(d.get("server", {})))

    def model(self, raw: Any, p: str) -> ModelConfig:
        f = self.f
        d = f.mapping(raw, p, MODEL)
        for key in ("name", "version", "prediction", "features"):
            if key not in d:
                raise self.err(join(p, key), "missing required key", _REQUIRED[key])
        name = f.string(d["name"], join(p, "name"), "a model name")
        version = d["version"]
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)
        version = f.string(version, join(p, "version"), 'a version string such as "3"')
        profile = d.get("profile")
        profile_path = None
        if profile is not None:
            profile_path = self.file.parent / f.string(profile, join(p, "profile"),
                                                       "a path to a profile JSON file")
        prediction = self.prediction(d["prediction"], join(p, "prediction"))
        features = self.features(d["features"], join(p, "features"))
        # Keys left out take ModelConfig's defaults (written there only).
        given: dict[str, Any] = {}
        for key in ("label_column", "prediction_column", "id_column"):
            if key in d:
                given[key] = f.string(d[key], join(p, key), "a column name")
        for key, minimum in (("bins", 2), ("sample_size", 1), ("max_categories", 1)):
            if key in d:
                given[key] = f.integer(d[key], join(p, key), minimum)
        return ModelConfig(
            name=name, version=version, prediction=prediction, features=features,
            profile=profile_path,
            window=self.window(d.get("window", {}), join(p, "window")),
            thresholds=self.thresholds(d.get("thresholds", {}), join(p, "thresholds")),
            labels=self.labels(d.get("labels", {}), join(p, "labels")),
            error_drift=self.error_drift(d.get("error_drift", {}), join(p, "error_drift")),
            segment=self.segment(d.get("segment"), join(p, "segment"), features),
            quality=self.quality(d.get("quality", {}), join(p, "quality"), features),
            multivariate=parse_multivariate(self.f, d.get("multivariate"),
                                            join(p, "multivariate"), features),
            **given,
        )

    def prediction(self, raw: Any, p: str) -> PredictionConfig:
        d = self.f.mapping(raw, p, PREDICTION)
        kind = d.get("kind")
        if kind not in ("classification", "regression"):
            raise self.err(join(p, "kind"), f"unknown prediction kind {kind!r}",
                           "classification, regression")
        classes_raw = d.get("classes")
        if kind == "regression":
            if classes_raw is not None:
                raise self.err(join(p, "classes"), "regression models have no classes",
                               "omit classes for kind: regression")
            return PredictionConfig("regression")
        if not isinstance(classes_raw, list):
            raise self.err(join(p, "classes"), f"expected a list, got {type_name(classes_raw)}",
                           'a list of at least 2 distinct class names, e.g. ["0", "1"]')
        classes = []
        for i, c in enumerate(classes_raw):
            if isinstance(c, bool) or not isinstance(c, str | int):
                raise self.err(join(p, f"classes[{i}]"), f"expected a class name, got "
                               f"{type_name(c)} {c!r}", "strings or integers")
            classes.append(str(c))
        if len(set(classes)) < 2 or len(set(classes)) != len(classes):
            raise self.err(join(p, "classes"), f"{classes} does not hold at least 2 distinct "
                           "classes", 'a list of at least 2 distinct class names, e.g. ["0", "1"]')
        return PredictionConfig("classification", tuple(classes))

    def features(self, raw: Any, p: str) -> tuple[FeatureConfig, ...]:
        allowed = "a mapping of feature name to numeric or categorical"
        if not isinstance(raw, dict) or not raw:
            raise self.err(p, f"expected a non-empty mapping, got {type_name(raw)}", allowed)
        dups = getattr(raw, "duplicates", [])
        if dups:
            raise self.err(join(p, dups[0]), f"feature {dups[0]!r} is defined more than once",
                           "each feature once")
        out = []
        for name, kind in raw.items():
            key = join(p, str(name))
            if not isinstance(name, str) or not name:
                raise self.err(key, f"feature name {name!r} is not a string", allowed)
            if name.startswith("__"):
                raise self.err(key, f"feature names starting with '__' are reserved ({name!r})",
                               "a name not starting with '__'")
            if any(c in name for c in '"\\') or not name.isprintable():
                raise self.err(key, f"feature name {name!r} holds a quote, a backslash or a "
                               "control character", "printable names without \" or \\")
            if kind not in KINDS:
                raise self.err(key, f"unknown feature kind {kind!r}", "numeric, categorical")
            out.append(FeatureConfig(name, kind))
        return tuple(out)

    def window(self, raw: Any, p: str) -> WindowConfig:
        d = self.f.mapping(raw, p, WINDOW)
        return WindowConfig(
            size=self.f.integer(d.get("size", WindowConfig.size), join(p, "size")),
            max_age=self.f.optional(d.get("max_age"), self.f.duration, join(p, "max_age")))

    def thresholds(self, raw: Any, p: str) -> Thresholds:
        f = self.f
        d = f.mapping(raw, p, THRESHOLDS)
        t = Thresholds()
        medium = f.number(d.get("psi_medium", t.psi_medium), join(p, "psi_medium"), 0, 1e9)
        high = f.number(d.get("psi_high", t.psi_high), join(p, "psi_high"), 0, 1e9)
        if not medium < high:
            raise self.err(join(p, "psi_high"), f"psi_high ({high:g}) must be greater than "
                           f"psi_medium ({medium:g})", "psi_medium < psi_high, e.g. 0.1 and 0.25")
        return Thresholds(
            psi_medium=medium, psi_high=high,
            ks_alpha=f.number(d.get("ks_alpha", t.ks_alpha), join(p, "ks_alpha"), 0, 1),
            chi2_alpha=f.number(d.get("chi2_alpha", t.chi2_alpha), join(p, "chi2_alpha"), 0, 1),
            min_samples=f.integer(d.get("min_samples", t.min_samples), join(p, "min_samples")),
            accuracy_floor=f.optional(
                d.get("accuracy_floor"), lambda v, k: f.number(v, k, 0, 1, hi_open=False),
                join(p, "accuracy_floor")),
            mae_ceiling=f.optional(d.get("mae_ceiling"), lambda v, k: f.number(v, k, 0, 1e300),
                                   join(p, "mae_ceiling")),
            rmse_ceiling=f.optional(d.get("rmse_ceiling"),
                                    lambda v, k: f.number(v, k, 0, 1e300), join(p, "rmse_ceiling")),
        )

    def labels(self, raw: Any, p: str) -> LabelConfig:
        d = self.f.mapping(raw, p, LABELS)
        t = LabelConfig()
        return LabelConfig(
            ttl=self.f.duration(d.get("ttl", t.ttl), join(p, "ttl")),
            max_pending=self.f.integer(d.get("max_pending", t.max_pending), join(p, "max_pending")),
            window=self.f.integer(d.get("window", t.window), join(p, "window")),
            early_ttl=self.f.duration(d.get("early_ttl", t.early_ttl), join(p, "early_ttl")),
            max_early=self.f.integer(d.get("max_early", t.max_early), join(p, "max_early"), 0),
            max_pending_bytes=self.f.integer(d.get("max_pending_bytes", t.max_pending_bytes),
                                             join(p, "max_pending_bytes"), 1024))

    def error_drift(self, raw: Any, p: str) -> ErrorDriftConfig:
        """Page-Hinkley parameters; keys left out take the prediction kind's defaults."""
        f = self.f
        d = f.mapping(raw, p, ERROR_DRIFT)
        return ErrorDriftConfig(
            enabled=f.boolean(d.get("enabled", True), join(p, "enabled")),
            delta=f.optional(d.get("delta"), lambda v, k: f.number(v, k, 0, 1e300, lo_open=False),
                             join(p, "delta")),
            threshold=f.optional(d.get("threshold"), lambda v, k: f.number(v, k, 0, 1e300),
                                 join(p, "threshold")),
            min_instances=f.optional(d.get("min_instances"), f.integer, join(p, "min_instances")),
            alpha=f.optional(d.get("alpha"), lambda v, k: f.number(v, k, 0, 1, hi_open=False),
                             join(p, "alpha")))

    def segment(self, raw: Any, p: str,
                features: tuple[FeatureConfig, ...]) -> SegmentConfig | None:
        """``segment: {feature, max_values}``: a configured categorical feature, 1..50 values."""
        if raw is None:
            return None
        d = self.f.mapping(raw, p, SEGMENT)
        categorical = [f.name for f in features if f.kind == "categorical"]
        allowed = (f"one of the model's categorical features ({', '.join(categorical)})"
                   if categorical else "a categorical feature (this model has none: declare "
                   "one under features, or remove segment)")
        if "feature" not in d:
            raise self.err(join(p, "feature"), "missing required key", allowed)
        name = self.f.string(d["feature"], join(p, "feature"), allowed)
        if name not in categorical:
            kind = next((f.kind for f in features if f.name == name), None)
            problem = (f"feature {name!r} is {kind}, not categorical" if kind is not None
                       else f"feature {name!r} is not a configured feature")
            raise self.err(join(p, "feature"), problem, allowed)
        max_values = self.f.integer(d.get("max_values", SegmentConfig.max_values),
                                    join(p, "max_values"))
        if max_values > MAX_SEGMENT_VALUES:
            raise self.err(join(p, "max_values"), f"{max_values} is above the limit of "
                           f"{MAX_SEGMENT_VALUES}", f"an integer from 1 to {MAX_SEGMENT_VALUES} "
                           "(each value adds up to 5 series per model)")
        min_samples = self.f.optional(d.get("min_samples"), self.f.integer,
                                      join(p, "min_samples"))
        return SegmentConfig(name, max_values, min_samples)

    def quality(self, raw: Any, p: str, features: tuple[FeatureConfig, ...]) -> QualityConfig:
        """Data-quality limits (ratios in [0, 1]) and per-feature overrides of them."""
        d = self.f.mapping(raw, p, {**dict.fromkeys(QUALITY_KEYS, ""), "features": ""})
        limits = {k: self.f.number(d[k], join(p, k), 0, 1, lo_open=False, hi_open=False)
                  for k in QUALITY_KEYS if k in d}
        kinds = {f.name: f.kind for f in features}
        raw_overrides = d.get("features")
        overrides = self.f.mapping({} if raw_overrides is None else raw_overrides,
                                   join(p, "features"), kinds)  # unknown names fail here
        out = []
        for name, o in overrides.items():
            at = join(join(p, "features"), name)
            wrong = "unseen_category" if kinds[name] == "numeric" else "out_of_range"
            fits = {k: "" for k in QUALITY_KEYS if not k.startswith(wrong)}
            other = "categorical" if kinds[name] == "numeric" else "numeric"
            for k in o if isinstance(o, dict) else ():
                if isinstance(k, str) and k.startswith(wrong):
                    raise self.f.error(join(at, k), f"unknown key {k!r} for {kinds[name]} "
                                       f"feature {name!r}: it applies to {other} features "
                                       "only", ", ".join(fits))
            o = self.f.mapping(o, at, fits)
            out.append((name, tuple((k, self.f.number(v, join(at, k), 0, 1, lo_open=False,
                                                      hi_open=False)) for k, v in o.items())))
        return QualityConfig(**limits, features=tuple(out))

    def server(self, raw: Any, p: str = "server") -> ServerConfig:
        f = self.f
        d = f.mapping(raw, p, SERVER)
        s = ServerConfig()

        def path_or_none(key: str, default: Path | None) -> Path | None:
            v = d.get(key, default)
            return None if v is None else Path(f.string(str(v) if isinstance(v, Path) else v,
                                                        join(p, key), "a path or null"))

        return ServerConfig(
            socket=path_or_none("socket", s.socket),
            socket_mode=f.socket_mode(d.get("socket_mode", s.socket_mode), join(p, "socket_mode")),
            tcp=f.optional(d.get("tcp"), lambda v, k: f.host_port(v, k, loopback=True),
                           join(p, "tcp")),
            http=f.host_port(d.get("http", s.http), join(p, "http"), loopback=False),
            state_file=path_or_none("state_file", None),
            state_interval=f.duration(d.get("state_interval", s.state_interval),
                                      join(p, "state_interval")),
            max_line_bytes=f.integer(d.get("max_line_bytes", s.max_line_bytes),
                                     join(p, "max_line_bytes"), 64),
            max_features_per_event=f.integer(d.get("max_features_per_event",
                                                   s.max_features_per_event),
                                             join(p, "max_features_per_event")),
            max_id_bytes=f.integer(d.get("max_id_bytes", s.max_id_bytes),
                                   join(p, "max_id_bytes"), 8),
            max_body_bytes=f.integer(d.get("max_body_bytes", s.max_body_bytes),
                                     join(p, "max_body_bytes"), 64),
            queue_size=f.integer(d.get("queue_size", s.queue_size), join(p, "queue_size")),
            decode_processes=f.integer(d.get("decode_processes", s.decode_processes),
                                       join(p, "decode_processes"), 0),
            max_connections=f.integer(d.get("max_connections", s.max_connections),
                                      join(p, "max_connections")),
            idle_timeout=f.duration(d.get("idle_timeout", s.idle_timeout),
                                    join(p, "idle_timeout")),
            ingest_token_file=self.token_file(path_or_none("ingest_token_file", None),
                                              join(p, "ingest_token_file")),
            shutdown_timeout=f.duration(d.get("shutdown_timeout", s.shutdown_timeout),
                                        join(p, "shutdown_timeout")),
        )

    def token_file(self, path: Path | None, key: str) -> Path | None:
        """A readable file holding a bearer token of at least MIN_TOKEN characters."""
        if path is None:
            return None
        allowed = (f"a readable file holding one token of at least {MIN_TOKEN} characters "
                   "(e.g. from `openssl rand -hex 32`), or null for loopback-only ingestion")
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise self.err(key, f"cannot read {path}: {exc}", allowed) from None
        if len(token) < MIN_TOKEN:
            raise self.err(key, f"{path} holds a token of {len(token)} characters", allowed)
        return path

    def env(self, raw: Any, env: Mapping[str, str]) -> Any:
        """The raw document with environment overrides applied (validated like the file)."""
        if not isinstance(raw, dict):
            return raw
        server = raw.get("server")
        server = server if isinstance(server, dict) else ({} if server is None else server)
        if "MLMON_COMPUTE_INTERVAL" in env:
            raw["compute_interval"] = self.f.duration(env["MLMON_COMPUTE_INTERVAL"],
                                                      "env MLMON_COMPUTE_INTERVAL")
        for var, key in (("MLMON_SOCKET", "socket"), ("MLMON_STATE_FILE", "state_file"),
                         ("MLMON_TCP", "tcp"), ("MLMON_HTTP", "http")):
            if var not in env or not isinstance(server, dict):
                continue
            value: str | None = env[var]
            if key != "http" and value is not None and value.strip().lower() in ENV_NONE:
                value = None
            if key == "tcp" and value is not None:
                self.f.host_port(value, f"env {var}", loopback=True)
            if key == "http":
                self.f.host_port(value, f"env {var}", loopback=False)
            server[key] = value
        if server or "server" in raw:
            raw["server"] = server
        return raw


_REQUIRED = {
    "name": "a model name, e.g. fraud",
    "version": 'a version string, e.g. "3"',
    "prediction": "{kind: classification, classes: [...]} or {kind: regression}",
    "features": "a mapping of feature name to numeric or categorical",
}


def parse(path: Path, env: Mapping[str, str]) -> Config:
    p = _Parser(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise p.err("(file)", "file not found", "a readable YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise p.err("(file)", f"cannot read: {exc}", "a readable UTF-8 YAML file") from None
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(syntax)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise p.err(where, f"YAML syntax error: {problem}", "valid YAML") from None
    if raw is None:
        raise p.err("(file)", "the file is empty", "a mapping with a models list")
    return p.config(p.env(raw, env))


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate a configuration file; raises ConfigError.

    ``env`` (default: ``os.environ``) may override MLMON_COMPUTE_INTERVAL,
    MLMON_SOCKET, MLMON_HTTP, MLMON_TCP and MLMON_STATE_FILE.
    """
    return parse(Path(path), os.environ if env is None else env)
