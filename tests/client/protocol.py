"""Tap protocol v1 as docs/architecture.md states it, as a JSON Schema: the client tests' oracle."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

_SCALAR = {"type": ["number", "string", "boolean", "null"]}
_PREDICTION = {
    "anyOf": [
        {"type": "number"},
        {"type": "string"},
        {"type": "object", "additionalProperties": {"type": "number"}},
    ]
}
_LABEL = {"type": ["number", "string"]}

PREDICTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["v", "model", "features"],
    "additionalProperties": False,
    "properties": {
        "v": {"const": 1},
        "model": {"type": "string", "minLength": 1},
        "version": {"type": "string"},
        "id": {"type": "string"},
        "ts": {"type": "number"},
        "features": {"type": "object", "additionalProperties": _SCALAR},
        "prediction": _PREDICTION,
        "label": _LABEL,
    },
}

LABEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["v", "model", "id", "label"],
    "additionalProperties": False,
    "properties": {
        "v": {"const": 1},
        "model": {"type": "string", "minLength": 1},
        "version": {"type": "string"},
        "id": {"type": "string"},
        "label": _LABEL,
    },
}


_PREDICTION_EVENT = jsonschema.Draft202012Validator(PREDICTION_SCHEMA)
_LABEL_EVENT = jsonschema.Draft202012Validator(LABEL_SCHEMA)


def parse_line(line: bytes) -> dict[str, Any]:
    """Decode one NDJSON line and validate it as a v1 prediction or label event."""
    assert line and b"\n" not in line, line
    obj = json.loads(line)
    assert isinstance(obj, dict)
    (_PREDICTION_EVENT if "features" in obj else _LABEL_EVENT).validate(obj)
    return obj
