"""`mlmon batch` ROC AUC, Brier score and ECE: scipy's Mann-Whitney U and numpy loops as the
oracles, on both sides of the exact-AUC cap and over many chunks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from exporter.batch import column
from exporter.batch.jsonout import report_dict
from exporter.batch.quality import FINE_BINS, ScoreQuality
from exporter.batch.run import BatchOptions, run_batch
from exporter.cli import main
from exporter.profile.files import load_profile
from exporter.profile.model import SCHEMA_VERSION, Profile
from exporter.stats.thresholds import Thresholds
from tests.batch.conftest import run_json
from tests.factories import categorical_profile, numeric_profile, write_csv, write_profile
from tests.oracle import ece_loop


def _profile(tmp_path: Path, categorical_prediction: bool = False) -> Path:
    x = np.linspace(0.0, 1.0, 50)
    prediction = (categorical_profile("__prediction__", ["a", "b", "c"] * 10, ["a", "b", "c"])
                  if categorical_prediction else numeric_profile("__prediction__", x))
    p = Profile(SCHEMA_VERSION, "m", "1", 50, (numeric_profile("x", x),), prediction, "")
    return write_profile(p, tmp_path / "profile.json")


def _mw_auc(s: np.ndarray, y: np.ndarray) -> float:
    return float(mannwhitneyu(s[y], s[~y]).statistic) / (y.sum() * (~y).sum())


def _scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.35
    s = np.clip(np.round(rng.normal(0.4 + 0.2 * y, 0.2), 3), 0, 1)  # many ties
    return s, y


def test_binary_scores_by_hand(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "b.csv", {
        "x": [0.1] * 6,
        "label": [1, 1, 0, 0, 0, None],
        "prediction": [0.9, 0.4, 0.4, 0.1, 0.8, 0.5],
    })
    perf = run_json(_profile(tmp_path), data)["performance"]
    # positives .9, .4; negatives .4, .1, .8: (3 + 1 + 0.5) / 6 = 0.75
    assert perf["roc_auc"] == 0.75 and perf["roc_auc_method"] == "exact"
    # (.1^2 + .6^2 + .4^2 + .1^2 + .8^2) / 5 = (0.01 + 0.36 + 0.16 + 0.01 + 0.64) / 5
    assert perf["brier_score"] == pytest.approx(1.18 / 5, abs=1e-15)
    # confidences .9 T, .6 F (.4 -> class 0, label 1), .6 T, .9 T, .8 F
    # bin 9 {.9, .9}: |1 - .9| = .1; bin 6 {.6, .6}: |.5 - .6| = .1; bin 8 {.8}: .8
    assert perf["expected_calibration_error"] == pytest.approx(
        (2 * 0.1 + 2 * 0.1 + 0.8) / 5, abs=1e-15)
    print(f"by hand: AUC {perf['roc_auc']}, Brier {perf['brier_score']}, "
          f"ECE {perf['expected_calibration_error']}")


def _streamed(monkeypatch: pytest.MonkeyPatch, profile: Path, data: Path,
              cap: int) -> dict[str, Any]:
    monkeypatch.setattr(column, "SAMPLE_CAP", cap)
    report = run_batch(load_profile(profile), None, BatchOptions(
        data, "prediction", "label", False, chunk_rows=97), Thresholds())
    perf: dict[str, Any] = report_dict(report)["performance"]
    return perf


@pytest.mark.parametrize("cap", [10_000, 500])  # above and below the 3000 labelled rows
def test_both_sides_of_the_cap_over_many_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                cap: int) -> None:
    s, y = _scores(3000, 21)
    data = write_csv(tmp_path / "s.csv", {"x": [0.5] * len(s), "label": y.astype(int).tolist(),
                                          "prediction": s.tolist()})
    perf = _streamed(monkeypatch, _profile(tmp_path), data, cap)
    exact = _mw_auc(s, y)
    if cap > len(s):
        assert perf["roc_auc_method"] == "exact"
        assert abs(perf["roc_auc"] - exact) <= 1e-12
    else:
        assert perf["roc_auc_method"] == "binned" and perf["roc_auc_bins"] == FINE_BINS
        # scores have 3 decimals: 100,000 bins separate them all, so binned = exact
        assert abs(perf["roc_auc"] - exact) <= 1e-12
        assert abs(perf["roc_auc"] - exact) <= perf["roc_auc_error_bound"] + 1e-12
    assert perf["brier_score"] == pytest.approx(np.mean((s - y) ** 2), abs=1e-12)
    conf = np.maximum(s, 1 - s)
    assert perf["expected_calibration_error"] == pytest.approx(
        ece_loop(conf, (s >= 0.5) == y), abs=1e-12)
    print(f"cap {cap}: {perf['roc_auc_method']} AUC {perf['roc_auc']:.12f}, "
          f"Mann-Whitney {exact:.12f}")


def test_beyond_the_real_cap_continuous_scores() -> None:
    """300,000 continuous scores (over SAMPLE_CAP): binned AUC within its bound of exact."""
    rng = np.random.default_rng(5)
    n = 300_000
    y = rng.random(n) < 0.2
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y)))
    acc = ScoreQuality()
    for part in np.array_split(np.arange(n), 7):
        acc.add(s[part], y[part])
    q = acc.result(calibrated=True)
    assert q is not None and q.roc_auc is not None and q.roc_auc_error_bound is not None
    exact = _mw_auc(s, y)
    assert q.roc_auc_method == "binned"
    assert abs(q.roc_auc - exact) <= q.roc_auc_error_bound
    assert q.roc_auc_error_bound < 1e-4
    assert q.brier == pytest.approx(np.mean((s - y) ** 2), rel=1e-12)
    print(f"n={n}: binned AUC {q.roc_auc:.9f}, exact {exact:.9f}, "
          f"|diff| {abs(q.roc_auc - exact):.1e} <= bound {q.roc_auc_error_bound:.1e}")


def test_probability_objects_multiclass(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    names = ["a", "b", "c"]
    n = 600
    probs = rng.dirichlet([1, 1, 1], n)
    label = rng.integers(0, 3, n)
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"x": 0.5, "label": names[k], "prediction": {
        c: float(v) for c, v in zip(names, p, strict=True)}}) + "\n"
        for k, p in zip(label, probs, strict=True)))
    perf = run_json(_profile(tmp_path, categorical_prediction=True), path)["performance"]
    onehot = np.eye(3)[label]
    assert perf["brier_score"] == pytest.approx(
        np.mean(np.sum((probs - onehot) ** 2, axis=1)), abs=1e-12)
    pred = np.argmax(probs, axis=1)
    assert perf["expected_calibration_error"] == pytest.approx(
        ece_loop(probs.max(axis=1), pred == label), abs=1e-12)
    assert perf["roc_auc"] is None


def test_binary_probability_objects_give_the_binary_brier(tmp_path: Path) -> None:
    """A binary model's probability objects get the score form (s − y)² of P(classes[1]),
    as the sidecar exports it, not the multi-class sum (exactly twice as large)."""
    rng = np.random.default_rng(9)
    n = 500
    s = rng.random(n)
    y = rng.random(n) < s
    names = ["no", "yes"]
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps({"x": 0.5, "label": names[int(t)], "prediction": {
        "no": float(1 - v), "yes": float(v)}}) + "\n" for v, t in zip(s, y, strict=True)))
    config = tmp_path / "mlmon.yaml"
    config.write_text("models:\n  - name: m\n    version: '1'\n    profile: p.json\n"
                      "    prediction: {kind: classification, classes: ['no', 'yes']}\n"
                      "    features: {x: numeric}\n")
    p = Profile(SCHEMA_VERSION, "m", "1", 50, (numeric_profile("x", np.linspace(0, 1, 50)),),
                categorical_profile("__prediction__", names * 10, names), "")
    profile = write_profile(p, tmp_path / "p.json")
    out = tmp_path / "r.json"
    assert main(["batch", "--profile", str(profile), "--config", str(config), "--input",
                 str(path), "--format", "json", "--out", str(out)]) == 0
    perf = json.loads(out.read_text())["performance"]
    assert perf["brier_score"] == pytest.approx(float(np.mean((s - y) ** 2)), abs=1e-12)
    # and their ROC AUC from P("yes"), as the sidecar exports it
    assert perf["roc_auc_method"] == "exact"
    assert perf["roc_auc"] == pytest.approx(_mw_auc(s, y), abs=1e-12)


def test_text_html_and_prometheus_outputs(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    s, y = _scores(400, 3)
    data = write_csv(tmp_path / "s.csv", {"x": [0.5] * len(s), "label": y.astype(int).tolist(),
                                          "prediction": s.tolist()})
    profile = _profile(tmp_path)
    auc = _mw_auc(s, y)
    for fmt in ("text", "html", "prometheus"):
        out = tmp_path / f"r.{fmt}"
        assert main(["batch", "--profile", str(profile), "--input", str(data),
                     "--format", fmt, "--out", str(out)]) == 0
        text = out.read_text()
        if fmt == "prometheus":
            line = next(ln for ln in text.splitlines() if ln.startswith("mlmon_roc_auc_ratio{"))
            assert float(line.rsplit(" ", 1)[1]) == pytest.approx(auc, abs=1e-12)
            assert "mlmon_brier_score{" in text
            assert "mlmon_expected_calibration_error_ratio{" in text
        else:
            assert f"{auc:.4g}" in text, fmt


def test_chunking_does_not_change_a_digit(tmp_path: Path) -> None:
    s, y = _scores(5000, 17)
    s = s + np.random.default_rng(1).random(5000) * 1e-4  # continuous: no two sums alike
    s = np.clip(s, 0, 1)
    data = write_csv(tmp_path / "s.csv", {"x": [0.5] * len(s), "label": y.astype(int).tolist(),
                                          "prediction": s.tolist()})
    profile = load_profile(_profile(tmp_path))
    got = [report_dict(run_batch(profile, None, BatchOptions(
        data, "prediction", "label", False, chunk_rows=rows), Thresholds()))["performance"]
        for rows in (7, 333, 100_000)]
    keys = ("roc_auc", "brier_score", "expected_calibration_error")
    assert [tuple(g[k] for k in keys) for g in got] == [tuple(got[0][k] for k in keys)] * 3
    assert got[0]["brier_score"] == pytest.approx(np.mean((s - y) ** 2), abs=1e-15)
