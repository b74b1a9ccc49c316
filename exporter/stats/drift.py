"""Per-feature drift: every statistic for one feature in one call.

Numeric: the window is sorted once (NaN dropped) and reused for the bin counts
(O(bins log m)), and for KS and Wasserstein through one merge with the sorted
reference sample (O(n + m)); PSI, Jensen–Shannon and Hellinger use
the reference bins. Categorical: PSI, chi-square, Jensen–Shannon and Hellinger
over the category counts (``__other__`` last). Below ``min_samples`` (or with
an empty window) every statistic and the severity are None; ``samples`` and
``current_counts`` are still reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.stats.binning import bin_counts_sorted, sorted_finite
from exporter.stats.chi2 import chi2_homogeneity
from exporter.stats.distances import hellinger, jensen_shannon
from exporter.stats.ecdf import merge_sorted, wasserstein_1
from exporter.stats.ks import DEFAULT_KS_METHOD, KSMethod, ks_from_merged
from exporter.stats.psi import psi as psi_value
from exporter.stats.reference import CategoricalReference, NumericReference
from exporter.stats.severity import Severity, verdict
from exporter.stats.thresholds import Thresholds


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


def _empty(name: str, kind: str, samples: int, counts: NDArray[np.int64]) -> FeatureDrift:
    return FeatureDrift(name, kind, samples, None, None, None, None, None, None, None, None,
                        None, counts)


def _severity(psi: float | None, samples: int, t: Thresholds) -> Severity | None:
    if psi is None:
        return None
    return verdict(psi, samples, t.min_samples, t.psi_medium, t.psi_high)


def numeric_drift(name: str, ref: NumericReference, current: NDArray[np.float64],
                  thresholds: Thresholds,
                  ks_method: KSMethod = DEFAULT_KS_METHOD) -> FeatureDrift:
    """All statistics for a numeric window (NaN = missing, ignored).

    ``ks_method`` selects the KS p-value (``exporter.stats.ks``): "asymp" equals
    ``ks_2samp(method="asymp")``; "kstwobign" is O(1) for every D.
    """
    ref_counts = ref.counts
    cur = sorted_finite(current)
    counts = bin_counts_sorted(cur, ref.edges)
    samples = int(cur.size)
    if samples == 0 or samples < thresholds.min_samples:
        return _empty(name, "numeric", samples, counts)
    ref_total = int(ref_counts.sum())
    psi = psi_value(ref_counts, counts) if ref_total else None
    js = jensen_shannon(ref_counts, counts) if ref_total else None
    hel = hellinger(ref_counts, counts) if ref_total else None
    sample = ref.sample_sorted
    ks_d = ks_p = wd = None
    if sample.size:
        merged = merge_sorted(sample, cur)
        ks = ks_from_merged(merged, ks_method)
        ks_d, ks_p = ks.statistic, ks.pvalue
        wd = wasserstein_1(merged)
    return FeatureDrift(name, "numeric", samples, psi, ks_d, ks_p, None, None, wd, js, hel,
                        _severity(psi, samples, thresholds), counts)


def categorical_drift(name: str, ref: CategoricalReference, current_counts: NDArray[np.int64],
                      thresholds: Thresholds) -> FeatureDrift:
    """All statistics for categorical counts over the reference buckets (+ __other__)."""
    ref_counts = np.asarray(ref.counts, dtype=np.int64)
    counts = np.asarray(current_counts, dtype=np.int64)
    if counts.shape != ref_counts.shape:
        raise ValueError(f"feature {name!r}: {len(counts)} current buckets but the reference "
                         f"has {len(ref_counts)} (known categories + __other__)")
    if np.any(counts < 0):
        raise ValueError(f"feature {name!r}: negative category count")
    samples = int(counts.sum())
    if samples == 0 or samples < thresholds.min_samples or ref_counts.sum() == 0:
        return _empty(name, "categorical", samples, counts)
    psi = psi_value(ref_counts, counts)
    chi = chi2_homogeneity(ref_counts, counts)
    return FeatureDrift(name, "categorical", samples, psi, None, None, chi.statistic,
                        chi.pvalue, None, jensen_shannon(ref_counts, counts),
                        hellinger(ref_counts, counts), _severity(psi, samples, thresholds),
                        counts)


def drift_share(drifts: list[FeatureDrift]) -> float:
    """Share of features with a verdict at least MEDIUM among those with a verdict.

    0.0 when no feature has a verdict (no evidence of drift).
    """
    judged = [d.severity for d in drifts if d.severity is not None]
    if not judged:
        return 0.0
    return sum(1 for s in judged if s >= Severity.MEDIUM) / len(judged)


def highest_severity(drifts: list[FeatureDrift]) -> Severity | None:
    """The highest verdict among the features; None when none has one."""
    return max((d.severity for d in drifts if d.severity is not None), default=None)
