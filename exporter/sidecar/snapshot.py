"""Immutable results of one compute cycle; what /metrics and /v1/status read."""

from __future__ import annotations

from dataclasses import dataclass, field

from exporter.sidecar.segments import SegmentResult
from exporter.stats.cbpe import Estimate
from exporter.stats.drift import FeatureDrift
from exporter.stats.pca import Reconstruction
from exporter.stats.performance import ClassificationMetrics, RegressionMetrics
from exporter.stats.quality import FeatureQuality
from exporter.stats.scoring import ProbabilityQuality
from exporter.stats.severity import Severity
from exporter.stats.summary import Summary
from exporter.types import ModelKey


@dataclass(frozen=True)
class ModelSnapshot:
    model: str
    version: str
    window_size: int
    window_samples: int
    computed_at: float
    features: tuple[FeatureDrift, ...]  # config order; the prediction is separate
    prediction: FeatureDrift
    drift_share: float | None  # None while no feature has a verdict
    severity: Severity | None
    prediction_summary: Summary | None
    class_shares: tuple[tuple[str, float], ...]  # classifiers only
    performance: ClassificationMetrics | RegressionMetrics | None
    performance_samples: int
    # ranking and calibration of the joined pairs with scores or probabilities
    probability_quality: ProbabilityQuality | None = None

    # estimated performance without labels (CBPE), from min_samples predictions
    estimate: Estimate | None = None
    # PCA reconstruction error of the window and its band (exporter.sidecar.multivariate)
    multivariate: Reconstruction | None = None

    # data quality per feature (config order), from min_samples events; () below
    quality: tuple[FeatureQuality, ...] = ()

    # per segment value (exporter.sidecar.segments); () without `segment:`
    segments: tuple[SegmentResult, ...] = ()

    def top_drifted(self, limit: int = 5) -> list[str]:
        scored = [f for f in self.features if f.psi is not None]
        scored.sort(key=lambda f: (-(f.psi or 0.0), f.name))
        return [f.name for f in scored[:limit]]


@dataclass(frozen=True)
class Snapshot:
    computed_at: float | None  # None before the first compute
    duration: float
    models: dict[ModelKey, ModelSnapshot] = field(default_factory=dict)


EMPTY = Snapshot(None, 0.0)
