"""The peers benchmark's workload: a seeded reference and current Parquet file.

25 features, 20 numeric (``num_00`` .. ``num_19``) and 5 categorical (``cat_0`` ..
``cat_4``), no missing values, a 100k-row reference and a 10k-row current batch. The
current batch differs from the reference only in the features of ``SHIFTS``; every
other feature is drawn from the same distribution as in the reference (fresh draws):

- ``num_00``: mean +1.0 standard deviation (large)
- ``num_01``: mean +0.5 sd (medium)
- ``num_02``: mean +0.2 sd (small: a population PSI of about 0.04, below mlmon's
  ``psi_medium`` of 0.1, so mlmon calls it low by design; a p-value test at 10k rows
  still rejects)
- ``num_03``: standard deviation x 1.5, same mean
- ``cat_0``: category shares (0.4, 0.3, 0.2, 0.1) -> (0.25, 0.3, 0.25, 0.2), PSI 0.15

Numeric features cycle through four shapes (normal, lognormal, uniform, exponential);
the four shifted ones are normal so that their shift is exactly the one above.
Imports numpy and pyarrow only. Used by ``bench/peers.py`` and its test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20261202
REF_ROWS = 100_000
CUR_ROWS = 10_000
N_NUMERIC = 20
N_CATEGORICAL = 5
NUMERIC = tuple(f"num_{i:02d}" for i in range(N_NUMERIC))
CATEGORICAL = tuple(f"cat_{j}" for j in range(N_CATEGORICAL))

# feature -> (mean shift in sd, scale factor) for numeric, documented above
NUMERIC_SHIFTS: dict[str, tuple[float, float]] = {
    "num_00": (1.0, 1.0), "num_01": (0.5, 1.0), "num_02": (0.2, 1.0), "num_03": (0.0, 1.5)}
CAT0_REFERENCE = (0.4, 0.3, 0.2, 0.1)
CAT0_CURRENT = (0.25, 0.3, 0.25, 0.2)
SHIFTS: dict[str, str] = {
    "num_00": "mean +1.0 sd", "num_01": "mean +0.5 sd", "num_02": "mean +0.2 sd",
    "num_03": "sd x 1.5", "cat_0": "shares 40/30/20/10 -> 25/30/25/20 %"}


def _category_probs(j: int) -> tuple[list[str], np.ndarray]:
    if j == 0:
        return ["a", "b", "c", "d"], np.array(CAT0_REFERENCE)
    k = 4 + 2 * j  # 6, 8, 10, 12 categories
    weights = np.arange(k, 0, -1, dtype=np.float64)  # decreasing shares
    return [f"v{v:02d}" for v in range(k)], weights / weights.sum()


def _numeric(rng: np.random.Generator, i: int, n: int, shift: float, scale: float) -> Any:
    kind = i % 4 if f"num_{i:02d}" not in NUMERIC_SHIFTS else 0
    if kind == 0:
        return rng.normal(10.0 + i + 2.0 * shift, 2.0 * scale, n)  # sd 2
    if kind == 1:
        return rng.lognormal(1.0, 0.5, n)
    if kind == 2:
        return rng.uniform(-5.0, 5.0 + i, n)
    return rng.exponential(1.0 + i / 10, n)


def make_tables(ref_rows: int = REF_ROWS, cur_rows: int = CUR_ROWS,
                seed: int = SEED) -> tuple[pa.Table, pa.Table]:
    """(reference, current); the same seed gives the same tables."""
    rng = np.random.default_rng(seed)
    ref: dict[str, Any] = {}
    cur: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        shift, scale = NUMERIC_SHIFTS.get(name, (0.0, 1.0))
        ref[name] = _numeric(rng, i, ref_rows, 0.0, 1.0)
        cur[name] = _numeric(rng, i, cur_rows, shift, scale)
    for j, name in enumerate(CATEGORICAL):
        cats, p = _category_probs(j)
        q = np.array(CAT0_CURRENT) if j == 0 else p
        ref[name] = np.array(cats, dtype=object)[rng.choice(len(cats), ref_rows, p=p)]
        cur[name] = np.array(cats, dtype=object)[rng.choice(len(cats), cur_rows, p=q)]
    schema = pa.schema([*(pa.field(n, pa.float64()) for n in NUMERIC),
                        *(pa.field(n, pa.string()) for n in CATEGORICAL)])
    return pa.table(ref, schema=schema), pa.table(cur, schema=schema)


def mlmon_config() -> str:
    """The mlmon.yaml of the workload (model ``bench``, version 1, default thresholds)."""
    features = "\n".join(f"      {n}: numeric" for n in NUMERIC)
    features += "\n" + "\n".join(f"      {n}: categorical" for n in CATEGORICAL)
    return ("models:\n  - name: bench\n    version: \"1\"\n    profile: profile.json\n"
            "    prediction: {kind: regression}\n    features:\n" + features + "\n")


@dataclass(frozen=True)
class Workload:
    dir: Path
    reference: Path
    current: Path
    config: Path
    profile: Path
    spec: Path  # workload.json: feature names and shifts, read by the job scripts


def write(directory: Path, ref_rows: int = REF_ROWS, cur_rows: int = CUR_ROWS) -> Workload:
    ref, cur = make_tables(ref_rows, cur_rows)
    w = Workload(directory, directory / "reference.parquet", directory / "current.parquet",
                 directory / "mlmon.yaml", directory / "profile.json",
                 directory / "workload.json")
    pq.write_table(ref, w.reference)
    pq.write_table(cur, w.current)
    w.config.write_text(mlmon_config())
    w.spec.write_text(json.dumps({
        "reference": str(w.reference), "current": str(w.current),
        "numeric": list(NUMERIC), "categorical": list(CATEGORICAL), "shifts": SHIFTS}))
    return w
