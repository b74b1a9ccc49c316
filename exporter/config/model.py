"""mlmon configuration: the typed, frozen objects one YAML file is loaded into.

``exporter.config.load.load_config`` validates everything at start-up; every
error names the file, the key path, what was wrong and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from exporter.stats.errordrift import PageHinkleyParams, default_params
from exporter.stats.thresholds import DEFAULT_SIGMAS, DEFAULT_VARIANCE_SHARE, Thresholds
from exporter.types import ModelKey

FeatureKind = Literal["numeric", "categorical"]
PredictionKind = Literal["classification", "regression"]

DEFAULT_SOCKET = Path("/var/run/mlmon/mlmon.sock")
DEFAULT_HTTP = "0.0.0.0:9847"


@dataclass(frozen=True)
class WindowConfig:
    size: int = 10_000  # events
    max_age: float | None = None  # seconds


@dataclass(frozen=True)
class LabelConfig:
    ttl: float = 86_400.0  # seconds a prediction waits for its label
    max_pending: int = 100_000  # predictions waiting; oldest evicted beyond
    window: int = 10_000  # joined pairs used for performance metrics
    early_ttl: float = 60.0  # seconds a label that came before its prediction is held
    max_early: int = 10_000  # such labels held; oldest evicted beyond (0: none held)
    max_pending_bytes: int = 64 << 20  # id bytes held by each join table; oldest evicted beyond


@dataclass(frozen=True)
class ErrorDriftConfig:
    """Page-Hinkley on the joined-label error stream; a None parameter takes the default
    for the prediction kind (exporter.stats.errordrift.CLASSIFICATION / REGRESSION)."""

    enabled: bool = True
    delta: float | None = None
    threshold: float | None = None
    min_instances: int | None = None
    alpha: float | None = None

    def params(self, kind: PredictionKind) -> PageHinkleyParams:
        d = default_params(kind)
        return PageHinkleyParams(
            delta=d.delta if self.delta is None else self.delta,
            threshold=d.threshold if self.threshold is None else self.threshold,
            min_instances=d.min_instances if self.min_instances is None else self.min_instances,
            alpha=d.alpha if self.alpha is None else self.alpha)


@dataclass(frozen=True)
class PredictionConfig:
    kind: PredictionKind
    classes: tuple[str, ...] = ()  # required (>= 2) for classification


@dataclass(frozen=True)
class SegmentConfig:
    """One categorical feature whose top values split the model's metrics into segments."""

    feature: str
    max_values: int = 10  # segment values (the reference's most frequent); rest -> __other__
    min_samples: int | None = None  # a segment's verdict minimum; None: thresholds.min_samples

    def thresholds(self, model: Thresholds) -> Thresholds:
        """The model's thresholds with this segment minimum."""
        return model if self.min_samples is None else replace(model,
                                                              min_samples=self.min_samples)


QUALITY_KEYS = ("missing_ratio_max", "out_of_range_ratio_max", "unseen_category_ratio_max")


@dataclass(frozen=True)
class QualityConfig:
    """Data-quality limits (exporter.stats.quality): each is the allowed excess over the
    reference's own ratio of the measure; ``features`` overrides some keys per feature."""

    missing_ratio_max: float = 0.05
    out_of_range_ratio_max: float = 0.01
    unseen_category_ratio_max: float = 0.01
    features: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()  # name, (key, value)

    def for_feature(self, name: str) -> tuple[float, float, float]:
        """(missing, out_of_range, unseen_category) limits of one feature, overrides applied."""
        given = dict(next((kv for n, kv in self.features if n == name), ()))
        return (given.get("missing_ratio_max", self.missing_ratio_max),
                given.get("out_of_range_ratio_max", self.out_of_range_ratio_max),
                given.get("unseen_category_ratio_max", self.unseen_category_ratio_max))


@dataclass(frozen=True)
class FeatureConfig:
    name: str
    kind: FeatureKind


@dataclass(frozen=True)
class MultivariateConfig:
    """PCA reconstruction-error drift (exporter.stats.pca) over the numeric features;
    needs at least two of them. ``variance_share`` is used when the profile is built."""

    enabled: bool = True
    variance_share: float = DEFAULT_VARIANCE_SHARE  # share of variance the kept components explain
    sigmas: float = DEFAULT_SIGMAS  # band half-width in standard errors of the window's mean error


@dataclass(frozen=True)
class ModelConfig:
    name: str
    version: str
    prediction: PredictionConfig
    features: tuple[FeatureConfig, ...]
    profile: Path | None = None  # resolved relative to the config file
    window: WindowConfig = field(default_factory=WindowConfig)
    thresholds: Thresholds = field(default_factory=Thresholds)
    labels: LabelConfig = field(default_factory=LabelConfig)
    error_drift: ErrorDriftConfig = field(default_factory=ErrorDriftConfig)
    bins: int = 10  # quantile bins for numeric features when building a profile
    sample_size: int = 10_000  # reference sample kept for KS
    max_categories: int = 100  # categories kept per categorical feature; rest -> __other__
    label_column: str = "label"  # column holding ground truth in batch files
    prediction_column: str = "prediction"  # column holding the prediction in files
    id_column: str = "id"
    segment: SegmentConfig | None = None  # per-segment metrics (exporter.sidecar.segments)
    quality: QualityConfig = field(default_factory=QualityConfig)  # data-quality limits
    multivariate: MultivariateConfig = field(default_factory=MultivariateConfig)

    @property
    def key(self) -> ModelKey:
        return (self.name, self.version)

    def feature(self, name: str) -> FeatureConfig:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class ServerConfig:
    socket: Path | None = DEFAULT_SOCKET  # None disables the unix socket
    socket_mode: int = 0o660
    tcp: str | None = None  # "127.0.0.1:PORT" to enable the TCP listener
    http: str = DEFAULT_HTTP  # HOST:PORT of /metrics, /v1/events, /healthz ...
    state_file: Path | None = None
    state_interval: float = 60.0  # seconds between periodic state writes
    max_line_bytes: int = 65_536
    max_features_per_event: int = 256
    max_id_bytes: int = 256  # longest event id (UTF-8); longer ids are rejected
    max_body_bytes: int = 16 * 1024 * 1024  # POST /v1/events
    queue_size: int = 1_000_000  # events buffered between socket and state
    decode_processes: int = 1  # child processes decoding events; 0 decodes in the sidecar
    max_connections: int = 256  # concurrent unix + tcp tap connections; more are refused
    idle_timeout: float = 300.0  # seconds a tap connection (or an HTTP body) may stay silent
    ingest_token_file: Path | None = None  # bearer token for POST /v1/events from non-loopback
    shutdown_timeout: float = 10.0


@dataclass(frozen=True)
class Config:
    path: Path
    models: tuple[ModelConfig, ...]
    compute_interval: float = 15.0
    server: ServerConfig = field(default_factory=ServerConfig)

    def model(self, name: str, version: str | None = None) -> ModelConfig:
        """The model with this name (and version, when given)."""
        for m in self.models:
            if m.name == name and (version is None or m.version == version):
                return m
        raise KeyError(f"{name}:{version}" if version else name)
