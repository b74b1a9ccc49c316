"""Chunk analysis: the batch cut into row ranges or time periods, each judged alone.

The analyzer sees the reader's chunks as they are read (the same stream the
whole-file ``Collector`` gets), cuts them where an analysis chunk ends, feeds the
rows of the current analysis chunk to a ``Collector`` of its own and, once the
chunk is complete, keeps only its result (``ChunkResult``) and drops the rows.
Memory is one analysis chunk plus the results, whatever the file's size.

``--chunk-size N``: rows [0, N), [N, 2N), … (the last may be shorter).
``--chunk-by COLUMN --chunk-period P``: periods [k·P, (k+1)·P) of the column's unix
time, aligned on the epoch (1d starts at midnight UTC). Rows must come in
non-decreasing time; a row earlier than the current period is an error naming it
(within the current period order does not matter). Periods without rows are not
reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from exporter.batch.analyze import judge
from exporter.batch.collect import Collector
from exporter.batch.dataquality import DataQualityCollector
from exporter.batch.errors import BatchInputError
from exporter.batch.estimate import EstimateCollector
from exporter.batch.multivariate import MultivariateCollector
from exporter.batch.report import Chunking, ChunkResult
from exporter.batch.timestamps import epoch_seconds, iso, period_keys
from exporter.profile.model import Profile
from exporter.readers.chunks import Chunk, ColumnKind, cut_rows
from exporter.stats.drift import drift_share, highest_severity
from exporter.stats.thresholds import Thresholds

IntArray = NDArray[np.int64]


def runs(chunk: Chunk, keys: IntArray) -> Iterator[tuple[int, Chunk]]:
    """(key, rows) for each run of equal keys in ``chunk`` (keys non-decreasing)."""
    bounds = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist(), chunk.rows]
    for a, b in pairwise(bounds):
        yield int(keys[a]), cut_rows(chunk, a, b) if (a, b) != (0, chunk.rows) else chunk


class ChunkAnalyzer:
    """``update`` with every reader chunk, in file order; ``finish`` at the end."""

    def __init__(self, chunking: Chunking, profile: Profile, thresholds: Thresholds,
                 source: str, prediction_column: str | None,
                 time_kind: ColumnKind = "categorical") -> None:
        if chunking.rows is None and (chunking.column is None or chunking.period is None):
            raise ValueError("chunking needs rows, or a column and a period")
        self._chunking = chunking
        self._profile = profile
        self._thresholds = thresholds
        self._source = source
        self._prediction_column = prediction_column
        self._time_kind = time_kind
        self._results: list[ChunkResult] = []
        self._key: int | None = None
        self._first_row = 0
        self._collector: Collector | None = None
        self.estimates: EstimateCollector | None = None  # set to estimate each chunk (CBPE)
        self._estimate: EstimateCollector | None = None
        self.data_quality: DataQualityCollector | None = None  # set to check each chunk
        self._quality: DataQualityCollector | None = None
        self.multivariate: MultivariateCollector | None = None  # set to compute per chunk
        self._mv: MultivariateCollector | None = None

    def columns(self) -> dict[str, ColumnKind]:
        """Columns the chunking reads: the time column (as text, or Parquet times as
        numbers: ``timestamps.column_kind``)."""
        column = self._chunking.column
        return {} if column is None else {column: self._time_kind}

    def _keys(self, chunk: Chunk) -> IntArray:
        c = self._chunking
        if c.rows is not None:
            return (chunk.start + np.arange(chunk.rows, dtype=np.int64)) // c.rows
        assert c.column is not None and c.period is not None
        seconds = epoch_seconds(chunk, c.column, self._source)
        keys = period_keys(seconds, c.period)
        previous = self._key if self._key is not None else int(keys[0])
        back = np.flatnonzero(np.diff(keys, prepend=previous) < 0)
        if len(back):
            i = int(back[0])
            start = (int(keys[i - 1]) if i else previous) * c.period
            raise BatchInputError(
                f"{self._source}: column {c.column!r}, row {chunk.start + i + 1}: time "
                f"{iso(float(seconds[i]))} is before the current period (from {iso(start)}); "
                "--chunk-by needs the rows sorted by time (non-decreasing)")
        return keys

    def update(self, chunk: Chunk) -> None:
        if chunk.rows == 0:
            return
        for key, rows in runs(chunk, self._keys(chunk)):
            if key != self._key:
                self._close()
                self._key = key
                self._first_row = rows.start
                self._collector = Collector(self._profile, self._source,
                                            self._prediction_column, None)
                self._estimate = self.estimates.fresh() if self.estimates is not None else None
                self._quality = (self.data_quality.fresh() if self.data_quality is not None
                                 else None)
                self._mv = self.multivariate.fresh() if self.multivariate is not None else None
            assert self._collector is not None
            self._collector.update(rows)
            if self._estimate is not None:
                self._estimate.update(rows)
            if self._quality is not None:
                self._quality.update(rows)
            if self._mv is not None:
                self._mv.update(rows)

    def _close(self) -> None:
        if self._collector is None or self._key is None:
            return
        collected = self._collector.snapshot()
        self._collector = None  # the rows go; only the result stays
        features = judge(self._profile, collected, self._thresholds)
        drifts = [f.drift for f in features]
        judged = any(d.severity is not None for d in drifts)
        c = self._chunking
        start: float
        end: float
        if c.rows is not None:
            start, end = self._first_row, self._first_row + collected.rows
        else:
            assert c.period is not None
            start, end = self._key * c.period, (self._key + 1) * c.period
        self._results.append(ChunkResult(
            index=len(self._results), start=start, end=end, first_row=self._first_row,
            rows=collected.rows, features=features,
            drift_share=drift_share(drifts) if judged else None,
            severity=highest_severity(drifts),
            estimate=self._estimate.estimate() if self._estimate is not None else None,
            data_quality=self._quality.result() if self._quality is not None else (),
            multivariate=self._mv.result() if self._mv is not None else None))
        self._estimate = None

    def finish(self) -> tuple[ChunkResult, ...]:
        self._close()
        self._key = None
        return tuple(self._results)
