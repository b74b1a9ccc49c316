"""False alarms and detection of the PCA reconstruction-error band, over many references.

The longer version of tests/stats/test_pca_drift.py (same generator: five features, a pair
at correlation 0.8, a normal, an exponential and a uniform one). For each of ``--refs``
seeded reference draws the model is fitted as the profile builder does (5,000 rows to fit,
5,000 held-out rows for the error's mean and std) and ``--windows`` independent windows of
each size are scored. Three bands are compared:

* ``mlmon``: mean ± 3 σ √(1/n + 1/m), held-out mean and σ (``PcaModel.band``);
* ``no 1/m``: mean ± 3 σ/√n (NannyML's ± 3 σ_chunk for chunks of n i.i.d. rows);
* ``in-sample``: the same as mlmon but mean and σ from the fitted rows themselves.

Prints the share of no-change windows outside each band (false alarms) and, for the band
mlmon uses, the share of windows outside it after the pair's correlation changes to
``-0.8`` and to ``0``. Not a test. Run: ``python bench/pca_drift.py [--refs R]``.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from exporter.stats.pca import fit, row_errors

FEATURES = ("a", "b", "c", "d", "e")


def generate(rng: np.random.Generator, n: int, rho: float) -> NDArray[np.float64]:
    """As tests/stats/test_pca_drift.py: (a, b) correlated by rho, marginals fixed."""
    z = rng.standard_normal((n, 2))
    b = rho * z[:, 0] + np.sqrt(1 - rho * rho) * z[:, 1]
    return np.column_stack([10 + 2 * z[:, 0], -3 + 0.5 * b, rng.normal(5, 3, n),
                            rng.exponential(2.0, n), rng.uniform(0, 1, n)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refs", type=int, default=20)
    ap.add_argument("--windows", type=int, default=1_000)
    args = ap.parse_args()
    sizes = (500, 2_000, 5_000)
    fa: dict[tuple[str, int], list[float]] = {}
    power: dict[tuple[float, int], list[float]] = {}
    for seed in range(args.refs):
        rng = np.random.default_rng(1_000 + seed)
        fit_rows, held = generate(rng, 5_000, 0.8), generate(rng, 5_000, 0.8)
        m = fit(FEATURES, fit_rows, held)
        assert m is not None
        e_in = row_errors(m, fit_rows)
        m_in = replace(m, error_mean=float(e_in.mean()), error_std=float(e_in.std(ddof=1)))
        for n in sizes:
            windows = min(args.windows, 2_000_000 // n)
            per = row_errors(m, generate(rng, windows * n, 0.8)).reshape(windows, n).mean(1)
            half = 3 * m.error_std / math.sqrt(n)
            bands = {"mlmon": m.band(n), "no 1/m": (m.error_mean - half, m.error_mean + half),
                     "in-sample": m_in.band(n)}
            for name, (lo, hi) in bands.items():
                fa.setdefault((name, n), []).append(float(np.mean((per < lo) | (per > hi))))
            lo, hi = m.band(n)
            for rho in (-0.8, 0.0):
                shifted = row_errors(m, generate(rng, 100 * n, rho)).reshape(100, n).mean(1)
                power.setdefault((rho, n), []).append(
                    float(np.mean((shifted < lo) | (shifted > hi))))
    print(f"{args.refs} references; false alarms (no change), mean [max] over references:")
    print("| band | " + " | ".join(f"n = {n}" for n in sizes) + " |")
    print("| --- |" + " ---: |" * len(sizes))
    for name in ("mlmon", "no 1/m", "in-sample"):
        cells = [f"{np.mean(fa[(name, n)]):.2%} [{np.max(fa[(name, n)]):.2%}]" for n in sizes]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\ncorrelation change detected (mlmon band), mean [min] over references:")
    for rho in (-0.8, 0.0):
        cells = [f"{np.mean(power[(rho, n)]):.1%} [{np.min(power[(rho, n)]):.1%}]"
                 for n in sizes]
        print(f"| 0.8 -> {rho} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
