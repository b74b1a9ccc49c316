from __future__ import annotations

import pytest

from exporter.config.durations import parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("500ms", 0.5), ("15s", 15.0), ("5m", 300.0), ("1h", 3600.0), ("24h", 86_400.0),
    ("7d", 604_800.0), ("1w", 604_800.0), ("1h30m", 5400.0), ("2.5s", 2.5), (10, 10.0),
    (0.25, 0.25), ("42", 42.0),
])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "1x", "h", "0s", "-5s", 0, -1, True, None, "5m1"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)
