from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exporter.client import Tap
from exporter.demo.drift import DriftPlan, FeatureDrift
from exporter.demo.labels import DelayedLabels
from exporter.demo.model import SimpleModel
from exporter.demo.reference import ReferenceData
from exporter.demo.runner import SETTLE, TICK, DemoRunner, DemoSettings
from exporter.demo.traffic import TrafficSimulator
from tests.client.servers import LineServer


class FakeTime:
    """A clock the runner's sleep advances: the loop runs instantly and deterministically."""

    def __init__(self) -> None:
        self.ticks = 0  # counted, not summed, so no float drift

    def clock(self) -> float:
        return 1000.0 + self.ticks * TICK

    def sleep(self, seconds: float) -> None:
        self.ticks += round(seconds / TICK)


class StaticStatus:
    """A sidecar that has counted ``total()`` predictions and computed at ``computed()``."""

    def __init__(self, total: Callable[[], int] = lambda: 0,
                 computed: Callable[[], float | None] = lambda: None) -> None:
        self.calls = 0
        self.total = total
        self.computed = computed

    def status(self) -> dict[str, Any] | None:
        self.calls += 1
        return {"models": [{"model": "fraud", "version": "3", "predictions_total": self.total(),
                            "last_compute": self.computed(), "features": [],
                            "performance": {}}], "events": {}}


def test_rate_drift_switch_and_delayed_labels(tmp_path: Path, fraud_data: ReferenceData,
                                              fraud_predictor: SimpleModel) -> None:
    path = str(tmp_path / "s.sock")
    t = FakeTime()
    plan = DriftPlan((FeatureDrift("amount", scale=1e6),))
    sim = TrafficSimulator(fraud_data, fraud_predictor, plan, seed=3)
    settings = DemoSettings("fraud", "3", rate=100.0, duration=4.0, drift_after=2.0,
                            summary_every=1.0)
    out = io.StringIO()
    status = StaticStatus(computed=t.clock)
    with LineServer(path) as server:
        tap = Tap(path)
        runner = DemoRunner(settings, sim, tap, DelayedLabels(0.5, 0.5), status,
                            {"metrics": "http://x/metrics"}, out, clock=t.clock,
                            wall=t.clock, sleep=t.sleep)
        status.total = lambda: runner.sent  # counted all, computed now: no wait at the end
        runner.run()
        assert tap.close(5.0)
        lines = server.wait_lines(runner.sent + runner.labels_sent)
    events = [json.loads(x) for x in lines]
    preds = [e for e in events if "features" in e]
    labels = [e for e in events if "features" not in e]
    # 100/s for 4 s, sent in TICK bursts: the last burst is at 4 - TICK.
    assert len(preds) == runner.sent == 395
    # Labels due 0.5 s after their prediction: those of the last 0.5 s are not sent yet.
    assert len(labels) == runner.labels_sent == 345
    assert {e["id"] for e in labels} <= {e["id"] for e in preds}
    # Drift from t=2 s: amounts ×1e6 (reference amounts lie between 0.1 and 100,000).
    before = [e["features"]["amount"] for e in preds[:195] if e["features"]["amount"]]
    after = [e["features"]["amount"] for e in preds[205:] if e["features"]["amount"]]
    assert max(before) < 100_000 < min(after)
    assert all(e["model"] == "fraud" and e["version"] == "3" for e in events)
    text = out.getvalue()
    assert text.count("── mlmon demo") == status.calls == 4  # t=1, 2, 3 and the final one
    assert "drift: off (starts at 2s)" in text and "drift: ON since 2s: amount ×1e+06" in text
    assert "metrics: http://x/metrics" in text


def test_a_service_dying_stops_the_demo(tmp_path: Path, fraud_data: ReferenceData,
                                        fraud_predictor: SimpleModel) -> None:
    t = FakeTime()
    sim = TrafficSimulator(fraud_data, fraud_predictor, DriftPlan(), seed=3)
    settings = DemoSettings("fraud", "3", rate=50.0, duration=60.0, drift_after=None,
                            summary_every=1.0)
    out = io.StringIO()
    checks: list[float] = []

    def dead() -> list[str]:
        checks.append(t.clock())
        return ["sidecar"] if len(checks) >= 3 else []

    tap = Tap(str(tmp_path / "absent.sock"))
    runner = DemoRunner(settings, sim, tap, DelayedLabels(0.5, 0.5), StaticStatus(), {}, out,
                        clock=t.clock, wall=t.clock, sleep=t.sleep, dead=dead)
    runner.run()
    tap.close(1.0)
    assert runner.failed == ["sidecar"]
    assert out.getvalue().count("── mlmon demo") == 2  # t=1 and t=2; no final summary
    assert out.getvalue().endswith("mlmon demo: sidecar stopped unexpectedly\n")
    assert checks[-1] == 1003.0 and runner.sent == 150


def _short_run(tmp_path: Path, fraud_data: ReferenceData, fraud_predictor: SimpleModel,
               status: StaticStatus, t: FakeTime) -> tuple[DemoRunner, str]:
    sim = TrafficSimulator(fraud_data, fraud_predictor, DriftPlan(), seed=3)
    settings = DemoSettings("fraud", "3", rate=50.0, duration=2.0, drift_after=None,
                            summary_every=1.0)
    out = io.StringIO()
    tap = Tap(str(tmp_path / "absent.sock"))
    runner = DemoRunner(settings, sim, tap, DelayedLabels(0.5, 0.5), status, {}, out,
                        clock=t.clock, wall=t.clock, sleep=t.sleep)
    runner.run()
    tap.close(1.0)
    return runner, out.getvalue()


def test_the_final_summary_waits_for_the_sidecar_to_count_and_compute_everything(
        tmp_path: Path, fraud_data: ReferenceData, fraud_predictor: SimpleModel) -> None:
    """Traffic stops at t=1002 after 97 predictions (50/s, the last burst at 1.95 s). The
    sidecar has counted them all from t=1003 (80 before) and computes every 1.4 s (t=1000,
    1001.4, 1002.8, 1004.2): the final summary is the first status whose computation came
    after everything was counted, fetched at t=1004.2 (polls every 4 ticks from 1002)."""
    t = FakeTime()
    status = StaticStatus(total=lambda: 100 if t.ticks >= 60 else 80,
                          computed=lambda: 1000.0 + (t.ticks // 28 * 28) * TICK)
    runner, text = _short_run(tmp_path, fraud_data, fraud_predictor, status, t)
    assert runner.sent == 97
    assert t.ticks == 84
    assert status.calls == 1 + 12  # the summary at t=1001, then polls at ticks 40, 44 .. 84
    assert text.count("── mlmon demo") == 2
    assert "  predictions 100  labels joined" in text.split("── mlmon demo")[-1]


def test_the_final_summary_stops_waiting_after_settle_seconds(
        tmp_path: Path, fraud_data: ReferenceData, fraud_predictor: SimpleModel) -> None:
    t = FakeTime()
    status = StaticStatus(total=lambda: 0, computed=t.clock)  # never counts anything
    _, text = _short_run(tmp_path, fraud_data, fraud_predictor, status, t)
    assert 1002.0 + SETTLE <= t.clock() <= 1002.0 + SETTLE + 4 * TICK + 1e-9
    assert text.count("── mlmon demo") == 2
