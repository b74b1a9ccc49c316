"""Page-Hinkley on the sidecar's joined-label errors: a real `mlmon serve` fed over HTTP, its
/metrics against River's ``drift.PageHinkley`` on the same error sequence, across a restart
with the state file; older state files without the detector still load."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.config.model import FeatureConfig, ModelConfig
from exporter.sidecar.persist import capture, encode, restore
from exporter.sidecar.state import SidecarState
from exporter.stats.errordrift import CLASSIFICATION, REGRESSION
from tests.factories import config, price_model
from tests.procs import post_events, serving
from tests.sidecar.threaded import apply
from tests.stats.test_errordrift import normalised_river, standardised_river_run

MLMON = [sys.executable, "-m", "exporter"]
LABELS = {"model": "clf", "version": "1", "detector": "page_hinkley"}


def _config(tmp: Path) -> Path:
    path = tmp / "mlmon.yaml"
    path.write_text("""
compute_interval: 1s
models:
  - name: clf
    version: "1"
    prediction: {kind: classification, classes: ["0", "1"]}
    features: {amount: numeric, country: categorical}
    labels: {window: 1000}
""")
    return path


def _regressor() -> ModelConfig:
    # with a categorical feature too, so that every window of the state file is non-empty
    m = price_model()
    return dataclasses.replace(m, features=(*m.features, FeatureConfig("city", "categorical")))


def _errors(seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return (np.concatenate([rng.random(3000) < 0.1, rng.random(2000) < 0.2])
            .astype(int).tolist())


def _lines(errors: list[int], start: int, seed: int) -> list[str]:
    """Predictions carrying their label; the score's class is wrong exactly where error=1."""
    rng = np.random.default_rng(seed)
    ys = rng.integers(0, 2, len(errors)).tolist()
    out = []
    for i, (y, e) in enumerate(zip(ys, errors, strict=True)):
        cls = 1 - y if e else y
        out.append(json.dumps({"v": 1, "model": "clf", "version": "1", "id": f"r{start + i}",
                               "features": {"amount": 1.0, "country": "DE"},
                               "prediction": 0.8 if cls else 0.2, "label": y}))
    return out


def _river(errors: list[int]) -> tuple[int, float]:
    """River's detection count and statistic (its sum minus the running minimum) on the
    errors standardised by each warm-up's rate (tests/stats/test_errordrift.py)."""
    found, statistic = standardised_river_run([float(e) for e in errors], CLASSIFICATION)
    return len(found), statistic


def _scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for fam in parse_text(text):
        for s in fam.samples:
            if s.name.startswith("mlmon_error_drift") and s.labels == LABELS:
                out[s.name] = s.value
            if s.name == "mlmon_labels_joined_total" and s.labels.get("model") == "clf":
                out[s.name] = s.value
    return out


def _joined(url: str, n: int) -> dict[str, float]:
    deadline = time.monotonic() + 30
    while True:
        got = _scrape(url)
        if got.get("mlmon_labels_joined_total") == n:
            return got
        assert time.monotonic() < deadline, f"only {got} joined"
        time.sleep(0.1)


def _post(url: str, lines: list[str]) -> None:
    for k in range(0, len(lines), 500):  # in order: each POST is taken whole before the next
        status, answer = post_events(url + "/v1/events", lines[k:k + 500])
        assert status == 202 and answer["accepted"] == len(lines[k:k + 500]), answer


