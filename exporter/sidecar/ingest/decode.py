"""Tap protocol v1: decode a batch of NDJSON lines into per-model columns.

The envelope of every line is decoded first (features kept as raw JSON), the
lines are grouped per (model, version), and each group's features are decoded
in one call into a per-model generated ``msgspec.Struct``; the resulting
tuples become packed columns (doubles in ``bytes``, category indices in an
``array``), so no Python code runs per feature value. This module does not
import numpy: a decoder process stays small, and the batch crosses the pipe as
a few byte buffers and lists. The state views the buffers
as numpy arrays without copying (``ModelBatch.numeric`` and friends).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import operator
import struct
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from exporter.config.model import Config, ModelConfig
from exporter.types import ModelKey

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

PROTOCOL_VERSION = 1

_PREDICTION = operator.attrgetter("prediction")
_FEATURES = operator.attrgetter("features")
_ID = operator.attrgetter("id")
_LABEL = operator.attrgetter("label")
_TS = operator.attrgetter("ts")

PredictionValue = float | str | dict[str, float] | None


class Envelope(msgspec.Struct, gc=False):  # no cycles possible; keeps the GC out of the hot path
    v: int
    model: str
    version: str | None = None
    id: str | None = None
    ts: float | None = None
    features: msgspec.Raw = msgspec.Raw()
    prediction: float | str | dict[str, float] | None = None
    label: float | str | None = None


# A batch is decoded with decode_lines over the lines joined by "\n": one copy of the
# bytes, where wrapping them as a JSON array ("[" + joined + "]") costs two more.
_ENVELOPE = msgspec.json.Decoder(Envelope)
_ANY = msgspec.json.Decoder()


def _rejection(exc: msgspec.DecodeError) -> str:
    if isinstance(exc, msgspec.ValidationError):
        return "missing_field" if "missing required field" in str(exc) else "bad_type"
    return "malformed_json"


_NAN_FOR_NONE: dict[Any, float] = {None: math.nan}


@dataclass
class Column:
    """A categorical column: its distinct values (first seen first) and each row's index."""

    values: list[str | None]
    index: array[int]  # typecode "i"

    @classmethod
    def of(cls, rows: list[str | None]) -> Column:
        values = list(dict.fromkeys(rows))  # distinct, in order of first appearance (C-level)
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
           width: int, predictions: list[PredictionValue] | None = None) -> ModelBatch:
        """The batch of decoded events, their flags and feature ``columns``."""
        numeric, categorical = columns
        if predictions is None:
            predictions = list(map(_PREDICTION, events))
        return cls(list(map(_ID, events)), predictions, list(map(_LABEL, events)),
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


class FeatureDecoder:
    """Decodes the ``features`` objects of one model into numeric and categorical columns."""

    def __init__(self, model: ModelConfig, max_features: int, sole_version: bool = True) -> None:
        self.numeric_names = tuple(f.name for f in model.features if f.kind == "numeric")
        self.categorical_names = tuple(f.name for f in model.features if f.kind == "categorical")
        self.max_features = max_features
        fields: list[tuple[str, Any, Any]] = [
            *((f"n{i}", float | None, None) for i in range(len(self.numeric_names))),
            *((f"c{i}", str | None, None) for i in range(len(self.categorical_names))),
        ]
        renames = {f"n{i}": n for i, n in enumerate(self.numeric_names)}
        renames.update({f"c{i}": n for i, n in enumerate(self.categorical_names)})
        struct = msgspec.defstruct(f"Features_{model.name}", fields, kw_only=True,
                                   rename=renames, gc=False)
        self._one = msgspec.json.Decoder(struct)
        self._no_features = struct()
        self._numeric = [True] * len(self.numeric_names) + [False] * len(self.categorical_names)
        self._categorical = [operator.attrgetter(f"c{i}")
                             for i in range(len(self.categorical_names))]
        # The whole line typed for this model: the hot path decodes it in one pass, and
        # msgspec itself checks protocol, model and version (Literal types), so a line of
        # another model or version fails the batch over to the generic path.
        version: Any = Literal[model.version]
        typed = msgspec.defstruct(f"Event_{model.name}", [
            ("v", Literal[PROTOCOL_VERSION]),
            ("model", Literal[model.name]),
            # with several versions configured, the version is required (no default)
            ("version", version | None, None) if sole_version else ("version", version),
            ("features", struct | None, None)], bases=(Envelope,), kw_only=True, gc=False)
        self.typed = msgspec.json.Decoder(typed)

    def check(self, raw: bytes) -> str | None:
        """Reject reason of one features object, or None."""
        # Counting ':' is a cheap upper bound on the number of keys.
        if raw.count(b":") > self.max_features:
            obj = _ANY.decode(raw)
            if isinstance(obj, dict) and len(obj) > self.max_features:
                return "too_many_features"
        try:
            self._one.decode(raw)
        except msgspec.DecodeError as exc:
            return _rejection(exc)
        return None

    def decode(self, raws: Sequence[bytes]) -> tuple[bytes, list[Column]]:
        """Columns for raws that all passed ``check`` (or are decoded together)."""
        structs = self._one.decode_lines(b"\n".join(raws))
        if len(structs) != len(raws):
            raise msgspec.DecodeError("a features object is blank")
        return self.columns(structs)

    def columns(self, feats: list[Any]) -> tuple[bytes, list[Column]]:
        """Numeric (packed doubles, row-major) and categorical columns of feature structs
        (None: an event without features).

        Each struct becomes a tuple in C (``astuple``), the numeric fields are
        picked from the chained tuples by ``compress`` and packed by ``struct``:
        no Python code per value, also when values are missing (None -> NaN by a
        dict lookup mapped in C).
        """
        if feats.count(None):
            feats = [self._no_features if f is None else f for f in feats]
        astuple = msgspec.structs.astuple
        count = len(feats) * len(self.numeric_names)
        values = itertools.chain.from_iterable(map(astuple, feats))
        try:
            numeric = struct.pack(f"{count}d",
                                  *itertools.compress(values, itertools.cycle(self._numeric)))
        except struct.error:  # a missing value (None) somewhere
            values = itertools.chain.from_iterable(map(astuple, feats))
            keys, defaults = itertools.tee(
                itertools.compress(values, itertools.cycle(self._numeric)))
            numeric = struct.pack(f"{count}d", *map(_NAN_FOR_NONE.get, keys, defaults))
        categorical = [Column.of(list(map(get, feats))) for get in self._categorical]
        return numeric, categorical


class BatchDecoder:
    """Turns NDJSON lines into per-model batches and counts rejections by reason."""

    def __init__(self, config: Config) -> None:
        self.models: dict[ModelKey, ModelConfig] = {m.key: m for m in config.models}
        self.versions: dict[str, list[str]] = {}
        for m in config.models:
            self.versions.setdefault(m.name, []).append(m.version)
        limit = config.server.max_features_per_event
        self.features = {k: FeatureDecoder(m, limit, len(self.versions[m.name]) == 1)
                         for k, m in self.models.items()}
        self._routes: dict[tuple[str, str | None], ModelKey | str] = {}
        for m in config.models:
            self._routes[(m.name, m.version)] = m.key
            if len(self.versions[m.name]) == 1:
                self._routes[(m.name, None)] = m.key
        self._last: ModelKey | None = None  # model of the previous single-model batch

    def envelopes(self, lines: Sequence[bytes], rejected: Counter[str]) -> list[Envelope]:
        try:
            envs = _ENVELOPE.decode_lines(b"\n".join(lines))
            if len(envs) == len(lines):
                return envs
        except msgspec.DecodeError:
            pass
        out: list[Envelope] = []
        for line in lines:
            try:
                out.append(_ENVELOPE.decode(line))
            except msgspec.DecodeError as exc:
                rejected[_rejection(exc)] += 1
        return out

    def decode(self, lines: Sequence[bytes]) -> DecodedBatch:
        if self._last is not None:
            fast = self._decode_typed(lines, self._last)
            if fast is not None:
                return fast
        return self._decode_generic(lines)

    def _decode_typed(self, lines: Sequence[bytes], key: ModelKey) -> DecodedBatch | None:
        """Hot path: every line is an event of the model seen last; None if not."""
        decoder = self.features[key]
        # A line that could have too many features goes the generic way, which counts
        # them exactly (structs ignore unknown keys). A key takes at least 5 bytes
        # ("k":0 and a comma), so short lines pass unchecked; ':' bounds the rest.
        limit = decoder.max_features
        if max(map(len, lines), default=0) >= 5 * limit and \
                max(map(bytes.count, lines, itertools.repeat(b":"))) > limit:
            return None
        try:
            events: list[Any] = decoder.typed.decode_lines(b"\n".join(lines))
        except msgspec.DecodeError:
            return None
        if len(events) != len(lines):
            return None
        preds = list(map(_PREDICTION, events))
        feats = list(map(_FEATURES, events))
        if preds.count(None) == 0 or feats.count(None) == 0:
            flags = b"\x01" * len(events)  # every event is a prediction
        else:
            flags = bytes(p is not None or f is not None
                          for p, f in zip(preds, feats, strict=True))
            if any(not is_pred and (e.label is None or e.id is None)
                   for is_pred, e in zip(flags, events, strict=True)):
                return None
        batch = ModelBatch.of(events, flags, decoder.columns(feats), len(decoder.numeric_names),
                              preds)
        return DecodedBatch({key: batch}, Counter())

    def _decode_generic(self, lines: Sequence[bytes]) -> DecodedBatch:
        rejected: Counter[str] = Counter()
        grouped: dict[ModelKey, list[Envelope]] = {}
        routes = self._routes
        for env in self.envelopes(lines, rejected):
            route = routes.get((env.model, env.version))
            if route is None:
                route = routes[(env.model, env.version)] = self._route(env.model, env.version)
            if isinstance(route, str):
                rejected[route] += 1
                continue
            if env.v != PROTOCOL_VERSION:
                rejected["unsupported_version"] += 1
                continue
            if env.prediction is None and not _has_features(env) and (env.label is None
                                                                 or env.id is None):
                rejected["missing_field"] += 1  # nothing to record, or a label without id
                continue
            events = grouped.get(route)
            if events is None:
                events = grouped[route] = []
            events.append(env)
        batches = {key: self._batch(key, events, rejected) for key, events in grouped.items()}
        if len(batches) == 1:
            self._last = next(iter(batches))
        return DecodedBatch(batches, rejected)

    def _route(self, model: str, version: str | None) -> ModelKey | str:
        versions = self.versions.get(model)
        if versions is None:
            return "unknown_model"
        if version is None:
            return (model, versions[0]) if len(versions) == 1 else "missing_field"
        return (model, version) if version in versions else "unknown_version"

    def _batch(self, key: ModelKey, events: list[Envelope], rejected: Counter[str]) -> ModelBatch:
        """The batch of one model's envelopes; events with bad features are counted and left out."""
        decoder = self.features[key]
        raws = [_features_or_empty(bytes(e.features)) for e in events]
        limit = decoder.max_features
        columns = None
        if not any(r.count(b":") > limit for r in raws):
            with contextlib.suppress(msgspec.DecodeError):
                columns = decoder.decode(raws)
        if columns is None:
            keep: list[int] = []
            for i, raw in enumerate(raws):
                reason = decoder.check(raw)
                if reason is None:
                    keep.append(i)
                else:
                    rejected[reason] += 1
            events = [events[i] for i in keep]
            columns = decoder.decode([raws[i] for i in keep])
        flags = bytes(e.prediction is not None or _has_features(e) for e in events)
        return ModelBatch.of(events, flags, columns, len(decoder.numeric_names))


def _has_features(env: Envelope) -> bool:
    """``features`` present and not null (as on the typed path, where null is None)."""
    raw = env.features
    return len(raw) > 0 and (len(raw) != 4 or bytes(raw) != b"null")


def _features_or_empty(raw: bytes) -> bytes:
    return b"{}" if not raw or raw == b"null" else raw
