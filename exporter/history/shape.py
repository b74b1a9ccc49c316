"""When a series supports a slope, and whether a step explains it better (docs/history.md).

Rules, in order:

1. The samples must span at least ``max(MIN_RANGE, MIN_STEPS × step)`` and number at least
   ``MIN_POINTS``; otherwise no slope, no step and no forecast, and the reason says which
   (``range 12m < 1h minimum``, ``9 points < 12 minimum``).
2. :func:`exporter.stats.changepoint.classify` compares flat, trend, step and step+trend by
   BIC. A step (or step+trend) model winning is reported as a step: its time and size.
3. For a plain step no slope is reported (``a step fits better than a line``); for
   step+trend the slope is the least-squares line since the step, itself subject to rule 1.
   Otherwise the slope is the line over the whole range; ``flat`` or ``trend`` by its t-test.
4. A slope fitted over less than a day is flagged: its per-day figure is extrapolated.
5. A crossing of the high threshold is forecast only from a significant rising slope, and
   only up to ``FORECAST_SPANS`` times the fitted span after the end of the range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.stats.changepoint import classify
from exporter.stats.trend import Trend, linear_trend

MIN_RANGE = 3600.0  # seconds
MIN_STEPS = 10  # the range must cover this many query steps
MIN_POINTS = 12
FORECAST_SPANS = 2.0  # a crossing is forecast at most this many fitted spans ahead
DAY = 86_400.0


@dataclass(frozen=True)
class Assessment:
    shape: str | None  # "flat" | "trend" | "step" | "step+trend"; None when not assessed
    trend: Trend | None  # the slope reported, if any
    reason: str | None  # why no slope is reported
    span: float  # seconds covered by the points the slope is fitted to
    step_at: float | None = None
    step_size: float | None = None

    @property
    def extrapolated(self) -> bool:
        """The slope is shown per day but fitted over less than a day."""
        return self.trend is not None and self.span < DAY


def duration(seconds: float) -> str:
    """12m, 1h, 2h30m, 1d6h: whole minutes, largest units first."""
    minutes = round(seconds / 60.0)
    if minutes == 0:
        return f"{seconds:.0f}s"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (mins, "m")) if v)


def too_short(t: NDArray[np.float64], step: float) -> str | None:
    """Why ``t`` cannot support a slope (rule 1), or None."""
    if t.size == 0:
        return "no samples"
    span = float(t[-1] - t[0])
    need = max(MIN_RANGE, MIN_STEPS * step)
    if span < need:
        return f"range {duration(span)} < {duration(need)} minimum"
    if t.size < MIN_POINTS:
        return f"{t.size} points < {MIN_POINTS} minimum"
    return None


def assess(t: NDArray[np.float64], y: NDArray[np.float64], step: float) -> Assessment:
    """Apply the rules to a series without NaN."""
    reason = too_short(t, step)
    if reason is not None:
        return Assessment(None, None, reason, 0.0)
    shape = classify(t, y)
    if shape.split is None:
        trend = linear_trend(t, y)
        kind = "trend" if trend is not None and trend.significant else "flat"
        return Assessment(kind, trend, None, float(t[-1] - t[0]))
    if shape.model == "step":
        return Assessment("step", None, "a step fits better than a line", 0.0,
                          shape.step_time, shape.step_size)
    after_t, after_y = t[shape.split:], y[shape.split:]
    reason = too_short(after_t, step)
    trend = None if reason is not None else linear_trend(after_t, after_y)
    return Assessment("step+trend", trend, None if reason is None else f"since the step: {reason}",
                      float(after_t[-1] - after_t[0]), shape.step_time, shape.step_size)
