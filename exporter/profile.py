"""Reference profiles: the per-model-version picture of the training data.

A profile is a versioned JSON document. Numeric features keep inner quantile
bin edges (outer edges are open: bin 0 is (-inf, edges[0]), the last bin is
[edges[-1], +inf)), reference counts per bin, summary statistics and a bounded,
sorted, deterministic reference sample for exact KS. Categorical features keep
category counts (the ``__other__`` bucket, last, holds categories beyond
``max_categories``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SCHEMA_VERSION = 1


class ProfileError(ValueError):
    """A profile file that is missing, corrupt or incompatible; says which and why."""


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
        total = sum(self.counts)
        return tuple(c / total for c in self.counts) if total else tuple(0.0 for _ in self.counts)

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
        total = sum(self.counts)
        return tuple(c / total for c in self.counts) if total else tuple(0.0 for _ in self.counts)

    @property
    def bucket_labels(self) -> tuple[str, ...]:
        return (*self.categories, "__other__")


FeatureProfile = NumericProfile | CategoricalProfile


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

    def feature(self, name: str) -> FeatureProfile:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)


def load_profile(path: str | Path) -> Profile:
    """Load and validate a profile; raises ProfileError naming the file and the problem."""
    raise NotImplementedError


def save_profile(profile: Profile, path: str | Path) -> None:
    """Write the canonical JSON (sorted keys, fixed float repr) atomically."""
    raise NotImplementedError
