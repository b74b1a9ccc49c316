"""Raw batches per input format: numpy arrays where the file is typed, lists otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np

InputFormat = Literal["csv", "parquet", "jsonl"]
FORMATS: dict[str, InputFormat] = {
    ".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
CSV_BLOCK_BYTES = 1 << 20
# Column values of one raw batch: a float64 array (typed numeric input), an object
# array of str/None (typed string input) or a list of Python values.
RawColumn = np.ndarray[Any, Any] | list[Any]
RawBatch = tuple[int, dict[str, RawColumn]]


class FormatError(ValueError):
    pass


def input_format(path: Path) -> InputFormat:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise FormatError(f"{path}: unknown input format {path.suffix!r} "
                          f"(allowed: {', '.join(sorted(FORMATS))})")
    return fmt


def _missing(path: Path, missing: list[str], available: list[str]) -> FormatError:
    return FormatError(f"{path}: column(s) {missing} not found (file has: "
                       f"{', '.join(available[:30])}{' …' if len(available) > 30 else ''})")


def _need_pyarrow(path: Path, fmt: InputFormat) -> None:
    """CSV and Parquet are read with pyarrow, an optional dependency (``mlmon[files]``):
    the sidecar image leaves it out."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise FormatError(f"{path}: reading {fmt.upper()} needs pyarrow: "
                          "pip install 'mlmon[files]'") from None


def raw_batches(path: Path, fmt: InputFormat, numeric: list[str], other: list[str],
                batch_rows: int, numbers_first: frozenset[str] = frozenset()) -> Iterator[RawBatch]:
    """``numbers_first``: text columns (predictions) handed over as float64 when every
    value of a batch parses as a number, sparing a Python object per row."""
    if fmt != "jsonl":
        _need_pyarrow(path, fmt)
    if fmt == "csv":
        return _csv(path, numeric, other, numbers_first)
    if fmt == "parquet":
        return _parquet(path, numeric, other, batch_rows)
    return _jsonl(path, numeric + other, batch_rows)


def csv_text_batches(name: Path, text: bytes, numeric: list[str], other: list[str],
                     numbers_first: frozenset[str] = frozenset()) -> Iterator[RawBatch]:
    """Raw batches of CSV text held in memory (a header line, then rows), read exactly as
    a CSV file is: the Spark engine's partitions of a CSV file."""
    _need_pyarrow(name, "csv")
    import pyarrow as pa

    return _csv(name, numeric, other, numbers_first, lambda: pa.BufferReader(text))


def _csv(path: Path, numeric: list[str], other: list[str],
         numbers_first: frozenset[str], source: Callable[[], Any] | None = None
         ) -> Iterator[RawBatch]:
    """``source``: opens the CSV bytes when they are not the file ``path``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    def src() -> Any:
        return path if source is None else source()

    header = pacsv.open_csv(src(), read_options=pacsv.ReadOptions(block_size=1 << 16))
    available = list(header.schema.names)
    missing = [c for c in numeric + other if c not in available]
    if missing:
        raise _missing(path, missing, available)
    types = {c: pa.float64() for c in numeric} | {c: pa.string() for c in other}
    done = 0
    try:
        reader = pacsv.open_csv(
            src(), read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            convert_options=pacsv.ConvertOptions(column_types=types,
                                                 include_columns=numeric + other,
                                                 strings_can_be_null=True))
    except pa.ArrowInvalid:
        yield from _csv_as_text(src(), numeric, other, done)  # locates the bad value
        return
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid:
            yield from _csv_as_text(src(), numeric, other, done)
            return
        done += batch.num_rows
        cols: dict[str, RawColumn] = {}
        for c in numeric:
            cols[c] = np.asarray(batch.column(c).to_numpy(zero_copy_only=False), np.float64)
        for c in other:
            arr = batch.column(c)
            if c in numbers_first:
                try:
                    cols[c] = np.asarray(pc.cast(arr, pa.float64()).to_numpy(
                        zero_copy_only=False), np.float64)
                    continue
                except pa.ArrowInvalid:
                    pass
            cols[c] = arr.to_numpy(zero_copy_only=False)
        yield batch.num_rows, cols


def _csv_as_text(path: Any, numeric: list[str], other: list[str],
                 skip: int) -> Iterator[RawBatch]:
    """Slow path after a conversion error: text columns from row ``skip`` on, so the
    converter can name the bad row."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    reader = pacsv.open_csv(
        path, read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in numeric + other},
            include_columns=numeric + other, strings_can_be_null=True))
    for batch in reader:
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        batch = batch.slice(skip)
        skip = 0
        yield batch.num_rows, {c: batch.column(c).to_pylist() for c in numeric + other}


def parquet_row_groups(path: Path) -> list[int]:
    """Rows per row group of a Parquet file (the Spark engine's partitions)."""
    _need_pyarrow(path, "parquet")
    import pyarrow.parquet as pq

    md = pq.ParquetFile(path).metadata
    return [md.row_group(i).num_rows for i in range(md.num_row_groups)]


