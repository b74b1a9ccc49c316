"""Multivariate drift target (issue 14 item 3): a change of correlation between two features
with every marginal unchanged leaves the PCA reconstruction-error band in >= 90 % of
2,000-row windows while per-feature PSI/KS stay quiet; without a change the error leaves
the band in <= 1 % of windows. Oracles: scipy's two-sample KS for the marginals, the
normal distribution of the data generator (the rows are independent)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats as sps

from exporter.stats.binning import bin_counts, quantile_edges
from exporter.stats.pca import PcaModel, fit, row_errors
from exporter.stats.psi import psi
from exporter.stats.thresholds import DEFAULT_PSI_MEDIUM

FEATURES = ("a", "b", "c", "d", "e")
WINDOW = 2_000


def generate(rng: np.random.Generator, n: int, rho: float) -> NDArray[np.float64]:
    """Five features: (a, b) standard normal with correlation rho, scaled and shifted;
    c, d, e independent (normal, exponential, uniform). Every marginal is the same
    whatever rho is."""
    z = rng.standard_normal((n, 2))
    a = z[:, 0]
    b = rho * z[:, 0] + np.sqrt(1 - rho * rho) * z[:, 1]
    return np.column_stack([10 + 2 * a, -3 + 0.5 * b, rng.normal(5, 3, n),
                            rng.exponential(2.0, n), rng.uniform(0, 1, n)])


def reference_model(seed: int = 14) -> PcaModel:
    rng = np.random.default_rng(seed)
    m = fit(FEATURES, generate(rng, 5_000, 0.8), generate(rng, 5_000, 0.8))
    assert m is not None
    return m


def window_errors(m: PcaModel, rng: np.random.Generator, windows: int,
                  rho: float) -> NDArray[np.float64]:
    out = []
    for _ in range(0, windows, 100):  # 100 windows at a time: bounded memory
        rows = generate(rng, 100 * WINDOW, rho)
        out.append(row_errors(m, rows).reshape(100, WINDOW).mean(axis=1))
    return np.concatenate(out)[:windows]


@pytest.mark.parametrize("rho", [-0.8, 0.0])
def test_correlation_change_leaves_the_band_while_marginals_stay(rho: float) -> None:
    m = reference_model()
    lower, upper = m.band(WINDOW)
    rng = np.random.default_rng(1)
    shifted = window_errors(m, rng, 200, rho)
    outside = float(np.mean((shifted > upper) | (shifted < lower)))
    # the marginals: KS (scipy) and PSI (10 quantile bins of the reference) per feature
    ref = generate(np.random.default_rng(2), 10_000, 0.8)
    ks_quiet, psi_max = [], 0.0
    for _ in range(50):
        cur = generate(rng, WINDOW, rho)
        for j in range(len(FEATURES)):
            ks_quiet.append(sps.ks_2samp(ref[:, j], cur[:, j]).pvalue > 0.05)
            edges = quantile_edges(np.sort(ref[:, j]), 10)
            psi_max = max(psi_max, psi(bin_counts(ref[:, j], edges),
                                       bin_counts(cur[:, j], edges)))
    quiet = float(np.mean(ks_quiet))
    print(f"\ncomponents={len(m.components)} explained={m.explained:.3f} "
          f"ref error mean={m.error_mean:.4f} std={m.error_std:.4f} band=[{lower:.4f}, "
          f"{upper:.4f}]; corr 0.8 -> {rho}: mean window error={shifted.mean():.4f}, "
          f"outside the band in {outside:.1%} of 200 windows; KS p > 0.05 in "
          f"{quiet:.1%} of 250 feature-windows, max PSI {psi_max:.4f}")
    assert outside >= 0.90
    assert quiet >= 0.90
    assert psi_max < DEFAULT_PSI_MEDIUM


def test_no_change_leaves_the_band_in_at_most_one_percent() -> None:
    m = reference_model()
    lower, upper = m.band(WINDOW)
    errors = window_errors(m, np.random.default_rng(3), 1_000, 0.8)
    outside = float(np.mean((errors > upper) | (errors < lower)))
    print(f"\nno change: outside the band [{lower:.4f}, {upper:.4f}] in {outside:.2%} of "
          f"1,000 windows of {WINDOW} rows")
    assert outside <= 0.01


def test_band_matches_the_empirical_chunk_spread() -> None:
    """sigma_row / sqrt(n) (the band's basis) against the standard deviation of the mean
    error over independent reference chunks, as NannyML estimates it."""
    m = reference_model()
    for n in (500, 2_000):
        chunks = []
        rng = np.random.default_rng(n)
        for _ in range(4):
            rows = generate(rng, 100 * n, 0.8)
            chunks.append(row_errors(m, rows).reshape(100, n).mean(axis=1))
        empirical = float(np.concatenate(chunks).std(ddof=1))
        predicted = m.error_std / np.sqrt(n)
        print(f"\nchunks of {n}: empirical chunk std {empirical:.5f}, sigma_row/sqrt(n) "
              f"{predicted:.5f}")
        # 400 chunks: the sample std is within ~ +-3.5 % (1 se) of the true one
        assert abs(empirical / predicted - 1) < 0.15
