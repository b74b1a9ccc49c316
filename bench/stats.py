"""Benchmark: one full drift computation from a prebuilt profile vs. scipy called directly.

25 features (20 numeric, 5 categorical), a 100k-row reference and a 10k-row batch
(fixed seed; 5 numeric and 2 categorical features drifted, 1 % missing values).
The reference is built once with ``exporter.profile.build_profile`` (quantile edges,
bin counts, 10k reference sample, category counts). Then, on the same samples:

- mlmon:  ``exporter.stats.drift.numeric_drift`` / ``categorical_drift`` for all 25
          features (PSI, KS D + p-value, Wasserstein, Jensen-Shannon, Hellinger,
          chi-square, severity), KS p-value "asymp" (default) and "kstwobign".
- scipy:  ``ks_2samp(method="asymp")``, ``wasserstein_distance``, ``np.histogram`` PSI
          with the same smoothing, ``jensenshannon(base=2)``, numpy Hellinger,
          ``chi2_contingency`` on the same tables.

Each is repeated and the median wall time reported; peak memory is measured in a
separate run under tracemalloc. Results of both are cross-checked. Not a test: timings
depend on the machine. Run: ``python bench/stats.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exporter.stats.drift import FeatureDrift, categorical_drift, numeric_drift
from exporter.stats.ks import KSMethod
from exporter.stats.psi import EPSILON
from exporter.stats.reference import CategoricalReference, NumericReference
from exporter.stats.thresholds import Thresholds

SEED = 20261126
REF_ROWS = 100_000
BATCH_ROWS = 10_000
N_NUMERIC = 20
N_CATEGORICAL = 5
SAMPLE_SIZE = 10_000
MISSING = 0.01

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Data:
    ref_numeric: dict[str, Floats]
    ref_categorical: dict[str, NDArray[np.str_]]
    cur_numeric: dict[str, Floats]
    cur_categorical: dict[str, NDArray[np.str_]]
    drifted: tuple[str, ...]


def _numeric(rng: np.random.Generator, i: int, n: int, shift: float, scale: float) -> Floats:
    kind = i % 4
    if kind == 0:
        x = rng.normal(shift, scale, n)
    elif kind == 1:
        x = rng.lognormal(0.5 + shift, 0.6 * scale, n)
    elif kind == 2:
        x = rng.poisson(4.0 * scale + 4.0 * shift, n).astype(np.float64)  # heavy ties
    else:
        x = rng.uniform(shift, 10.0 * scale + shift, n)
    x[rng.random(n) < MISSING] = np.nan
    return x


def make_data() -> Data:
    rng = np.random.default_rng(SEED)
    # (shift, scale) per drifted numeric feature: mild to strong
    drift = {0: (0.1, 1.0), 3: (0.25, 1.0), 6: (0.0, 1.5), 9: (0.5, 1.0), 12: (1.0, 1.0)}
    ref_n: dict[str, Floats] = {}
    cur_n: dict[str, Floats] = {}
    for i in range(N_NUMERIC):
        ref_n[f"num_{i:02d}"] = _numeric(rng, i, REF_ROWS, 0.0, 1.0)
        shift, scale = drift.get(i, (0.0, 1.0))
        cur_n[f"num_{i:02d}"] = _numeric(rng, i, BATCH_ROWS, shift, scale)
    ref_c: dict[str, NDArray[np.str_]] = {}
    cur_c: dict[str, NDArray[np.str_]] = {}
    for j in range(N_CATEGORICAL):
        k = 4 + 6 * j
        cats = np.array([f"c{v:02d}" for v in range(k)])
        p = rng.dirichlet(np.full(k, 2.0))
        ref_c[f"cat_{j}"] = rng.choice(cats, REF_ROWS, p=p)
        q = p
        if j in (0, 3):  # drifted: proportions move and an unseen category appears
            q = 0.6 * p + 0.4 * rng.dirichlet(np.full(k, 2.0))
            cats = np.append(cats, "unseen")
            q = np.append(0.95 * q, 0.05)
        cur_c[f"cat_{j}"] = rng.choice(cats, BATCH_ROWS, p=q / q.sum())
    drifted = (*(f"num_{i:02d}" for i in drift), "cat_0", "cat_3")
    return Data(ref_n, ref_c, cur_n, cur_c, drifted)


@dataclass(frozen=True)
class Reference:
    numeric: dict[str, NumericReference]
    categorical: dict[str, tuple[tuple[str, ...], CategoricalReference]]
    how: str
    seconds: float


def build_with_profile(data: Data) -> Reference:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from exporter.config.model import FeatureConfig, ModelConfig, PredictionConfig
    from exporter.profile.build import build_profile
    from exporter.profile.model import CategoricalProfile, to_reference

    features = tuple(FeatureConfig(n, "numeric") for n in data.ref_numeric) + tuple(
        FeatureConfig(n, "categorical") for n in data.ref_categorical)
    config = ModelConfig(name="bench", version="1", prediction=PredictionConfig("regression"),
                         features=features, sample_size=SAMPLE_SIZE)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reference.csv"
        table = pa.table({**data.ref_numeric, **data.ref_categorical})
        pacsv.write_csv(table, path)
        t0 = time.perf_counter()
        profile = build_profile(config, path)
        seconds = time.perf_counter() - t0
    numeric: dict[str, NumericReference] = {}
    categorical: dict[str, tuple[tuple[str, ...], CategoricalReference]] = {}
    for f in profile.features:
        ref = to_reference(f)
        if isinstance(ref, NumericReference):
            numeric[f.name] = ref
        else:
            assert isinstance(f, CategoricalProfile)
            categorical[f.name] = (f.categories, ref)
    return Reference(numeric, categorical, "exporter.profile.build_profile (CSV, 2 passes)",
                     seconds)


def encode(values: NDArray[np.str_], categories: tuple[str, ...]) -> Ints:
    """Category codes over the reference buckets, unseen -> __other__ (last)."""
    index = {c: i for i, c in enumerate(categories)}
    other = len(categories)
    return np.array([index.get(str(v), other) for v in values], dtype=np.int64)


Inputs = tuple[dict[str, Floats], dict[str, Ints]]


def run_mlmon(ref: Reference, inputs: Inputs, method: KSMethod) -> list[FeatureDrift]:
    numeric, codes = inputs
    t = Thresholds()
    out = [numeric_drift(n, ref.numeric[n], v, t, ks_method=method) for n, v in numeric.items()]
    for name, c in codes.items():
        cref = ref.categorical[name][1]
        counts = np.bincount(c, minlength=len(cref.counts)).astype(np.int64)
        out.append(categorical_drift(name, cref, counts, t))
    return out


def _psi(r: NDArray[Any], c: NDArray[Any]) -> float:
    rp = np.maximum(r / r.sum(), EPSILON)
    cp = np.maximum(c / c.sum(), EPSILON)
    rp, cp = rp / rp.sum(), cp / cp.sum()
    return float(np.sum((cp - rp) * np.log(cp / rp)))


def _hellinger(r: NDArray[Any], c: NDArray[Any]) -> float:
    return math.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(r / r.sum() * (c / c.sum()))))))


def run_scipy(ref: Reference, inputs: Inputs) -> dict[str, dict[str, float]]:
    numeric, codes = inputs
    out: dict[str, dict[str, float]] = {}
    for name, values in numeric.items():
        r = ref.numeric[name]
        cur = values[~np.isnan(values)]
        ks = sps.ks_2samp(r.sample_sorted, cur, method="asymp")
        counts, _ = np.histogram(cur, np.concatenate(([-np.inf], r.edges, [np.inf])))
        out[name] = {
            "psi": _psi(r.counts, counts), "ks_statistic": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue),
            "wasserstein": float(sps.wasserstein_distance(r.sample_sorted, cur)),
            "jensen_shannon": float(jensenshannon(r.counts, counts, base=2)),
            "hellinger": _hellinger(r.counts, counts)}
    for name, c in codes.items():
        rc = ref.categorical[name][1].counts
        counts = np.bincount(c, minlength=len(rc))
        table = np.array([rc, counts])
        chi = sps.chi2_contingency(table[:, table.sum(axis=0) > 0])
        out[name] = {
            "psi": _psi(rc, counts), "chi2_statistic": float(chi.statistic),
            "chi2_pvalue": float(chi.pvalue),
            "jensen_shannon": float(jensenshannon(rc, counts, base=2)),
            "hellinger": _hellinger(rc, counts)}
    return out


def max_difference(ours: list[FeatureDrift], theirs: dict[str, dict[str, float]]) -> float:
    worst = 0.0
    for d in ours:
        for key, want in theirs[d.name].items():
            got = getattr(d, key)
            if got is None:
                return math.inf
            worst = max(worst, abs(got - want) / max(1.0, abs(want)))
    return worst


@dataclass(frozen=True)
class Timing:
    wall: float  # median seconds
    cpu: float  # median process CPU seconds
    peak: float  # bytes traced by tracemalloc during one run


def timed(variants: dict[str, Callable[[], object]], repeat: int) -> dict[str, Timing]:
    """Median wall and CPU time and peak traced memory per variant.

    Variants run interleaved, one of each per round, so a burst of load from other
    processes hits all of them alike; CPU time is the steadier figure on a shared
    machine. Peak memory comes from a separate traced run (tracemalloc slows code).
    """
    wall: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    for fn in variants.values():
        fn()  # warm caches and imports
    for _ in range(repeat):
        for key, fn in variants.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            wall[key].append(time.perf_counter() - t0)
            cpu[key].append(time.process_time() - c0)
    out = {}
    for key, fn in variants.items():
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out[key] = Timing(statistics.median(wall[key]), statistics.median(cpu[key]), float(peak))
    return out


def sidecar_cycle(repeat: int) -> dict[str, Timing]:
    """The sidecar's worst shape: 50 numeric features, a 10k window vs a 10k sample."""
    rng = np.random.default_rng(SEED + 2)
    refs, windows = [], []
    for i in range(50):
        ref = _numeric(rng, i, SAMPLE_SIZE, 0.0, 1.0)
        ref = np.sort(ref[~np.isnan(ref)])
        edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
        counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1)
        refs.append(NumericReference(edges, counts.astype(np.int64), ref))
        shift = (0.0, 0.0, 0.0, 0.1, 0.5)[i % 5]  # one in five features drifted
        windows.append(_numeric(rng, i, BATCH_ROWS, shift, 1.0))
    t = Thresholds()

    def cycle(method: KSMethod) -> list[FeatureDrift]:
        return [numeric_drift(f"f{i}", r, w, t, ks_method=method)
                for i, (r, w) in enumerate(zip(refs, windows, strict=True))]

    return timed({"asymp": lambda: cycle("asymp"), "kstwobign": lambda: cycle("kstwobign")},
                 repeat)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per variant")
    args = parser.parse_args()

    data = make_data()
    ref = build_with_profile(data)
    inputs: Inputs = (
        data.cur_numeric,
        {n: encode(v, ref.categorical[n][0]) for n, v in data.cur_categorical.items()},
    )

    ours = run_mlmon(ref, inputs, "asymp")
    theirs = run_scipy(ref, inputs)
    diff = max_difference(ours, theirs)
    flagged = sorted(d.name for d in ours if d.severity is not None and d.severity >= 1)
    t = Thresholds()
    tested = sorted(d.name for d in ours
                    if (d.ks_pvalue is not None and d.ks_pvalue < t.ks_alpha)
                    or (d.chi2_pvalue is not None and d.chi2_pvalue < t.chi2_alpha))

    res = timed({
        "scipy": lambda: run_scipy(ref, inputs),
        "asymp": lambda: run_mlmon(ref, inputs, "asymp"),
        "kstwobign": lambda: run_mlmon(ref, inputs, "kstwobign"),
    }, args.repeat)

    print(f"features: {N_NUMERIC} numeric + {N_CATEGORICAL} categorical; reference "
          f"{REF_ROWS:,} rows (sample {SAMPLE_SIZE:,}); batch {BATCH_ROWS:,} rows; "
          f"seed {SEED}; median of {args.repeat}")
    print(f"reference built with {ref.how} in {ref.seconds:.2f} s")
    print(f"injected drift: {', '.join(data.drifted)}")
    print(f"flagged (PSI >= medium): {', '.join(flagged)}")
    print(f"flagged (KS / chi-square p < alpha): {', '.join(tested)}")
    print(f"max relative difference mlmon(asymp) vs scipy over all statistics: {diff:.1e}")
    print()
    rows = [
        ("scipy direct (ks_2samp asymp, ...)", res["scipy"]),
        ("mlmon drift, KS p asymp (default)", res["asymp"]),
        ("mlmon drift, KS p kstwobign", res["kstwobign"]),
    ]
    base = res["scipy"]
    print("| computation (25 features) | wall (median) | CPU (median) | peak memory "
          "| speed-up wall / CPU |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, r in rows:
        print(f"| {label} | {r.wall * 1e3:.1f} ms | {r.cpu * 1e3:.1f} ms | "
              f"{r.peak / 2**20:.2f} MiB | {base.wall / r.wall:.1f}x / {base.cpu / r.cpu:.1f}x |")
    cycle = sidecar_cycle(args.repeat)
    print()
    print("Sidecar compute cycle, 50 numeric features (10 drifted), 10k window vs 10k sample:")
    print("| KS p-value | wall (median) | CPU (median) | peak memory |")
    print("| --- | ---: | ---: | ---: |")
    for key, r in cycle.items():
        print(f"| {key} | {r.wall * 1e3:.1f} ms | {r.cpu * 1e3:.1f} ms | "
              f"{r.peak / 2**20:.2f} MiB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
