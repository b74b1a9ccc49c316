"""The batch report: every number the renderers print, computed once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.batch.perf import Performance
from exporter.stats.drift import FeatureDrift
from exporter.stats.severity import Severity
from exporter.stats.summary import Summary
from exporter.stats.thresholds import Thresholds


@dataclass(frozen=True)
class FeatureResult:
    drift: FeatureDrift
    bucket_labels: tuple[str, ...]  # profile buckets, in order
    reference_proportions: tuple[float, ...]
    missing: int  # rows without a value

    @property
    def current_proportions(self) -> NDArray[np.float64]:
        counts = self.drift.current_counts.astype(np.float64)
        total = counts.sum()
        return counts / total if total else counts


@dataclass(frozen=True)
class PredictionStats:
    summary: Summary | None  # numeric predictions (scores or regression values)
    class_shares: tuple[tuple[str, float], ...]  # categorical predictions


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

    def reaches(self, level: Severity) -> bool:
        return any(f.drift.severity is not None and f.drift.severity >= level
                   for f in self.features)
