from __future__ import annotations

import logging

import pytest

from exporter.ratelog import KeyedRateLimitedLog, RateLimitedLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_rate_then_suppressed_count(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = RateLimitedLog(logging.getLogger("t.ratelog"), per_second=1.0, burst=2, clock=clock)
    with caplog.at_level(logging.WARNING, logger="t.ratelog"):
        written = [log.warning("bad line %d", i) for i in range(5)]
        assert written == [True, True, False, False, False]
        clock.now = 1.0
        assert log.warning("bad line %d", 5)
    assert [r.getMessage() for r in caplog.records] == [
        "bad line 0", "bad line 1", "bad line 5 (3 more suppressed)"]


def test_keyed_log_limits_each_kind_on_its_own(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = KeyedRateLimitedLog(logging.getLogger("t.keyed"), per_second=1 / 60, burst=1,
                              clock=clock)
    with caplog.at_level(logging.WARNING, logger="t.keyed"):
        assert log.warning("down", "tap: %s", "sidecar gone")
        assert not log.warning("down", "tap: %s", "sidecar gone")
        assert log.warning("full", "tap: %s", "queue full")  # another kind is not hidden
        clock.now = 59.0
        assert not log.warning("down", "tap: %s", "sidecar gone")
        clock.now = 60.0
        assert log.warning("down", "tap: %s", "sidecar still gone")
    assert [r.getMessage() for r in caplog.records] == [
        "tap: sidecar gone", "tap: queue full", "tap: sidecar still gone (2 more suppressed)"]
