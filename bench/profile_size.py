"""Size and load time of a profile in schema 1 (JSON numbers) and schema 2 (binary samples).

Builds 25-feature profiles (20 numeric, 5 categorical, plus a numeric prediction) from
generated CSVs at sample sizes 10,000 (the default) and 100,000, with the values rounded
to 4 decimals (as bench/profile_build.py) and at full float64 precision, and prints the
file size and the best-of-N decode time of each schema, schema 1 as the baseline.

Run: .venv/bin/python bench/profile_size.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from exporter.config.model import FeatureConfig, ModelConfig, PredictionConfig
from exporter.profile.build import build_profile
from exporter.profile.codec import decode, encode
from exporter.profile.model import Profile

NUMERIC, CATEGORICAL = 20, 5
CONFIGMAP = 1024 * 1024


def _csv(path: Path, rows: int, decimals: int | None) -> None:
    rng = np.random.default_rng(42)

    def rounded(x: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
        return x if decimals is None else np.round(x, decimals)

    cats = np.array(["a", "b", "c", "d", "e"], dtype=object)
    cols: dict[str, object] = {f"f{i}": rounded(rng.normal(i, 1 + i % 5, rows))
                               for i in range(NUMERIC)}
    cols |= {f"c{i}": rng.choice(cats, rows) for i in range(CATEGORICAL)}
    cols["prediction"] = rounded(rng.random(rows))
    pacsv.write_csv(pa.table(cols), path)


def _build(folder: Path, sample: int, decimals: int | None) -> Profile:
    path = folder / f"ref-{sample}-{decimals}.csv"
    _csv(path, int(sample * 1.2), decimals)
    feats = tuple(FeatureConfig(f"f{i}", "numeric") for i in range(NUMERIC))
    feats += tuple(FeatureConfig(f"c{i}", "categorical") for i in range(CATEGORICAL))
    cfg = ModelConfig("bench", "1", PredictionConfig("classification", ("0", "1")), feats,
                      sample_size=sample)
    return build_profile(cfg, path)


def _load_ms(data: bytes, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        decode(data, "bench")
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'sample':>7} {'values':<9} {'schema':>6} {'bytes':>11} {'x':>6} {'load ms':>9}"
          "  fits a ConfigMap")
    with tempfile.TemporaryDirectory() as tmp:
        for sample in (10_000, 100_000):
            for decimals in (4, None):
                profile = _build(Path(tmp), sample, decimals)
                v1 = encode(replace(profile, schema_version=1))
                v2 = encode(profile)
                assert decode(v1, "v1").features == decode(v2, "v2").features == profile.features
                label = "full" if decimals is None else f"{decimals} dec."
                for schema, data in ((1, v1), (2, v2)):
                    print(f"{sample:>7} {label:<9} {schema:>6} {len(data):>11,} "
                          f"{len(v1) / len(data):>5.1f}x {_load_ms(data, args.repeat):>9.1f}"
                          f"  {'yes' if len(data) < CONFIGMAP else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
