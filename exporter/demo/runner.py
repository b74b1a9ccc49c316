"""The demo loop: tap simulated traffic at a steady rate and print the sidecar's view."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from exporter.client import Tap
from exporter.demo.labels import DelayedLabels
from exporter.demo.summary import FloorWatch, Rates, format_summary
from exporter.demo.timeline import EventLog
from exporter.demo.traffic import TrafficSimulator

TICK = 0.05  # seconds between traffic bursts
MAX_BURST = 5_000  # events per tick, so a stalled loop does not flood when it resumes
CHECK_EVERY = 1.0  # seconds between status checks (floor crossings; summaries reuse them)
SETTLE = 10.0  # at the end, at most this long for the sidecar to count and compute it all


class StatusSource(Protocol):
    def status(self) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class DemoSettings:
    model: str
    version: str
    rate: float = 200.0  # predictions per second
    duration: float | None = None  # None: until stopped
    drift_after: float | None = 60.0  # None: never
    summary_every: float = 5.0
    accuracy_floor: float | None = None  # watched: when the estimate and realized cross it


class DemoRunner:
    def __init__(self, settings: DemoSettings, simulator: TrafficSimulator, tap: Tap,
                 labels: DelayedLabels, status: StatusSource, urls: dict[str, str],
                 out: TextIO, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, clear: bool = False,
                 dead: Callable[[], list[str]] = list, record: TextIO | None = None,
                 events: EventLog | None = None) -> None:
        self.s = settings
        self.sim = simulator
        self.tap = tap
        self.labels = labels
        self.status = status
        self.urls = urls
        self.out = out
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.clear = clear  # each summary clears the screen (and redraws the timeline)
        # Timeline lines (floor crossings; with --stack alerts, notifications, decisions):
        # printed as they happen, and under every summary that clears the screen.
        self.events = events if events is not None else EventLog(out, wall)
        self.dead = dead
        self.record = record  # JSON lines: every prediction sent, with its (later) label
        self.watch = (None if settings.accuracy_floor is None
                      else FloorWatch(settings.accuracy_floor))
        self.failed: list[str] = []  # services that stopped on their own
        self.stop_requested = False
        self.sent = 0
        self.labels_sent = 0
        self._start = 0.0
        self._last: tuple[float, int, int] = (0.0, 0, 0)

    def drift_text(self, elapsed: float) -> str:
        if self.s.drift_after is None:
            return "off"
        if elapsed < self.s.drift_after:
            return f"off (starts at {self.s.drift_after:g}s)"
        return f"ON since {self.s.drift_after:g}s: {self.sim.plan.describe()}"

    def run(self) -> None:
        start = self.clock()
        self._start = start
        self._last = (start, 0, 0)  # time, sent, accepted by the sidecar (fresh: 0)
        check = min(CHECK_EVERY, self.s.summary_every)
        next_check, next_summary = start + check, start + self.s.summary_every
        now = start
        while not self.stop_requested:
            now = self.clock()
            elapsed = now - start
            if self.s.duration is not None and elapsed >= self.s.duration:
                break
            self._send(now, elapsed)
            if now >= next_check or now >= next_summary:
                self.failed = self.dead()
                if self.failed:
                    self.out.write(f"mlmon demo: {', '.join(self.failed)} stopped "
                                   "unexpectedly\n")
                    break
                status = self.checked(self.status.status())
                if now >= next_summary:
                    self.summary(now, status)
                    next_summary += self.s.summary_every
                while next_check <= now:
                    next_check += check
            self.sleep(TICK)
        if now > self._last[0] and not self.failed:
            status = self.status.status() if self.stop_requested else self._settled()
            self.summary(self.clock(), self.checked(status))  # the final state

    def checked(self, status: dict[str, Any] | None) -> dict[str, Any] | None:
        """Feed the floor watch; print a timeline line when it sees a crossing first."""
        if self.watch is not None:
            for line in self.watch.update(_model(status, self.s.model, self.s.version)):
                self.events.note(line)
        return status

    def _settled(self) -> dict[str, Any] | None:
        """The status once the sidecar counted every prediction sent and computed after
        that, so the final summary shows all the traffic (waits at most SETTLE s)."""
        deadline = self.clock() + SETTLE
        counted_at: float | None = None
        while True:
            status = self.status.status()
            model = _model(status, self.s.model, self.s.version)
            if model is not None:
                if counted_at is None and int(model.get("predictions_total") or 0) >= self.sent:
                    counted_at = self.wall()
                last = model.get("last_compute")
                if counted_at is not None and last is not None and float(last) >= counted_at:
                    return status
            if self.clock() >= deadline:
                return status
            self.sleep(4 * TICK)

    def summary(self, now: float, status: dict[str, Any] | None) -> None:
        last_time, last_sent, last_accepted = self._last
        accepted = _accepted(status, self.s.model, self.s.version)
        span = max(now - last_time, 1e-9)
        rate_in = None if accepted is None else (accepted - last_accepted) / span
        stats = self.tap.stats()
        rates = Rates(now - self._start, (self.sent - last_sent) / span, rate_in,
                      stats.dropped_queue_full + stats.dropped_disconnected,
                      self.drift_text(now - self._start))
        extra = [self.watch.describe()] if self.watch is not None else []
        with self.events.lock:  # no timeline line between the snapshot and the redraw
            if self.clear:
                kept = self.events.lines()
                text = format_summary(status, rates, self.wall(), self.urls, extra, kept,
                                      self.events.total - len(kept))
            else:  # the lines printed as they happen stay on the screen
                text = format_summary(status, rates, self.wall(), self.urls, extra)
            self.out.write(("\x1b[H\x1b[2J" if self.clear else "\n") + text)
            self.out.flush()
        self._last = (now, self.sent, last_accepted if accepted is None else accepted)

    def _send(self, now: float, elapsed: float) -> None:
        due = int(elapsed * self.s.rate) - self.sent
        if due > 0:
            drifted = self.s.drift_after is not None and elapsed >= self.s.drift_after
            if drifted and self.watch is not None and self.watch.drift_started is None:
                self.watch.drift_started = self.wall()
            for ev in self.sim.events(min(due, MAX_BURST), drifted):
                self.tap.prediction(model=self.s.model, version=self.s.version,
                                    features=ev.features, prediction=ev.prediction, id=ev.id)
                self.labels.add(now, ev.id, ev.label)
                if self.record is not None:
                    self.record.write(json.dumps({"id": ev.id, "t": round(elapsed, 3),
                                                  "drifted": drifted,
                                                  "prediction": ev.prediction,
                                                  "label": ev.label}) + "\n")
            self.sent += due  # a skipped backlog is not caught up later
        for ident, label in self.labels.due(now):
            self.tap.label(model=self.s.model, version=self.s.version, id=ident, label=label)
            self.labels_sent += 1


def _model(status: dict[str, Any] | None, model: str, version: str) -> dict[str, Any] | None:
    for m in (status or {}).get("models", ()):
        if m.get("model") == model and m.get("version") == version:
            found: dict[str, Any] = m
            return found
    return None


def _accepted(status: dict[str, Any] | None, model: str, version: str) -> int | None:
    m = _model(status, model, version)
    return None if m is None else int(m.get("predictions_total") or 0)
