from __future__ import annotations

import json
import math

import numpy as np
import pytest

from exporter.client.encode import BadArgument, EventEncoder
from tests.client.protocol import parse_line

enc = EventEncoder()


def test_prediction_line_has_exactly_the_given_fields() -> None:
    line = enc.prediction("fraud", "3", {"amount": 12.5, "country": "DE"}, 0.93, "req-123",
                          None, 1764140000.5)
    obj = parse_line(line)
    assert obj == {"v": 1, "model": "fraud", "version": "3", "id": "req-123",
                   "ts": 1764140000.5, "features": {"amount": 12.5, "country": "DE"},
                   "prediction": 0.93}


def test_optional_fields_are_omitted_not_null() -> None:
    obj = parse_line(enc.prediction("m", None, {"x": 1.0}, None, None, None, None))
    assert obj == {"v": 1, "model": "m", "features": {"x": 1.0}}


def test_prediction_forms_and_carried_label() -> None:
    probs = parse_line(enc.prediction("m", None, {}, {"0": 0.25, "1": 0.75}, "a", "1", None))
    assert probs["prediction"] == {"0": 0.25, "1": 0.75}
    assert probs["label"] == "1"
    klass = parse_line(enc.prediction("m", None, {}, "cat", "b", None, None))
    assert klass["prediction"] == "cat"


def test_label_line() -> None:
    assert parse_line(enc.label("fraud", "req-123", 1, None)) == {
        "v": 1, "model": "fraud", "id": "req-123", "label": 1}
    assert parse_line(enc.label("fraud", "r", "yes", "3"))["version"] == "3"


def test_numpy_scalars_and_integer_ids_are_converted() -> None:
    features = {"a": np.float32(1.5), "b": np.int64(7), "c": np.float64(0.1), "d": np.str_("x")}
    obj = parse_line(enc.prediction("m", 3, features, np.float32(0.25), 42, np.bool_(True),
                                    np.int64(10)))
    assert obj["features"] == {"a": 1.5, "b": 7, "c": 0.1, "d": "x"}
    assert obj["prediction"] == 0.25
    assert obj["version"] == "3" and obj["id"] == "42" and obj["ts"] == 10.0
    assert obj["label"] == 1 and type(obj["label"]) is int


def test_bool_label_becomes_integer_the_sidecar_accepts() -> None:
    assert json.loads(enc.label("m", "i", True, None))["label"] == 1
    assert json.loads(enc.prediction("m", None, {}, 0.5, "i", False, None))["label"] == 0


def test_nan_feature_is_sent_as_null_missing() -> None:
    obj = parse_line(enc.prediction("m", None, {"x": math.nan}, 0.5, None, None, None))
    assert obj["features"] == {"x": None}


@pytest.mark.parametrize("kwargs", [
    {"model": ""},
    {"model": None},
    {"features": [1.0, 2.0]},
    {"features": {"x": object()}},
    {"id": 1.5},
    {"version": ["3"]},
    {"ts": "yesterday"},
    {"prediction": object()},
    {"ts": True},
])
def test_bad_prediction_arguments_raise_bad_argument(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"model": "m", "version": None, "features": {"x": 1.0},
                               "prediction": 0.5, "id": None, "label": None, "ts": None}
    args.update(kwargs)
    with pytest.raises(BadArgument):
        enc.prediction(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(("model", "id", "label"), [("m", None, 1), ("m", "i", None),
                                                    ("", "i", 1), ("m", "i", object())])
def test_bad_label_arguments_raise_bad_argument(model: str, id: str | None,
                                                label: object) -> None:
    with pytest.raises(BadArgument):
        enc.label(model, id, label, None)
