"""Independent oracles for drift verdicts: numpy and scipy only, no ``exporter`` code.

Each function re-implements a rule as docs/statistics.md (and the module docstrings of
``exporter.stats``) document it, so a test comparing mlmon's output with these values
does not compare the code with itself:

- PSI = Σ (cᵢ − rᵢ)·ln(cᵢ/rᵢ) over proportions floored at 1e-4 and renormalised;
- its standard error by the delta method plus the χ² noise term, and the upper bound
  PSI⁺ = (√PSI + z·SE/(2√PSI))² with z = Φ⁻¹(0.975);
- the noise floor (1/n + 1/N)·χ²₁₋α(k − 1), k = buckets not empty in both;
- the categorical test: scipy's ``chi2_contingency`` (default Yates correction) on the
  2×k table with all-zero columns dropped and the columns whose expected current count
  is below 5 pooled into one (Cochran's rule);
- the numeric test: ``scipy.stats.ks_2samp(method="asymp")``;
- weighted Holm over a model's features, then low / medium / high by the size rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as sps

EPS = 1e-4
Z_975 = float(sps.norm.ppf(0.975))
LEVELS = ("low", "medium", "high")


def _smooth(counts: ArrayLike) -> np.ndarray:
    arr = np.asarray(counts, dtype=float)
    p = np.maximum(arr / arr.sum(), EPS)
    out: np.ndarray = p / p.sum()
    return out


def hand_psi(ref_counts: ArrayLike, cur_counts: ArrayLike) -> float:
    r, c = _smooth(ref_counts), _smooth(cur_counts)
    return float(sum((ci - ri) * np.log(ci / ri) for ri, ci in zip(r, c, strict=True)))


def _buckets(ref_counts: ArrayLike, cur_counts: ArrayLike) -> int:
    return int(np.count_nonzero(np.asarray(ref_counts) + np.asarray(cur_counts)))


def psi_upper(ref_counts: ArrayLike, cur_counts: ArrayLike) -> float:
    """PSI⁺ of docs/statistics.md#severity, from the documented SE formula."""
    ref, cur = np.asarray(ref_counts, dtype=float), np.asarray(cur_counts, dtype=float)
    n, big_n = cur.sum(), ref.sum()
    r, c = _smooth(ref), _smooth(cur)
    a = np.log(c / r) + 1 - r / c
    b = -np.log(c / r) + 1 - c / r
    var = (np.sum(c * a**2) - np.sum(c * a) ** 2) / n + (np.sum(r * b**2) - np.sum(r * b) ** 2) \
        / big_n + 2 * max(_buckets(ref, cur) - 1, 0) * (1 / n + 1 / big_n) ** 2
    se = float(np.sqrt(max(var, 0.0)))
    psi = hand_psi(ref, cur)
    if psi <= 0:
        return Z_975 * se
    return float((np.sqrt(psi) + Z_975 * se / (2 * np.sqrt(psi))) ** 2)


def noise_floor(ref_counts: ArrayLike, cur_counts: ArrayLike, alpha: float) -> float:
    k = _buckets(ref_counts, cur_counts)
    n, big_n = float(np.sum(cur_counts)), float(np.sum(ref_counts))
    return 0.0 if k < 2 else float((1 / n + 1 / big_n) * sps.chi2.isf(alpha, k - 1))


def pooled_chi2_pvalue(ref_counts: ArrayLike, cur_counts: ArrayLike) -> float:
    table = np.array([ref_counts, cur_counts], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    expected_cur = table[1].sum() * table.sum(axis=0) / table.sum()
    sparse = expected_cur < 5
    if sparse.any():
        table = np.column_stack([table[:, ~sparse], table[:, sparse].sum(axis=1)])
    if table.shape[1] < 2:
        return 1.0
    return float(sps.chi2_contingency(table).pvalue)


@dataclass(frozen=True)
class Judged:
    name: str
    psi: float
    pvalue: float
    alpha: float
    floor: float
    upper: float


def numeric(name: str, ref_counts: ArrayLike, edges: Sequence[float], sample: ArrayLike,
            values: ArrayLike, alpha: float = 0.01) -> Judged:
    cur = np.searchsorted(np.asarray(edges), np.asarray(values, dtype=float), side="right")
    counts = np.bincount(cur, minlength=len(edges) + 1)
    p = sps.ks_2samp(np.asarray(values, dtype=float), np.asarray(sample), method="asymp").pvalue
    return Judged(name, hand_psi(ref_counts, counts), float(p), alpha,
                  noise_floor(ref_counts, counts, alpha), psi_upper(ref_counts, counts))


def categorical(name: str, ref_counts: ArrayLike, cur_counts: ArrayLike,
                alpha: float = 0.01) -> Judged:
    return Judged(name, hand_psi(ref_counts, cur_counts),
                  pooled_chi2_pvalue(ref_counts, cur_counts), alpha,
                  noise_floor(ref_counts, cur_counts, alpha), psi_upper(ref_counts, cur_counts))


def verdicts(judged: Sequence[Judged], medium: float = 0.1,
             high: float = 0.25) -> dict[str, str]:
    """Holm (weighted, by p/α) over the model's features, then the size rule."""
    m = len(judged)
    rejected: set[str] = set()
    for i, f in enumerate(sorted(judged, key=lambda f: f.pvalue / f.alpha)):
        if f.pvalue / f.alpha > 1 / (m - i):
            break
        rejected.add(f.name)
    out = {}
    for f in judged:
        significant = f.name in rejected and f.psi >= f.floor
        if not significant:
            out[f.name] = "low"
        elif f.psi >= high:
            out[f.name] = "high"
        elif f.psi >= medium or f.upper >= medium:
            out[f.name] = "medium"
        else:
            out[f.name] = "low"
    return out


def ece_loop(conf: np.ndarray, correct: np.ndarray) -> float:
    """Top-label ECE by a plain loop over 10 equal-width bins (the last one closed)."""
    total = 0.0
    for b in range(10):
        inside = (conf >= b / 10) & ((conf < (b + 1) / 10) | (b == 9))
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return float(total)


def correlated_rows(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    """Three numeric columns: a pair correlated by ``rho`` (marginals fixed), and an
    exponential one; rounded to 6 decimals as a file would hold them."""
    z = rng.standard_normal((n, 2))
    b = rho * z[:, 0] + np.sqrt(1 - rho * rho) * z[:, 1]
    out: np.ndarray = np.round(np.column_stack([50 + 5 * z[:, 0], 2 * b,
                                                rng.exponential(3, n)]), 6)
    return out


def pca_error_band(section: dict, x: np.ndarray) -> tuple[float, float, float]:
    """(mean reconstruction error, lower, upper) of rows ``x`` from a profile's stored
    multivariate section alone (docs/statistics.md): mean-impute, standardise, project on
    the components, mean Euclidean residual; band μ ± 3σ√(1/n + 1/m), lower at least 0."""
    filled = np.where(np.isnan(x), np.array(section["impute"]), x)
    z = (filled - np.array(section["center"])) / np.array(section["scale"])
    v = np.array(section["components"])
    err = float(np.mean(np.linalg.norm(z - z @ v.T @ v, axis=1)))
    half = 3 * section["error_std"] * np.sqrt(1 / len(x) + 1 / section["error_rows"])
    return err, max(0.0, section["error_mean"] - half), section["error_mean"] + half

