"""Per-feature drift: every statistic for one feature in one call."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.stats.severity import (
    DEFAULT_CHI2_ALPHA,
    DEFAULT_KS_ALPHA,
    DEFAULT_MIN_SAMPLES,
    DEFAULT_PSI_HIGH,
    DEFAULT_PSI_MEDIUM,
    Severity,
)


@dataclass(frozen=True)
class DriftThresholds:
    psi_medium: float = DEFAULT_PSI_MEDIUM
    psi_high: float = DEFAULT_PSI_HIGH
    ks_alpha: float = DEFAULT_KS_ALPHA
    chi2_alpha: float = DEFAULT_CHI2_ALPHA
    min_samples: int = DEFAULT_MIN_SAMPLES


@dataclass(frozen=True)
class NumericReference:
    edges: NDArray[np.float64]  # inner edges
    counts: NDArray[np.int64]  # len(edges) + 1
    sample_sorted: NDArray[np.float64]


@dataclass(frozen=True)
class CategoricalReference:
    counts: NDArray[np.int64]  # per known category, then __other__ last


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str  # "numeric" | "categorical"
    samples: int
    psi: float | None  # None below min_samples
    ks_statistic: float | None
    ks_pvalue: float | None
    chi2_statistic: float | None
    chi2_pvalue: float | None
    wasserstein: float | None
    jensen_shannon: float | None
    hellinger: float | None
    severity: Severity | None
    current_counts: NDArray[np.int64]  # per reference bucket


def numeric_drift(name: str, ref: NumericReference, current: NDArray[np.float64],
                  thresholds: DriftThresholds) -> FeatureDrift:
    """All statistics for a numeric window (NaN = missing, ignored)."""
    raise NotImplementedError


def categorical_drift(name: str, ref: CategoricalReference, current_counts: NDArray[np.int64],
                      thresholds: DriftThresholds) -> FeatureDrift:
    """All statistics for categorical counts over the reference buckets (+ __other__)."""
    raise NotImplementedError


def drift_share(drifts: list[FeatureDrift]) -> float:
    """Share of features with a verdict at least MEDIUM among those with a verdict."""
    raise NotImplementedError
