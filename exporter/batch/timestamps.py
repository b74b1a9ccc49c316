"""The ``--chunk-by`` column as unix seconds (UTC).

A value is a number of epoch seconds, or ISO 8601 text (``2024-05-01``,
``2024-05-01T12:30:00Z``, ``2024-05-01 12:30:00+02:00``); text without an offset is
UTC. Parquet timestamp and date columns (any unit, any zone) are read by Arrow
as unix seconds. A missing or unreadable value is an error naming the file, the column
and the row: a row without a time has no period to go in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from exporter.batch.errors import BatchInputError
from exporter.readers.chunks import Chunk, ColumnKind, input_format

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
ObjectArray = NDArray[np.object_]

# datetime's range, years 1 to 9999: epoch milliseconds (13 digits) fall outside it.
_FIRST = datetime(1, 1, 1, tzinfo=UTC).timestamp()
_LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()


def iso(seconds: float) -> str:
    """``2024-05-01T00:00:00Z``; fractions of a second only when there are some."""
    t = datetime.fromtimestamp(seconds, UTC)
    text = t.isoformat(timespec="microseconds" if t.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def parse_time(text: str) -> float | None:
    """Unix seconds of an epoch number or ISO 8601 text; None when it is neither."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp()


def column_kind(path: Path, column: str) -> ColumnKind:
    """How to ask the reader for the time column: a Parquet timestamp or date column as
    numbers (unix seconds, converted by Arrow), anything else as text."""
    if input_format(path) != "parquet":
        return "categorical"
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        t = pq.read_schema(path).field(column).type
    except (OSError, KeyError, pa.ArrowException):
        return "categorical"  # the reader then reports what is wrong
    return "numeric" if pa.types.is_timestamp(t) or pa.types.is_date(t) else "categorical"


def _raw(chunk: Chunk, column: str) -> tuple[FloatArray, ObjectArray]:
    """(numbers, texts) of the column, whichever way the reader was asked for it."""
    if column in chunk.numeric:
        numbers = chunk.numeric[column]
        return numbers, np.full(len(numbers), None, dtype=object)
    if column in chunk.categorical:
        return np.full(chunk.rows, np.nan), chunk.categorical[column]
    p = chunk.predictions[column]
    return p.numbers, p.classes


def _arrow_times(texts: ObjectArray) -> FloatArray | None:
    """Seconds of the texts parsed by Arrow when they all share one form (all numbers, all
    without an offset, or all with one); None otherwise (the caller goes value by value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(texts, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if arr.null_count:
        return None
    for target in (pa.float64(), pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        try:
            cast = pc.cast(arr, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if target == pa.float64():
            return np.asarray(cast.to_numpy(zero_copy_only=False), dtype=np.float64)
        micros = cast.cast(pa.int64()).to_numpy(zero_copy_only=False)
        return np.asarray(micros, dtype=np.float64) / 1e6
    return None


def _one_by_one(texts: ObjectArray, rows: IntArray, out: FloatArray, first_row: int,
                column: str, source: str) -> None:
    cache: dict[str, float | None] = {}
    for i in rows.tolist():
        text = texts[i]
        if text is None:
            raise BatchInputError(f"{source}: column {column!r}, row {first_row + i + 1}: "
                                  "no timestamp (--chunk-by needs a time on every row)")
        key = str(text)
        value = cache[key] if key in cache else cache.setdefault(key, parse_time(key))
        if value is None:
            raise BatchInputError(
                f"{source}: column {column!r}, row {first_row + i + 1}: {text!r} is not a "
                "timestamp (ISO 8601 like 2024-05-01T12:00:00Z, or epoch seconds)")
        out[i] = value


def epoch_seconds(chunk: Chunk, column: str, source: str) -> FloatArray:
    """Unix seconds per row of ``chunk``; BatchInputError on a missing or bad value."""
    numbers, texts = _raw(chunk, column)
    out = np.array(numbers, dtype=np.float64)
    todo = np.flatnonzero(np.isnan(out))
    if len(todo):
        fast = _arrow_times(texts[todo])
        if fast is not None:
            out[todo] = fast
        else:
            _one_by_one(texts, todo, out, chunk.start, column, source)
    bad = np.flatnonzero(~((out >= _FIRST) & (out <= _LAST)))
    if len(bad):
        i = int(bad[0])
        shown = texts[i] if texts[i] is not None else numbers[i]
        raise BatchInputError(
            f"{source}: column {column!r}, row {chunk.start + i + 1}: {shown!r} is out of "
            "range for epoch seconds (years 1-9999); epoch milliseconds? divide by 1000")
    return out


def period_keys(seconds: FloatArray, period: float) -> NDArray[np.int64]:
    """The period each time falls in: floor(t / period), periods aligned on the epoch."""
    return np.floor(seconds / period).astype(np.int64)
