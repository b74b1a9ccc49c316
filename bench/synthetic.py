"""What the sidecar benchmarks feed the sidecar: profiles, configs and events.

Synthetic models with ``numeric`` features ``x00``... (feature j ~ N(100 + j, 10)) and
``categorical`` features ``c0``... over five countries, a binary classifier's score as
the prediction; profiles either made directly from a 10k sample (``make_profile``) or
built by ``mlmon profile build`` from a generated data file (``build_profile``), as a
user builds them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from exporter.config.model import FeatureConfig, ModelConfig, PredictionConfig, WindowConfig
from exporter.profile.files import save_profile
from exporter.profile.model import (
    SCHEMA_VERSION,
    CategoricalProfile,
    NumericProfile,
    NumericSummary,
    Profile,
)
from exporter.stats.binning import bin_counts, quantile_edges

CATS = ("DE", "FR", "US", "GB", "IT")


def _numeric(name: str, values: np.ndarray[Any, Any]) -> NumericProfile:
    edges = quantile_edges(values, 10)
    summary = NumericSummary(len(values), 0, float(values.mean()), float(values.std()),
                             float(values.min()), float(values.max()), ())
    return NumericProfile(name, tuple(map(float, edges)),
                          tuple(int(c) for c in bin_counts(values, edges)), summary,
                          tuple(float(v) for v in np.sort(values)))


def make_profile(name: str, numeric: int, categorical: int, n: int = 10_000,
                 seed: int = 0) -> Profile:
    rng = np.random.default_rng(seed)
    feats: list[NumericProfile | CategoricalProfile] = [
        _numeric(f"x{i:02d}", rng.normal(100 + i, 10, n)) for i in range(numeric)]
    for j in range(categorical):
        counts = rng.multinomial(n, [0.4, 0.2, 0.2, 0.1, 0.1])
        feats.append(CategoricalProfile(f"c{j}", tuple(sorted(CATS)),
                                        (*(int(c) for c in counts), 0), 0))
    return Profile(SCHEMA_VERSION, name, "1", n, tuple(feats),
                   _numeric("__prediction__", rng.beta(2, 5, n)), f"bench-{name}")


def model_config(name: str, numeric: int, categorical: int, window: int) -> ModelConfig:
    feats = tuple(FeatureConfig(f"x{i:02d}", "numeric") for i in range(numeric)) + tuple(
        FeatureConfig(f"c{j}", "categorical") for j in range(categorical))
    return ModelConfig(name, "1", PredictionConfig("classification", ("0", "1")), feats,
                       window=WindowConfig(size=window))


def write_config(tmp: Path, models: list[tuple[str, int, int]], window: int,
                 compute_interval: str = "15s", decode_processes: int = 1,
                 filename: str = "mlmon.yaml", built: bool = False,
                 server: str = "") -> Path:
    """A sidecar config for ``models`` (name, numeric, categorical) in ``tmp``, with
    their profiles: made from a 10k sample, or, when ``built``, built by ``mlmon profile
    build`` from 100k generated training rows at the default sample size. ``server``:
    more settings of the server section, e.g. ``"state_interval: 2s"``."""
    settings = ", ".join([f"decode_processes: {decode_processes}", *([server] if server else [])])
    lines = [f"compute_interval: {compute_interval}", f"server: {{{settings}}}", "models:"]
    for name, numeric, categorical in models:
        if not built:
            save_profile(make_profile(name, numeric, categorical), tmp / f"{name}.json")
        feats = ", ".join([f"x{i:02d}: numeric" for i in range(numeric)]
                          + [f"c{j}: categorical" for j in range(categorical)])
        lines += [f"  - name: {name}", '    version: "1"', f"    profile: {name}.json",
                  '    prediction: {kind: classification, classes: ["0", "1"]}',
                  f"    features: {{{feats}}}", f"    window: {{size: {window}}}",
                  "    labels: {ttl: 1h, max_pending: 100000}"]
    path = tmp / filename
    path.write_text("\n".join(lines) + "\n")
    if built:
        for name, numeric, categorical in models:
            build_profile(path, name, numeric, categorical)
    return path


def training_data(path: Path, numeric: int, categorical: int, rows: int = 100_000,
                  seed: int = 7) -> Path:
    """A Parquet file of ``rows`` training rows shaped like ``make_events``' events."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {f"x{j:02d}": rng.normal(100 + j, 10, rows).round(3)
                            for j in range(numeric)}
    cols.update({f"c{j}": rng.choice(CATS, rows, p=[0.4, 0.2, 0.2, 0.1, 0.1])
                 for j in range(categorical)})
    scores = rng.beta(2, 5, rows).round(4)
    cols["prediction"] = scores
    cols["label"] = (rng.random(rows) < scores).astype(np.int64)
    cols["id"] = [f"t{i}" for i in range(rows)]
    pq.write_table(pa.table(cols), path)
    return path


def build_profile(config: Path, name: str, numeric: int, categorical: int,
                  rows: int = 100_000) -> Path:
    """``mlmon profile build`` of model ``name`` in ``config`` from generated data, into
    the profile file the config names (``NAME.json`` beside it)."""
    data = training_data(config.parent / f"{name}-train.parquet", numeric, categorical, rows)
    out = config.parent / f"{name}.json"
    subprocess.run([sys.executable, "-m", "exporter", "profile", "build", "--config",
                    str(config), "--model", name, "--input", str(data), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return out


def make_events(model: str, numeric: int, categorical: int, n: int, seed: int = 1,
                shift: float = 0.0) -> bytes:
    rng = np.random.default_rng(seed)
    # feature j follows its reference N(100 + j, 10) unless shifted
    values = (rng.normal(100 + shift, 10, (n, numeric)) + np.arange(numeric)).round(3)
    cats = rng.choice(CATS, (n, categorical))
    scores = rng.beta(2, 5, n).round(4)
    out = []
    for i in range(n):
        feats: dict[str, Any] = {f"x{j:02d}": float(values[i, j]) for j in range(numeric)}
        feats.update({f"c{j}": str(cats[i, j]) for j in range(categorical)})
        out.append(json.dumps({"v": 1, "model": model, "version": "1", "id": f"q{i}",
                               "features": feats, "prediction": float(scores[i])},
                              separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


