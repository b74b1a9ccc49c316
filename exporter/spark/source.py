"""A file read through Spark: each partition yields the same ``Chunk``s the local reader
(``exporter.readers.chunks``) makes of those rows, with their global row indexes.

* CSV and JSONL: Spark's ``textFile`` splits the file into line ranges (in file order).
  A first small job counts each partition's rows (and, for JSONL messages, lines); the
  prefix sums give each partition its first row's global index. A partition then
  parses its lines with the project's readers, ``chunk_rows`` rows at a time: CSV lines
  under the file's header line through the same pyarrow conversion as a CSV file
  (``formats.csv_text_batches``), JSONL lines through the same decoding and flattening.
  Empty CSV lines and blank JSONL lines are not rows, as locally. A CSV value holding a
  line break cannot be split by lines: a line with an odd number of ``"`` is refused
  (convert such a file to Parquet or JSONL, or use the local engine).
* Parquet: partitions are runs of consecutive row groups (their row counts come from
  the file's metadata), each read with pyarrow as the local reader reads the file.

The input path must be readable at the same path by the driver and every executor
(local mode, or a shared filesystem). Errors in a partition come back as ``ReadError``
with the local reader's message; the first partition's (in file order) wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from exporter.readers.chunks import (
    Chunk,
    ColumnKind,
    ReadError,
    chunks_of,
    read_chunks,
)
from exporter.readers.formats import (
    FormatError,
    csv_text_batches,
    input_format,
    jsonl_line_batches,
    parquet_batches,
    parquet_row_groups,
)

T = TypeVar("T")
# (partition index, error message or None, value): errors travel as values, not exceptions
Outcome = tuple[int, str | None, Any]


@dataclass(frozen=True)
class Part:
    start: int  # global index of the partition's first row
    lines: int  # lines before the partition (JSONL messages)
    row_groups: tuple[int, ...] = ()  # Parquet


def _quote_error(name: Path, row: int) -> ReadError:
    return ReadError(f"{name}: row {row}: a quoted CSV value spans lines; the Spark engine "
                     "reads CSV line by line (convert the file to Parquet or JSONL, or use "
                     "--engine local)")


Count = tuple[int, int, int, bool]  # partition, rows, lines, stopped at a split CSV value


def _count(fmt: str) -> Callable[[int, Iterable[str]], Iterator[Count]]:
    def count(index: int, lines: Iterable[str]) -> Iterator[Count]:
        rows = total = 0
        for line in lines:
            total += 1
            if fmt == "csv":
                if index == 0 and total == 1:
                    continue  # the header
                if line.count('"') % 2:
                    yield index, rows, total, True
                    return
                rows += bool(line)
            else:
                rows += bool(line.strip())
        yield index, rows, total, False
    return count


class SparkSource:
    """``path`` read through ``spark``: ``map_chunks`` runs a function per partition."""

    def __init__(self, spark: Any, path: Path, min_partitions: int | None = None) -> None:
        self.name = path
        self.sc = spark.sparkContext
        try:
            self.fmt = input_format(path)
        except FormatError as exc:
            raise ReadError(str(exc)) from None
        self._parts: list[Part] | None = None
        self._min = min_partitions
        self._lines: Any = None
        self._header = ""
        if self.fmt != "parquet":
            self._lines = self.sc.textFile(path.resolve().as_uri(),
                                           minPartitions=min_partitions or None)
            if self.fmt == "csv":
                self._header = self._lines.first() if not self._lines.isEmpty() else ""

    @property
    def partitions(self) -> int:
        return len(self.parts())

    def parts(self) -> list[Part]:
        if self._parts is None:
            self._parts = self._parquet_parts() if self.fmt == "parquet" else self._text_parts()
        return self._parts

    def _parquet_parts(self) -> list[Part]:
        sizes = parquet_row_groups(self.name)
        n = max(1, min(len(sizes), self._min or 2 * self.sc.defaultParallelism))
        parts, start, g = [], 0, 0
        for i in range(n):
            groups = tuple(range(g, len(sizes) * (i + 1) // n))
            g = len(sizes) * (i + 1) // n
            parts.append(Part(start, 0, groups))
            start += sum(sizes[j] for j in groups)
        return parts

    def _text_parts(self) -> list[Part]:
        counts = sorted(self._lines.mapPartitionsWithIndex(_count(self.fmt)).collect())
        parts, start, lines = [], 0, 0
        for _, rows, total, split in counts:
            if split:
                raise _quote_error(self.name, start + rows + 1)
            parts.append(Part(start, lines))
            start, lines = start + rows, lines + total
        return parts

    def check(self, columns: Mapping[str, ColumnKind], chunk_rows: int) -> None:
        """The local reader's checks of the file's start (its columns exist, ...): on the
        driver, reading the first chunk only."""
        next(iter(read_chunks(self.name, columns, chunk_rows=chunk_rows)), None)

    def map_chunks(self, columns: Mapping[str, ColumnKind], chunk_rows: int,
                   fold: Callable[[Iterator[Chunk]], T]) -> Any:
        """An RDD of one ``Outcome`` per partition: ``fold`` over its chunks, or the
        partition's read error."""
        parts, name, fmt, header = self.parts(), self.name, self.fmt, self._header
        cols = dict(columns)

        def run(index: int, it: Iterable[Any]) -> Iterator[Outcome]:
            try:
                chunks = _part_chunks(fmt, name, header, parts[index], index, it, cols,
                                      chunk_rows)
                yield index, None, fold(chunks)
            except ReadError as exc:
                yield index, str(exc), None

        if fmt == "parquet":
            rdd = self.sc.parallelize(range(len(parts)), len(parts))
        else:
            rdd = self._lines
        return rdd.mapPartitionsWithIndex(run)


