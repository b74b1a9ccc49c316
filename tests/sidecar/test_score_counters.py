"""AUC, Brier and ECE over the sidecar's joined pairs, the fleet-AUC score counters on
/metrics, and their persistence; oracles: scipy's Mann-Whitney U and numpy loops."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families as parse_text
from scipy.stats import mannwhitneyu

from exporter.config.model import (
    FeatureConfig,
    LabelConfig,
    ModelConfig,
    PredictionConfig,
    WindowConfig,
)
from exporter.sidecar.compute import compute
from exporter.sidecar.http import build_app
from exporter.sidecar.metrics import RuntimeStats, SidecarCollector
from exporter.sidecar.persist import restore, save
from exporter.sidecar.runtime import Sidecar
from exporter.sidecar.snapshot import Snapshot
from exporter.sidecar.state import SidecarState
from exporter.stats.thresholds import Thresholds
from tests.factories import config, fraud_model, fraud_profile, price_model
from tests.oracle import ece_loop
from tests.sidecar.threaded import apply

EDGES = np.arange(51) / 50  # the documented 50 bins on [0, 1], edges k/50


def _events(n: int, seed: int) -> tuple[list[dict[str, object]], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    s = np.clip(np.round(rng.normal(0.35 + 0.25 * y, 0.18), 3), 0, 1)
    preds: list[dict[str, object]] = [
        {"v": 1, "model": "fraud", "version": "1", "id": f"p{i}", "prediction": float(v)}
        for i, v in enumerate(s)]
    return preds, s, y


def _store(regressor: bool = True) -> SidecarState:
    m = fraud_model(min_samples=100, window=5000)
    models = (m, price_model()) if regressor else (m,)
    return SidecarState(config(*models), {m.key: fraud_profile(m)})


def _feed(store: SidecarState, n: int = 1200, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    preds, s, y = _events(n, seed)
    labels = [{"v": 1, "model": "fraud", "version": "1", "id": f"p{i}", "label": int(v)}
              for i, v in enumerate(y)]
    # a third of the labels come before their prediction (early), the rest after
    k = n // 3
    assert apply(store, labels[:k], now=1000.0) == Counter()
    assert apply(store, preds, now=1001.0) == Counter()
    assert apply(store, labels[k:], now=1002.0) == Counter()
    return s, y


def test_snapshot_auc_brier_ece_equal_the_oracles() -> None:
    store = _store()
    s, y = _feed(store)
    ms = compute(store, clock=lambda: 1003.0).models[("fraud", "1")]
    q = ms.probability_quality
    assert q is not None and q.samples == len(s) == ms.performance_samples
    u = mannwhitneyu(s[y == 1], s[y == 0]).statistic
    auc = float(u) / ((y == 1).sum() * (y == 0).sum())
    brier = float(np.mean((s - y) ** 2))
    conf = np.maximum(s, 1 - s)
    ece = ece_loop(conf, (s >= 0.5).astype(int) == y)
    assert q.roc_auc is not None and abs(q.roc_auc - auc) <= 1e-12
    assert q.brier == pytest.approx(brier, abs=1e-12)
    assert q.ece == pytest.approx(ece, abs=1e-12)
    print(f"sidecar window n={q.samples}: AUC {q.roc_auc:.6f} (scipy {auc:.6f}), "
          f"Brier {q.brier:.6f} (numpy {brier:.6f}), ECE {q.ece:.6f} (loop {ece:.6f})")


def test_one_class_only_has_no_auc_but_brier_and_ece() -> None:
    store = _store()
    apply(store, [{"v": 1, "model": "fraud", "version": "1", "id": f"x{i}",
                   "prediction": 0.1 * i, "label": 0} for i in range(5)])
    q = compute(store, clock=lambda: 1003.0).models[("fraud", "1")].probability_quality
    assert q is not None and q.roc_auc is None
    assert q.brier == pytest.approx(np.mean((0.1 * np.arange(5)) ** 2), abs=1e-15)


def _scrape(store: SidecarState, snap: Snapshot) -> dict[tuple[str, tuple[tuple[str, str], ...]],
                                                         float]:
    reg = CollectorRegistry()
    reg.register(SidecarCollector(store, lambda: snap, RuntimeStats(), lambda: 0, 10))
    out = {}
    for fam in parse_text(generate_latest(reg).decode()):
        for sample in fam.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _counters(values: dict[tuple[str, tuple[tuple[str, str], ...]], float],
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pos, neg, above = np.zeros(50), np.zeros(50), np.zeros(50)
    index = {repr(float(e)): i for i, e in enumerate(EDGES[1:])}
    for (name, labels), v in values.items():
        d = dict(labels)
        if d.get("model") != "fraud":
            continue
        if name == "mlmon_score_bucket_total":
            (pos if d["label"] == "positive" else neg)[index[d["bucket"]]] = v
        elif name == "mlmon_score_positives_above_total":
            above[index[d["bucket"]]] = v
    return pos, neg, above


def test_metrics_export_the_score_counters_and_gauges() -> None:
    store = _store()
    s, y = _feed(store)
    snap = compute(store, clock=lambda: 1003.0)
    values = _scrape(store, snap)
    pos, neg, above = _counters(values)
    assert np.array_equal(pos, np.histogram(s[y == 1], bins=EDGES)[0])
    assert np.array_equal(neg, np.histogram(s[y == 0], bins=EDGES)[0])
    assert np.array_equal(above, [pos[b + 1:].sum() for b in range(50)])
    # the recording rule's formula on the exported counters = Mann-Whitney on bin indices
    fleet = float(np.sum(neg * (above + 0.5 * pos)) / (pos.sum() * neg.sum()))
    b = np.digitize(s, EDGES[1:-1])
    oracle = float(mannwhitneyu(b[y == 1], b[y == 0]).statistic) / (pos.sum() * neg.sum())
    assert abs(fleet - oracle) <= 1e-12
    q = snap.models[("fraud", "1")].probability_quality
    assert q is not None
    mv = (("model", "fraud"), ("version", "1"))
    assert values[("mlmon_roc_auc_ratio", mv)] == q.roc_auc
    assert values[("mlmon_brier_score", mv)] == q.brier
    assert values[("mlmon_expected_calibration_error_ratio", mv)] == q.ece
    print(f"counters: 50-bin AUC {fleet:.6f}, exact AUC {q.roc_auc:.6f}")
    # the regressor has neither counters nor ranking gauges
    assert not any(dict(k[1]).get("model") == "price" and "score" in k[0] for k in values)
    assert ("mlmon_roc_auc_ratio", (("model", "price"), ("version", "7"))) not in values


def test_score_counters_survive_a_restart(tmp_path: Path) -> None:
    # without the regressor: a model with no categorical feature is not restored today
    # (Ring.load reshapes its empty (0, 0) rows with -1; reported, window.py)
    store = _store(regressor=False)
    s, y = _feed(store)
    path = tmp_path / "state.bin"
    save(store, path)
    fresh = _store(regressor=False)
    assert restore(fresh, path)
    got = fresh.models[("fraud", "1")].scores
    assert got is not None
    assert np.array_equal(got.counts[1], np.histogram(s[y == 1], bins=EDGES)[0])
    assert np.array_equal(got.counts[0], np.histogram(s[y == 0], bins=EDGES)[0])


def test_multiclass_probabilities_give_brier_and_ece_without_auc() -> None:
    m = ModelConfig(name="iris", version="1",
                    prediction=PredictionConfig("classification", ("a", "b", "c")),
                    features=(FeatureConfig("x", "numeric"),), window=WindowConfig(size=100),
                    thresholds=Thresholds(min_samples=10), labels=LabelConfig(window=100))
    store = SidecarState(config(m), {})
    proba = [(0.7, 0.2, 0.1), (0.1, 0.1, 0.8), (0.3, 0.4, 0.3)]
    labels = ["a", "b", "b"]
    apply(store, [{"v": 1, "model": "iris", "version": "1", "id": str(i), "label": y,
                   "prediction": dict(zip("abc", p, strict=True))}
                  for i, (p, y) in enumerate(zip(proba, labels, strict=True))])
    snap = compute(store, clock=lambda: 1001.0)
    q = snap.models[("iris", "1")].probability_quality
    assert q is not None and q.roc_auc is None and q.samples == 3
    # hand: row 1 (a): .09+.04+.01 = .14; row 2 (b): .01+.81+.64 = 1.46; row 3 (b): .09+.36+.09
    assert q.brier == pytest.approx((0.14 + 1.46 + 0.54) / 3, abs=1e-12)
    # confidences .7 (correct), .8 (wrong), .4 (correct): bins 7, 8, 4 -> (.3 + .8 + .6) / 3
    assert q.ece == pytest.approx((0.3 + 0.8 + 0.6) / 3, abs=1e-12)
    assert store.models[("iris", "1")].scores is None


async def _status() -> tuple[dict[str, Any], str, np.ndarray, np.ndarray]:
    m = fraud_model(min_samples=100, window=5000)
    sidecar = Sidecar(config(m), {m.key: fraud_profile(m)})
    s, y = _feed(sidecar.store, n=600, seed=9)
    await sidecar.compute_now()
    server = TestServer(build_app(sidecar), host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession() as http:
            async with http.get(server.make_url("/v1/status")) as r:
                status: dict[str, Any] = json.loads(await r.read())
            async with http.get(server.make_url("/")) as r:
                page = await r.text()
    finally:
        await server.close()
    return status, page, s, y


def test_v1_status_and_status_page_show_auc_brier_ece() -> None:
    status, page, s, y = asyncio.run(_status())
    perf = status["models"][0]["performance"]
    auc = float(mannwhitneyu(s[y == 1], s[y == 0]).statistic) / ((y == 1).sum() * (y == 0).sum())
    assert abs(perf["roc_auc"] - auc) <= 1e-12
    assert perf["brier_score"] == pytest.approx(np.mean((s - y) ** 2), abs=1e-12)
    conf = np.maximum(s, 1 - s)
    assert perf["expected_calibration_error"] == pytest.approx(
        ece_loop(conf, (s >= 0.5).astype(int) == y), abs=1e-12)
    assert perf["probability_samples"] == len(s)
    # the status page lists the performance section's numbers (4 decimals)
    for key in ("roc_auc", "brier_score", "expected_calibration_error"):
        assert (f'<tr data-metric="{key}"><th>{key}</th>'
                f'<td class="num">{perf[key]:.4f}</td></tr>') in page
