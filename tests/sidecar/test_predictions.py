from __future__ import annotations

import math
from collections import Counter

import msgspec
import numpy as np

from exporter.config.model import PredictionConfig
from exporter.sidecar.ingest.decode import Envelope, PredictionValue
from exporter.sidecar.predictions import PredictionParser


def _events(*predictions: object) -> list[PredictionValue]:
    """The predictions as the tap protocol decodes them."""
    return [msgspec.json.decode(msgspec.json.encode({"v": 1, "model": "m", "prediction": p}),
                                type=Envelope).prediction for p in predictions]


def test_binary_scores_threshold_at_one_half() -> None:
    p = PredictionParser(PredictionConfig("classification", ("no", "yes")))
    _, classes, probas, ok = p.predictions(_events(0.2, 0.5, None, 0.99))
    assert classes[[0, 1, 3]].tolist() == [0.0, 1.0, 1.0] and math.isnan(classes[2])
    assert ok.all() and np.isnan(probas).all()


def test_multiclass_names_and_probabilities() -> None:
    p = PredictionParser(PredictionConfig("classification", ("a", "b", "c")))
    _, classes, probas, ok = p.predictions(_events(
        "b", {"a": 0.1, "b": 0.2, "c": 0.7}, "zz", {"a": 0.5, "q": 0.5}, {"a": 1.5}, 0.4))
    assert ok.tolist() == [True, True, False, False, False, True]
    assert classes[:2].tolist() == [1.0, 2.0]
    assert probas[1].tolist() == [0.1, 0.2, 0.7]
    assert math.isnan(classes[5])  # one score says nothing about three classes


def test_labels() -> None:
    c = PredictionParser(PredictionConfig("classification", ("0", "1")))
    assert [c.label_value(x) for x in (1.0, 0.0, "1", 1.5, "2")] == [1.0, 0.0, 1.0, None, None]
    r = PredictionParser(PredictionConfig("regression"))
    assert [r.label_value(x) for x in (3.5, "3.5", float("inf"))] == [3.5, None, None]
    _, _, _, ok = r.predictions(_events(1.0, "big", {"x": 1.0}))
    assert ok.tolist() == [True, False, False]


def test_strings_spelling_non_finite_numbers_are_bad_values_not_numbers() -> None:
    r = PredictionParser(PredictionConfig("regression"))
    rejected: Counter[str] = Counter()
    values, _, _, ok = r.predictions(
        _events(1.5, "Infinity", "NaN", "-inf", " nan ", "3.5", None, 2.0), rejected)
    assert ok.tolist() == [True, False, False, False, False, False, True, True]
    assert rejected == Counter({"bad_value": 4, "bad_type": 1})  # "3.5" is a string, not a number
    assert values[[0, 7]].tolist() == [1.5, 2.0]
    c = PredictionParser(PredictionConfig("classification", ("0", "1")))
    rejected = Counter()
    values, classes, _, ok = c.predictions(_events(0.25, "Infinity", "1"), rejected)
    assert ok.tolist() == [True, False, True] and rejected == Counter({"bad_value": 1})
    assert classes[[0, 2]].tolist() == [0.0, 1.0]  # "1" is the class name, not a score
    assert values[0] == 0.25 and math.isnan(values[2])


def test_label_rejection_reasons() -> None:
    r = PredictionParser(PredictionConfig("regression"))
    assert [r.label_rejection(x) for x in ("Infinity", "-NaN", "big")] == [
        "bad_value", "bad_value", "bad_type"]
    c = PredictionParser(PredictionConfig("classification", ("0", "1")))
    assert [c.label_rejection(x) for x in ("inf", 1.5, "2")] == ["bad_value", "bad_type",
                                                                  "bad_type"]
