"""Stream selected columns of a CSV, Parquet or JSONL file in fixed-size chunks.

API (used by the profile builder and by batch analysis)::

    columns = {"amount": "numeric", "country": "categorical", "prediction": "prediction"}
    for chunk in read_chunks("train.csv", columns, chunk_rows=16_384):
        chunk.start                    # 0-based index of the chunk's first row in the file
        chunk.rows                     # rows in this chunk
        chunk.numeric["amount"]        # float64 array, NaN where missing or non-finite
        chunk.categorical["country"]   # object array of str, None where missing
        p = chunk.predictions["prediction"]
        p.numbers                      # float64: the value where it is a number, else NaN
        p.classes                      # object: str where it is a class name, the argmax class
                                       #   where it is an object of probabilities, else None
        p.probabilities                # None, or per row a dict class -> probability (or None)

Every chunk except the last has exactly ``chunk_rows`` rows whatever the format,
so anything computed chunk by chunk is identical for the same data in CSV,
Parquet or JSONL. Memory holds about one chunk (plus one CSV block).

Numeric columns accept numbers (and, in CSV/JSONL, numeric text; in Parquet,
timestamp and date columns as unix seconds); anything else
raises ReadError naming the file, the column and the row (1-based data row:
the CSV header and blank JSONL lines are not rows). Categorical values that
are numbers become their string form (1 -> "1", 2.5 -> "2.5", true -> "true").
Empty strings and CSV cells spelled as one of Arrow's nulls (NA, null, NaN,
...) are missing. The prediction column may hold numbers (numeric text
included, so a CSV column of 0/1 reads as numbers), class names or (JSONL)
an object mapping class -> probability. In JSONL a record may nest its inputs
under ``"features"`` (the tap protocol's shape); top-level keys win. Label and
id columns are read as "numeric" or "categorical" as the caller needs.

``available_columns(path)`` lists a file's columns (JSONL: keys of the first
records), e.g. to make the prediction or label column optional. Errors are
``ReadError`` (a ValueError) with the file name first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from exporter.readers.formats import (
    FORMATS,
    FormatError,
    InputFormat,
    RawBatch,
    RawColumn,
    columns_in,
    input_format,
    raw_batches,
)

FloatArray = NDArray[np.float64]
ObjectArray = NDArray[np.object_]
ColumnKind = Literal["numeric", "categorical", "prediction"]
DEFAULT_CHUNK_ROWS = 16_384

__all__ = ["DEFAULT_CHUNK_ROWS", "FORMATS", "Chunk", "ColumnKind", "InputFormat", "Predictions",
           "ReadError", "available_columns", "chunks_of", "class_name", "cut_rows",
           "input_format", "read_chunks", "rechunk"]


class ReadError(ValueError):
    """An unreadable input file: names the file, and the column and row when relevant."""


@dataclass(frozen=True)
class Predictions:
    numbers: FloatArray
    classes: ObjectArray
    probabilities: tuple[dict[str, float] | None, ...] | None


@dataclass(frozen=True)
class Chunk:
    start: int
    rows: int
    numeric: dict[str, FloatArray]
    categorical: dict[str, ObjectArray]
    predictions: dict[str, Predictions]


def category_str(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, float) and math.isnan(v):
        return None
    return str(v)


def class_name(number: float) -> str:
    """The class name of a numeric class value: 1.0 and 1 are both "1", 2.5 is "2.5"."""
    x = float(number)
    return str(int(x)) if x.is_integer() else repr(x)


def _where(start: int, i: int) -> str:
    return f"row {start + i + 1}"


def _numbers(file: Path, col: str, values: RawColumn, start: int) -> FloatArray:
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        arr = values.copy()
    else:
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (ValueError, TypeError):
            for i, v in enumerate(values):
                try:
                    if isinstance(v, dict | list):
                        raise TypeError
                    float(v if v is not None else "nan")
                except (ValueError, TypeError):
                    raise ReadError(f"{file}: column {col!r}, {_where(start, i)}: {v!r} is not "
                                    "a number (numeric columns take numbers or empty/null)"
                                    ) from None
            raise
    arr[~np.isfinite(arr)] = np.nan
    return arr


def _probabilities(v: dict[str, Any]) -> dict[str, float] | None:
    out: dict[str, float] = {}
    for k, p in v.items():
        if isinstance(p, bool) or not isinstance(p, int | float):
            return None
        out[str(k)] = float(p)
    return out


def _predictions(file: Path, col: str, values: RawColumn, start: int) -> Predictions:
    n = len(values)
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        return Predictions(_numbers(file, col, values, start), np.full(n, None, dtype=object),
                           None)
    numbers = np.full(n, np.nan)
    classes = np.full(n, None, dtype=object)
    probs: list[dict[str, float] | None] | None = None
    for i, v in enumerate(values):
        if v is None or v == "":
            continue
        if isinstance(v, dict):
            p = _probabilities(v)
            if not p:
                raise ReadError(f"{file}: column {col!r}, {_where(start, i)}: a prediction "
                                "object must map class names to numeric probabilities")
            if probs is None:
                probs = [None] * n
            probs[i] = p
            classes[i] = min(p, key=lambda k: (-p[k], k))  # argmax, ties by name
        elif isinstance(v, bool | np.bool_):
            classes[i] = category_str(v)
        elif isinstance(v, int | float | np.integer | np.floating):
            numbers[i] = float(v)
        else:
            s = str(v)
            try:
                numbers[i] = float(s)
            except ValueError:
                classes[i] = s
    numbers[~np.isfinite(numbers)] = np.nan
    return Predictions(numbers, classes, None if probs is None else tuple(probs))


def _categories(values: RawColumn) -> ObjectArray:
    if isinstance(values, np.ndarray) and values.dtype == object:
        values[values == ""] = None
        return values
    arr = np.empty(len(values), dtype=object)
    arr[:] = [category_str(v) for v in values]
    return arr


def _convert(file: Path, columns: Mapping[str, ColumnKind], data: dict[str, RawColumn],
             start: int, rows: int) -> Chunk:
    numeric: dict[str, FloatArray] = {}
    categorical: dict[str, ObjectArray] = {}
    predictions: dict[str, Predictions] = {}
    for col, kind in columns.items():
        if kind == "numeric":
            numeric[col] = _numbers(file, col, data[col], start)
        elif kind == "categorical":
            categorical[col] = _categories(data[col])
        else:
            predictions[col] = _predictions(file, col, data[col], start)
    return Chunk(start, rows, numeric, categorical, predictions)


def cut_rows(c: Chunk, a: int, b: int) -> Chunk:
    """Rows ``a`` to ``b`` (exclusive) of a chunk, as a chunk (array views, no copy)."""
    return Chunk(
        c.start + a, b - a,
        {k: v[a:b] for k, v in c.numeric.items()},
        {k: v[a:b] for k, v in c.categorical.items()},
        {k: Predictions(p.numbers[a:b], p.classes[a:b],
                        None if p.probabilities is None else p.probabilities[a:b])
         for k, p in c.predictions.items()},
    )


def _join(parts: list[Chunk]) -> Chunk:
    if len(parts) == 1:
        return parts[0]
    first = parts[0]

    def probs(k: str) -> tuple[dict[str, float] | None, ...] | None:
        if all(p.predictions[k].probabilities is None for p in parts):
            return None
        out: list[dict[str, float] | None] = []
        for p in parts:
            pr = p.predictions[k].probabilities
            out.extend(pr if pr is not None else [None] * p.rows)
        return tuple(out)

    return Chunk(
        first.start, sum(p.rows for p in parts),
        {k: np.concatenate([p.numeric[k] for p in parts]) for k in first.numeric},
        {k: np.concatenate([p.categorical[k] for p in parts]) for k in first.categorical},
        {k: Predictions(np.concatenate([p.predictions[k].numbers for p in parts]),
                        np.concatenate([p.predictions[k].classes for p in parts]), probs(k))
         for k in first.predictions},
    )


def read_chunks(path: str | Path, columns: Mapping[str, ColumnKind], *,
                chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[Chunk]:
    """Chunks of exactly ``chunk_rows`` rows (the last may be shorter); see module doc."""
    file = Path(path)
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    if not columns:
        raise ValueError("no columns selected")
    numeric = [c for c, k in columns.items() if k == "numeric"]
    other = [c for c, k in columns.items() if k != "numeric"]
    predictions = frozenset(c for c, k in columns.items() if k == "prediction")

    def raw() -> Iterator[RawBatch]:
        fmt = input_format(file)
        return raw_batches(file, fmt, numeric, other, chunk_rows, predictions)

    return chunks_of(file, columns, raw, start=0, chunk_rows=chunk_rows)


def chunks_of(file: Path, columns: Mapping[str, ColumnKind],
              raw: Callable[[], Iterator[RawBatch]], *, start: int,
              chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[Chunk]:
    """Chunks of ``chunk_rows`` rows converted from raw batches (``exporter.readers.formats``)
    whose first row is row ``start`` of ``file``: ``read_chunks`` for a whole file, the
    Spark engine for a partition's rows (its global start, so row numbers and row hashes
    are the file's)."""
    pending: list[Chunk] = []
    have = 0
    try:
        for rows, data in raw():
            if rows == 0:
                continue
            for a in range(0, rows, chunk_rows):
                # Convert a chunk-sized slice at a time (slices of raw columns are views
                # or small lists), so memory follows chunk_rows, not the format's batches.
                b = min(rows, a + chunk_rows)
                piece = {c: v[a:b] for c, v in data.items()} if rows > chunk_rows else data
                pending.append(_convert(file, columns, piece, start + have, b - a))
                have += b - a
                while have >= chunk_rows:
                    joined = _join(pending)
                    yield cut_rows(joined, 0, chunk_rows)
                    pending = ([cut_rows(joined, chunk_rows, joined.rows)]
                               if have > chunk_rows else [])
                    have -= chunk_rows
                    start += chunk_rows
        if have:
            yield _join(pending)
    except ReadError:
        raise
    except FormatError as exc:
        raise ReadError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise ReadError(f"{file}: cannot read input: {exc}") from None


def rechunk(chunks: Iterable[Chunk], chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[Chunk]:
    """Consecutive chunks (rows in order, any sizes) as chunks of exactly ``chunk_rows``
    rows, the last possibly shorter: what ``read_chunks`` yields for the same rows."""
    pending: list[Chunk] = []
    have = 0
    for chunk in chunks:
        if not chunk.rows:
            continue
        pending.append(chunk)
        have += chunk.rows
        while have >= chunk_rows:
            joined = _join(pending)
            yield cut_rows(joined, 0, chunk_rows)
            pending = [cut_rows(joined, chunk_rows, joined.rows)] if have > chunk_rows else []
            have -= chunk_rows
    if have:
        yield _join(pending)


def available_columns(path: str | Path) -> list[str]:
    """The file's column names (JSONL: the keys of its first records)."""
    file = Path(path)
    try:
        return columns_in(file, input_format(file))
    except FormatError as exc:
        raise ReadError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise ReadError(f"{file}: cannot read input: {exc}") from None
