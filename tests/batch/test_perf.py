"""Performance metrics of a labelled batch equal hand computations on tiny files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from exporter.profile.model import SCHEMA_VERSION, Profile
from tests.batch.conftest import run_json
from tests.factories import categorical_profile, numeric_profile, write_csv, write_profile


def _profile(tmp_path: Path, categorical_prediction: bool = False) -> Path:
    x = np.linspace(0.0, 1.0, 50)
    prediction = (categorical_profile("__prediction__", ["a", "b", "c"] * 10, ["a", "b", "c"])
                  if categorical_prediction else numeric_profile("__prediction__", x))
    p = Profile(SCHEMA_VERSION, "m", "1", 50, (numeric_profile("x", x),), prediction, "")
    return write_profile(p, tmp_path / "profile.json")


def test_binary_scores_thresholded_at_half(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "b.csv", {
        "x": [0.1] * 9,
        "label": [1, 1, 1, 0, 0, 0, 1, 0, None],
        "prediction": [0.9, 0.8, 0.3, 0.6, 0.2, 0.1, 0.7, 0.55, 0.5],
    })
    perf = run_json(_profile(tmp_path), data)["performance"]
    # predicted classes 1 1 0 1 0 0 1 1 (row 9 has no label)
    # class 1: TP 3, FP 2, FN 1; class 0: TP 2, FP 1, FN 2
    assert perf["kind"] == "classification" and perf["samples"] == 8
    assert perf["accuracy"] == pytest.approx(5 / 8)
    c1, c0 = perf["classes"]["1"], perf["classes"]["0"]
    assert (c1["precision"], c1["recall"], c1["f1"]) == pytest.approx((3 / 5, 3 / 4, 6 / 9))
    assert (c0["precision"], c0["recall"], c0["f1"]) == pytest.approx((2 / 3, 2 / 4, 4 / 7))
    assert perf["macro"]["precision"] == pytest.approx((3 / 5 + 2 / 3) / 2)
    assert perf["macro"]["recall"] == pytest.approx((3 / 4 + 2 / 4) / 2)
    assert perf["macro"]["f1"] == pytest.approx((6 / 9 + 4 / 7) / 2)
    p_true = [0.9, 0.8, 0.3, 0.4, 0.8, 0.9, 0.7, 0.45]
    assert perf["log_loss"] == pytest.approx(-sum(math.log(p) for p in p_true) / 8)


def test_class_names_multiclass(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "m.csv", {
        "x": [0.5] * 6,
        "label": ["a", "a", "b", "b", "c", "c"],
        "prediction": ["a", "b", "b", "b", "c", "a"],
    })
    perf = run_json(_profile(tmp_path, categorical_prediction=True), data)["performance"]
    assert perf["accuracy"] == pytest.approx(4 / 6)
    got = {c: (v["precision"], v["recall"], v["f1"]) for c, v in perf["classes"].items()}
    assert got == {"a": pytest.approx((1 / 2, 1 / 2, 1 / 2)),
                   "b": pytest.approx((2 / 3, 1.0, 4 / 5)),
                   "c": pytest.approx((1.0, 1 / 2, 2 / 3))}
    assert perf["macro"]["f1"] == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    assert perf["log_loss"] is None


def test_regression_metrics(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "r.csv", {
        "x": [0.5] * 4,
        "label": [2.0, 4.0, 0.0, 5.0],
        "prediction": [3.0, 4.0, 1.0, 3.0],
    })
    perf = run_json(_profile(tmp_path), data)["performance"]
    # errors 1, 0, 1, 2; MAPE over y != 0: (1/2 + 0/4 + 2/5) / 3
    # mean y = 2.75; SS_tot = 0.75² + 1.25² + 2.75² + 2.25² = 14.75; SS_res = 6
    assert perf == {"kind": "regression", "samples": 4, "mae": pytest.approx(1.0),
                    "rmse": pytest.approx(math.sqrt(1.5)), "mape": pytest.approx(0.3),
                    "r2": pytest.approx(1 - 6 / 14.75)}


def test_no_label_column_no_performance(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "n.csv", {"x": [0.5] * 4, "prediction": [0.1, 0.2, 0.3, 0.4]})
    assert run_json(_profile(tmp_path), data)["performance"] is None


def test_named_label_column_absent_is_reported(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "t.csv", {"x": [0.5] * 4, "prediction": [0.1, 0.2, 0.3, 0.4],
                                          "label": [0, 0, 1, 1]})
    assert run_json(_profile(tmp_path), data, "--label-column", "truth")["performance"] is None
    err = capsys.readouterr().err
    assert "t.csv has no column 'truth'; performance not computed" in err


def test_label_column_option(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "o.csv", {"x": [0.5] * 4, "truth": [1, 0, 1, 0],
                                          "score": [0.9, 0.1, 0.2, 0.3]})
    perf = run_json(_profile(tmp_path), data, "--label-column", "truth",
                    "--prediction-column", "score")["performance"]
    assert perf["accuracy"] == pytest.approx(3 / 4)
