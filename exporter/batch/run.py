"""One batch analysis end to end: profile + file (+ config) -> report."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from exporter.batch.analyze import analyze
from exporter.batch.chunked import ChunkAnalyzer
from exporter.batch.collect import Collector
from exporter.batch.dataquality import DataQualityCollector
from exporter.batch.errors import BatchInputError
from exporter.batch.errorstream import ErrorStreamCollector
from exporter.batch.estimate import EstimateCollector
from exporter.batch.multivariate import MultivariateCollector
from exporter.batch.perf import PerfCollector, infer_task
from exporter.batch.report import BatchReport, Chunking
from exporter.batch.segments import SegmentCollector
from exporter.batch.timestamps import column_kind
from exporter.config.model import ModelConfig, QualityConfig
from exporter.profile.model import Profile
from exporter.readers.chunks import (
    DEFAULT_CHUNK_ROWS,
    Chunk,
    ColumnKind,
    ReadError,
    available_columns,
    read_chunks,
)
from exporter.stats.thresholds import Thresholds


class ChunkReader(Protocol):
    def __call__(self, path: str | Path, columns: Mapping[str, ColumnKind], *,
                 chunk_rows: int = ...) -> Iterable[Chunk]: ...


@dataclass(frozen=True)
class BatchOptions:
    input: Path
    prediction_column: str
    label_column: str
    label_named: bool  # the user named the label column: say so when it is absent
    chunk_rows: int = DEFAULT_CHUNK_ROWS  # the reader's, not the analysis chunks
    chunking: Chunking | None = None  # analysis chunks, besides the whole file


class Collectors:
    """Every collector of one batch analysis: ``update`` per reader chunk (row order),
    ``merge`` the ``Collectors`` of the rows after (``fresh(partial=True)`` ones, one per
    Spark partition: ``exporter.spark.batch``), ``finish`` makes the report."""

    def __init__(self, profile: Profile, model: ModelConfig | None, options: BatchOptions,
                 thresholds: Thresholds, source: str, prediction_column: str | None,
                 label_column: str | None, chunks: ChunkAnalyzer | None) -> None:
        self.profile, self.model, self.options = profile, model, options
        self.thresholds, self.source = thresholds, source
        self.prediction_column, self.label_column = prediction_column, label_column
        self.collector = Collector(profile, source, prediction_column, label_column)
        self.chunks = chunks
        self.perf = (PerfCollector(profile, model, prediction_column, label_column)
                     if prediction_column is not None and label_column is not None else None)
        self.estimates = EstimateCollector.make(profile, model, prediction_column,
                                                thresholds.min_samples,
                                                labelled=self.perf is not None)
        self.quality = DataQualityCollector(profile, model.quality if model else QualityConfig())
        self.mv = MultivariateCollector.make(  # PCA reconstruction error
            profile, model.multivariate.sigmas if model else None,
            model.multivariate.enabled if model else True, thresholds.min_samples)
        if chunks is not None:
            chunks.estimates = self.estimates.fresh() if self.estimates is not None else None
            chunks.data_quality = self.quality.fresh()
            chunks.multivariate = self.mv.fresh() if self.mv is not None else None
        self.segments = SegmentCollector.make(profile, model, prediction_column, label_column)
        self.error_stream = (ErrorStreamCollector.make(model, prediction_column, label_column)
                             if self.perf is not None else None)

    def fresh(self, partial: bool) -> Collectors:
        """Empty collectors of the same analysis; ``partial``: a partition's (its chunk
        analyzer keeps its edge chunks open, its error stream records the errors)."""
        chunks = self.chunks.fresh(partial) if self.chunks is not None else None
        out = Collectors(self.profile, self.model, self.options, self.thresholds, self.source,
                         self.prediction_column, self.label_column, chunks)
        if out.error_stream is not None and partial:
            out.error_stream = out.error_stream.fresh(record=True)
        return out

    def columns(self) -> dict[str, ColumnKind]:
        columns = {**(self.segments.columns() if self.segments is not None else {}),
                   **self.collector.columns()}
        if self.chunks is not None:
            columns = {**self.chunks.columns(), **columns}  # a profiled time column keeps its kind
        return columns

    def _parts(self) -> list[Any]:  # in the order a chunk goes through them
        return [self.collector, self.quality, self.mv, self.perf, self.estimates,
                self.error_stream, self.chunks, self.segments]

    def update(self, chunk: Chunk) -> None:
        for acc in self._parts():
            if acc is not None:
                acc.update(chunk)

    def merge(self, other: Collectors) -> None:
        """Add the collectors of the rows after these (exact: ``tests/batch/test_merge*``)."""
        for mine, theirs in zip(self._parts(), other._parts(), strict=True):
            if mine is not None and theirs is not None:
                mine.merge(theirs)

    def finish(self) -> BatchReport:
        profile, model, thresholds = self.profile, self.model, self.thresholds
        perf, estimates, source = self.perf, self.estimates, self.source
        results = self.chunks.finish() if self.chunks is not None else ()
        collected = self.collector.snapshot()
        performance = perf.performance(source) if perf is not None else None
        report = replace(analyze(profile, collected, thresholds, performance),
                         data_quality=self.quality.result(),
                         multivariate=self.mv.result() if self.mv is not None else None)
        if perf is not None and performance is not None:
            report = replace(report, quality=perf.quality())
        if self.error_stream is not None and perf is not None and performance is not None:
            task = infer_task(profile, model, perf.facts())
            report = replace(report, error_drift=self.error_stream.result(task))
        if estimates is not None and not estimates.confirmed(
                infer_task(profile, model, perf.facts()) if perf is not None else None):
            estimates = None  # collected on speculation; the file is not binary scores
            results = tuple(replace(c, estimate=None) for c in results)
        if estimates is not None:
            report = replace(report, estimate=estimates.estimate())
        if self.segments is not None:  # per segment value (exporter.batch.segments)
            report = replace(report, segments=self.segments.result(thresholds, infer_task(
                profile, model, perf.facts()) if perf is not None and performance is not None
                else None))
        chunking = self.options.chunking
        if chunking is None:
            return report
        return replace(report, chunking=chunking, chunks=results)


def prepare(profile: Profile, model: ModelConfig | None, options: BatchOptions,
            thresholds: Thresholds) -> Collectors:
    """The input's checks (it exists, its columns), then the empty collectors."""
    source = str(options.input)
    if not options.input.is_file():
        raise BatchInputError(f"{source}: no such input file")
    try:
        available = set(available_columns(options.input))
    except ReadError as exc:
        raise BatchInputError(str(exc)) from None
    prediction_column: str | None = options.prediction_column
    if profile.prediction is None and options.prediction_column not in available:
        prediction_column = None  # nothing to check it against, and no performance
    label_column: str | None = options.label_column
    if options.label_column not in available:
        label_column = None
        if options.label_named:
            print(f"mlmon batch: {source} has no column {options.label_column!r}; "
                  "performance not computed", file=sys.stderr)
    chunking = options.chunking
    if chunking is not None and chunking.column is not None and chunking.column not in available:
        raise BatchInputError(f"{source}: no column {chunking.column!r} to chunk by "
                              f"(--chunk-by); the file has: {', '.join(sorted(available))}")
    chunks = None
    if chunking is not None:
        kind = (column_kind(options.input, chunking.column) if chunking.column is not None
                else "categorical")
        chunks = ChunkAnalyzer(chunking, profile, thresholds, source, prediction_column, kind)
    return Collectors(profile, model, options, thresholds, source, prediction_column,
                      label_column, chunks)


def run_batch(profile: Profile, model: ModelConfig | None, options: BatchOptions,
              thresholds: Thresholds, *, read: ChunkReader = read_chunks) -> BatchReport:
    """``read``: the reader of the input's chunks (any reader yielding the file's rows in
    order; the Spark engine merges per-partition ``Collectors`` instead:
    ``exporter.spark.batch``)."""
    collectors = prepare(profile, model, options, thresholds)
    try:
        for chunk in read(options.input, collectors.columns(), chunk_rows=options.chunk_rows):
            collectors.update(chunk)
    except ReadError as exc:  # read_chunks reports format errors as ReadError too
        raise BatchInputError(str(exc)) from None
    return collectors.finish()
