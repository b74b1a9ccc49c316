from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exporter.client import Tap
from exporter.demo.drift import DriftPlan, FeatureDrift
from exporter.demo.labels import DelayedLabels
from exporter.demo.model import SimpleModel
from exporter.demo.reference import ReferenceData
from exporter.demo.runner import SETTLE, TICK, DemoRunner, DemoSettings
from exporter.demo.timeline import EventLog
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


class NotingStatus(StaticStatus):
    """A sidecar status source; each fetch, a timeline event arrives (as from the
    timeline's thread)."""

    def __init__(self, log: EventLog, total: Callable[[], int]) -> None:
        super().__init__(total=total)
        self.log = log

    def status(self) -> dict[str, Any] | None:
        self.log.note(f"event {self.calls}")
        return super().status()


def _noting_run(tmp_path: Path, fraud_data: ReferenceData, fraud_predictor: SimpleModel,
                clear: bool, keep: int = 1000) -> tuple[str, int]:
    """The output, and how many events were noted (one per status fetch)."""
    t = FakeTime()
    out = io.StringIO()
    log = EventLog(out, wall=lambda: 0.0, keep=keep)
    sim = TrafficSimulator(fraud_data, fraud_predictor, DriftPlan(), seed=3)
    settings = DemoSettings("fraud", "3", rate=50.0, duration=3.0, drift_after=None,
                            summary_every=1.0)
    tap = Tap(str(tmp_path / "absent.sock"))
    status = NotingStatus(log, total=lambda: runner.sent)
    runner = DemoRunner(settings, sim, tap, DelayedLabels(0.5, 0.5), status,
                        {"metrics": "http://m"},
                        out, clock=t.clock, wall=t.clock, sleep=t.sleep, clear=clear,
                        events=log)
    runner.run()
    tap.close(1.0)
    return out.getvalue(), status.calls


def _stamped(*numbers: int) -> list[str]:
    stamp = time.strftime("%H:%M:%S", time.localtime(0.0))
    return [f"  {stamp} event {n}" for n in numbers]


def test_each_redraw_that_clears_the_screen_shows_the_timeline_so_far(
        tmp_path: Path, fraud_data: ReferenceData, fraud_predictor: SimpleModel) -> None:
    text, noted = _noting_run(tmp_path, fraud_data, fraud_predictor, clear=True)
    screens = text.split("\x1b[H\x1b[2J")[1:]
    # Summaries at t=1, 2 and the final one, after status fetches 0, 1 and 2 .. noted - 1
    # (the final summary waits SETTLE s for a computation that never comes).
    assert len(screens) == 3
    for n, screen in enumerate(screens[:2]):
        summary = screen.split("metrics: http://m\n", 1)[1]
        timeline = summary.splitlines()[:n + 2]  # after the redraw, the live lines follow
        assert timeline == ["timeline:", *_stamped(*range(n + 1))], screen
    last = screens[-1].split("metrics: http://m\n", 1)[1].splitlines()
    assert noted > 12  # so the last screen shows the latest 12 (TIMELINE_LINES)
    assert last == ["timeline:", f"  … {noted - 12} earlier",
                    *_stamped(*range(noted - 12, noted))]


def test_the_redraw_bounds_the_timeline_and_counts_what_it_left_out(
        tmp_path: Path, fraud_data: ReferenceData, fraud_predictor: SimpleModel) -> None:
    text, _ = _noting_run(tmp_path, fraud_data, fraud_predictor, clear=True, keep=2)
    second = text.split("\x1b[H\x1b[2J")[2].split("metrics: http://m\n", 1)[1]
    # Events 0 and 1 noted before it; the log keeps 2: nothing left out yet. Then the third
    # screen's timeline starts with what the log dropped.
    assert second.splitlines()[:3] == ["timeline:", *_stamped(0, 1)]
    third = text.split("\x1b[H\x1b[2J")[3].split("metrics: http://m\n", 1)[1].splitlines()
    dropped = int(third[1].removeprefix("  … ").removesuffix(" earlier"))
    assert third[0] == "timeline:" and third[2:4] == _stamped(dropped, dropped + 1)


def test_without_clearing_the_timeline_is_printed_once(
        tmp_path: Path, fraud_data: ReferenceData, fraud_predictor: SimpleModel) -> None:
    text, noted = _noting_run(tmp_path, fraud_data, fraud_predictor, clear=False)
    assert "timeline:" not in text and "\x1b[" not in text
    assert all(text.count(f" event {n}\n") == 1 for n in range(noted))