def _part_chunks(fmt: str, name: Path, header: str, part: Part, index: int, it: Iterable[Any],
                 columns: dict[str, ColumnKind], chunk_rows: int) -> Iterator[Chunk]:
    numeric = [c for c, k in columns.items() if k == "numeric"]
    other = [c for c, k in columns.items() if k != "numeric"]
    predictions = frozenset(c for c, k in columns.items() if k == "prediction")
    if fmt == "parquet":
        yield from chunks_of(name, columns, lambda: parquet_batches(
            name, numeric, other, chunk_rows, list(part.row_groups)), start=part.start,
            chunk_rows=chunk_rows)
        return
    start, lines = part.start, part.lines
    group: list[str] = []
    skip_header = fmt == "csv" and index == 0
    group_lines = 0

    def convert(group: list[str], start: int, before: int) -> Iterator[Chunk]:
        if fmt == "csv":
            text = ("\n".join([header, *group]) + "\n").encode("utf-8")
            return chunks_of(name, columns, lambda: csv_text_batches(
                name, text, numeric, other, predictions), start=start, chunk_rows=chunk_rows)
        return chunks_of(name, columns, lambda: jsonl_line_batches(
            name, group, numeric + other, chunk_rows, line_no=before, check_columns=False),
            start=start, chunk_rows=chunk_rows)

    rows = 0  # in the group
    for line in it:
        if skip_header:
            skip_header = False
            lines += 1
            continue
        group_lines += 1
        if fmt == "csv":
            if line.count('"') % 2:
                raise _quote_error(name, start + rows + 1)
            if not line:
                continue  # not a row (pyarrow skips empty lines)
        group.append(line)  # JSONL: blank lines too, counted as lines, skipped as rows
        rows += bool(line.strip()) if fmt == "jsonl" else 1
        if rows == chunk_rows:
            yield from convert(group, start, lines)
            start, lines = start + rows, lines + group_lines
            group, group_lines, rows = [], 0, 0
    if group:
        yield from convert(group, start, lines)
