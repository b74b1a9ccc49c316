"""Per-segment metrics of a real sidecar: one segment's feature drifts and only its drift share
and max PSI rise; counts, PSI (numpy from the same counts), accuracy and MAE against numpy;
the join table keeps each prediction's segment (late and early labels); promtool lints it."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.config.load import load_config
from exporter.metric_names import OTHER_BUCKET
from exporter.profile.build import build_profile
from exporter.profile.files import save_profile
from exporter.profile.model import NumericProfile, Profile
from exporter.sidecar.compute import compute
from exporter.sidecar.persist import dump, restore
from exporter.sidecar.state import SidecarState
from tests.oracle import hand_psi
from tests.procs import post_events, require_binary, serving
from tests.sidecar.threaded import apply

MLMON = [sys.executable, "-m", "exporter"]
COUNTRIES = np.array(["DE", "FR", "US", "GB", "IT"], dtype=object)
P_COUNTRY = [0.4, 0.25, 0.2, 0.1, 0.05]
SEGMENTS = ["DE", "FR", "US", OTHER_BUCKET]  # max_values 3: GB, IT, unknown, missing -> other


def _rows(n: int, seed: int, fr_shift: float = 0.0) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    country = rng.choice(COUNTRIES, n, p=P_COUNTRY)
    amount = rng.normal(100, 20, n) + np.where(country == "FR", fr_shift, 0.0)
    device = rng.choice(np.array(["mobile", "desktop"], dtype=object), n, p=[0.6, 0.4])
    score = rng.random(n)
    return {"amount": np.round(amount, 3).tolist(), "country": country.tolist(),
            "device": device.tolist(), "prediction": np.round(score, 4).tolist()}


def _setup(tmp: Path, kind: str = "classification") -> tuple[Path, Profile]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    ref = _rows(8000, 1)
    pacsv.write_csv(pa.table(ref), tmp / "ref.csv")
    prediction = ('{kind: classification, classes: ["0", "1"]}' if kind == "classification"
                  else "{kind: regression}")
    cfg = tmp / "mlmon.yaml"
    cfg.write_text(f"""
compute_interval: 1s
models:
  - name: m
    version: "1"
    profile: profile.json
    prediction: {prediction}
    features: {{amount: numeric, country: categorical, device: categorical}}
    window: {{size: 4000}}
    thresholds: {{min_samples: 200}}
    labels: {{window: 5000}}
    segment: {{feature: country, max_values: 3}}
""")
    model = load_config(cfg, env={}).models[0]
    profile = build_profile(model, tmp / "ref.csv")
    save_profile(profile, tmp / "profile.json")
    return cfg, profile


def _segment_of(country: list[Any]) -> np.ndarray[Any, Any]:
    return np.array([c if c in ("DE", "FR", "US") else OTHER_BUCKET for c in country],
                    dtype=object)


def _bins(x: np.ndarray[Any, Any], edges: tuple[float, ...]) -> np.ndarray[Any, Any]:
    bounds = [-np.inf, *edges, np.inf]
    return np.array([((x >= lo) & (x < hi)).sum() for lo, hi in itertools.pairwise(bounds)])


def _cats(values: list[Any], cats: tuple[str, ...]) -> np.ndarray[Any, Any]:
    present = [v for v in values if v is not None]
    known = [present.count(c) for c in cats]
    return np.array([*known, len(present) - sum(known)])


def _oracle_max_psi(ref: dict[str, list[Any]], cur: dict[str, list[Any]], profile: Profile,
                    seg: str) -> tuple[float, str]:
    """The largest PSI of a segment's features and prediction, all from numpy counts."""
    rm, cm = _segment_of(ref["country"]) == seg, _segment_of(cur["country"]) == seg
    out = []
    for f in [*profile.features, profile.prediction]:
        assert f is not None
        col = "prediction" if f.name == "__prediction__" else f.name
        if isinstance(f, NumericProfile):
            r = _bins(np.array(ref[col])[rm], f.edges)
            c = _bins(np.array(cur[col], dtype=float)[cm], f.edges)
        else:
            r = _cats([v for v, k in zip(ref[col], rm, strict=True) if k], f.categories)
            c = _cats([v for v, k in zip(cur[col], cm, strict=True) if k], f.categories)
        out.append((hand_psi(r, c), f.name))
    return max(out)


