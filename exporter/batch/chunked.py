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

Partitions (the Spark engine): an analyzer made with ``partial=True`` keeps its first and
its current analysis chunk open (their collectors, not a result), since either may
continue in the neighbouring partition; the chunks between are judged as usual.
``merge(other)`` appends the analyzer of the next rows: a chunk spanning both is one
collector again (every collector merges exactly), the time order is checked across the
boundary, and ``finish`` gives the results of one analyzer over all the rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
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
FloatArray = NDArray[np.float64]


def runs(chunk: Chunk, keys: IntArray) -> Iterator[tuple[int, Chunk]]:
    """(key, rows) for each run of equal keys in ``chunk`` (keys non-decreasing)."""
    bounds = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist(), chunk.rows]
    for a, b in pairwise(bounds):
        yield int(keys[a]), cut_rows(chunk, a, b) if (a, b) != (0, chunk.rows) else chunk


@dataclass
class _Open:
    """An analysis chunk still being collected."""

    key: int
    first_row: int
    first_seconds: float  # --chunk-by: the time of its first row (NaN for --chunk-size)
    collector: Collector
    estimate: EstimateCollector | None
    quality: DataQualityCollector | None
    mv: MultivariateCollector | None

    def update(self, rows: Chunk) -> None:
        self.collector.update(rows)
        for acc in (self.estimate, self.quality, self.mv):
            if acc is not None:
                acc.update(rows)

    def merge(self, other: _Open) -> None:
        self.collector.merge(other.collector)
        if self.estimate is not None and other.estimate is not None:
            self.estimate.merge(other.estimate)
        if self.quality is not None and other.quality is not None:
            self.quality.merge(other.quality)
        if self.mv is not None and other.mv is not None:
            self.mv.merge(other.mv)


Piece = _Open | ChunkResult


