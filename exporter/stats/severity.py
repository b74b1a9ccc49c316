"""Drift severity: PSI large enough to matter AND distinguishable from sampling noise.

Size. LOW when PSI < medium, MEDIUM when medium ≤ PSI < high, HIGH when PSI ≥ high
(the customary 0.1 / 0.25 rule of thumb: Siddiqi, *Credit Risk Scorecards*, 2006).

Noise. PSI alone is not a verdict: under no drift its sampling distribution is

    PSI · (1/n + 1/N)⁻¹  →  χ²(k − 1)

for n current and N reference values over k buckets (Yurdakul, "Statistical properties
of the population stability index", 2018), so its noise floor grows with k and shrinks
with n: 100 categories at n = 600 give PSI ≈ 99/600 ≈ 0.17 with no drift at all. A
feature therefore reaches MEDIUM or HIGH only when its test rejects "no drift":

    p < α  AND  PSI ≥ (1/n + 1/N)·χ²₁₋α(k − 1)  (the PSI noise floor)

with p the feature's test p-value — two-sample KS for numeric features (α = ``ks_alpha``),
chi-square homogeneity with the categories of expected count < 5 pooled for categorical
ones (α = ``chi2_alpha``; Cochran 1954, ``exporter.stats.chi2.chi2_pooled``); for a numeric
feature without a reference sample, p = P(χ²(k − 1) ≥ PSI·(1/n + 1/N)⁻¹). Either condition
alone bounds the false-alarm rate by about α; both together keep it there where one of
the approximations is off (sparse categories: the χ² test rejects too often, PSI's χ²
limit is not reached). KS with ties (counts, zero-inflated values) is conservative, so
ties can only lower the false-alarm rate; KS is distribution-free, so heavy tails (Cauchy)
do not matter, and the floor depends only on k, n and N.

Multiplicity. Within one model (its features and the prediction), significance is
decided by Holm's step-down procedure over the features' p-values, each at its own α
(Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist.
1979, weighted form): order the features by p_f/α_f; the i-th (1-based) of m is
significant while p_f/α_f ≤ 1/(m − i + 1) for it and every one before it (and its PSI
is above its noise floor). The
probability that any undrifted feature is flagged is then ≤ max α_f, whatever the
number of features. See docs/statistics.md#severity for the calibration table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import IntEnum

from exporter.stats.special import chdtrc, chdtri
from exporter.stats.thresholds import DEFAULT_PSI_HIGH, DEFAULT_PSI_MEDIUM


class Severity(IntEnum):
    LOW = 0
    MEDIUM = 1
    HIGH = 2

    @property
    def label(self) -> str:
        return self.name.lower()


def severity(
    psi: float, medium: float = DEFAULT_PSI_MEDIUM, high: float = DEFAULT_PSI_HIGH
) -> Severity:
    """The size of a shift by PSI alone (no noise check: see ``verdict``)."""
    if not medium <= high:
        raise ValueError(f"PSI thresholds must satisfy medium <= high, got {medium} > {high}")
    if math.isnan(psi):
        raise ValueError("PSI is NaN: no severity can be given")
    if psi >= high:
        return Severity.HIGH
    if psi >= medium:
        return Severity.MEDIUM
    return Severity.LOW


# One-sided level of the PSI confidence bound MEDIUM rests on: a window drawn from a
# population at PSI = psi_medium reaches it with probability ≈ 97.5 % (the target is
# ≥ 90 %; 95 % fell to 90 % for two categories at 10,000 rows, where the reference's own
# sampling error counts most).
PSI_BOUND_Z = 1.959963984540054  # Φ⁻¹(0.975)


def psi_upper_bound(psi: float, standard_error: float, z: float = PSI_BOUND_Z) -> float:
    """Upper one-sided confidence bound on the population's PSI, built on √PSI's scale.

    PSI is a sum of squares (≈ Σ (cᵢ − rᵢ)²/rᵢ for small shifts), so its sampling
    distribution is skewed where √PSI's is nearly normal; by the delta method
    SE(√PSI) = SE/(2√PSI), and the bound is (√PSI + z·SE(√PSI))² = PSI + z·SE + (z·SE)²/(4·PSI).
    """
    if psi <= 0.0:
        return z * standard_error
    half_width = z * standard_error / (2.0 * math.sqrt(psi))
    return (math.sqrt(psi) + half_width) ** 2


def verdict(psi: float, samples: int, min_samples: int, *, significant: bool,
            medium: float = DEFAULT_PSI_MEDIUM, high: float = DEFAULT_PSI_HIGH,
            psi_upper: float | None = None) -> Severity | None:
    """None (no verdict) below ``min_samples``; LOW unless ``significant``; else by size.

    Size: HIGH when PSI ≥ ``high``; MEDIUM when PSI ≥ ``medium`` or its upper confidence
    bound ``psi_upper`` is (the window is consistent with a population shift of at least
    ``medium``, so a shift of exactly that size is found in ≈ 97.5 % of windows rather than
    about half); else LOW.
    """
    if samples < min_samples:
        return None
    if not significant:
        return Severity.LOW
    size = severity(psi, medium, high)
    if size is Severity.LOW and psi_upper is not None and psi_upper >= medium:
        return Severity.MEDIUM
    return size


def _scale(n_cur: int, n_ref: int) -> float:
    if n_cur <= 0 or n_ref <= 0:
        raise ValueError(f"sample sizes must be positive, got {n_cur} and {n_ref}")
    return 1.0 / n_cur + 1.0 / n_ref


def psi_pvalue(psi: float, buckets: int, n_cur: int, n_ref: int) -> float:
    """P(χ²(k − 1) ≥ PSI·(1/n + 1/N)⁻¹): PSI's asymptotic p-value under no drift (Yurdakul 2018)."""
    if buckets < 2:
        return 1.0
    return float(chdtrc(buckets - 1, psi / _scale(n_cur, n_ref)))


def psi_noise_floor(buckets: int, n_cur: int, n_ref: int, alpha: float) -> float:
    """(1/n + 1/N)·χ²₁₋α(k − 1): the PSI an undrifted window exceeds with probability α.

    χ²₁₋α(k − 1) is the upper-α quantile, ``exporter.stats.special.chdtri(k − 1, α)``
    (scipy's ``chdtri`` to < 1e-9); 0 for k < 2.
    """
    if buckets < 2:
        return 0.0
    return float(_scale(n_cur, n_ref) * chdtri(buckets - 1, alpha))


def holm(pvalues: Sequence[float], alphas: Sequence[float]) -> list[bool]:
    """Weighted Holm step-down: which hypotheses are rejected (family-wise error ≤ max α).

    Sort by p_f/α_f; reject the i-th (0-based) of m while p/α ≤ 1/(m − i), stop at the
    first that fails (Holm 1979). With equal α this is the usual Holm procedure at α.
    """
    if len(pvalues) != len(alphas):
        raise ValueError(f"{len(pvalues)} p-values but {len(alphas)} alphas")
    m = len(pvalues)
    ratios = [p / a for p, a in zip(pvalues, alphas, strict=True)]
    rejected = [False] * m
    for i, f in enumerate(sorted(range(m), key=lambda j: ratios[j])):
        if not ratios[f] * (m - i) <= 1.0:
            break
        rejected[f] = True
    return rejected
