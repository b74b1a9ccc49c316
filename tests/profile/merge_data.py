"""Generated reference files for the split/merge exactness tests (tests/profile/test_merge.py)
and the Spark engine's equality tests (tests/spark/): missing values, ties, a feature
binned by value, a high-cardinality categorical feature (more distinct values than
``CategoricalAcc.capacity``: pruned), a classifier with labels (calibration section,
segments, multivariate section) and a regressor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from exporter.config.model import FeatureConfig, ModelConfig, PredictionConfig, SegmentConfig

FEATURES = (FeatureConfig("x", "numeric"), FeatureConfig("y", "numeric"),
            FeatureConfig("z", "numeric"), FeatureConfig("c", "categorical"),
            FeatureConfig("ids", "categorical"))


def classifier() -> ModelConfig:
    """With the optional sections: segments by ``c`` and the multivariate (PCA) one."""
    return ModelConfig(name="m", version="1", features=FEATURES, max_categories=20,
                       prediction=PredictionConfig("classification", ("0", "1")),
                       segment=SegmentConfig("c"))


def regressor() -> ModelConfig:
    return ModelConfig(name="r", version="1", features=FEATURES, max_categories=20,
                       prediction=PredictionConfig("regression"))


def table(n: int, seed: int, regression: bool = False) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    x: list[float | None] = (1e6 + rng.normal(0, 3, n)).tolist()  # far from 0: sums round
    for i in rng.choice(n, n // 20, replace=False).tolist():
        x[i] = None
    y = np.round(rng.exponential(2, n), 0).tolist()  # many ties
    z = rng.integers(0, 5, n).astype(float).tolist()  # few distinct: binned by value
    c: list[str | None] = rng.choice(np.array(["DE", "FR", "US", "GB"], dtype=object), n,
                                     p=[0.4, 0.3, 0.2, 0.1]).tolist()
    for i in range(3, n, 29):
        c[i] = None
    heavy = rng.zipf(1.5, n) % 200
    unique = rng.random(n) < 0.5  # about n / 2 distinct values: above the capacity
    ids = [f"u{i}" if u else f"h{h}" for i, (u, h) in enumerate(zip(unique, heavy, strict=True))]
    score = rng.random(n)
    out: dict[str, list[Any]] = {"x": x, "y": y, "z": z, "c": c, "ids": ids}
    if regression:
        out["prediction"] = np.round(score * 100 + rng.normal(0, 5, n), 3).tolist()
    else:
        out["prediction"] = np.round(score, 4).tolist()
        out["label"] = (rng.random(n) < score).astype(int).tolist()
    return out


def write(directory: Path, cols: dict[str, list[Any]], stem: str,
          row_group_size: int = 2000) -> dict[str, Path]:
    t = pa.table(cols)
    paths = {"csv": directory / f"{stem}.csv", "parquet": directory / f"{stem}.parquet",
             "jsonl": directory / f"{stem}.jsonl"}
    pacsv.write_csv(t, paths["csv"])
    pq.write_table(t, paths["parquet"], row_group_size=row_group_size)
    with paths["jsonl"].open("w", encoding="utf-8") as fh:
        for row in t.to_pylist():
            fh.write(json.dumps(row) + "\n")
    return paths