def test_real_sidecar_counts_river_detections_across_a_restart(tmp_path: Path) -> None:
    cfg, state = _config(tmp_path), tmp_path / "state.bin"
    errors = _errors(17)
    lines = _lines(errors, 0, 18)
    argv = [*MLMON, "serve", "--config", str(cfg), "--socket", str(tmp_path / "s.sock"),
            "--http", "127.0.0.1:0", "--state-file", str(state)]
    half = 3300  # mid-excursion after the rise at 3,000: the statistic near the threshold
    with serving(argv, tmp_path / "first.log", "/readyz") as served:
        first = _scrape(served.url)  # exported at 0 from start-up
        assert first["mlmon_error_drift_detections_total"] == 0
        assert first["mlmon_error_drift_threshold"] == CLASSIFICATION.threshold
        _post(served.url, lines[:half])
        got = _joined(served.url, half)
        count, stat = _river(errors[:half])
        assert count == 0 and stat > 10  # no detection yet; the restart must carry the sum
        assert got["mlmon_error_drift_detections_total"] == count
        assert got["mlmon_error_drift_statistic"] == pytest.approx(stat, abs=1e-9)
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=20) == 0
    with serving(argv, tmp_path / "second.log", "/readyz") as served:
        with urllib.request.urlopen(served.url + "/v1/status", timeout=10) as resp:
            status = json.loads(resp.read())["models"][0]["error_drift"]
        assert (status["detections"], status["errors"]) == (count, half)
        restored = _scrape(served.url)
        assert restored["mlmon_error_drift_detections_total"] == count
        assert restored["mlmon_error_drift_statistic"] == pytest.approx(stat, abs=1e-9)
        _post(served.url, lines[half:])
        got = _joined(served.url, len(lines))
    count, stat = _river(errors)
    print(f"error 10 % x 3000 then 20 % x 2000: sidecar detections "
          f"{got['mlmon_error_drift_detections_total']:g}, River {count}; statistic "
          f"{got['mlmon_error_drift_statistic']:.4f}, River {stat:.4f}")
    assert count >= 1  # the doubled rate is detected
    assert got["mlmon_error_drift_detections_total"] == count
    assert got["mlmon_error_drift_statistic"] == pytest.approx(stat, abs=1e-9)


def test_regressor_errors_joined_later_match_river_on_the_scaled_stream() -> None:
    m = _regressor()
    store = SidecarState(config(m), {})
    rng = np.random.default_rng(8)
    n = 4000
    truth = rng.normal(100, 10, n)
    noise = np.concatenate([rng.normal(0, 2.0, 2500), rng.normal(0, 4.0, n - 2500)])
    pred = np.round(truth + noise, 6)
    mv = {"v": 1, "model": m.name, "version": m.version}
    preds = [{**mv, "id": f"p{i}", "features": {"rooms": 3.0, "city": "x"}, "prediction": float(v)}
             for i, v in enumerate(pred)]
    # labels arrive in another order than the predictions (each up to ~200 places off)
    order = np.argsort(np.arange(n) + rng.uniform(0, 200, n), kind="stable")
    labels = [{**mv, "id": f"p{i}", "label": float(truth[i])} for i in order.tolist()]
    assert apply(store, preds, now=1000.0) == Counter()
    for k in range(0, n, 700):
        assert apply(store, labels[k:k + 700], now=1001.0 + k) == Counter()
    errors = [abs(float(truth[i]) - float(pred[i])) for i in order.tolist()]
    expected = normalised_river(errors, REGRESSION)
    ed = store.models[m.key].error_drift
    assert ed is not None and ed.errors == n
    print(f"regressor MAE x2 at label 2500: detections {ed.detections}, River {len(expected)}")
    assert expected and ed.detections == len(expected)


def test_state_file_from_before_the_detector_still_loads(tmp_path: Path) -> None:
    m = _regressor()
    store = SidecarState(config(m), {})
    mv = {"v": 1, "model": m.name, "version": m.version}
    apply(store, [{**mv, "id": f"p{i}", "features": {"rooms": 3.0, "city": "x"},
                   "prediction": 1.0, "label": 1.5} for i in range(300)], now=1000.0)
    doc = capture(store)
    for model in doc["models"]:
        del model["error_drift"]  # the document as mlmon wrote it before this change
    path = tmp_path / "old.state"
    path.write_bytes(encode(doc))
    fresh = SidecarState(config(m), {})
    assert restore(fresh, path)
    restored = fresh.models[m.key]
    assert restored.join_counters.joined == 300  # the rest of the state came back
    assert restored.error_drift is not None and restored.error_drift.errors == 0
    assert not list(tmp_path.glob("old.state.corrupt-*"))


def test_unreadable_detector_state_restarts_the_detector_only(tmp_path: Path) -> None:
    m = _regressor()
    store = SidecarState(config(m), {})
    mv = {"v": 1, "model": m.name, "version": m.version}
    apply(store, [{**mv, "id": f"p{i}", "features": {"rooms": 3.0, "city": "x"},
                   "prediction": 1.0, "label": 1.5 + (i % 7)} for i in range(300)], now=1000.0)
    doc = capture(store)
    doc["models"][0]["error_drift"]["scale"] = -3.0  # not a scale
    path = tmp_path / "bad.state"
    path.write_bytes(encode(doc))
    fresh = SidecarState(config(m), {})
    assert restore(fresh, path)
    restored = fresh.models[m.key]
    assert restored.join_counters.joined == 300
    assert restored.error_drift is not None and restored.error_drift.errors == 0
    assert store.models[m.key].error_drift.errors == 300  # type: ignore[union-attr]
