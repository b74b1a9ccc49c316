"""The batch report: every number the renderers print, computed once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.batch.errorstream import ErrorDriftResult
from exporter.batch.perf import Performance
from exporter.batch.quality import BatchQuality
from exporter.batch.segments import SegmentResult
from exporter.stats.cbpe import Estimate
from exporter.stats.drift import FeatureDrift
from exporter.stats.pca import Reconstruction
from exporter.stats.quality import FeatureQuality
from exporter.stats.severity import Severity
from exporter.stats.summary import Summary
from exporter.stats.thresholds import Thresholds


@dataclass(frozen=True)
class FeatureResult:
    drift: FeatureDrift
    bucket_labels: tuple[str, ...]  # profile buckets, in order
    reference_proportions: tuple[float, ...]
    missing: int  # rows without a value
    ks_sample: int | None = None  # KS and Wasserstein on a sample of this many values

    @property
    def current_proportions(self) -> NDArray[np.float64]:
        counts = self.drift.current_counts.astype(np.float64)
        total = counts.sum()
        return counts / total if total else counts


@dataclass(frozen=True)
class PredictionStats:
    summary: Summary | None  # numeric predictions (scores or regression values)
    class_shares: tuple[tuple[str, float], ...]  # categorical predictions
    quantile_sample: int | None = None  # quantiles from a sample of this many values


@dataclass(frozen=True)
class ChunkResult:
    """One chunk judged alone against the profile (Holm over its features, as the file)."""

    index: int  # 0, 1, … over the chunks reported
    start: int | float  # first row offset (--chunk-size) or period start, unix seconds
    end: int | float  # row offset after the last row, or period end (exclusive)
    first_row: int  # 0-based offset in the file of the chunk's first row
    rows: int
    features: tuple[FeatureResult, ...]
    drift_share: float | None  # None when no feature has a verdict
    severity: Severity | None  # None when no feature has a verdict (too few samples)
    estimate: Estimate | None = None  # CBPE of the chunk (classifiers, >= min_samples)
    data_quality: tuple[FeatureQuality, ...] = ()  # missing / out-of-range / unseen per feature
    multivariate: Reconstruction | None = None  # PCA reconstruction error and its band

    def drifted(self) -> list[FeatureResult]:
        return drifted(self.features)


@dataclass(frozen=True)
class Chunking:
    """How the file was cut: ``rows`` per chunk, or ``period`` seconds of ``column``."""

    rows: int | None = None
    column: str | None = None
    period: float | None = None

    @property
    def by_time(self) -> bool:
        return self.column is not None


def drifted(features: tuple[FeatureResult, ...]) -> list[FeatureResult]:
    """Features at medium or above, the most severe first (then by PSI)."""
    flagged = [f for f in features
               if f.drift.severity is not None and f.drift.severity >= Severity.MEDIUM]
    return sorted(flagged, key=lambda f: (-int(f.drift.severity or 0), -(f.drift.psi or 0.0)))


@dataclass(frozen=True)
class BatchReport:
    model: str
    version: str
    rows: int
    features: tuple[FeatureResult, ...]  # profile order, the prediction last
    drift_share: float
    severity: Severity | None  # the highest feature severity; None when no verdict
    thresholds: Thresholds
    prediction: PredictionStats
    performance: Performance | None
    analysed_at: float  # unix time
    chunking: Chunking | None = None
    chunks: tuple[ChunkResult, ...] = ()
    estimate: Estimate | None = None  # CBPE of the file (classifiers, >= min_samples)
    quality: BatchQuality | None = None  # AUC, Brier, ECE of labelled scores/probabilities
    error_drift: ErrorDriftResult | None = None  # Page-Hinkley over the labelled rows
    data_quality: tuple[FeatureQuality, ...] = ()  # missing / out-of-range / unseen per feature
    segments: tuple[SegmentResult, ...] = ()  # per segment value, with `segment:` profiles
    multivariate: Reconstruction | None = None  # PCA reconstruction error and its band

    def reaches(self, level: Severity) -> bool:
        return _reaches(self.features, level)

    def chunks_reaching(self, level: Severity) -> list[ChunkResult]:
        return [c for c in self.chunks if _reaches(c.features, level)]

    def drifted(self) -> list[FeatureResult]:
        return drifted(self.features)


def _reaches(features: tuple[FeatureResult, ...], level: Severity) -> bool:
    return any(f.drift.severity is not None and f.drift.severity >= level for f in features)
