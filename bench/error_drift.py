"""False alarms and detection delays of the error-stream Page-Hinkley test at its defaults.

Simulated error streams, fixed seeds:

* classifiers: 0/1 errors, Bernoulli at a base rate p (2 %, 5 %, 10 %, 20 %, 30 %), divided
  as the detector divides them (by max(σ₀, √(p̂(1 − p̂)))/σ₀, p̂ the first ``WARMUP`` errors' mean);
  false alarms = share of 100,000-label streams at a stable p with any detection; delay =
  labels from an abrupt rise p → 2p (after 4,000 labels at p) to the first detection,
  with the share of rises not found within 1,000 labels;
* regressors: absolute errors of normal, Laplace and Student-t(3) residuals, scaled as
  the detector scales them (by the first ``min_instances`` errors' mean, capped at 5);
  false alarms over 100,000 labels, delay after the MAE doubles.

The streams are run many at once by a numpy transcription of the update
(``exporter.stats.errordrift``; the first streams of every row are checked against
``ErrorDrift`` itself, detection for detection, before the row is printed). Not a test
(tests/stats/test_errordrift.py runs a small seeded version and asserts the targets).
Run: ``python bench/error_drift.py [--streams N]``; the tables in
docs/statistics.md#error-stream-change-detection are its output.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from exporter.stats.errordrift import (
    CAP,
    CLASSIFICATION,
    REGRESSION,
    SIGMA0,
    WARMUP,
    ErrorDrift,
    ErrorKind,
    PageHinkleyParams,
)

Array = NDArray[np.float64]
CHECKED = 3  # streams per row re-run through ErrorDrift
BLOCK = 100  # stable streams simulated at once (100,000 x 100 doubles: 80 MB)


def first_detection(xs: Array, p: PageHinkleyParams) -> NDArray[np.int64]:
    """First detection index per column of ``xs`` (rows: time), -1 for none."""
    n_steps, width = xs.shape
    mean, total = np.zeros(width), np.zeros(width)
    low = np.full(width, np.inf)
    first = np.full(width, -1, dtype=np.int64)
    for t in range(n_steps):
        n = t + 1
        mean += (1.0 / n) * (xs[t] - mean)
        total = p.alpha * total + (xs[t] - mean) - p.delta
        np.minimum(low, total, out=low)
        if n >= p.min_instances:
            hit = (total - low > p.threshold) & (first < 0)
            first[hit] = t
    return first


def scaled(errors: Array, p: PageHinkleyParams) -> Array:
    """Absolute errors as the regression detector feeds them until its first detection."""
    scale = errors[:p.min_instances].mean(axis=0)
    return np.minimum(errors / scale, CAP)


def standardised(errors: Array, p: PageHinkleyParams) -> Array:
    """0/1 errors as the classification detector feeds them until its first detection."""
    rate = errors[:max(WARMUP, p.min_instances)].mean(axis=0)
    return errors / (np.maximum(SIGMA0, np.sqrt(rate * (1.0 - rate))) / SIGMA0)


def check(kind: ErrorKind, raw: Array, first: NDArray[np.int64], p: PageHinkleyParams) -> None:
    for j in range(min(CHECKED, raw.shape[1])):
        d = ErrorDrift(kind, p)
        got = next((i for i, e in enumerate(raw[:, j].tolist()) if d.update(e)), -1)
        assert got == first[j], (kind, j, got, first[j])


def classification(streams: int, seed: int, p: PageHinkleyParams = CLASSIFICATION,
                   ) -> list[str]:
    rng = np.random.default_rng(seed)
    rows = ["| base error rate | false alarms in 100,000 labels | rise to 2× found: median delay "
            "| 99th percentile | not within 1,000 |", "| ---: | ---: | ---: | ---: | ---: |"]
    for base in (0.02, 0.05, 0.10, 0.20, 0.30):
        alarms = []
        for k in range(0, streams, BLOCK):
            stable = (rng.random((100_000, min(BLOCK, streams - k))) < base).astype(np.float64)
            first = first_detection(standardised(stable, p), p)
            if not k:
                check("classification", stable, first, p)
            alarms.append(first >= 0)
        false = float(np.concatenate(alarms).mean())
        pre = 4000
        rise = np.concatenate([rng.random((pre, streams)) < base,
                               rng.random((3000, streams)) < min(2 * base, 1.0)]).astype(float)
        found = first_detection(standardised(rise, p), p)
        check("classification", rise, found, p)
        rows.append(_row(f"{base:.0%}", false, found, pre))
    return rows


def regression(streams: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    p = REGRESSION
    shapes: dict[str, Callable[[tuple[int, int]], Array]] = {
        "normal": lambda size: rng.normal(size=size),
        "Laplace": lambda size: rng.laplace(size=size),
        "Student-t(3)": lambda size: rng.standard_t(3, size=size),
    }
    rows = ["| residuals | false alarms in 100,000 labels | MAE ×2 found: median delay "
            "| 99th percentile | not within 1,000 |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, draw in shapes.items():
        alarms = []
        for k in range(0, streams, BLOCK):
            stable = np.abs(draw((100_000, min(BLOCK, streams - k))))
            first = first_detection(scaled(stable, p), p)
            if not k:
                check("regression", stable, first, p)
            alarms.append(first >= 0)
        pre = 4000
        rise = np.abs(np.concatenate([draw((pre, streams)), 2 * draw((3000, streams))]))
        found = first_detection(scaled(rise, p), p)
        check("regression", rise, found, p)
        rows.append(_row(name, float(np.concatenate(alarms).mean()), found, pre))
    return rows


def _row(name: str, false: float, found: NDArray[np.int64], pre: int) -> str:
    ok = found >= pre
    delay = found[ok] - pre
    late = float(((~ok) | (found - pre > 1000)).mean())
    early = int(((found >= 0) & (found < pre)).sum())
    note = f" ({early} before the rise)" if early else ""
    med = f"{np.median(delay):.0f}" if len(delay) else "-"
    p99 = f"{np.percentile(delay, 99):.0f}" if len(delay) else "-"
    return f"| {name} | {false:.2%} | {med} | {p99} | {late:.2%}{note} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=1000, help="streams per row")
    ap.add_argument("--threshold", type=float, help="classifiers' threshold (default: the "
                    "detector's); to size error_drift.threshold")
    ap.add_argument("--delta", type=float, help="classifiers' delta (default: the detector's)")
    ap.add_argument("--classifiers-only", action="store_true", help="skip the regressors")
    args = ap.parse_args()
    p = CLASSIFICATION
    p = PageHinkleyParams(p.delta if args.delta is None else args.delta,
                          p.threshold if args.threshold is None else args.threshold,
                          p.min_instances, p.alpha)
    print(f"classifiers: {p}, {args.streams} streams per row")
    print("\n".join(classification(args.streams, 1, p)))
    if args.threshold is None and args.delta is None and not args.classifiers_only:
        print(f"\nregressors: {REGRESSION}, cap {CAP:g}, {args.streams} streams per row")
        print("\n".join(regression(args.streams, 2)))


if __name__ == "__main__":
    main()
