"""Performance metrics of a labelled batch equal hand computations on tiny files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exporter.batch import column, perfacc
from exporter.batch.jsonout import report_dict
from exporter.batch.run import BatchOptions, run_batch
from exporter.cli import main
from exporter.profile.files import load_profile
from exporter.profile.model import SCHEMA_VERSION, Profile
from exporter.stats.thresholds import Thresholds
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


# Files over many reader chunks, with the cap small enough that the per-row inputs are
# folded into running sums: the metrics still equal numpy's over every row.

def _streamed(monkeypatch: pytest.MonkeyPatch, profile: Path, data: Path,
              chunk_rows: int = 101) -> Any:
    monkeypatch.setattr(column, "SAMPLE_CAP", 300)
    report = run_batch(load_profile(profile), None, BatchOptions(
        data, "prediction", "label", False, chunk_rows=chunk_rows), Thresholds())
    return report_dict(report)["performance"]


def test_binary_scores_over_many_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    n = 5000
    score = np.round(rng.random(n), 4)
    label = (rng.random(n) < score).astype(int)
    data = write_csv(tmp_path / "s.csv", {"x": [0.5] * n, "label": label.tolist(),
                                          "prediction": score.tolist()})
    perf = _streamed(monkeypatch, _profile(tmp_path), data)
    pred = (score >= 0.5).astype(int)
    assert perf["samples"] == n
    assert perf["accuracy"] == pytest.approx(np.mean(pred == label), rel=1e-15)
    for c in (0, 1):
        tp = np.sum((pred == c) & (label == c))
        got = perf["classes"][str(c)]
        assert got["precision"] == pytest.approx(tp / np.sum(pred == c), rel=1e-15)
        assert got["recall"] == pytest.approx(tp / np.sum(label == c), rel=1e-15)
    p_true = np.clip(np.where(label == 1, score, 1 - score), 1e-15, 1 - 1e-15)
    assert perf["log_loss"] == pytest.approx(-np.mean(np.log(p_true)), rel=1e-12)


def test_probabilities_over_many_chunks(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(12)
    n = 2000
    names = ["a", "b", "c"]
    probs = rng.dirichlet([1, 1, 1], n)
    label = rng.integers(0, 3, n)
    rows = [{"x": 0.5, "label": names[k],
             "prediction": {c: float(v) for c, v in zip(names, p, strict=True)
                            if not (c == "c" and i % 7 == 0)}}  # "c" absent: p = 0
            for i, (k, p) in enumerate(zip(label, probs, strict=True))]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    perf = _streamed(monkeypatch, _profile(tmp_path, categorical_prediction=True), path)
    p = probs.copy()
    p[::7, 2] = 0.0
    pred = np.argmax(p, axis=1)
    assert perf["samples"] == n
    assert perf["accuracy"] == pytest.approx(np.mean(pred == label), rel=1e-15)
    p_true = np.clip(p[np.arange(n), label], 1e-15, 1 - 1e-15)
    assert perf["log_loss"] == pytest.approx(-np.mean(np.log(p_true)), rel=1e-12)


def test_regression_over_many_chunks_on_a_large_offset(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(13)
    n = 4000
    y = 1e6 + rng.normal(0, 3, n)
    y_hat = y + rng.normal(0.2, 1.0, n)
    data = write_csv(tmp_path / "r.csv", {"x": [0.5] * n, "label": y.tolist(),
                                          "prediction": y_hat.tolist()})
    perf = _streamed(monkeypatch, _profile(tmp_path), data)
    e = y - y_hat
    assert perf["kind"] == "regression" and perf["samples"] == n
    assert perf["mae"] == pytest.approx(np.mean(np.abs(e)), rel=1e-12)
    assert perf["rmse"] == pytest.approx(np.sqrt(np.mean(e * e)), rel=1e-12)
    assert perf["mape"] == pytest.approx(np.mean(np.abs(e) / np.abs(y)), rel=1e-12)
    r2 = 1 - np.sum(e * e) / np.sum((y - y.mean()) ** 2)
    assert perf["r2"] == pytest.approx(r2, rel=1e-9)


def test_the_last_chunk_can_change_the_task(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """0/1 labels and scores until the last row, whose label 2 makes it a regression."""
    rng = np.random.default_rng(14)
    n = 3000
    score = rng.random(n)
    label = (rng.random(n) < score).astype(float)
    label[-1] = 2.0
    data = write_csv(tmp_path / "t.csv", {"x": [0.5] * n, "label": label.tolist(),
                                          "prediction": score.tolist()})
    perf = _streamed(monkeypatch, _profile(tmp_path), data)
    e = label - score
    assert perf["kind"] == "regression"
    assert perf["rmse"] == pytest.approx(np.sqrt(np.mean(e * e)), rel=1e-12)


def test_more_classes_than_a_confusion_holds_is_an_input_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(perfacc, "MAX_CLASSES", 4)
    data = write_csv(tmp_path / "k.csv", {"x": [0.5] * 6, "label": list("abcdef"),
                                          "prediction": list("abcdef")})
    profile = _profile(tmp_path, categorical_prediction=True)
    assert main(["batch", "--profile", str(profile), "--input", str(data)]) == 2
    assert "more than 4 distinct classes" in capsys.readouterr().err