def _current(n: int) -> dict[str, list[Any]]:
    cur = _rows(n, 2, fr_shift=40.0)  # FR's amount moves by 2 sd; no other segment changes
    for i in range(0, n, 50):
        cur["country"][i] = None  # missing: the __other__ segment
    for i in range(7, n, 97):
        cur["country"][i] = "XX"  # unknown to the profile: __other__ too
    rng = np.random.default_rng(3)
    # labels: FR's predictions are mostly wrong, the others mostly right
    right = rng.random(n) < np.where(np.array(cur["country"], dtype=object) == "FR", 0.3, 0.9)
    cls = (np.array(cur["prediction"]) >= 0.5).astype(int)
    cur["label"] = np.where(right, cls, 1 - cls).tolist()
    return cur


def _scrape(url: str) -> tuple[str, dict[tuple[str, str], float]]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out = {}
    for fam in parse_text(text):
        for s in fam.samples:
            if s.name.startswith("mlmon_segment_"):
                out[(s.name, s.labels["segment"])] = s.value
    return text, out


def test_real_sidecar_segments_equal_numpy(tmp_path: Path) -> None:
    cfg, profile = _setup(tmp_path)
    ref = _rows(8000, 1)
    n = 3000
    cur = _current(n)
    events = [{"v": 1, "model": "m", "version": "1", "id": f"r{i}",
               "features": {k: cur[k][i] for k in ("amount", "country", "device")
                            if cur[k][i] is not None},
               "prediction": cur["prediction"][i]} for i in range(n)]
    labels = [{"v": 1, "model": "m", "id": f"r{i}", "label": cur["label"][i]} for i in range(n)]
    early, late = labels[:300], labels[300:]  # 300 labels come before their prediction
    argv = [*MLMON, "serve", "--config", str(cfg), "--socket", str(tmp_path / "s.sock"),
            "--http", "127.0.0.1:0"]
    with serving(argv, tmp_path / "sidecar.log", "/readyz") as served:
        _, first = _scrape(served.url)
        assert {seg: first[("mlmon_segment_predictions_total", seg)] for seg in SEGMENTS} == \
            dict.fromkeys(SEGMENTS, 0.0)  # every segment from start-up
        for batch in ([json.dumps(e) for e in early],
                      *([json.dumps(e) for e in events[k:k + 500]] for k in range(0, n, 500)),
                      [json.dumps(e) for e in late]):
            status, answer = post_events(served.url + "/v1/events", batch)
            assert status == 202 and answer["accepted"] == len(batch), answer
        deadline = time.monotonic() + 30
        while True:
            text, got = _scrape(served.url)
            if sum(got.get(("mlmon_segment_predictions_total", s), 0) for s in SEGMENTS) == n \
                    and ("mlmon_segment_accuracy_ratio", "FR") in got:
                time.sleep(2.2)  # a compute after the last labels
                text, got = _scrape(served.url)
                break
            assert time.monotonic() < deadline, got
            time.sleep(0.2)
        with urllib.request.urlopen(served.url + "/v1/status", timeout=10) as resp:
            status_doc = json.loads(resp.read())["models"][0]["segments"]
        with urllib.request.urlopen(served.url + "/", timeout=10) as resp:
            page = resp.read().decode()
    segs = _segment_of(cur["country"])
    pred_cls = (np.array(cur["prediction"]) >= 0.5).astype(int)
    y = np.array(cur["label"])
    print()
    for seg in SEGMENTS:
        m = segs == seg
        assert got[("mlmon_segment_predictions_total", seg)] == int(m.sum())
        psi, feature = _oracle_max_psi(ref, cur, profile, seg)
        assert got[("mlmon_segment_max_psi", seg)] == pytest.approx(psi, rel=1e-9, abs=1e-12)
        accuracy = float(np.mean(pred_cls[m] == y[m]))
        assert got[("mlmon_segment_accuracy_ratio", seg)] == pytest.approx(accuracy, abs=1e-12)
        share = got[("mlmon_segment_drift_share_ratio", seg)]
        entry = next(e for e in status_doc if e["segment"] == seg)
        assert entry["max_psi_feature"] == feature
        print(f"segment {seg:9} rows {int(m.sum()):5} max PSI {psi:.4f} ({feature}) "
              f"drift share {share:.3f} accuracy {accuracy:.3f}")
        if seg == "FR":
            assert psi > 0.5 and feature == "amount" and share > 0
        elif seg == OTHER_BUCKET:  # its unknown "XX" rows: the country mix moved (no amount)
            assert feature == "country" and share > 0
        else:
            assert psi < 0.05 and share == 0.0
    assert ("mlmon_segment_regression_mae", "DE") not in got  # a classifier
    # the status page's table: a row per segment, FR's largest PSI named
    fr = page.split('<tr data-segment="FR">')[1].split("</tr>")[0]
    assert "<td>amount</td>" in fr and all(f'data-segment="{s}"' in page for s in SEGMENTS)
    lint = subprocess.run([require_binary("promtool"), "check", "metrics"], input=text,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")


def test_regressor_mae_per_segment_and_restart(tmp_path: Path) -> None:
    cfg, _ = _setup(tmp_path, "regression")
    config = load_config(cfg, env={})
    from exporter.profile.files import load_profile

    profile = load_profile(tmp_path / "profile.json")
    store = SidecarState(config, {("m", "1"): profile})
    cur = _current(1200)
    rng = np.random.default_rng(9)
    truth = (np.array(cur["prediction"]) + rng.normal(0, 0.1, 1200)
             + np.where(np.array(cur["country"], dtype=object) == "US", 0.5, 0.0))
    events = [{"v": 1, "model": "m", "id": f"r{i}", "prediction": cur["prediction"][i],
               "features": {k: cur[k][i] for k in ("amount", "country", "device")
                            if cur[k][i] is not None}} for i in range(1200)]
    apply(store, events)
    apply(store, [{"v": 1, "model": "m", "id": f"r{i}", "label": float(truth[i])}
                  for i in range(1200)])
    results = {r.value: r for r in compute(store, lambda: 1000.0).models[("m", "1")].segments}
    segs = _segment_of(cur["country"])
    pred = np.array(cur["prediction"])
    for seg in SEGMENTS:
        m = segs == seg
        mae = float(np.mean(np.abs(truth[m] - pred[m])))
        assert results[seg].mae == pytest.approx(mae, rel=1e-12)
        assert results[seg].accuracy is None and results[seg].performance_samples == m.sum()
        print(f"segment {seg:9} MAE {mae:.4f}")
    assert results["US"].mae is not None and results["US"].mae > 0.4  # US is off by 0.5
    # the state file keeps the segment counters and joined pairs
    path = tmp_path / "state.bin"
    path.write_bytes(dump(store))
    again = SidecarState(config, {("m", "1"): profile})
    assert restore(again, path)
    restored = again.models[("m", "1")].segments
    assert restored is not None
    assert restored.predictions.tolist() == [int((segs == s).sum()) for s in SEGMENTS]
    after = {r.value: r.mae for r in compute(again, lambda: 1000.0).models[("m", "1")].segments}
    assert after == {k: r.mae for k, r in results.items()}


def test_profile_without_section_exports_no_segment(tmp_path: Path) -> None:
    cfg, profile = _setup(tmp_path)
    config = load_config(cfg, env={})
    from dataclasses import replace

    store = SidecarState(config, {("m", "1"): replace(profile, segments=None)})
    assert store.models[("m", "1")].segments is None
    apply(store, [{"v": 1, "model": "m", "id": "a", "prediction": 0.3,
                   "features": {"amount": 1.0, "country": "DE", "device": "mobile"},
                   "label": 0}])
    assert compute(store, lambda: 1000.0).models[("m", "1")].segments == ()


def test_config_feature_order_differs_from_the_profile(tmp_path: Path) -> None:
    """A config listing the features in another order (yaml.safe_dump sorts them) still
    compares each feature with its own segment counts."""
    import dataclasses

    cfg, profile = _setup(tmp_path)
    config = load_config(cfg, env={})
    model = config.models[0]
    shuffled = dataclasses.replace(model, features=tuple(reversed(model.features)))
    results = {}
    for m in (model, shuffled):
        store = SidecarState(dataclasses.replace(config, models=(m,)), {m.key: profile})
        cur = _current(1500)
        apply(store, [{"v": 1, "model": "m", "prediction": cur["prediction"][i],
                       "features": {k: cur[k][i] for k in ("amount", "country", "device")
                                    if cur[k][i] is not None}} for i in range(1500)])
        results[m.features[0].name] = {
            r.value: (r.max_psi, r.max_psi_feature, r.drift_share)
            for r in compute(store, lambda: 1000.0).models[m.key].segments}
    assert results["amount"] == results["device"]
    assert results["amount"]["FR"][1] == "amount"
