"""Per-feature drift: every statistic for one feature in one call.

Numeric: the window is sorted once (NaN dropped) and reused for the bin counts
(O(bins log m)), and for KS and Wasserstein through one merge with the sorted
reference sample (O(n + m)); PSI, Jensen–Shannon and Hellinger use
the reference bins. Categorical: PSI, chi-square, Jensen–Shannon and Hellinger
over the category counts (``__other__`` last). Below ``min_samples`` (or with
an empty window) every statistic and the severity are None; ``samples`` and
``current_counts`` are still reported.

Severity (``exporter.stats.severity``): PSI (MEDIUM: or its upper 97.5 % confidence
bound, ``psi_upper``) ≥ ``psi_medium``, PSI ≥ ``psi_high`` for HIGH, AND the shift
significant: ``pvalue`` < ``alpha`` (KS for numeric, chi-square with sparse categories
pooled for categorical) and PSI ≥ ``psi_noise_floor``. One feature alone is
judged at its α; a model's features together go through ``model_verdict`` (Holm over
their p-values), which both the sidecar and ``mlmon batch`` apply before ``drift_share``
and ``highest_severity``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from exporter.stats.binning import bin_counts_sorted, sorted_finite
from exporter.stats.chi2 import chi2_homogeneity, chi2_pooled
from exporter.stats.distances import hellinger, jensen_shannon
from exporter.stats.ecdf import merge_sorted, wasserstein_1
from exporter.stats.ks import DEFAULT_KS_METHOD, KSMethod, ks_from_merged
from exporter.stats.psi import psi as psi_value
from exporter.stats.psi import psi_standard_error
from exporter.stats.reference import CategoricalReference, NumericReference
from exporter.stats.severity import (
    Severity,
    holm,
    psi_noise_floor,
    psi_pvalue,
    psi_upper_bound,
    verdict,
)
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
    pvalue: float | None = None  # the test the verdict rests on (KS / chi-square / PSI χ²)
    alpha: float | None = None  # the level it is judged at (ks_alpha / chi2_alpha)
    significant: bool | None = None  # pvalue < alpha (after Holm within a model verdict)
    psi_noise_floor: float | None = None  # PSI exceeded with probability alpha under no drift
    psi_upper: float | None = None  # one-sided 97.5 % upper confidence bound on the PSI


def _empty(name: str, kind: str, samples: int, counts: NDArray[np.int64]) -> FeatureDrift:
    return FeatureDrift(name, kind, samples, None, None, None, None, None, None, None, None,
                        None, counts)


def _buckets(ref_counts: NDArray[np.int64], counts: NDArray[np.int64]) -> int:
    """k for PSI's χ²(k − 1): buckets not empty in both (an empty one adds nothing)."""
    return int(np.count_nonzero(np.asarray(ref_counts) + np.asarray(counts)))


def _judge(d: FeatureDrift, pvalue: float, alpha: float, ref_counts: NDArray[np.int64],
           t: Thresholds) -> FeatureDrift:
    """Fill in the test, its level, the noise floor and the (one-feature) verdict."""
    assert d.psi is not None
    floor = psi_noise_floor(_buckets(ref_counts, d.current_counts), d.samples,
                            int(ref_counts.sum()), alpha)
    upper = psi_upper_bound(d.psi, psi_standard_error(ref_counts, d.current_counts))
    significant = pvalue < alpha and d.psi >= floor
    sev = verdict(d.psi, d.samples, t.min_samples, significant=significant,
                  medium=t.psi_medium, high=t.psi_high, psi_upper=upper)
    return replace(d, severity=sev, pvalue=pvalue, alpha=alpha, significant=significant,
                   psi_noise_floor=floor, psi_upper=upper)


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
    sample = ref.sample_sorted
    if not sample.size:
        return binned_drift(name, ref_counts, counts, thresholds)
    samples = int(cur.size)
    if samples == 0 or samples < thresholds.min_samples:
        return _empty(name, "numeric", samples, counts)
    ref_total = int(ref_counts.sum())
    psi = psi_value(ref_counts, counts) if ref_total else None
    js = jensen_shannon(ref_counts, counts) if ref_total else None
    hel = hellinger(ref_counts, counts) if ref_total else None
    merged = merge_sorted(sample, cur)
    ks = ks_from_merged(merged, ks_method)
    d = FeatureDrift(name, "numeric", samples, psi, ks.statistic, ks.pvalue, None, None,
                     wasserstein_1(merged), js, hel, None, counts)
    if psi is None:
        return d
    return _judge(d, ks.pvalue, thresholds.ks_alpha, ref_counts, thresholds)


