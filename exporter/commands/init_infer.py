"""`mlmon init`'s inference: what each column of a training file is, from its name, its values'
type and its cardinality.

Rules, in order (docs/configuration.md#mlmon-init has the same list):

1. Roles by name (case-insensitive; the first name of each list present wins):
   prediction ``PREDICTION_NAMES``, label ``LABEL_NAMES``, id ``ID_NAMES``; a timestamp is a
   column of dates/times, or named in ``TIMESTAMP_NAMES`` or ending in ``TIMESTAMP_SUFFIXES``.
   Timestamps are not features (the tap's ``ts`` is the event time).
2. Skipped: columns with no value, with lists/objects, names the config rejects (``__x``,
   quotes, backslashes), and identifier-like columns (named ``*_id``, or text with every value
   distinct): an identifier drifts by construction.
3. Features: true/false and text columns are categorical; whole numbers with at most
   ``LOW_CARDINALITY`` distinct values (codes, flags, small counts) are categorical; other
   numbers are numeric.
4. The prediction kind: classification when the label (else the prediction) holds text,
   true/false, or at most ``MAX_CLASSES`` distinct whole numbers (classes: those values);
   otherwise regression.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

MAX_ROWS = 100_000  # rows read to infer the columns
LOW_CARDINALITY = 10
MAX_CLASSES = 20
PREDICTION_NAMES = ("prediction", "predictions", "pred", "predicted", "y_pred", "yhat", "y_hat",
                    "score", "prediction_score", "output")
LABEL_NAMES = ("label", "labels", "target", "y", "y_true", "ground_truth", "truth", "actual",
               "outcome")
ID_NAMES = ("id", "request_id", "prediction_id", "event_id", "row_id", "record_id", "uuid")
TIMESTAMP_NAMES = ("ts", "timestamp", "time", "datetime", "date", "event_time",
                   "event_timestamp", "created_at")
TIMESTAMP_SUFFIXES = ("_at", "_time", "_ts", "_timestamp", "_date")

ValueType = Literal["boolean", "integer", "float", "text", "timestamp", "mixed", "empty",
                    "nested"]
Role = Literal["feature", "prediction", "label", "id", "timestamp", "skipped"]


class InferError(ValueError):
    """The file cannot be read, or holds nothing to monitor."""


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: ValueType
    rows: int
    missing: int
    distinct: int  # distinct non-missing values (0 when unhashable)
    values: tuple[Any, ...]  # the distinct values, sorted, when at most MAX_CLASSES of them


@dataclass(frozen=True)
class Decision:
    column: str
    role: Role
    kind: str | None  # numeric / categorical for a feature
    why: str
    change: str  # how to decide otherwise in mlmon.yaml


@dataclass(frozen=True)
class Inference:
    rows: int
    decisions: tuple[Decision, ...]
    kind: Literal["classification", "regression"]
    classes: tuple[str, ...]
    kind_why: str
    prediction_column: str | None
    label_column: str | None
    id_column: str | None
    timestamp_column: str | None

    @property
    def features(self) -> list[Decision]:
        return [d for d in self.decisions if d.role == "feature"]


def _kind_of(value: Any) -> ValueType:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):  # 1.0, 2.0: whole numbers written as floats
        return "integer" if value.is_integer() else "float"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return "timestamp"
    return "nested"


def describe(name: str, values: Sequence[Any]) -> ColumnInfo:
    """The type and cardinality of one column's values (None and NaN are missing)."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    kinds = {_kind_of(v) for v in present}
    if not kinds:
        vtype: ValueType = "empty"
    elif len(kinds) == 1:
        vtype = kinds.pop()
    elif kinds == {"integer", "float"}:
        vtype = "float"
    elif "nested" in kinds:
        vtype = "nested"
    else:
        vtype = "mixed"
    distinct: set[Any] = set() if vtype == "nested" else set(present)
    few: tuple[Any, ...] = ()
    if len(distinct) <= MAX_CLASSES:
        few = tuple(sorted(distinct, key=lambda v: (str(type(v)), v)))
    return ColumnInfo(name, vtype, len(values), len(values) - len(present), len(distinct), few)


