"""The demo's traffic shows the estimated accuracy (CBPE) dropping before the delayed labels
confirm the drop. The demo's own pieces — the fitted model, the traffic simulator with its
drift plan, the delayed labels — feed a real sidecar state
built from the bundled fraud config and profile (with its calibration map) on a virtual
clock at the demo's 200 predictions/s; the statistics are computed every second by the
sidecar's compute cycle. Oracle: realized accuracy of the joined labels over time."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from exporter.config.load import load_config
from exporter.config.model import ModelConfig
from exporter.demo.drift import DriftPlan, FeatureDrift, default_plan
from exporter.demo.labels import DelayedLabels
from exporter.demo.model import SimpleModel
from exporter.demo.reference import ReferenceData
from exporter.demo.summary import format_model
from exporter.demo.traffic import TrafficSimulator
from exporter.profile.files import load_profile
from exporter.sidecar.compute import compute
from exporter.sidecar.state import SidecarState
from tests.demo.conftest import FRAUD
from tests.sidecar.threaded import apply

RATE, DRIFT_AT, END = 200, 60, 130  # predictions/s, seconds


def _timeline(data: ReferenceData, predictor: SimpleModel, plan: DriftPlan,
              delay: tuple[float, float] = (1.0, 3.0), end: int = END,
              ) -> list[tuple[int, float | None, float | None]]:
    """(second, estimated accuracy, realized accuracy) after each compute."""
    config = load_config(FRAUD / "mlmon.yaml", env={})
    model = config.models[0]
    store = SidecarState(config, {model.key: load_profile(FRAUD / "profile.json")})
    sim = TrafficSimulator(data, predictor, plan, seed=0)
    labels = DelayedLabels(*delay, seed=0)
    head = {"v": 1, "model": model.name, "version": model.version}
    rows = []
    for second in range(end):
        for tick in range(10):  # bursts every 0.1 s, as the demo's loop sends them
            now = 1000.0 + second + tick / 10
            lines: list[bytes] = []
            for ev in sim.events(RATE // 10, drifted=second >= DRIFT_AT):
                lines.append(json.dumps({**head, "id": ev.id, "features": ev.features,
                                         "prediction": ev.prediction}).encode())
                labels.add(now, ev.id, ev.label)
            lines += [json.dumps({**head, "id": i, "label": y}).encode()
                      for i, y in labels.due(now)]
            assert apply(store, lines, now) == {}
        ms = compute(store, clock=lambda s=second: 1001.0 + s).models[model.key]
        est = ms.estimate.accuracy if ms.estimate is not None else None
        real = getattr(ms.performance, "accuracy", None)
        rows.append((second, est, real))
    return rows


def _first_below(rows: list[tuple[int, float | None, float | None]], column: int,
                 level: float) -> int | None:
    return next((r[0] for r in rows if r[0] >= DRIFT_AT and r[column] is not None
                 and r[column] < level), None)


def _print(rows: list[tuple[int, float | None, float | None]]) -> None:
    for second, est, real in rows[DRIFT_AT - 5::5]:
        print(f"  t={second:3d}s estimated {est if est is None else round(est, 4)} "
              f"realized {real if real is None else round(real, 4)}")


def test_default_demo_estimate_falls_below_the_floor_before_the_labels_confirm(
        fraud_data: ReferenceData, fraud_predictor: SimpleModel,
        fraud_model: ModelConfig) -> None:
    """`mlmon demo`'s defaults: its drift plan (amount ×10, country mix reversed, labels
    drawn from the model's P(y | drifted x)) and labels 10-30 s late (--label-delay 20).
    Oracle: realized accuracy of the joined labels. Margins: before the drift the estimate
    is within 0.02 of realized accuracy (5000 vs 10000 rows: sampling sd ≈ 0.003); at the
    end, both windows hold drifted rows only and agree within 0.03 (sampling sd ≈ 0.006,
    the simulation's bias ≈ 0.003: 0.774 vs 0.776 expected over 40,000 rows)."""
    plan = default_plan(fraud_data, regression=False)
    assert plan.labels_from_model and not plan.label_flip
    rows = _timeline(fraud_data, fraud_predictor, plan, delay=(10.0, 30.0), end=150)
    print(f"\ndefault demo drift at t={DRIFT_AT}s, labels 10-30 s late: {plan.describe()}")
    _print(rows)
    _, est0, real0 = rows[DRIFT_AT - 1]
    assert est0 is not None and real0 is not None
    assert abs(est0 - real0) <= 0.02  # before the drift the calibrated estimate is right
    floor = fraud_model.thresholds.accuracy_floor
    assert floor is not None and est0 > floor
    t_est, t_real = _first_below(rows, 1, floor), _first_below(rows, 2, floor)
    print(f"below the floor {floor}: estimate {t_est - DRIFT_AT if t_est else None}s, "
          f"realized {t_real - DRIFT_AT if t_real else None}s after the drift")
    assert t_est is not None and t_real is not None and t_est < t_real
    est_end, real_end = rows[-1][1], rows[-1][2]
    assert est_end is not None and real_end is not None
    print(f"end: estimated {est_end:.4f}, realized {real_end:.4f}")
    assert abs(est_end - real_end) <= 0.03 and max(est_end, real_end) < floor


def test_concept_drift_is_invisible_to_the_estimate(
        fraud_data: ReferenceData, fraud_predictor: SimpleModel,
        fraud_model: ModelConfig) -> None:
    """The demo's earlier drift (amount ×2.2, country mix reversed, a quarter of the labels
    flipped, each drifted row otherwise keeping its recorded label), labels 30-90 s late:
    the flip is concept drift (P(y | x) changes), which CBPE cannot see by construction —
    realized accuracy ends below the floor, the estimate stays above it."""
    plan = replace(default_plan(fraud_data, regression=False), labels_from_model=False,
                   label_flip=0.25)
    plan = replace(plan, features=(replace(plan.features[0], scale=2.2), *plan.features[1:]))
    rows = _timeline(fraud_data, fraud_predictor, plan, delay=(30.0, 90.0), end=200)
    print(f"\nconcept drift at t={DRIFT_AT}s, labels 30-90 s late: {plan.describe()}")
    _print(rows)
    _, est0, real0 = rows[DRIFT_AT - 1]
    assert est0 is not None and real0 is not None
    level = est0 - 0.02
    t_est, t_real = _first_below(rows, 1, level), _first_below(rows, 2, level)
    print(f"below {level:.3f}: estimate at t={t_est}s, realized at t={t_real}s")
    assert t_est is not None and t_real is not None and t_est < t_real
    floor = fraud_model.thresholds.accuracy_floor
    assert floor is not None
    est_end, real_end = rows[-1][1], rows[-1][2]
    assert est_end is not None and real_end is not None
    assert real_end < floor < est_end < est0
    # For the record (not asserted): the same drifted traffic with the labels unflipped.
    batch = TrafficSimulator(fraud_data, fraud_predictor, replace(plan, label_flip=0.0),
                             seed=1).batch(20_000, drifted=True)
    unflipped = float(np.mean(np.where(batch.scores[:, 1] >= 0.5, "1", "0") == batch.labels))
    print(f"end: estimated {est_end:.4f}; realized without the label flip {unflipped:.4f}, "
          f"with it {real_end:.4f}")


def test_covariate_drift_estimate_falls_below_the_floor_first(
        fraud_data: ReferenceData, fraud_predictor: SimpleModel,
        fraud_model: ModelConfig) -> None:
    """A pure input shift (amount ×10, labels unchanged) takes both below the floor: the
    estimate first, the realized accuracy when the labels arrive."""
    plan = DriftPlan((FeatureDrift("amount", scale=10.0),))
    rows = _timeline(fraud_data, fraud_predictor, plan)
    print(f"\ncovariate drift at t={DRIFT_AT}s: {plan.describe()}")
    _print(rows)
    floor = fraud_model.thresholds.accuracy_floor
    assert floor is not None
    t_est, t_real = _first_below(rows, 1, floor), _first_below(rows, 2, floor)
    print(f"below the floor {floor}: estimate at t={t_est}s, realized at t={t_real}s")
    assert t_est is not None and t_real is not None and t_est < t_real


def test_summary_prints_the_estimate_next_to_realized_accuracy() -> None:
    model = {"model": "fraud", "version": "3", "window_samples": 5000, "window_size": 5000,
             "performance": {"accuracy": 0.9612, "samples": 10000},
             "estimate": {"accuracy": 0.9203, "samples": 5000},
             "estimate_basis": "calibrated on 20000 reference rows"}
    lines = format_model(model, now=0.0)
    assert ("  estimated accuracy 0.920 vs realized 0.961  (calibrated on 20000 reference "
            "rows; n=5000)") in lines
    waiting = format_model({**model, "estimate": None}, now=0.0)
    assert any("waiting for min_samples predictions" in ln for ln in waiting)
    assert not any("estimated" in ln for ln in format_model(
        {**model, "estimate_basis": None}, now=0.0))


def test_bundled_profile_is_calibrated() -> None:
    cal = load_profile(Path(FRAUD) / "profile.json").calibration
    assert cal is not None and cal.rows == 20_000 and np.all(np.diff(cal.maps[0].y) >= 0)
