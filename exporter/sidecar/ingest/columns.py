"""Decoded batches as columns: categorical columns, per-model batches, the decoded batch.

Lists and byte buffers only (no numpy at import): a decoder process stays small and
a batch crosses the pipe as a cheap pickle; the state views the buffers as numpy
arrays without copying (``ModelBatch.numeric`` and friends).
"""

from __future__ import annotations

import operator
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from exporter.types import ModelKey

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

PredictionValue = float | str | dict[str, float] | None
# A categorical value as the tap may send it; numbers and booleans become text.
CategoryValue = str | bool | int | float | None

_PREDICTION = operator.attrgetter("prediction")
_ID = operator.attrgetter("id")
_LABEL = operator.attrgetter("label")
_TS = operator.attrgetter("ts")
_PLAIN = frozenset({str, type(None)})


def category_text(value: CategoryValue) -> str | None:
    """A category as the profile builder reads it: 3 -> "3", 3.0 -> "3.0", true -> "true"."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)  # int, or a finite float (msgspec rejects the others): repr


def _as_text(rows: list[Any]) -> list[str | None]:
    """Rows with numbers and booleans made text; keyed by type too, as 1 == 1.0 == True."""
    keys = list(zip(map(type, rows), rows, strict=True))
    text = {k: category_text(k[1]) for k in dict.fromkeys(keys)}  # once per distinct value
    return list(map(text.__getitem__, keys))


@dataclass
class Column:
    """A categorical column: its distinct values (first seen first) and each row's index."""

    values: list[str | None]
    index: array[int]  # typecode "i"

    @classmethod
    def of(cls, rows: list[Any]) -> Column:
        values = list(dict.fromkeys(rows))  # distinct, in order of first appearance (C-level)
        if not _PLAIN.issuperset(map(type, values)):  # numbers or booleans: rare, per batch
            rows = _as_text(rows)
            values = list(dict.fromkeys(rows))
        where = {v: i for i, v in enumerate(values)}
        return cls(values, array("i", list(map(where.__getitem__, rows))))

    def tolist(self) -> list[str | None]:
        values = self.values
        return [values[i] for i in self.index]

    def codes(self) -> NDArray[np.int32]:
        """The row indices as a numpy view (no copy)."""
        import numpy as np  # here, not at the top: the decoder process never imports it

        return np.frombuffer(self.index, dtype=np.intc).astype(np.int32, copy=False)

    def take(self, rows: NDArray[np.bool_]) -> Column:
        """The selected rows, distinct values again in order of first appearance."""
        import numpy as np

        index = self.codes()[rows]
        present, first = np.unique(index, return_index=True)
        order = present[np.argsort(first)]
        remap = np.zeros(len(self.values), dtype=np.int32)
        remap[order] = np.arange(len(order), dtype=np.int32)
        return Column([self.values[i] for i in order.tolist()],
                      array("i", remap[index].tobytes()))


@dataclass
class ModelBatch:
    """Accepted events of one model version, in arrival order, as columns.

    Lists and byte buffers only, so a batch decoded in another process crosses
    the pipe as a cheap pickle; numpy views the buffers without a copy.
    """

    ids: list[str | None] = field(default_factory=list)
    predictions: list[PredictionValue] = field(default_factory=list)
    labels: list[float | str | None] = field(default_factory=list)
    ts: list[float | None] = field(default_factory=list)
    flags: bytes = b""  # 1 per event that has a prediction or features
    values: bytes = b""  # numeric features, native doubles, row-major
    width: int = 0  # numeric features per row
    categorical: list[Column] = field(default_factory=list)  # one per categorical feature

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, events: list[Any], flags: bytes, columns: tuple[bytes, list[Column]],
           width: int, predictions: list[PredictionValue] | None = None,
           ids: list[str | None] | None = None) -> ModelBatch:
        """The batch of decoded events, their flags and feature ``columns``."""
        numeric, categorical = columns
        if predictions is None:
            predictions = list(map(_PREDICTION, events))
        if ids is None:
            ids = list(map(_ID, events))
        return cls(ids, predictions, list(map(_LABEL, events)),
                   list(map(_TS, events)), flags, numeric, width, categorical)

    @property
    def is_prediction(self) -> NDArray[np.bool_]:
        import numpy as np  # here, not at the top: the decoder process never imports it

        return np.frombuffer(self.flags, dtype=np.bool_)

    @property
    def numeric(self) -> NDArray[np.float64]:
        """(events, numeric features), NaN where missing; a read-only view."""
        import numpy as np

        return np.frombuffer(self.values, dtype=np.float64).reshape(len(self), self.width)


@dataclass
class DecodedBatch:
    models: dict[ModelKey, ModelBatch]
    rejected: Counter[str]
    examples: dict[str, str] = field(default_factory=dict)  # reason -> one rejected line's story
