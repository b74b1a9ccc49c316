"""Retraining windows against hand-computed calendar times (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exporter.responder.schedule import WindowError, parse


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("window", "now", "expected"), [
    ("00 02 * * *", "2026-11-26T06:31:10", "2026-11-27T02:00:00"),  # Thu -> Fri 02:00
    ("00 02 * * *", "2026-11-26T01:59:59", "2026-11-26T02:00:00"),
    ("00 02 * * *", "2026-11-26T02:00:00", "2026-11-26T02:00:00"),  # on the minute: now
    ("00 02 * * *", "2026-11-26T02:00:01", "2026-11-27T02:00:00"),
    ("30 1 * * 1-5", "2026-11-27T02:00:00", "2026-11-30T01:30:00"),  # Fri -> Mon
    ("30 1 * * 0", "2026-11-26T00:00:00", "2026-11-29T01:30:00"),  # Sunday
    ("30 1 * * 7", "2026-11-26T00:00:00", "2026-11-29T01:30:00"),  # 7 is Sunday too
    ("*/15 * * * *", "2026-11-26T10:16:00", "2026-11-26T10:30:00"),
    ("5,50 22-23 * * *", "2026-11-26T23:51:00", "2026-11-27T22:05:00"),
    ("0 0-12/6 * * *", "2026-11-26T06:00:30", "2026-11-26T12:00:00"),
    ("59 23 * * 6", "2026-12-31T23:59:30", "2027-01-02T23:59:00"),  # Sat across a year
])
def test_next_start(window: str, now: str, expected: str) -> None:
    assert parse(window).next_start(ts(now)) == ts(expected)


def test_immediate_is_now() -> None:
    w = parse("immediate")
    assert w.immediate and w.next_start(123.25) == 123.25


@pytest.mark.parametrize(("text", "needle"), [
    ("00 02 * *", "4 fields"),
    ("00 02 1 * *", "day-of-month and month must be '*'"),
    ("60 02 * * *", "outside 0-59"),
    ("00 24 * * *", "outside 0-23"),
    ("00 xx * * *", "not a number"),
    ("*/0 2 * * *", "outside"),
    ("0 2 * * 8", "outside 0-7"),
    ("0 5-2 * * *", "outside"),
])
def test_rejects_bad_windows(text: str, needle: str) -> None:
    with pytest.raises(WindowError, match=needle.replace("*", r"\*")):
        parse(text)
