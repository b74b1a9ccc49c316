from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from exporter.sidecar.ingest.decode import BatchDecoder, Column
from tests.factories import config, fraud_events, fraud_model, price_model


def _decoder(max_features: int = 256) -> BatchDecoder:
    return BatchDecoder(config(fraud_model("1"), fraud_model("2"), price_model(),
                               max_features_per_event=max_features))


def _lines(*objs: object) -> list[bytes]:
    return [o if isinstance(o, bytes) else json.dumps(o).encode() for o in objs]


GOOD = {"v": 1, "model": "fraud", "version": "1", "id": "a",
        "features": {"amount": 12.5, "age": 30, "country": "DE"}, "prediction": 0.9}


@pytest.mark.parametrize(("line", "reason"), [
    (b"{not json", "malformed_json"),
    (b"[1, 2]", "bad_type"),
    ({"model": "fraud", "version": "1", "prediction": 1.0}, "missing_field"),
    ({"v": 1, "version": "1", "prediction": 1.0}, "missing_field"),
    ({"v": 2, "model": "fraud", "version": "1", "prediction": 1.0}, "unsupported_version"),
    ({"v": 1, "model": "nope", "prediction": 1.0}, "unknown_model"),
    ({"v": 1, "model": "fraud", "version": "9", "prediction": 1.0}, "unknown_version"),
    ({"v": 1, "model": "fraud", "prediction": 1.0}, "missing_field"),  # two versions
    ({"v": 1, "model": "fraud", "version": "1", "label": 1}, "missing_field"),  # label, no id
    ({"v": "1", "model": "fraud", "version": "1", "prediction": 1.0}, "bad_type"),
    ({**GOOD, "features": {"amount": "12.5"}}, "bad_type"),
    ({**GOOD, "features": {"country": ["DE"]}}, "bad_type"),  # 7 is a category "7"
    ({**GOOD, "features": [1, 2]}, "bad_type"),
    ({**GOOD, "prediction": [0.1]}, "bad_type"),
])
@pytest.mark.parametrize("warm", [False, True])  # True: the typed single-model path goes first
def test_each_bad_line_is_counted_once_and_good_lines_survive(line: object, reason: str,
                                                               warm: bool) -> None:
    dec = _decoder()
    if warm:
        assert dec.decode(_lines(GOOD)).rejected == Counter()
    good2 = {**GOOD, "id": "b"}
    out = dec.decode(_lines(GOOD, line, good2))
    assert out.rejected == Counter({reason: 1})
    batch = out.models[("fraud", "1")]
    assert batch.ids == ["a", "b"]
    assert batch.numeric is not None and batch.numeric.tolist() == [[12.5, 30.0]] * 2


@pytest.mark.parametrize("warm", [False, True])
def test_too_many_features(warm: bool) -> None:
    dec = _decoder(max_features=3)
    if warm:
        assert dec.decode(_lines(GOOD)).rejected == Counter()
    many = {**GOOD, "features": {f"x{i}": i for i in range(4)}}
    out = dec.decode(_lines(GOOD, many))
    assert out.rejected == Counter({"too_many_features": 1})
    assert len(out.models[("fraud", "1")]) == 1


def test_columns_with_missing_values_and_routing_of_mixed_models() -> None:
    dec = _decoder()
    lines = _lines(
        {"v": 1, "model": "fraud", "version": "2", "features": {"amount": 1.0, "zzz": "x"},
         "prediction": 0.1},
        {"v": 1, "model": "price", "features": {"rooms": 3}, "prediction": 250000.0},
        {"v": 1, "model": "fraud", "version": "2", "features": None, "prediction": "1"},
        {"v": 1, "model": "fraud", "version": "2", "id": "q", "label": 0},
    )
    out = dec.decode(lines)
    assert out.rejected == Counter()
    f2 = out.models[("fraud", "2")]
    assert f2.numeric is not None and f2.categorical is not None
    np.testing.assert_array_equal(f2.numeric, [[1.0, np.nan], [np.nan, np.nan],
                                               [np.nan, np.nan]])
    assert f2.categorical[0].tolist() == [None, None, None]
    assert f2.is_prediction is not None and f2.is_prediction.tolist() == [True, True, False]
    price = out.models[("price", "7")]
    assert price.numeric is not None and price.numeric.tolist() == [[3.0]]


