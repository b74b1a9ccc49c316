"""One batch analysis end to end: profile + file (+ config) -> report."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

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


def run_batch(profile: Profile, model: ModelConfig | None, options: BatchOptions,
              thresholds: Thresholds, *, read: ChunkReader = read_chunks) -> BatchReport:
    """``read``: the reader of the input's chunks (the Spark engine passes its own, which
    yields the same chunks: ``exporter.spark.batch``)."""
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
    collector = Collector(profile, source, prediction_column, label_column)
    chunks = None
    if chunking is not None:
        kind = (column_kind(options.input, chunking.column) if chunking.column is not None
                else "categorical")
        chunks = ChunkAnalyzer(chunking, profile, thresholds, source, prediction_column, kind)
    perf = (PerfCollector(profile, model, prediction_column, label_column)
            if prediction_column is not None and label_column is not None else None)
    estimates = EstimateCollector.make(profile, model, prediction_column, thresholds.min_samples,
                                       labelled=perf is not None)
    if chunks is not None:
        chunks.estimates = estimates
    quality = DataQualityCollector(profile, model.quality if model else QualityConfig())
    if chunks is not None:
        chunks.data_quality = quality.fresh()
    mv = MultivariateCollector.make(  # PCA reconstruction error (exporter.batch.multivariate)
        profile, model.multivariate.sigmas if model else None,
        model.multivariate.enabled if model else True, thresholds.min_samples)
    if chunks is not None:
        chunks.multivariate = mv.fresh() if mv is not None else None
    segments = SegmentCollector.make(profile, model, prediction_column, label_column)
    error_stream = (ErrorStreamCollector.make(model, prediction_column, label_column)
                    if perf is not None else None)
    columns = {**(segments.columns() if segments is not None else {}), **collector.columns()}
    if chunks is not None:
        columns = {**chunks.columns(), **columns}  # a profiled time column keeps its kind
    try:
        for chunk in read(options.input, columns, chunk_rows=options.chunk_rows):
            collector.update(chunk)
            quality.update(chunk)
            if mv is not None:
                mv.update(chunk)
            if perf is not None:
                perf.update(chunk)
            if estimates is not None:
                estimates.update(chunk)
            if error_stream is not None:
                error_stream.update(chunk)
            if chunks is not None:
                chunks.update(chunk)
            if segments is not None:
                segments.update(chunk)
    except ReadError as exc:  # read_chunks reports format errors as ReadError too
        raise BatchInputError(str(exc)) from None
    results = chunks.finish() if chunks is not None else ()  # the last chunk's rows go
    collected = collector.snapshot()
    performance = perf.performance(source) if perf is not None else None
    report = replace(analyze(profile, collected, thresholds, performance),
                     data_quality=quality.result(),
                     multivariate=mv.result() if mv is not None else None)
    if perf is not None and performance is not None:
        report = replace(report, quality=perf.quality())
    if error_stream is not None and perf is not None and performance is not None:
        task = infer_task(profile, model, perf.facts())
        report = replace(report, error_drift=error_stream.result(task))
    if estimates is not None and not estimates.confirmed(
            infer_task(profile, model, perf.facts()) if perf is not None else None):
        estimates = None  # collected on speculation; the file is not binary scores
        results = tuple(replace(c, estimate=None) for c in results)
    if estimates is not None:
        report = replace(report, estimate=estimates.estimate())
    if segments is not None:  # per segment value (exporter.batch.segments)
        report = replace(report, segments=segments.result(thresholds, infer_task(
            profile, model, perf.facts()) if perf is not None and performance is not None
            else None))
    if chunking is None:
        return report
    return replace(report, chunking=chunking, chunks=results)
