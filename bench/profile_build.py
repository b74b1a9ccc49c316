"""Build a profile from a generated 1M-row x 50-feature CSV; print wall time and peak RSS.

Run: .venv/bin/python bench/profile_build.py [--rows N] [--features F]
The CSV is written to a temporary directory and deleted afterwards.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from exporter.config.model import FeatureConfig, ModelConfig, PredictionConfig
from exporter.profile.build import build_profile
from exporter.profile.files import save_profile


def _write(path: Path, rows: int, features: int, block: int = 100_000) -> None:
    rng = np.random.default_rng(42)
    cats = np.array(["a", "b", "c", "d", "e"], dtype=object)
    with pacsv.CSVWriter(path, _schema(features)) as writer:
        for start in range(0, rows, block):
            n = min(block, rows - start)
            cols: dict[str, object] = {f"f{i}": np.round(rng.normal(i, 1 + i % 5, n), 4)
                                       for i in range(features - 5)}
            cols |= {f"c{i}": rng.choice(cats, n) for i in range(5)}
            cols["prediction"] = np.round(rng.random(n), 4)
            writer.write_table(pa.table(cols, schema=_schema(features)))


def _schema(features: int) -> pa.Schema:
    fields = [pa.field(f"f{i}", pa.float64()) for i in range(features - 5)]
    fields += [pa.field(f"c{i}", pa.string()) for i in range(5)]
    return pa.schema([*fields, pa.field("prediction", pa.float64())])


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate is not None:  # child process: keeps generation out of the peak RSS
        _write(args.generate, args.rows, args.features)
        return 0
    feats = tuple(FeatureConfig(f"f{i}", "numeric") for i in range(args.features - 5))
    feats += tuple(FeatureConfig(f"c{i}", "categorical") for i in range(5))
    cfg = ModelConfig("bench", "1", PredictionConfig("classification", ("0", "1")), feats)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.csv"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--features",
                        str(args.features), "--generate", str(path)], check=True)
        write_s = time.perf_counter() - t0
        size_mib = path.stat().st_size / 2**20
        rss_before = _rss_mib()
        t0 = time.perf_counter()
        profile = build_profile(cfg, path)
        build_s = time.perf_counter() - t0
        save_profile(profile, Path(tmp) / "profile.json")
        out_kib = (Path(tmp) / "profile.json").stat().st_size / 1024
    in_memory = args.rows * args.features * 8 / 2**20
    print(f"rows={args.rows} features={args.features} csv={size_mib:.0f} MiB "
          f"(as float64 in memory: {in_memory:.0f} MiB), generated in {write_s:.1f} s")
    print(f"profile build: {build_s:.1f} s wall, {args.rows / build_s:,.0f} rows/s")
    print(f"peak RSS: {_rss_mib():.0f} MiB (after imports, before build: {rss_before:.0f} MiB); "
          f"profile.json {out_kib:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
