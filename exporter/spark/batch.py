"""``mlmon batch --engine spark``: the partitions compute, the driver only merges.

What runs where:

* Executors: each partition parses its rows (``exporter.spark.source``, global row
  indexes) and runs FRESH collectors over them (``exporter.batch.run.Collectors``,
  ``fresh(partial=True)``): bin and category counts, exact moments, the row-keyed value
  sample (KS, Wasserstein, quantiles), confusion counts, exact log-loss / regression /
  Brier / ECE sums, CBPE fixed-point sums, data-quality counts, segment counts, PCA error
  sums, and per analysis chunk (``--chunk-size``, ``--chunk-by``) the same. The partition
  returns its collectors pickled (``Partial``): their size is bounded by the collectors'
  own bounds, not by the partition's rows, with one exception below. The profile, config
  and options the collectors refer to are not in it (``dumps``: pickled as references,
  resolved to the driver's own objects by ``loads``), only what the rows added.
* Driver: the partitions run in waves of ``defaultParallelism`` (every executor slot
  at once); the driver takes each wave's partials in partition (= row) order and merges
  each into the file's collectors (every ``merge`` is exact: the
  collectors of any split of the rows, merged in row order, equal one collector over all
  rows; ``tests/batch/test_merge*``). An analysis chunk that spans partitions is merged
  by its key, the time order is checked across partition boundaries. ``finish`` then
  judges exactly as the local run: the JSON equals the local engine's.
* The exception: the Page-Hinkley error stream is sequential in row order and cannot be
  merged from summaries. A partition returns its labelled rows' error values and row
  offsets (one float and one integer per labelled row and candidate task, at most
  three), which the driver feeds to the detector, partition by partition. Driver
  memory: the merged collectors plus one wave's partials, i.e. at most
  ``defaultParallelism`` partitions' labelled rows of errors (about 16 bytes per row
  and stream).

Errors: a read error or an input error (``BatchInputError``) of a partition travels as a
value; the driver merges what the partition collected before it (so a time going back
at a partition boundary is still reported first, as locally) and then raises it.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from exporter.batch.errors import BatchInputError
from exporter.batch.report import BatchReport
from exporter.batch.run import BatchOptions, Collectors, prepare
from exporter.config.model import ModelConfig
from exporter.profile.model import Profile
from exporter.readers.chunks import Chunk, ReadError
from exporter.spark.source import SparkSource
from exporter.stats.thresholds import Thresholds


@dataclass(frozen=True)
class Partial:
    """What a partition returns: its pickled collectors, and the input error (if any)
    that stopped it (the collectors then hold the rows before it)."""

    collectors: bytes
    error: str | None = None


def shared(c: Collectors) -> dict[str, object]:
    """The objects every partial refers to and the driver already has, by a path: the
    profile (and its sections and features), the config, the thresholds, the options."""
    out: dict[str, object] = {"profile": c.profile, "thresholds": c.thresholds,
                              "options": c.options}
    if c.model is not None:
        out["model"] = c.model
    for f in dataclasses.fields(c.profile):
        value = getattr(c.profile, f.name)
        if isinstance(value, tuple) and value:
            out[f"profile.{f.name}"] = value
            out.update({f"profile.{f.name}.{i}": v for i, v in enumerate(value)})
        elif dataclasses.is_dataclass(value):
            out[f"profile.{f.name}"] = value
    return out


def dumps(acc: Collectors) -> bytes:
    """``acc`` pickled, with the ``shared`` objects as references (persistent ids)."""
    ids = {id(v): k for k, v in shared(acc).items()}
    buf = io.BytesIO()

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj: object) -> str | None:
            return ids.get(id(obj))

    Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(acc)
    return buf.getvalue()


def loads(blob: bytes, into: Collectors) -> Collectors:
    """A partial pickled by ``dumps``, its references resolved to ``into``'s objects."""
    objects = shared(into)

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> object:
            return objects[str(pid)]

    out = Unpickler(io.BytesIO(blob)).load()
    assert isinstance(out, Collectors)
    return out


def _fold(empty: Collectors) -> Callable[[Iterator[Chunk]], Partial]:
    def fold(chunks: Iterator[Chunk]) -> Partial:
        acc = empty.fresh(partial=True)
        error = None
        try:
            for chunk in chunks:
                acc.update(chunk)
        except BatchInputError as exc:
            error = str(exc)
        return Partial(dumps(acc), error)
    return fold


def _in_waves(sc: Any, rdd: Any) -> Iterator[tuple[int, str | None, Partial | None]]:
    """The partitions' results in partition order, computed ``defaultParallelism``
    partitions at a time: every executor task slot works at once (``toLocalIterator``
    would run one partition per job), and the driver holds one wave's partials."""
    n = rdd.getNumPartitions()
    wave = max(1, int(sc.defaultParallelism))
    for start in range(0, n, wave):
        yield from sc.runJob(rdd, list, range(start, min(start + wave, n)))


def run_batch_spark(profile: Profile, model: ModelConfig | None, options: BatchOptions,
                    thresholds: Thresholds, spark: Any, *, min_partitions: int | None = None,
                    on_partial: Callable[[int, int], None] | None = None) -> BatchReport:
    """``run_batch`` computed by the partitions: the same report.

    ``on_partial(partition, bytes)`` is told the size of each partition's pickled partial.
    """
    collectors = prepare(profile, model, options, thresholds)
    try:
        source = SparkSource(spark, options.input, min_partitions)
        columns = collectors.columns()
        source.check(columns, options.chunk_rows)
        empty = collectors.fresh(partial=True)
        rdd = source.map_chunks(columns, options.chunk_rows, _fold(empty))
        for index, read_error, partial in _in_waves(source.sc, rdd):
            if read_error is not None:
                raise ReadError(read_error)
            assert isinstance(partial, Partial)
            if on_partial is not None:
                on_partial(index, len(partial.collectors))
            collectors.merge(loads(partial.collectors, collectors))
            if partial.error is not None:
                raise BatchInputError(partial.error)
    except ReadError as exc:
        raise BatchInputError(str(exc)) from None
    return collectors.finish()