class ChunkAnalyzer:
    """``update`` with every reader chunk, in file order; ``finish`` at the end."""

    def __init__(self, chunking: Chunking, profile: Profile, thresholds: Thresholds,
                 source: str, prediction_column: str | None,
                 time_kind: ColumnKind = "categorical", partial: bool = False) -> None:
        if chunking.rows is None and (chunking.column is None or chunking.period is None):
            raise ValueError("chunking needs rows, or a column and a period")
        self._chunking = chunking
        self._profile = profile
        self._thresholds = thresholds
        self._source = source
        self._prediction_column = prediction_column
        self._time_kind = time_kind
        self._partial = partial
        self._head: _Open | None = None  # partial: the first chunk, kept open
        self._results: list[ChunkResult] = []
        self._open: _Open | None = None
        self._seconds: FloatArray | None = None  # the current reader chunk's times
        self.estimates: EstimateCollector | None = None  # set to estimate each chunk (CBPE)
        self.data_quality: DataQualityCollector | None = None  # set to check each chunk
        self.multivariate: MultivariateCollector | None = None  # set to compute per chunk

    def fresh(self, partial: bool) -> ChunkAnalyzer:
        """An empty analyzer of the same kind (per partition: ``partial``)."""
        out = ChunkAnalyzer(self._chunking, self._profile, self._thresholds, self._source,
                            self._prediction_column, self._time_kind, partial)
        out.estimates = self.estimates.fresh() if self.estimates is not None else None
        out.data_quality = self.data_quality.fresh() if self.data_quality is not None else None
        out.multivariate = self.multivariate.fresh() if self.multivariate is not None else None
        return out

    def columns(self) -> dict[str, ColumnKind]:
        """Columns the chunking reads: the time column (as text, or Parquet times as
        numbers: ``timestamps.column_kind``)."""
        column = self._chunking.column
        return {} if column is None else {column: self._time_kind}

    def _back(self, row: int, seconds: float, previous: int) -> BatchInputError:
        c = self._chunking
        assert c.column is not None and c.period is not None
        return BatchInputError(
            f"{self._source}: column {c.column!r}, row {row + 1}: time "
            f"{iso(seconds)} is before the current period (from {iso(previous * c.period)}); "
            "--chunk-by needs the rows sorted by time (non-decreasing)")

    def _keys(self, chunk: Chunk) -> IntArray:
        c = self._chunking
        self._seconds = None
        if c.rows is not None:
            return (chunk.start + np.arange(chunk.rows, dtype=np.int64)) // c.rows
        assert c.column is not None and c.period is not None
        seconds = epoch_seconds(chunk, c.column, self._source)
        keys = period_keys(seconds, c.period)
        previous = self._open.key if self._open is not None else int(keys[0])
        back = np.flatnonzero(np.diff(keys, prepend=previous) < 0)
        if len(back):
            i = int(back[0])
            raise self._back(chunk.start + i, float(seconds[i]),
                             int(keys[i - 1]) if i else previous)
        self._seconds = seconds
        return keys

    def update(self, chunk: Chunk) -> None:
        if chunk.rows == 0:
            return
        for key, rows in runs(chunk, self._keys(chunk)):
            if self._open is None or key != self._open.key:
                seconds = (math.nan if self._seconds is None
                           else float(self._seconds[rows.start - chunk.start]))
                self._start(_Open(
                    key, rows.start, seconds,
                    Collector(self._profile, self._source, self._prediction_column, None),
                    self.estimates.fresh() if self.estimates is not None else None,
                    self.data_quality.fresh() if self.data_quality is not None else None,
                    self.multivariate.fresh() if self.multivariate is not None else None))
            assert self._open is not None
            self._open.update(rows)

    def _start(self, new: _Open) -> None:
        if self._open is not None:
            if self._partial and self._head is None and not self._results:
                self._head = self._open  # may continue in the previous partition
            else:
                self._results.append(self._close(self._open))
        self._open = new

    def _pieces(self) -> list[Piece]:
        head: list[Piece] = [self._head] if self._head is not None else []
        tail: list[Piece] = [self._open] if self._open is not None else []
        return [*head, *self._results, *tail]

    def merge(self, other: ChunkAnalyzer) -> None:
        """Append ``other``, the (partial) analyzer of the rows after this one's."""
        mine, theirs = self._pieces(), other._pieces()
        if mine and theirs:
            last, first = mine[-1], theirs[0]
            assert isinstance(last, _Open) and isinstance(first, _Open)
            if first.key < last.key:  # --chunk-by: time went back at the boundary
                raise self._back(first.first_row, first.first_seconds, last.key)
            if first.key == last.key:
                last.merge(first)
                theirs = theirs[1:]
        pieces = [*mine, *theirs]
        self._head = self._open = None
        self._results = []
        if not pieces:
            return
        if len(pieces) > 1:
            assert isinstance(pieces[0], _Open)
            self._head = pieces[0]
        self._results = [p if isinstance(p, ChunkResult) else self._close(p)
                         for p in pieces[1:-1]]
        assert isinstance(pieces[-1], _Open)
        self._open = pieces[-1]

    def _close(self, piece: _Open) -> ChunkResult:
        collected = piece.collector.snapshot()
        features = judge(self._profile, collected, self._thresholds)
        drifts = [f.drift for f in features]
        judged = any(d.severity is not None for d in drifts)
        c = self._chunking
        start: float
        end: float
        if c.rows is not None:
            start, end = piece.first_row, piece.first_row + collected.rows
        else:
            assert c.period is not None
            start, end = piece.key * c.period, (piece.key + 1) * c.period
        return ChunkResult(
            index=0, start=start, end=end, first_row=piece.first_row,
            rows=collected.rows, features=features,
            drift_share=drift_share(drifts) if judged else None,
            severity=highest_severity(drifts),
            estimate=piece.estimate.estimate() if piece.estimate is not None else None,
            data_quality=piece.quality.result() if piece.quality is not None else (),
            multivariate=piece.mv.result() if piece.mv is not None else None)

    def finish(self) -> tuple[ChunkResult, ...]:
        pieces = self._pieces()
        self._head = self._open = None
        self._results = []
        return tuple(replace(p if isinstance(p, ChunkResult) else self._close(p), index=i)
                     for i, p in enumerate(pieces))
