"""One batch analysis end to end: profile + file (+ config) -> report."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from exporter.batch.analyze import analyze
from exporter.batch.collect import Collector, collect
from exporter.batch.errors import BatchInputError
from exporter.batch.perf import evaluate, infer_task
from exporter.batch.report import BatchReport
from exporter.config import ModelConfig
from exporter.profile import Profile
from exporter.readers import DEFAULT_CHUNK_ROWS, ReadError, read_chunks
from exporter.readers_formats import FormatError
from exporter.stats.drift import DriftThresholds


@dataclass(frozen=True)
class BatchOptions:
    input: Path
    prediction_column: str
    label_column: str
    label_named: bool  # the user named the label column: say so when it is absent
    chunk_rows: int = DEFAULT_CHUNK_ROWS


def has_column(path: Path, name: str) -> bool:
    """Whether the file has this column (reads at most one row)."""
    try:
        next(iter(read_chunks(path, {name: "prediction"}, chunk_rows=1)), None)
    except (ReadError, FormatError):
        return False
    return True


def run_batch(profile: Profile, model: ModelConfig | None, options: BatchOptions,
              thresholds: DriftThresholds) -> BatchReport:
    source = str(options.input)
    if not options.input.is_file():
        raise BatchInputError(f"{source}: no such input file")
    prediction_column: str | None = options.prediction_column
    if profile.prediction is None and not has_column(options.input, options.prediction_column):
        prediction_column = None  # nothing to check it against, and no performance
    label_column: str | None = options.label_column
    if not has_column(options.input, options.label_column):
        label_column = None
        if options.label_named:
            print(f"mlmon batch: {source} has no column {options.label_column!r}; "
                  "performance not computed", file=sys.stderr)
    collector = Collector(profile, source, prediction_column, label_column)
    try:
        collected = collect(read_chunks(options.input, collector.columns(),
                                        chunk_rows=options.chunk_rows), collector)
    except (ReadError, FormatError) as exc:
        raise BatchInputError(str(exc)) from None
    performance = None
    if collected.labels is not None and collected.prediction is not None:
        task = infer_task(profile, model, collected.prediction, collected.labels)
        performance = evaluate(task, collected.prediction, collected.labels, source,
                               options.label_column)
    limits: tuple[tuple[str, float], ...] = ()
    if model is not None:
        t = model.thresholds
        limits = tuple((k, v) for k, v in (("accuracy_floor", t.accuracy_floor),
                                           ("mae_ceiling", t.mae_ceiling),
                                           ("rmse_ceiling", t.rmse_ceiling)) if v is not None)
    return analyze(profile, collected, thresholds, performance, limits=limits)
