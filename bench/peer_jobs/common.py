"""What every job script shares: the workload spec, reading its files, the result line.

Job scripts run in their peer's own virtualenv, so this imports numpy and pyarrow only.
A job is run as ``python bench/peer_jobs/<job>.py WORKDIR/workload.json``; its last
stdout line is ``{"flagged": [feature, ...]}`` (``null`` for the floors).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

P_VALUE = 0.05  # the level every p-value peer flags at (Alibi Detect's default)


def spec() -> dict[str, Any]:
    """The workload.json named on the command line."""
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} WORKDIR/workload.json")
    out: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text())
    return out


def columns(path: str, names: list[str]) -> list[np.ndarray]:
    """The named columns of a Parquet file as numpy arrays (strings as objects)."""
    table = pq.read_table(path, columns=names)
    return [table.column(n).to_numpy() for n in names]


def encode(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes over the reference's sorted categories; unseen ones get one more."""
    cats, ref_codes = np.unique(reference, return_inverse=True)
    pos = np.clip(np.searchsorted(cats, current), 0, len(cats) - 1)
    cur_codes = np.where(cats[pos] == current, pos, len(cats))
    return ref_codes.astype(np.int64), cur_codes.astype(np.int64)


def done(flagged: list[str] | None, **extra: Any) -> None:
    print(json.dumps({"flagged": None if flagged is None else sorted(flagged), **extra}),
          flush=True)
