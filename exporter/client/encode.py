"""Encode tap protocol v1 events (docs/architecture.md) into NDJSON lines on the caller's thread."""

from __future__ import annotations

from typing import Any

import msgspec

PROTOCOL_VERSION = 1

# What a prediction may be on the wire: a number, a class name or class probabilities.
Prediction = float | int | str | dict[str, float] | None
Label = float | int | str | bool | None


class BadArgument(ValueError):
    """An argument the tap cannot turn into a v1 event; the event is dropped and counted."""


# ``v`` has no default so that omit_defaults (which drops the None fields) keeps it.
class PredictionEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    v: int
    model: str
    version: str | None = None
    id: str | None = None
    ts: float | None = None
    features: dict[str, Any]
    prediction: Any = None
    label: Any = None


class LabelEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    v: int
    model: str
    version: str | None = None
    id: str
    label: Any


def _enc_hook(obj: Any) -> Any:
    """Numpy scalars and other number-likes, which model servers pass all the time."""
    item = getattr(obj, "item", None)
    if callable(item):
        value = item()
        if isinstance(value, (bool, int, float, str)) or value is None:
            return value
    if hasattr(obj, "__float__"):
        return float(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


class EventEncoder:
    """Validates the cheap things (types of the envelope) and encodes one event to bytes.

    Feature values are not inspected in Python (that would cost a loop per call);
    msgspec encodes them, and the sidecar rejects wrong types by reason.
    """

    def __init__(self) -> None:
        self._encode = msgspec.json.Encoder(enc_hook=_enc_hook).encode

    def prediction(self, model: object, version: object, features: object, prediction: object,
                   id: object, label: object, ts: object) -> bytes:
        if type(model) is not str or not model:
            raise BadArgument("model must be a non-empty string")
        if type(features) is not dict:
            raise BadArgument("features must be a dict of name -> value")
        if version is not None and type(version) is not str:
            version = _text(version, "version")
        if id is not None and type(id) is not str:
            id = _text(id, "id")
        if ts is not None and type(ts) is not float:
            ts = _number(ts, "ts")
        if label is not None and type(label) not in _LABEL_TYPES:
            label = _label(label)
        try:
            return self._encode(PredictionEvent(
                v=PROTOCOL_VERSION, model=model, version=version, id=id, ts=ts,
                features=features, prediction=prediction, label=label))
        except (TypeError, ValueError, NotImplementedError) as exc:
            raise BadArgument(f"cannot encode event: {exc}") from exc

    def label(self, model: object, id: object, label: object, version: object) -> bytes:
        if type(model) is not str or not model:
            raise BadArgument("model must be a non-empty string")
        if id is None:
            raise BadArgument("a label needs the id of its prediction")
        if type(id) is not str:
            id = _text(id, "id")
        if version is not None and type(version) is not str:
            version = _text(version, "version")
        if label is None:
            raise BadArgument("label must not be None")
        if type(label) not in _LABEL_TYPES:
            label = _label(label)
        try:
            return self._encode(LabelEvent(v=PROTOCOL_VERSION, model=model, version=version,
                                           id=id, label=label))
        except (TypeError, ValueError, NotImplementedError) as exc:
            raise BadArgument(f"cannot encode event: {exc}") from exc


_LABEL_TYPES = (str, int, float)


def _label(value: object) -> object:
    """Booleans (Python or numpy) become 0/1 and numpy scalars plain numbers."""
    item = getattr(value, "item", None)
    if callable(item):
        value = item()
    if isinstance(value, bool):
        return int(value)
    return value


def _text(value: object, name: str) -> str:
    # Integer ids and versions are common; anything else is a caller mistake.
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    raise BadArgument(f"{name} must be a string (or an integer), got {type(value).__name__}")


def _number(value: object, name: str) -> float:
    if not isinstance(value, (str, bytes, bool)) and hasattr(value, "__float__"):
        return float(value)
    raise BadArgument(f"{name} must be a number (unix seconds), got {type(value).__name__}")
