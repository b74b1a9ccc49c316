"""CBPE in the sidecar: the estimate over the prediction window (calibrated by the profile's
map, or raw scores), from min_samples predictions, in /metrics and /v1/status and the status
page. Oracles: numpy interpolation of the map and hand sums."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from exporter.config.model import FeatureConfig, ModelConfig, PredictionConfig, WindowConfig
from exporter.profile.model import Profile
from exporter.sidecar.compute import compute
from exporter.sidecar.http import build_app
from exporter.sidecar.persist import restore, save
from exporter.sidecar.runtime import Sidecar
from exporter.sidecar.state import SidecarState
from exporter.stats.calibration import Calibration, CalibrationMap
from exporter.stats.thresholds import Thresholds
from tests.factories import config, fraud_events, fraud_model, fraud_profile
from tests.sidecar.threaded import apply

MAP = CalibrationMap((0.1, 0.4, 0.6, 0.9), (0.0, 0.3, 0.7, 0.95))


def _calibrated(m: ModelConfig) -> Profile:
    return replace(fraud_profile(m), calibration=Calibration(1234, ("0", "1"), (MAP,)))


def _hand_binary(scores: np.ndarray[Any, Any], cal: bool) -> dict[str, float]:
    p = np.interp(scores, MAP.x, MAP.y) if cal else scores
    pos = scores >= 0.5
    tp, fp = p[pos].sum(), (1 - p[pos]).sum()
    fn, tn = p[~pos].sum(), (1 - p[~pos]).sum()
    return {"accuracy": (tp + tn) / len(scores), "precision": tp / (tp + fp),
            "recall": tp / (tp + fn), "f1": 2 * tp / (2 * tp + fp + fn)}


@pytest.mark.parametrize("calibrated", [True, False])
def test_binary_estimate_over_the_window(calibrated: bool) -> None:
    m = fraud_model(window=300, min_samples=100)
    store = SidecarState(config(m), {m.key: _calibrated(m) if calibrated else fraud_profile(m)})
    events = fraud_events(500, seed=4)
    assert apply(store, events[:99]) == {}
    assert compute(store, clock=lambda: 1001.0).models[m.key].estimate is None  # < min_samples
    assert apply(store, events[99:]) == {}
    est = compute(store, clock=lambda: 1001.0).models[m.key].estimate
    assert est is not None and est.samples == 300 and est.calibrated == calibrated
    window = np.array([e["prediction"] for e in events[-300:]], dtype=np.float64)
    hand = _hand_binary(window, calibrated)
    print(f"\ncalibrated={calibrated}: estimate {est.accuracy:.6f} hand {hand['accuracy']:.6f}")
    assert est.accuracy == pytest.approx(hand["accuracy"], abs=1e-12)
    assert est.precision == pytest.approx(hand["precision"], abs=1e-12)
    assert est.recall == pytest.approx(hand["recall"], abs=1e-12)
    assert est.f1 == pytest.approx(hand["f1"], abs=1e-12)


def _three_classes() -> ModelConfig:
    return ModelConfig(name="kind", version="2",
                       prediction=PredictionConfig("classification", ("a", "b", "c")),
                       features=(FeatureConfig("x", "numeric"),),
                       window=WindowConfig(size=200), thresholds=Thresholds(min_samples=50))


def test_multiclass_estimate_keeps_probability_rows() -> None:
    m = _three_classes()
    store = SidecarState(config(m), {})
    rng = np.random.default_rng(8)
    proba = rng.dirichlet([2, 1, 1], size=260).round(4)
    events = [{"v": 1, "model": "kind", "version": "2", "features": {"x": 1.0},
               "prediction": dict(zip("abc", row.tolist(), strict=True))} for row in proba]
    assert apply(store, events) == {}
    est = compute(store, clock=lambda: 1001.0).models[m.key].estimate
    assert est is not None and not est.calibrated and est.precision is None
    last = proba[-200:]
    assert est.samples == 200
    assert est.accuracy == pytest.approx(float(last.max(axis=1).mean()), abs=1e-12)


def test_multiclass_estimate_survives_a_restart(tmp_path: Path) -> None:
    """The probability window is in the state file: after a restart the estimate is the
    one before it (it used to wait for min_samples new predictions)."""
    m = _three_classes()
    rng = np.random.default_rng(9)
    proba = rng.dirichlet([2, 1, 1], size=120).round(4)
    events = [{"v": 1, "model": "kind", "version": "2", "features": {"x": 1.0},
               "prediction": dict(zip("abc", row.tolist(), strict=True))} for row in proba]
    before = SidecarState(config(m), {})
    assert apply(before, events) == {}
    save(before, tmp_path / "state.bin")
    after = SidecarState(config(m), {})
    assert restore(after, tmp_path / "state.bin")
    est = compute(after, clock=lambda: 1001.0).models[m.key].estimate
    assert est is not None and est.samples == 120
    assert est.accuracy == pytest.approx(float(proba.max(axis=1).mean()), abs=1e-12)


async def _served(profile_calibrated: bool) -> tuple[dict[str, Any], str, str]:
    m = fraud_model(window=300, min_samples=100)
    prof = _calibrated(m) if profile_calibrated else fraud_profile(m)
    sidecar = Sidecar(config(m), {m.key: prof})
    assert apply(sidecar.store, fraud_events(300, seed=4)) == {}
    await sidecar.compute_now()
    server = TestServer(build_app(sidecar), host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession() as http:
            async with http.get(server.make_url("/v1/status")) as r:
                status = json.loads(await r.read())
            async with http.get(server.make_url("/metrics")) as r:
                metrics = await r.text()
            async with http.get(server.make_url("/")) as r:
                page = await r.text()
    finally:
        await server.close()
    return status, metrics, page


@pytest.mark.parametrize("calibrated", [True, False])
def test_status_metrics_and_page_say_what_the_estimate_rests_on(calibrated: bool) -> None:
    status, metrics, page = asyncio.run(_served(calibrated))
    model = status["models"][0]
    basis = "calibrated on 1234 reference rows" if calibrated \
        else "raw scores (no reference labels)"
    assert model["estimate_basis"] == basis
    assert basis in page and "Estimated performance" in page
    window = np.array([e["prediction"] for e in fraud_events(300, seed=4)], dtype=np.float64)
    hand = _hand_binary(window, calibrated)
    assert model["estimate"]["accuracy"] == pytest.approx(hand["accuracy"], abs=1e-12)
    values = {s.name: s.value for fam in text_string_to_metric_families(metrics)
              for s in fam.samples if s.name.startswith("mlmon_estimated_")}
    for k in ("accuracy", "precision", "recall", "f1"):
        assert values[f"mlmon_estimated_{k}_ratio"] == pytest.approx(hand[k], abs=1e-9)
