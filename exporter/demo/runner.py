"""The demo loop: tap simulated traffic at a steady rate and print the sidecar's view."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from exporter.client import Tap
from exporter.demo.labels import DelayedLabels
from exporter.demo.summary import Rates, format_summary
from exporter.demo.traffic import TrafficSimulator

TICK = 0.05  # seconds between traffic bursts
MAX_BURST = 5_000  # events per tick, so a stalled loop does not flood when it resumes


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


class DemoRunner:
    def __init__(self, settings: DemoSettings, simulator: TrafficSimulator, tap: Tap,
                 labels: DelayedLabels, status: StatusSource, urls: dict[str, str],
                 out: TextIO, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, clear: bool = False,
                 dead: Callable[[], list[str]] = list) -> None:
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
        self.clear = clear
        self.dead = dead
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
        next_summary = start + self.s.summary_every
        now = start
        while not self.stop_requested:
            now = self.clock()
            elapsed = now - start
            if self.s.duration is not None and elapsed >= self.s.duration:
                break
            self._send(now, elapsed)
            if now >= next_summary:
                self.failed = self.dead()
                if self.failed:
                    self.out.write(f"mlmon demo: {', '.join(self.failed)} stopped "
                                   "unexpectedly\n")
                    break
                self.summary(now)
                next_summary += self.s.summary_every
            self.sleep(TICK)
        if now > self._last[0] and not self.failed:
            self.summary(self.clock())  # the final state, whatever the period

    def summary(self, now: float) -> None:
        last_time, last_sent, last_accepted = self._last
        status = self.status.status()
        accepted = _accepted(status, self.s.model, self.s.version)
        span = max(now - last_time, 1e-9)
        rate_in = None if accepted is None else (accepted - last_accepted) / span
        stats = self.tap.stats()
        rates = Rates(now - self._start, (self.sent - last_sent) / span, rate_in,
                      stats.dropped_queue_full + stats.dropped_disconnected,
                      self.drift_text(now - self._start))
        text = format_summary(status, rates, self.wall(), self.urls)
        self.out.write(("\x1b[H\x1b[2J" if self.clear else "\n") + text)
        self.out.flush()
        self._last = (now, self.sent, last_accepted if accepted is None else accepted)

    def _send(self, now: float, elapsed: float) -> None:
        due = int(elapsed * self.s.rate) - self.sent
        if due > 0:
            drifted = self.s.drift_after is not None and elapsed >= self.s.drift_after
            for ev in self.sim.events(min(due, MAX_BURST), drifted):
                self.tap.prediction(model=self.s.model, version=self.s.version,
                                    features=ev.features, prediction=ev.prediction, id=ev.id)
                self.labels.add(now, ev.id, ev.label)
            self.sent += due  # a skipped backlog is not caught up later
        for ident, label in self.labels.due(now):
            self.tap.label(model=self.s.model, version=self.s.version, id=ident, label=label)
            self.labels_sent += 1


def _accepted(status: dict[str, Any] | None, model: str, version: str) -> int | None:
    if status is None:
        return None
    for m in status.get("models", ()):
        if m.get("model") == model and m.get("version") == version:
            return int(m.get("predictions_total") or 0)
    return None
