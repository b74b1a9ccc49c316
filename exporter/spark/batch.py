"""``mlmon batch --engine spark``: the local batch analysis over chunks read through Spark.

The partitions parse their rows (``exporter.spark.source``); the chunks stream to the
driver in file order, one partition at a time (``toLocalIterator``), and are re-cut to
the local reader's chunk boundaries (``readers.chunks.rechunk``), so every collector of
``exporter.batch.run`` — drift, performance, data quality, the Page-Hinkley error
stream (sequential in row order), ``--chunk-size`` / ``--chunk-by`` — sees exactly the
chunks of a local run and the report equals the local one. Driver memory: one
partition's parsed columns plus the collectors' own bounds. The statistics themselves
run on the driver (parsing, usually the bulk of the work, runs on the executors).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from exporter.batch.report import BatchReport
from exporter.batch.run import BatchOptions, run_batch
from exporter.config.model import ModelConfig
from exporter.profile.model import Profile
from exporter.readers.chunks import DEFAULT_CHUNK_ROWS, Chunk, ColumnKind
from exporter.spark.source import SparkSource, iter_chunks
from exporter.stats.thresholds import Thresholds


def run_batch_spark(profile: Profile, model: ModelConfig | None, options: BatchOptions,
                    thresholds: Thresholds, spark: Any, *,
                    min_partitions: int | None = None) -> BatchReport:
    """``run_batch`` with the input read through Spark: the same report."""

    def read(path: str | Path, columns: Mapping[str, ColumnKind], *,
             chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterable[Chunk]:
        return iter_chunks(SparkSource(spark, Path(path), min_partitions), columns, chunk_rows)

    return run_batch(profile, model, options, thresholds, read=read)
