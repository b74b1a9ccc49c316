"""Reference profiles: the per-model-version picture of the training data.

A profile is a versioned JSON document. Numeric features keep inner bin edges
(outer edges are open: bin 0 is (-inf, edges[0]), the last bin is
[edges[-1], +inf)), reference counts per bin, summary statistics and a bounded,
sorted, deterministic reference sample for exact KS. The edges are chosen by
``exporter.stats.binning`` (one bin per value when a feature has at most
``bins`` distinct values, else quantiles with heavy ties in bins of their own);
only the edges are stored, so profiles of every schema bucket the same way.
Categorical features keep category counts (the ``__other__`` bucket, last,
holds categories beyond ``max_categories``). Classifiers built from a reference file
with labels carry an optional calibration section (``exporter.stats.calibration``:
isotonic maps of the model's confidence, fitted on the labelled reference), which the
estimated-performance (CBPE) metrics use; profiles without it still load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from exporter.metric_names import OTHER_BUCKET
from exporter.stats.calibration import Calibration
from exporter.stats.pca import PcaModel
from exporter.stats.reference import CategoricalReference, NumericReference

SCHEMA_VERSION = 2


class ProfileError(ValueError):
    """A profile file that is missing, corrupt or incompatible; says which and why."""


def _proportions(counts: tuple[int, ...]) -> tuple[float, ...]:
    total = sum(counts)
    return tuple(c / total for c in counts) if total else tuple(0.0 for _ in counts)


@dataclass(frozen=True)
class NumericSummary:
    count: int  # non-missing values
    missing: int
    mean: float
    std: float  # population std (ddof=0)
    min: float
    max: float
    quantiles: tuple[tuple[float, float], ...]  # ((0.05, v), (0.25, v), ...)


@dataclass(frozen=True)
class NumericProfile:
    name: str
    edges: tuple[float, ...]  # inner edges, strictly increasing; bins = len(edges) + 1
    counts: tuple[int, ...]  # reference counts per bin
    summary: NumericSummary
    sample: tuple[float, ...]  # sorted reference sample (<= sample_size values)
    kind: Literal["numeric"] = "numeric"

    @property
    def proportions(self) -> tuple[float, ...]:
        return _proportions(self.counts)

    @property
    def bucket_labels(self) -> tuple[str, ...]:
        """Bucket label values for metrics: the bin's upper edge ("+Inf" for the last)."""
        return (*(repr(float(e)) for e in self.edges), "+Inf")


@dataclass(frozen=True)
class CategoricalProfile:
    name: str
    categories: tuple[str, ...]  # known categories, sorted; "__other__" is implicit, last
    counts: tuple[int, ...]  # len(categories) + 1: the last is the __other__ bucket
    missing: int
    kind: Literal["categorical"] = "categorical"

    @property
    def proportions(self) -> tuple[float, ...]:
        return _proportions(self.counts)

    @property
    def bucket_labels(self) -> tuple[str, ...]:
        return (*self.categories, OTHER_BUCKET)


FeatureProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True)
class SegmentProfile:
    """One segment value's reference rows, counted into the whole profile's buckets."""

    value: str  # a value of the segment feature, or "__other__" (the rest and missing)
    rows: int
    features: tuple[tuple[int, ...], ...]  # per feature (config order): its bucket counts
    prediction: tuple[int, ...] | None  # the prediction's bucket counts; None without one


@dataclass(frozen=True)
class Segments:
    """The optional per-segment reference (``exporter.profile.segments``)."""

    feature: str  # the categorical segment feature
    max_values: int
    segments: tuple[SegmentProfile, ...]  # the top values sorted by name, "__other__" last


@dataclass(frozen=True)
class Profile:
    schema_version: int
    model: str
    version: str
    rows: int
    features: tuple[FeatureProfile, ...]  # in config order
    # Numeric for regression values or scores; categorical over predicted classes.
    prediction: FeatureProfile | None
    content_hash: str  # sha256 of the canonical JSON body without this field
    # isotonic confidence maps fitted on labelled reference rows; None without labels
    calibration: Calibration | None = None
    # per-segment bucket counts; only when the model config has `segment:`
    segments: Segments | None = None
    # PCA reconstruction-error model of the numeric rows (exporter.profile.pca)
    multivariate: PcaModel | None = None

    def feature(self, name: str) -> FeatureProfile:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)


def to_reference(feature: FeatureProfile) -> NumericReference | CategoricalReference:
    """The stats-core reference of a feature (or prediction) profile."""
    if isinstance(feature, NumericProfile):
        return numeric_reference(feature)
    return categorical_reference(feature)


def numeric_reference(feature: FeatureProfile) -> NumericReference:
    if not isinstance(feature, NumericProfile):
        raise TypeError(f"{feature.name} is {feature.kind}, not numeric")
    return NumericReference(
        edges=np.asarray(feature.edges, dtype=np.float64),
        counts=np.asarray(feature.counts, dtype=np.int64),
        sample_sorted=np.asarray(feature.sample, dtype=np.float64),
    )


def categorical_reference(feature: FeatureProfile) -> CategoricalReference:
    if not isinstance(feature, CategoricalProfile):
        raise TypeError(f"{feature.name} is {feature.kind}, not categorical")
    return CategoricalReference(counts=np.asarray(feature.counts, dtype=np.int64))
