"""Calibration of the drift severity: false alarms without drift, power with drift.

Every rate is the share of simulated windows in which a feature (or a model) reaches
MEDIUM or above, through the same ``exporter.stats.drift`` functions the sidecar and
``mlmon batch`` call (``numeric_drift`` / ``categorical_drift``, then ``model_verdict``
for a model). The reference is built as ``mlmon profile build`` builds it: 100,000 rows,
a 10,000-value reference sample, 10 bins of that sample (``quantile_edges``: heavy ties
in bins of their own),
category counts with ``__other__`` last. Windows are drawn from the reference
population (no drift) or from a shifted one whose population PSI against the reference
is a given value (power). "old" is the previous rule, PSI ≥ psi_medium alone.

Categorical populations: k known categories with Zipf-like shares pᵢ ∝ (i + 1)^-0.8 and
``__other__`` as the (k + 1)-th, smallest, bucket; windows are multinomial draws, many at
once. Numeric shapes: normal, lognormal, Poisson(3) counts, zero-inflated (60 % zeros,
else lognormal) and Cauchy. Drift: categorical shares tilted by exp(β·zᵢ) with fixed
random zᵢ; numeric location shift (normal, Cauchy), scale ×e^δ (lognormal, the non-zero
part of zero-inflated), rate ×(1 + δ) (Poisson); β or δ solved so that the population
PSI on the reference bins equals the target.

Fixed seeds. Not a test (tests/stats/test_calibration.py runs a small version and asserts
the targets). Run: ``python bench/calibration.py [--windows N]``; the table in
docs/statistics.md#calibration is its output.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.stats.binning import bin_counts_sorted, quantile_edges, value_edges
from exporter.stats.drift import (
    FeatureDrift,
    categorical_drift,
    highest_severity,
    model_verdict,
    numeric_drift,
)
from exporter.stats.reference import CategoricalReference, NumericReference
from exporter.stats.severity import Severity
from exporter.stats.thresholds import Thresholds

REF_ROWS = 100_000
SAMPLE_SIZE = 10_000
BINS = 10
CARDINALITIES = (2, 5, 10, 20, 50, 100)
WINDOW_SIZES = (500, 1_000, 2_000, 5_000, 10_000)
SHAPES = ("normal", "lognormal", "poisson", "zero_inflated", "cauchy")
THRESHOLDS = Thresholds()

Rng = np.random.Generator


def category_shares(k: int) -> NDArray[np.float64]:
    """k known categories then __other__: pᵢ ∝ (i + 1)^-0.8."""
    w = (np.arange(k + 1) + 1.0) ** -0.8
    out: NDArray[np.float64] = w / w.sum()
    return out


def draw(shape: str, rng: Rng, size: int | tuple[int, int], drift: float = 0.0,
         ) -> NDArray[np.float64]:
    """Values of ``shape``; ``drift`` is the shape's shift parameter (0 = reference)."""
    if shape == "normal":
        return rng.normal(drift, 1.0, size)
    if shape == "lognormal":
        return float(np.exp(drift)) * rng.lognormal(0.0, 1.0, size)
    if shape == "poisson":
        return rng.poisson(3.0 * (1.0 + drift), size).astype(np.float64)
    if shape == "zero_inflated":
        nonzero = rng.random(size) >= 0.6
        return np.where(nonzero, np.exp(drift) * rng.lognormal(0.0, 1.0, size), 0.0)
    if shape == "cauchy":
        return drift + rng.standard_cauchy(size)
    raise ValueError(f"unknown shape {shape!r}")


def numeric_reference(shape: str, rng: Rng) -> NumericReference:
    """As ``mlmon profile build`` bins it: by value when at most BINS distinct values,
    else ``quantile_edges`` of the sample (heavy ties in bins of their own)."""
    values = draw(shape, rng, REF_ROWS)
    sample = np.sort(values[:SAMPLE_SIZE])
    distinct = np.unique(values)
    edges = value_edges(distinct) if distinct.size <= BINS else quantile_edges(sample, BINS)
    return NumericReference(edges, bin_counts_sorted(np.sort(values), edges), sample)


def _population_psi(r: NDArray[np.float64], c: NDArray[np.float64]) -> float:
    r, c = np.maximum(r, 1e-12), np.maximum(c, 1e-12)
    return float(np.sum((c - r) * np.log(c / r)))


def _solve(psi_of: Callable[[float], float], target: float, hi: float) -> float:
    """Bisection for the drift parameter giving population PSI = target (PSI rises in it)."""
    lo = 0.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if psi_of(mid) < target else (lo, mid)
    return (lo + hi) / 2


def numeric_shift(shape: str, ref: NumericReference, target: float,
                  draws: int = 400_000) -> float:
    """δ with population PSI(reference bins, shifted population) = target (``draws`` draws)."""
    r = ref.counts / ref.counts.sum()

    def psi_of(delta: float) -> float:
        x = draw(shape, np.random.default_rng(99), draws, delta)
        c = np.bincount(np.searchsorted(ref.edges, x, side="right"), minlength=r.size)
        return _population_psi(r, c / c.sum())

    return _solve(psi_of, target, 5.0)


