"""Decoder rejections: poison lines, non-finite numbers, long ids, non-string categories."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from exporter.config.model import Config
from exporter.readers.chunks import read_chunks
from exporter.sidecar.ingest.decode import BatchDecoder, Envelope, ModelBatch
from tests.factories import config, fraud_model, price_model


def _cfg(max_id_bytes: int = 256) -> Config:
    return config(fraud_model("1"), price_model(), max_id_bytes=max_id_bytes)


def _line(obj: object) -> bytes:
    return json.dumps(obj).encode()


GOOD = {"v": 1, "model": "fraud", "version": "1", "id": "a",
        "features": {"amount": 12.5, "age": 30, "country": "DE"}, "prediction": 0.9}
DEEP = (b'{"v":1,"model":"fraud","version":"1","features":{"amount":'
        + b"[" * 1000 + b"]" * 1000 + b"}}")


def _good(i: int) -> bytes:
    return _line({**GOOD, "id": f"g{i}"})


@pytest.mark.parametrize("warm", [False, True])  # True: the typed single-model path goes first
def test_a_deeply_nested_line_is_rejected_alone(warm: bool) -> None:
    dec = BatchDecoder(_cfg())
    assert len(DEEP) < 65_536
    if warm:
        assert dec.decode([_good(0)]).rejected == Counter()
    lines = [_good(1), DEEP, _good(2), _good(3)]
    out = dec.decode(lines)
    assert out.rejected == Counter({"too_deep": 1})
    assert out.models[("fraud", "1")].ids == ["g1", "g2", "g3"]


def test_deep_unknown_keys_are_rejected_too_and_a_deep_typed_value_is_a_bad_type() -> None:
    dec = BatchDecoder(_cfg())
    nest = b"[" * 2000 + b"]" * 2000
    deep_extra = b'{"v":1,"model":"price","prediction":1.0,"extra":' + nest + b"}"
    deep_label = b'{"v":1,"model":"price","id":"x","label":1,"extra":' + nest + b"}"
    deep_pred = b'{"v":1,"model":"price","prediction":' + nest + b"}"  # fails at the first '['
    out = dec.decode([deep_extra, _good(1), deep_label, deep_pred])
    assert out.rejected == Counter({"too_deep": 2, "bad_type": 1})
    assert out.models[("fraud", "1")].ids == ["g1"]


NONFINITE = [
    ({**GOOD, "prediction": "__1e999__"}, "bad_value"),
    ({**GOOD, "prediction": "__-1e999__"}, "bad_value"),
    ({**GOOD, "prediction": {"0": 0.5, "1": "__1e999__"}}, "bad_value"),
    ({**GOOD, "features": {"amount": "__1e999__"}}, "bad_value"),
    ({**GOOD, "features": {"age": "__-1e400__"}}, "bad_value"),
    ({**GOOD, "label": "__1e999__"}, "bad_value"),
    ({"v": 1, "model": "fraud", "version": "1", "id": "q", "label": "__-1e999__"}, "bad_value"),
    ({**GOOD, "features": {"amount": "Infinity"}}, "bad_value"),  # a string spelling inf
    ({**GOOD, "features": {"age": "-nan"}}, "bad_value"),
    ({**GOOD, "prediction": "__NaN__"}, "malformed_json"),  # not JSON at all
    ({**GOOD, "features": {"amount": "__Infinity__"}}, "malformed_json"),
]


def _raw(obj: object) -> bytes:
    """JSON with the "__x__" strings spliced in as bare literals (json.dumps cannot)."""
    return _line(obj).replace(b'"__', b"").replace(b'__"', b"")


@pytest.mark.parametrize(("event", "reason"), NONFINITE)
@pytest.mark.parametrize("warm", [False, True])
def test_non_finite_numbers_reject_the_whole_event(event: object, reason: str,
                                                    warm: bool) -> None:
    dec = BatchDecoder(_cfg())
    if warm:
        assert dec.decode([_good(0)]).rejected == Counter()
    out = dec.decode([_good(1), _raw(event), _good(2)])
    assert out.rejected == Counter({reason: 1})
    assert out.models[("fraud", "1")].ids == ["g1", "g2"]


def test_null_numeric_feature_is_missing_not_rejected() -> None:
    out = BatchDecoder(_cfg()).decode([_line({**GOOD, "features": {"amount": None, "age": 3}})])
    assert out.rejected == Counter()
    assert str(out.models[("fraud", "1")].numeric.tolist()) == "[[nan, 3.0]]"


@pytest.mark.parametrize("warm", [False, True])
def test_ids_longer_than_max_id_bytes_are_rejected(warm: bool) -> None:
    dec = BatchDecoder(_cfg(max_id_bytes=40))
    if warm:
        assert dec.decode([_good(0)]).rejected == Counter()
    uuid = "123e4567-e89b-12d3-a456-426614174000"
    lines = [_line({**GOOD, "id": uuid}),
             _line({**GOOD, "id": "x" * 41}),  # 41 bytes
             _line({**GOOD, "id": "é" * 20}),  # 20 characters, exactly 40 bytes: kept
             _line({**GOOD, "id": "é" * 21}),  # 21 characters, 42 bytes
             _line({"v": 1, "model": "fraud", "version": "1", "id": "y" * 41, "label": 1}),
             _line({"v": 1, "model": "fraud", "version": "1", "id": uuid, "label": 1})]
    out = dec.decode(lines)
    assert out.rejected == Counter({"id_too_long": 3})
    assert out.models[("fraud", "1")].ids == [uuid, "é" * 20, uuid]


def test_categorical_numbers_and_booleans_read_like_the_profile_builder(tmp_path: Path) -> None:
    # the same values in a CSV written here, read by the profile builder's reader
    cells = ["3", "3.0", "2.5", "-1", "0", "true", "false", "12345678901234567890", "DE"]
    taps: list[object] = [3, 3.0, 2.5, -1, 0, True, False, 12345678901234567890, "DE"]
    path = tmp_path / "ref.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["country"])
        w.writerows([c] for c in cells)
    chunk = next(read_chunks(path, {"country": "categorical"}))
    profile_reads = chunk.categorical["country"].tolist()
    assert profile_reads == cells  # the oracle: what a profile holds for these cells
    dec = BatchDecoder(_cfg())
    for warm in (False, True):
        lines = [_line({**GOOD, "id": f"i{i}", "features": {"country": v}})
                 for i, v in enumerate(taps)]
        out = dec.decode(lines)
        assert out.rejected == Counter(), warm
        assert out.models[("fraud", "1")].categorical[0].tolist() == profile_reads


def test_one_and_true_and_one_point_zero_stay_distinct_categories() -> None:
    lines = [_line({**GOOD, "features": {"country": v}}) for v in (1, True, 1.0, "1", None)]
    column = BatchDecoder(_cfg()).decode(lines).models[("fraud", "1")].categorical[0]
    assert column.tolist() == ["1", "true", "1.0", "1", None]
    assert column.values == ["1", "true", "1.0", None]


def test_rejections_come_with_an_example_naming_model_and_feature() -> None:
    dec = BatchDecoder(_cfg())
    lines = [_line({**GOOD, "features": {"country": ["DE"]}}),
             _line({"v": 1, "model": "nosuch", "prediction": 1.0}),
             _raw({**GOOD, "features": {"amount": "__1e999__"}})]
    out = dec.decode(lines)
    assert out.rejected == Counter({"bad_type": 1, "unknown_model": 1, "bad_value": 1})
    assert "fraud" in out.examples["bad_type"] and "country" in out.examples["bad_type"]
    assert "nosuch" in out.examples["unknown_model"]
    assert "fraud" in out.examples["bad_value"] and "amount" in out.examples["bad_value"]


class _BuggyDecoder(BatchDecoder):
    """Raises on events with id "boom" (generic path): stands in for an unknown decoder bug."""

    def _batch(self, key: Any, events: list[Envelope], rejects: Any) -> ModelBatch:
        if any(e.id == "boom" for e in events):
            raise ZeroDivisionError("injected")
        return super()._batch(key, events, rejects)


def test_a_line_that_trips_a_decoder_bug_is_lost_alone_and_counted() -> None:
    dec = _BuggyDecoder(_cfg())
    out = dec.decode([_good(1), _line({**GOOD, "id": "boom"}), _good(2), b"{oops"])
    assert out.rejected == Counter({"internal_error": 1, "malformed_json": 1})
    assert out.models[("fraud", "1")].ids == ["g1", "g2"]
    assert "ZeroDivisionError" in out.examples["internal_error"]