def _by_name(columns: Sequence[ColumnInfo], names: Sequence[str]) -> ColumnInfo | None:
    lower = {c.name.lower(): c for c in reversed(columns)}  # the first of equal names wins
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _is_timestamp(c: ColumnInfo) -> bool:
    low = c.name.lower()
    return c.type == "timestamp" or low in TIMESTAMP_NAMES or low.endswith(TIMESTAMP_SUFFIXES)


def _described(c: ColumnInfo) -> str:
    what = {"boolean": "true/false", "integer": "whole numbers", "float": "numbers",
            "text": "text", "timestamp": "dates/times", "mixed": "numbers and text",
            "empty": "no value", "nested": "lists or objects"}[c.type]
    return f"{what}, {c.distinct} distinct" if c.type not in ("empty", "nested") else what


def _feature(c: ColumnInfo) -> Decision:
    low = c.name.lower()
    key = f"features: {c.name}"
    if c.name.startswith("__") or any(ch in c.name for ch in '"\\') or not c.name.isprintable():
        return Decision(c.name, "skipped", None, "a name mlmon.yaml cannot hold (leading __, "
                        "quote, backslash or control character)", "rename the column")
    if c.type in ("empty", "nested"):
        return Decision(c.name, "skipped", None, _described(c), f"add `{key}: categorical`")
    identifier = low.endswith("_id") or (c.type == "text" and c.distinct == c.rows - c.missing
                                         and c.distinct > LOW_CARDINALITY)
    if identifier and c.type in ("text", "integer", "mixed"):
        return Decision(c.name, "skipped", None, f"identifier-like ({_described(c)})",
                        f"add `{key}: categorical` to monitor it anyway")
    if c.type in ("boolean", "text", "mixed"):
        return Decision(c.name, "feature", "categorical", _described(c),
                        f"`{key}: numeric` if its values are numbers")
    if c.type == "integer" and c.distinct <= LOW_CARDINALITY:
        return Decision(c.name, "feature", "categorical",
                        f"{_described(c)} (at most {LOW_CARDINALITY}: codes or small counts)",
                        f"`{key}: numeric` to bin it as a number")
    return Decision(c.name, "feature", "numeric", _described(c),
                    f"`{key}: categorical` if its values are codes")


def _class_names(values: Sequence[Any]) -> tuple[str, ...]:
    from exporter.readers.chunks import class_name

    names = {class_name(v) if isinstance(v, int | float) and not isinstance(v, bool)
             else str(v).lower() if isinstance(v, bool) else str(v) for v in values}
    return tuple(sorted(names))


def _kind(prediction: ColumnInfo | None, label: ColumnInfo | None
          ) -> tuple[Literal["classification", "regression"], tuple[str, ...], str]:
    source = label or prediction
    if source is None:
        return "regression", (), ("no prediction or label column: assumed regression; for a "
                                  "classifier write {kind: classification, classes: [...]}")
    what = f"{'label' if source is label else 'prediction'} {source.name!r}: {_described(source)}"
    classes_from = [c for c in (label, prediction) if c is not None and c.type in
                    ("boolean", "text", "mixed", "integer") and 0 < c.distinct <= MAX_CLASSES]
    if source.type in ("boolean", "text", "mixed") or (
            source.type == "integer" and 0 < source.distinct <= MAX_CLASSES):
        if source.distinct > MAX_CLASSES:
            raise InferError(f"{what}: more than {MAX_CLASSES} classes; list them yourself")
        classes = _class_names([v for c in classes_from for v in c.values])
        if len(classes) < 2:
            return "regression", (), f"{what}: fewer than 2 classes, assumed regression"
        return "classification", classes, f"{what} -> classification"
    return "regression", (), f"{what} -> regression"