def tilted_shares(p: NDArray[np.float64], target: float) -> NDArray[np.float64]:
    z = np.random.default_rng(7).normal(size=p.size)

    def shares(beta: float) -> NDArray[np.float64]:
        q = p * np.exp(beta * z)
        out: NDArray[np.float64] = q / q.sum()
        return out

    return shares(_solve(lambda b: _population_psi(p, shares(b)), target, 10.0))


def flagged(d: FeatureDrift) -> bool:
    return d.severity is not None and d.severity >= Severity.MEDIUM


def flagged_old(d: FeatureDrift, t: Thresholds = THRESHOLDS) -> bool:
    return d.psi is not None and d.psi >= t.psi_medium


@dataclass(frozen=True)
class Rates:
    new: float  # share of windows flagged MEDIUM+ by the calibrated rule
    old: float  # ... by PSI ≥ psi_medium alone


def _rates(drifts: Sequence[FeatureDrift]) -> Rates:
    return Rates(float(np.mean([flagged(d) for d in drifts])),
                 float(np.mean([flagged_old(d) for d in drifts])))


def categorical_rates(k: int, n: int, windows: int, seed: int,
                      target_psi: float = 0.0) -> Rates:
    rng = np.random.default_rng(seed)
    p = category_shares(k)
    ref = CategoricalReference(rng.multinomial(REF_ROWS, p).astype(np.int64))
    q = tilted_shares(p, target_psi) if target_psi else p
    counts = rng.multinomial(n, q, size=windows).astype(np.int64)
    return _rates([categorical_drift("c", ref, row, THRESHOLDS) for row in counts])


def numeric_rates(shape: str, n: int, windows: int, seed: int,
                  target_psi: float = 0.0, draws: int = 400_000) -> Rates:
    rng = np.random.default_rng(seed)
    ref = numeric_reference(shape, rng)
    delta = numeric_shift(shape, ref, target_psi, draws) if target_psi else 0.0
    values = draw(shape, rng, (windows, n), delta)
    return _rates([numeric_drift("x", ref, row, THRESHOLDS) for row in values])


def model_rates(n: int, windows: int, seed: int, features: int = 50) -> Rates:
    """A model of ``features`` undrifted features (half categorical over CARDINALITIES,
    half numeric over SHAPES): share of windows whose model severity is MEDIUM+."""
    rng = np.random.default_rng(seed)
    cats = [CARDINALITIES[i % len(CARDINALITIES)] for i in range(features // 2)]
    shapes = [SHAPES[i % len(SHAPES)] for i in range(features - len(cats))]
    cat_refs = [(category_shares(k), CategoricalReference(
        rng.multinomial(REF_ROWS, category_shares(k)).astype(np.int64))) for k in cats]
    num_refs = [(s, numeric_reference(s, rng)) for s in shapes]
    new = old = 0
    for _ in range(windows):
        drifts = [categorical_drift(f"c{i}", ref, rng.multinomial(n, p).astype(np.int64),
                                    THRESHOLDS) for i, (p, ref) in enumerate(cat_refs)]
        drifts += [numeric_drift(f"x{i}", ref, draw(s, rng, n), THRESHOLDS)
                   for i, (s, ref) in enumerate(num_refs)]
        sev = highest_severity(model_verdict(drifts, THRESHOLDS))
        new += sev is not None and sev >= Severity.MEDIUM
        old += any(flagged_old(d) for d in drifts)
    return Rates(new / windows, old / windows)


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _table(title: str, rows: Sequence[str], cols: Sequence[int],
           cell: Callable[[str, int], Rates]) -> None:
    print(f"\n{title}\n")
    print("| | " + " | ".join(f"n = {n:,}" for n in cols) + " |")
    print("| --- " * (len(cols) + 1) + "|")
    for row in rows:
        cells = [cell(row, n) for n in cols]
        print(f"| {row} | " + " | ".join(f"{_pct(c.new)} (old {_pct(c.old)})" for c in cells)
              + " |")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=2_000, help="windows per cell")
    ap.add_argument("--model-windows", type=int, default=400)
    a = ap.parse_args(argv)
    w = a.windows
    _table("False alarms, categorical (k known categories + __other__), no drift:",
           [f"k = {k}" for k in CARDINALITIES], WINDOW_SIZES,
           lambda r, n: categorical_rates(int(r[4:]), n, w, seed=n + int(r[4:])))
    _table("False alarms, numeric, no drift:", SHAPES, WINDOW_SIZES,
           lambda r, n: numeric_rates(r, n, w // 4, seed=n + len(r)))
    big = WINDOW_SIZES[2:]
    for psi in (0.07, 0.1, 0.15, 0.25):
        def cat(r: str, n: int, psi: float = psi) -> Rates:
            return categorical_rates(int(r[4:]), n, w // 4, seed=n + 1, target_psi=psi)

        def num(r: str, n: int, psi: float = psi) -> Rates:
            return numeric_rates(r, n, w // 8, seed=n + 2, target_psi=psi)

        _table(f"Power, categorical, population PSI = {psi}:",
               [f"k = {k}" for k in CARDINALITIES], big, cat)
        _table(f"Power, numeric, population PSI = {psi}:", SHAPES, big, num)
    print("\nFalse alarms, 50-feature model (25 categorical, 25 numeric), no drift:\n")
    for n in (500, 2_000, 10_000):
        r = model_rates(n, a.model_windows, seed=n)
        print(f"- n = {n:,}: {_pct(r.new)} (old {_pct(r.old)})")


if __name__ == "__main__":
    main()
