"""Tap protocol v1 events: the envelope, rejection reasons and per-model feature decoders."""

from __future__ import annotations

import itertools
import math
import operator
import struct
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec

from exporter.config.model import ModelConfig
from exporter.sidecar.ingest.columns import CategoryValue, Column

PROTOCOL_VERSION = 1


class Envelope(msgspec.Struct, gc=False):  # no cycles possible; keeps the GC out of the hot path
    v: int
    model: str
    version: str | None = None
    id: str | None = None
    ts: float | None = None
    features: msgspec.Raw = msgspec.Raw()
    prediction: float | str | dict[str, float] | None = None
    label: float | str | None = None


ENVELOPE = msgspec.json.Decoder(Envelope)
_ANY = msgspec.json.Decoder()
_NAN_FOR_NONE: dict[Any, float] = {None: math.nan}


def rejection(exc: Exception) -> str:
    """The reject reason of a line msgspec (or its recursion guard) refused."""
    if isinstance(exc, RecursionError):
        return "too_deep"
    if isinstance(exc, msgspec.ValidationError):
        text = str(exc)
        if text.startswith("Number out of range"):  # 1e999: not a finite double
            return "bad_value"
        return "missing_field" if "missing required field" in text else "bad_type"
    return "malformed_json"


def _spells_non_finite(raw: bytes, error: str) -> bool:
    """Whether the feature a ValidationError points at is a string like "Infinity" or "NaN"."""
    _, sep, path = error.rpartition(" - at `$.")
    try:
        value = _ANY.decode(raw).get(path.rstrip("`")) if sep else None
        return isinstance(value, str) and not math.isfinite(float(value))
    except (msgspec.DecodeError, RecursionError, AttributeError, ValueError):
        return False


class FeatureDecoder:
    """Decodes the ``features`` objects of one model into numeric and categorical columns."""

    def __init__(self, model: ModelConfig, max_features: int, sole_version: bool = True,
                 max_id_bytes: int = 256) -> None:
        self.numeric_names = tuple(f.name for f in model.features if f.kind == "numeric")
        self.categorical_names = tuple(f.name for f in model.features if f.kind == "categorical")
        self.max_features = max_features
        fields: list[tuple[str, Any, Any]] = [
            *((f"n{i}", float | None, None) for i in range(len(self.numeric_names))),
            *((f"c{i}", CategoryValue, None) for i in range(len(self.categorical_names))),
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
            # characters <= bytes: a longer id fails the batch over to the generic path,
            # which checks its UTF-8 length exactly
            ("id", Annotated[str, msgspec.Meta(max_length=max_id_bytes)] | None, None),
            ("features", struct | None, None)], bases=(Envelope,), kw_only=True, gc=False)
        self.typed = msgspec.json.Decoder(typed)

    def check(self, raw: bytes) -> tuple[str, str] | None:
        """Reject reason of one features object and why, or None."""
        # Counting ':' is a cheap upper bound on the number of keys.
        try:
            if raw.count(b":") > self.max_features:
                obj = _ANY.decode(raw)
                if isinstance(obj, dict) and len(obj) > self.max_features:
                    return "too_many_features", f"{len(obj)} features"
            self._one.decode(raw)
        except (msgspec.DecodeError, RecursionError) as exc:
            reason = rejection(exc)
            if reason == "bad_type" and _spells_non_finite(raw, str(exc)):
                reason = "bad_value"
            return reason, str(exc).replace("`$.", "`$.features.")
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