def infer(columns: Sequence[ColumnInfo]) -> Inference:
    """Each column's role and kind, and the model's prediction kind."""
    if not columns:
        raise InferError("no columns")
    prediction = _by_name(columns, PREDICTION_NAMES)
    label = _by_name(columns, LABEL_NAMES)
    ident = _by_name(columns, ID_NAMES)
    stamps = [c for c in columns if _is_timestamp(c) and c not in (prediction, label, ident)]
    timestamp = _by_name(stamps, TIMESTAMP_NAMES) or (stamps[0] if stamps else None)
    kind, classes, kind_why = _kind(prediction, label)
    decisions: list[Decision] = []
    for c in columns:
        if c is prediction:
            d = Decision(c.name, "prediction", None, "by its name", "set `prediction_column:`")
        elif c is label:
            d = Decision(c.name, "label", None, "by its name", "set `label_column:`")
        elif c is ident:
            d = Decision(c.name, "id", None, "by its name", "set `id_column:`")
        elif c in stamps:
            d = Decision(c.name, "timestamp", None,
                         "dates/times" if c.type == "timestamp" else "by its name",
                         f"add `features: {c.name}: numeric` to monitor it")
        else:
            d = _feature(c)
        decisions.append(d)
    rows = max(c.rows for c in columns)
    return Inference(rows, tuple(decisions), kind, classes, kind_why,
                     prediction.name if prediction else None, label.name if label else None,
                     ident.name if ident else None, timestamp.name if timestamp else None)


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def scalar(text: str) -> str:
    """A YAML scalar for ``text``: bare when safe, else a JSON string (valid YAML)."""
    if _PLAIN.fullmatch(text) and text.lower() not in _WORDS:
        return text
    return json.dumps(text)


def read_sample(path: Path, max_rows: int = MAX_ROWS) -> dict[str, list[Any]]:
    """The first ``max_rows`` rows of a CSV, Parquet or JSONL file, column by column."""
    from exporter.readers.formats import FormatError, input_format

    try:
        fmt = input_format(path)
    except FormatError as exc:
        raise InferError(str(exc)) from None
    if fmt == "jsonl":
        return _jsonl(path, max_rows)
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
    except ImportError:
        raise InferError(f"{path}: reading {fmt.upper()} needs pyarrow: "
                         "pip install 'mlmon[files]'") from None
    batches = []
    got = 0
    try:
        if fmt == "csv":
            reader: Any = pacsv.open_csv(path, read_options=pacsv.ReadOptions(
                block_size=16 << 20))
        else:
            reader = pq.ParquetFile(path).iter_batches(batch_size=65_536)
        for batch in reader:
            batches.append(batch)
            got += batch.num_rows
            if got >= max_rows:
                break
    except pa.ArrowInvalid as exc:
        if not batches:
            raise InferError(f"{path}: cannot read: {exc}") from None
    except OSError as exc:
        raise InferError(f"{path}: cannot read: {exc}") from None
    if not batches:
        raise InferError(f"{path}: no rows")
    table = pa.Table.from_batches(batches).slice(0, max_rows)
    return {name: table.column(name).to_pylist() for name in table.column_names}


def _jsonl(path: Path, max_rows: int) -> dict[str, list[Any]]:
    import msgspec

    records: list[Mapping[str, Any]] = []
    try:
        with path.open("rb") as fh:
            for n, raw in enumerate(fh, 1):
                if len(records) >= max_rows:
                    break
                if not raw.strip():
                    continue
                try:
                    rec = msgspec.json.decode(raw)
                except msgspec.DecodeError as exc:
                    raise InferError(f"{path}: line {n}: invalid JSON ({exc})") from None
                if not isinstance(rec, dict):
                    raise InferError(f"{path}: line {n}: expected a JSON object")
                nested = rec.pop("features", None)
                records.append({**nested, **rec} if isinstance(nested, dict) else rec)
    except OSError as exc:
        raise InferError(f"{path}: cannot read: {exc}") from None
    if not records:
        raise InferError(f"{path}: no rows")
    names = dict.fromkeys(k for r in records for k in r)
    return {k: [r.get(k) for r in records] for k in names}