def binned_drift(name: str, ref_counts: NDArray[np.int64], counts: NDArray[np.int64],
                 thresholds: Thresholds) -> FeatureDrift:
    """A numeric feature's statistics from its bin counts alone (no reference sample, so
    no KS or Wasserstein): PSI's own χ² p-value stands in for KS's."""
    samples = int(counts.sum())
    if samples == 0 or samples < thresholds.min_samples:
        return _empty(name, "numeric", samples, counts)
    ref_total = int(ref_counts.sum())
    psi = psi_value(ref_counts, counts) if ref_total else None
    js = jensen_shannon(ref_counts, counts) if ref_total else None
    hel = hellinger(ref_counts, counts) if ref_total else None
    d = FeatureDrift(name, "numeric", samples, psi, None, None, None, None, None, js, hel,
                     None, counts)
    if psi is None:
        return d
    p = psi_pvalue(psi, _buckets(ref_counts, counts), samples, ref_total)
    return _judge(d, p, thresholds.ks_alpha, ref_counts, thresholds)


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
    d = FeatureDrift(name, "categorical", samples, psi, None, None, chi.statistic,
                     chi.pvalue, None, jensen_shannon(ref_counts, counts),
                     hellinger(ref_counts, counts), None, counts)
    # The verdict rests on the test with sparse categories pooled (Cochran's rule).
    gate = chi2_pooled(ref_counts, counts)
    return _judge(d, gate.pvalue, thresholds.chi2_alpha, ref_counts, thresholds)


def model_verdict(drifts: list[FeatureDrift], thresholds: Thresholds) -> list[FeatureDrift]:
    """The features with significance decided by Holm over all judged features together.

    Every feature with a verdict (and a p-value) takes part, each at its own α; a feature
    Holm does not reject drops to LOW (its PSI is within the model's noise). Features
    without a verdict are returned unchanged. The family-wise false-alarm rate of the
    model is then ≤ max(ks_alpha, chi2_alpha) (``exporter.stats.severity.holm``).
    """
    judged: list[tuple[int, float, float]] = [
        (i, d.pvalue, d.alpha) for i, d in enumerate(drifts)
        if d.severity is not None and d.pvalue is not None and d.alpha is not None]
    rejected = holm([p for _, p, _ in judged], [a for _, _, a in judged])
    out = list(drifts)
    for (i, _, _), rejected_i in zip(judged, rejected, strict=True):
        d = drifts[i]
        assert d.psi is not None
        floor = d.psi_noise_floor
        significant = rejected_i and (floor is None or d.psi >= floor)
        sev = verdict(d.psi, d.samples, thresholds.min_samples, significant=significant,
                      medium=thresholds.psi_medium, high=thresholds.psi_high,
                      psi_upper=d.psi_upper)
        out[i] = replace(d, significant=significant, severity=sev)
    return out


def drift_share(drifts: list[FeatureDrift]) -> float:
    """Share of features with a verdict at least MEDIUM among those with a verdict.

    Pass the features through ``model_verdict`` first: a feature then counts only when its
    PSI reaches ``psi_medium`` and its test is significant after Holm across the model.
    0.0 when no feature has a verdict (no evidence of drift).
    """
    judged = [d.severity for d in drifts if d.severity is not None]
    if not judged:
        return 0.0
    return sum(1 for s in judged if s >= Severity.MEDIUM) / len(judged)


def highest_severity(drifts: list[FeatureDrift]) -> Severity | None:
    """The highest verdict among the features; None when none has one."""
    return max((d.severity for d in drifts if d.severity is not None), default=None)