def parquet_batches(path: Path, numeric: list[str], other: list[str], batch_rows: int,
                    row_groups: list[int]) -> Iterator[RawBatch]:
    """Raw batches of some row groups of a Parquet file, read as the whole file is."""
    _need_pyarrow(path, "parquet")
    return _parquet(path, numeric, other, batch_rows, row_groups)


def _parquet(path: Path, numeric: list[str], other: list[str],
             batch_rows: int, row_groups: list[int] | None = None) -> Iterator[RawBatch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    available = list(pf.schema_arrow.names)
    missing = [c for c in numeric + other if c not in available]
    if missing:
        raise _missing(path, missing, available)
    for batch in pf.iter_batches(batch_size=batch_rows, columns=numeric + other,
                                 row_groups=row_groups):
        cols: dict[str, RawColumn] = {}
        for c in numeric + other:
            arr = batch.column(c)
            t = arr.type
            if pa.types.is_dictionary(t):
                arr = arr.dictionary_decode()
                t = arr.type
            if c in numeric and (pa.types.is_integer(t) or pa.types.is_floating(t)
                                 or pa.types.is_boolean(t) or pa.types.is_decimal(t)):
                cols[c] = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
            elif c in numeric and (pa.types.is_timestamp(t) or pa.types.is_date(t)):
                cols[c] = _unix_seconds(arr)
            elif c not in numeric and (pa.types.is_string(t) or pa.types.is_large_string(t)):
                cols[c] = _strings(arr)
            else:
                cols[c] = arr.to_pylist()
        yield batch.num_rows, cols


def _strings(arr: Any) -> np.ndarray[Any, Any]:
    """A string column as an object array of str (None where null), making one Python
    str per distinct value instead of one per row (dictionary-encode, then index)."""
    enc = arr.dictionary_encode()
    index = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    values = np.empty(len(enc.dictionary) + 1, dtype=object)
    values[:-1] = enc.dictionary.to_pylist()  # the last slot stays None: index -1
    out: np.ndarray[Any, Any] = values[index]
    return out


def _unix_seconds(arr: Any) -> np.ndarray[Any, Any]:
    """A Parquet timestamp (any unit, any zone: stored as UTC) or date column as float
    unix seconds, NaN where null."""
    import pyarrow as pa

    if pa.types.is_date(arr.type):
        arr, per_second = arr.cast(pa.date64()), 1e3  # date64: milliseconds
    else:
        per_second = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[arr.type.unit]
    ticks = arr.cast(pa.int64()).cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    return np.asarray(ticks, dtype=np.float64) / per_second


def _jsonl(path: Path, columns: list[str], batch_rows: int) -> Iterator[RawBatch]:
    with path.open("rb") as fh:
        yield from jsonl_line_batches(path, fh, columns, batch_rows)


def jsonl_line_batches(path: Path, lines: Iterable[bytes | str], columns: list[str],
                       batch_rows: int, line_no: int = 0,
                       check_columns: bool = True) -> Iterator[RawBatch]:
    """Raw batches of JSONL lines (``line_no``: lines before the first, for messages;
    ``check_columns``: the first batch must have every column, as at a file's start)."""
    decoder = msgspec.json.Decoder()
    first = check_columns
    it = iter(lines)
    while True:
        records: list[dict[str, Any]] = []
        for raw in it:
            line_no += 1
            if not raw.strip():
                continue
            try:
                rec = decoder.decode(raw)
            except msgspec.DecodeError as exc:
                raise FormatError(f"{path}: line {line_no}: invalid JSON ({exc})") from None
            if not isinstance(rec, dict):
                raise FormatError(f"{path}: line {line_no}: expected a JSON object, got "
                                  f"{type(rec).__name__}")
            nested = rec.get("features")
            if isinstance(nested, dict):
                rec = {**nested, **rec}
            records.append(rec)
            if len(records) == batch_rows:
                break
        if not records:
            return
        if first:
            seen = set().union(*records)
            missing = [c for c in columns if c not in seen]
            if missing:
                raise _missing(path, missing, sorted(seen))
            first = False
        yield len(records), {c: [r.get(c) for r in records] for c in columns}


def columns_in(path: Path, fmt: InputFormat, probe_rows: int = 1000) -> list[str]:
    """Column names (JSONL: keys seen in the first ``probe_rows`` records)."""
    if fmt != "jsonl":
        _need_pyarrow(path, fmt)
    if fmt == "csv":
        import pyarrow.csv as pacsv

        return list(pacsv.open_csv(path, read_options=pacsv.ReadOptions(
            block_size=1 << 16)).schema.names)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    seen: dict[str, None] = {}
    decoder = msgspec.json.Decoder()
    with path.open("rb") as fh:
        for n, raw in enumerate(fh):
            if n >= probe_rows:
                break
            if raw.strip():
                try:
                    rec = decoder.decode(raw)
                except msgspec.DecodeError as exc:
                    raise FormatError(f"{path}: line {n + 1}: invalid JSON ({exc})") from None
                if isinstance(rec, dict):
                    nested = rec.get("features")
                    seen.update(dict.fromkeys(nested if isinstance(nested, dict) else ()))
                    seen.update(dict.fromkeys(rec))
    return list(seen)
