"""Retraining windows: ``immediate`` or a cron-style subset, evaluated in UTC.

Syntax: five fields ``MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK`` as in crontab(5),
where minute, hour and day-of-week accept ``*``, numbers, ranges ``a-b``, steps
``*/n`` or ``a-b/n`` and comma lists; day-of-month and month must be ``*``.
Day-of-week 0 and 7 are Sunday. Example: ``"00 02 * * *"`` is every day at 02:00 UTC,
``"30 1 * * 1-5"`` is 01:30 UTC on weekdays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

IMMEDIATE = "immediate"


class WindowError(ValueError):
    pass


@dataclass(frozen=True)
class Window:
    text: str
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()  # 0 = Sunday
    immediate: bool = False

    def next_start(self, now: float) -> float:
        """First window start at or after ``now`` (Unix seconds)."""
        if self.immediate:
            return now
        start = datetime.fromtimestamp(math.ceil(now / 60.0) * 60.0, tz=UTC)
        day = start.replace(hour=0, minute=0)
        for _ in range(8):  # any weekday set recurs within a week
            if (day.isoweekday() % 7) in self.weekdays:
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day + timedelta(hours=hour, minutes=minute)
                        if candidate >= start:
                            return candidate.timestamp()
            day += timedelta(days=1)
        raise AssertionError(f"window {self.text!r} never matches")  # parse() forbids this


def _field(text: str, low: int, high: int, name: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                first, last = low, high
            elif "-" in base:
                a, b = base.split("-", 1)
                first, last = int(a), int(b)
            else:
                first = last = int(base)
        except ValueError:
            raise WindowError(f"{name} field {text!r}: {part!r} is not a number, range "
                              f"or step") from None
        if step < 1 or first < low or last > high or first > last:
            raise WindowError(f"{name} field {text!r}: {part!r} outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def parse(text: str) -> Window:
    text = text.strip()
    if text == IMMEDIATE:
        return Window(text, immediate=True)
    fields = text.split()
    if len(fields) != 5:
        raise WindowError(f"{text!r} has {len(fields)} fields, expected 5 "
                          f"(MINUTE HOUR * * DAY-OF-WEEK) or 'immediate'")
    minute, hour, dom, month, dow = fields
    if dom != "*" or month != "*":
        raise WindowError(f"{text!r}: day-of-month and month must be '*'")
    weekdays = frozenset(d % 7 for d in _field(dow, 0, 7, "day-of-week"))
    return Window(text, _field(minute, 0, 59, "minute"), _field(hour, 0, 23, "hour"), weekdays)
