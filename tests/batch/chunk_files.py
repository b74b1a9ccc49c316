"""Batch files with known drift per chunk, in CSV, Parquet and JSONL.

Five chunks of ``ROWS`` rows (the last ``TAIL``, below the default min_samples of 500):
chunk 0 no drift, 1 colour proportions reversed, 2 x shifted by 1, 3 y scaled by 2.5,
4 (the tail) no drift. The prediction is drawn independently of x, from the
reference's distribution, so it never drifts. Each chunk sits in its own hour of
2024-05-01 UTC (hours 0, 1, 3, 4, 5: hour 2 has no rows), one row every 5 s.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tests.factories import COLORS, write_csv

ROWS = 600
TAIL = 200
HOURS = (0, 1, 3, 4, 5)
DRIFTED: tuple[set[str], ...] = (set(), {"color"}, {"x"}, {"y"})  # the tail: no verdict
DAY = datetime(2024, 5, 1, tzinfo=UTC).timestamp()


def chunked_data(seed: int = 11) -> dict[str, list[object]]:
    rng = np.random.default_rng(seed)
    columns: dict[str, list[object]] = {"x": [], "y": [], "color": [], "prediction": [],
                                        "ts": []}
    for k, hour in enumerate(HOURS):
        n = TAIL if k == len(HOURS) - 1 else ROWS
        x = rng.normal(1.0 if k == 2 else 0.0, 1.0, n)
        y = rng.exponential(2.0, n) * (2.5 if k == 3 else 1.0)
        p = [0.2, 0.3, 0.5] if k == 1 else [0.5, 0.3, 0.2]
        columns["x"] += x.tolist()
        columns["y"] += y.tolist()
        columns["color"] += rng.choice(COLORS, n, p=p).tolist()
        columns["prediction"] += (1 / (1 + np.exp(-rng.normal(0.0, 1.0, n)))).tolist()
        columns["ts"] += [DAY + hour * 3600 + 5 * j for j in range(n)]
    return columns


def iso_times(seconds: list[object]) -> list[object]:
    return [datetime.fromtimestamp(float(str(s)), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for s in seconds]


def write(path: Path, data: dict[str, list[object]], fmt: str) -> Path:
    """CSV and JSONL with ISO 8601 times; Parquet with a timestamp[us, UTC] column."""
    if fmt == "parquet":
        table = {k: v for k, v in data.items() if k != "ts"}
        ts = pa.array([int(float(str(s)) * 1_000_000) for s in data["ts"]],
                      pa.timestamp("us", tz="UTC"))
        pq.write_table(pa.table({**{k: pa.array(v) for k, v in table.items()}, "ts": ts}),
                       path)
        return path
    text = {**data, "ts": iso_times(data["ts"])}
    if fmt == "csv":
        return write_csv(path, text)
    with path.open("w", encoding="utf-8") as fh:
        for row in zip(*text.values(), strict=True):
            fh.write(json.dumps(dict(zip(text, row, strict=True))) + "\n")
    return path