def test_fast_path_and_generic_path_agree() -> None:
    dec = _decoder()
    events = fraud_events(50)
    lines = [json.dumps(e).encode() for e in events]
    first = dec.decode(lines)  # generic: learns the model
    second = dec.decode(lines)  # typed single pass
    a, b = first.models[("fraud", "1")], second.models[("fraud", "1")]
    assert a.numeric is not None and b.numeric is not None
    np.testing.assert_array_equal(a.numeric, b.numeric)
    sent = [[e["features"]["amount"], e["features"]["age"]] for e in events]
    np.testing.assert_array_equal(b.numeric, sent)  # and both equal what was sent
    assert [c.tolist() for c in a.categorical] == [c.tolist() for c in b.categorical]
    assert b.categorical[0].tolist() == [e["features"]["country"] for e in events]
    assert a.ids == b.ids == [e["id"] for e in events]
    # the typed path falls back when another model shows up
    mixed = [*lines[:3], json.dumps({"v": 1, "model": "price", "prediction": 1.0}).encode()]
    out = dec.decode(mixed)
    assert len(out.models[("fraud", "1")]) == 3 and len(out.models[("price", "7")]) == 1


@pytest.mark.parametrize("warm", [False, True])
def test_crlf_and_padded_lines_decode_and_a_blank_line_is_malformed(warm: bool) -> None:
    dec = _decoder()
    if warm:
        assert dec.decode(_lines(GOOD)).rejected == Counter()
    lines = [json.dumps(GOOD).encode() + b"\r", b"  " + json.dumps({**GOOD, "id": "b"}).encode(),
             b" \t "]
    out = dec.decode(lines)
    assert out.rejected == Counter({"malformed_json": 1})
    batch = out.models[("fraud", "1")]
    assert batch.ids == ["a", "b"]
    assert batch.numeric is not None and batch.numeric.tolist() == [[12.5, 30.0]] * 2


def test_numeric_columns_with_missing_values_on_the_typed_path() -> None:
    dec = _decoder()
    assert dec.decode(_lines(GOOD)).rejected == Counter()  # warm: the typed path goes next
    lines = _lines({**GOOD, "features": {"age": 7, "country": None}},
                   {**GOOD, "id": "b", "features": None},
                   {**GOOD, "id": "c", "features": {"amount": 1.5, "country": "FR"}})
    batch = dec.decode(lines).models[("fraud", "1")]
    np.testing.assert_array_equal(batch.numeric, [[np.nan, 7.0], [np.nan, np.nan],
                                                  [1.5, np.nan]])
    assert batch.categorical[0].tolist() == [None, None, "FR"]


def test_column_take_keeps_first_appearance_order() -> None:
    column = Column.of(["A", "B", "B", None, "A", "C"])
    assert column.values == ["A", "B", None, "C"]
    part = column.take(np.array([False, True, False, True, True, False]))
    assert part.tolist() == ["B", None, "A"] and part.values == ["B", None, "A"]


@pytest.mark.parametrize("warm", [False, True])
def test_features_null_is_no_features_on_both_paths(warm: bool) -> None:
    dec = _decoder()
    if warm:
        assert dec.decode(_lines(GOOD)).rejected == Counter()
    label = {"v": 1, "model": "fraud", "version": "1", "id": "a", "label": 1, "features": None}
    out = dec.decode(_lines(GOOD, label))
    batch = out.models[("fraud", "1")]
    assert out.rejected == Counter()
    assert batch.is_prediction.tolist() == [True, False]  # the label joins, it is no prediction
    nothing = {"v": 1, "model": "fraud", "version": "1", "features": None}
    out = dec.decode(_lines(GOOD, nothing))
    assert out.rejected == Counter({"missing_field": 1})
