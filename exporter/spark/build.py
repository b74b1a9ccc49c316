"""``mlmon profile build --engine spark``: the local builder's accumulators per partition.

Pass 1 runs ``exporter.profile.build.Pass1`` over each partition's chunks (global row
indexes, ``exporter.spark.source``); the partials are merged with ``treeReduce`` (their
merges are exact and commutative: integer counts, exact sums, bottom-k samples keyed
by the global row index, unions), so the driver receives a few merged partials, never
one per row: its memory is bounded by the accumulators' own bounds (``sample_size``
values per numeric feature, the calibration and category samples, counts). The driver
then fixes the bins and categories (``Pass2``), which every partition counts into in
pass 2, merged the same way. ``assemble`` makes the profile: the same bytes, and so the
same content hash, as ``build_profile`` on the same file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from exporter.config.model import ModelConfig
from exporter.profile.build import Pass1, Pass2, Plan, assemble
from exporter.profile.model import Profile, ProfileError
from exporter.readers.chunks import DEFAULT_CHUNK_ROWS, Chunk, ReadError, available_columns
from exporter.spark.source import Outcome, SparkSource

A = TypeVar("A", Pass1, Pass2)


def _fold(make: Callable[[], A]) -> Callable[[Iterator[Chunk]], A]:
    def fold(chunks: Iterator[Chunk]) -> A:
        acc = make()
        for chunk in chunks:
            acc.update(chunk)
        return acc
    return fold


def _combine(a: Outcome, b: Outcome) -> Outcome:
    """Merge two partials; a read error wins, the earliest partition's first."""
    errors = [o for o in (a, b) if o[1] is not None]
    if errors:
        return min(errors, key=lambda o: o[0])
    a[2].merge(b[2])
    return min(a[0], b[0]), None, a[2]


def merged(rdd: Any, depth: int = 2) -> Any:
    """The merged value of an RDD of ``Outcome``s; raises the first read error."""
    _, error, value = rdd.treeReduce(_combine, depth=depth)
    if error is not None:
        raise ReadError(error)
    return value


def build_profile_spark(config: ModelConfig, path: str | Path, spark: Any, *,
                        chunk_rows: int = DEFAULT_CHUNK_ROWS,
                        min_partitions: int | None = None) -> Profile:
    """``build_profile`` on Spark: the same profile (and content hash)."""
    path = Path(path)
    try:
        return _build(config, path, spark, chunk_rows, min_partitions)
    except ReadError as exc:
        msg = str(exc)
        raise ProfileError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None


def _build(config: ModelConfig, path: Path, spark: Any, chunk_rows: int,
           min_partitions: int | None) -> Profile:
    if not path.is_file():
        raise ReadError(f"{path}: no such file")
    plan = Plan.of(config, set(available_columns(path)))
    source = SparkSource(spark, path, min_partitions)
    source.check(plan.columns, chunk_rows)
    first: Pass1 = merged(source.map_chunks(plan.columns, chunk_rows,
                                            _fold(lambda: Pass1(plan))))
    if first.rows == 0:
        raise ProfileError(f"{path}: no data rows; a profile needs training data")
    second = Pass2(plan, first)
    columns = second.columns()
    if columns:
        empty = second.fresh()
        second = merged(source.map_chunks(columns, chunk_rows, _fold(empty.fresh)))
    return assemble(plan, first, second, str(path))
