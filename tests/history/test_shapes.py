"""Trend, step, flat noise and short ranges through the fake Prometheus: what is reported.

Each shape is backfilled on the 2-day, 5-minute grid of tests/history/dataset.py; the oracles
are the planted truth and scipy.stats.linregress.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import stats as sps

from exporter.history.analysis import HistoryReport, SeriesReport, analyse
from exporter.history.promapi import PrometheusAPI
from exporter.history.render import text, to_html, to_json
from tests.history.dataset import DAY, ELAPSED, END, START, STEP, T, stored
from tests.history.promfake import FakePrometheus, serving

STEP_AT = START + 30 * 3600.0  # the jump of the step series: sample 360
MIDDLE = START + DAY  # the jump of the trend-with-step series: sample 288


def _series() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(23)
    return [
        ("linear", 0.05 + 0.06 * ELAPSED + rng.normal(0, 0.004, T.size)),
        ("step", np.where(T >= STEP_AT, 0.19, 0.05) + rng.normal(0, 0.004, T.size)),
        ("flat", 0.04 + rng.normal(0, 0.004, T.size)),
        ("both", 0.05 + 0.04 * ELAPSED + np.where(T >= MIDDLE, 0.08, 0.0)
         + rng.normal(0, 0.003, T.size)),
    ]


def _report(start: float = START, step: float = STEP) -> HistoryReport:
    series = [stored("mlmon_feature_psi", y, model="m", version="1", feature=name)
              for name, y in _series()]
    with serving(FakePrometheus(series)) as fake:
        return analyse(PrometheusAPI(fake.url), "m", None, start, END, step)


@pytest.fixture(scope="module")
def rows() -> dict[str, SeriesReport]:
    return {r.name: r for r in _report().drift}


def _truth(name: str) -> np.ndarray:
    return dict(_series())[name]


def test_clean_trend_reports_slope_and_forecast(rows: dict[str, SeriesReport]) -> None:
    r = rows["linear"]
    ref = sps.linregress(T, _truth("linear"))
    assert r.shape == "trend" and r.step_at is None and r.step_size is None
    assert r.trend is not None and r.trend.significant and r.trend_reason is None
    assert r.trend.slope == pytest.approx(ref.slope, rel=1e-9)
    assert r.trend.slope_low * DAY < 0.06 < r.trend.slope_high * DAY
    assert not r.extrapolated  # fitted over 2 days
    # the fitted line reaches 0.25; the true one after 0.2/0.06 days
    assert r.forecast_high == pytest.approx((0.25 - ref.intercept) / ref.slope, rel=1e-12)
    assert r.forecast_high == pytest.approx(START + 0.2 / 0.06 * DAY, abs=0.2 * DAY)


def test_step_reports_time_and_size_and_no_slope(rows: dict[str, SeriesReport]) -> None:
    r = rows["step"]
    y = _truth("step")
    assert r.shape == "step"
    assert r.step_at is not None and abs(r.step_at - STEP_AT) <= STEP
    assert r.step_size == pytest.approx(0.14, abs=0.003)
    k = int(np.searchsorted(T, r.step_at))
    assert r.step_size == pytest.approx(y[k:].mean() - y[:k].mean(), rel=1e-9)
    # a line through it would be "significant": the report must not say so
    assert sps.linregress(T, y).pvalue < 1e-100
    assert r.trend is None and r.forecast_high is None
    assert r.trend_reason == "a step fits better than a line"


def test_flat_noise_has_neither_step_nor_trend(rows: dict[str, SeriesReport]) -> None:
    r = rows["flat"]
    assert r.shape == "flat" and r.step_at is None
    assert r.trend is not None and not r.trend.significant
    assert r.forecast_high is None


def test_trend_with_a_step_reports_both_and_the_slope_since_the_step(
        rows: dict[str, SeriesReport]) -> None:
    r = rows["both"]
    y = _truth("both")
    assert r.shape == "step+trend"
    assert r.step_at is not None and abs(r.step_at - MIDDLE) <= STEP
    assert r.step_size == pytest.approx(0.08, abs=0.01)
    k = int(np.searchsorted(T, r.step_at))
    ref = sps.linregress(T[k:], y[k:])  # the slope since the step
    assert r.trend is not None and r.trend.n == T.size - k
    assert r.trend.slope == pytest.approx(ref.slope, rel=1e-9)
    assert r.trend.slope_low * DAY < 0.04 < r.trend.slope_high * DAY
    assert r.forecast_high == pytest.approx((0.25 - ref.intercept) / ref.slope, rel=1e-12)


def test_twelve_minutes_report_no_slope_and_say_why() -> None:
    report = _report(start=END - 720, step=15.0)
    for r in report.drift:
        assert len(r.t) == 49  # 12 minutes of 15-second steps
        assert r.trend is None and r.shape is None and r.step_at is None
        assert r.forecast_high is None
        assert r.trend_reason == "range 12m < 1h minimum"
    out = text(report)
    assert "not reported (range 12m < 1h minimum)" in out
    assert "/day" not in out
    doc = json.loads(to_json(report))
    assert {d["trend_reason"] for d in doc["drift"]} == {"range 12m < 1h minimum"}
    assert all(d["trend"] is None and d["shape"] is None for d in doc["drift"])
    assert "not reported (range 12m &lt; 1h minimum)" in to_html(report)


def test_minimum_range_grows_with_the_step_and_points_are_counted() -> None:
    report = _report(start=END - 2 * 3600, step=900.0)  # 10 steps of 15 minutes: 2h30m
    assert {r.trend_reason for r in report.drift} == {"range 2h < 2h30m minimum"}
    sparse = T[::72]  # every 6 hours: 9 samples over 2 days
    with serving(FakePrometheus([stored("mlmon_feature_psi", 0.1 + 0.01 * np.arange(9),
                                        t=sparse, model="m", version="1",
                                        feature="f")])) as fake:
        (row,) = analyse(PrometheusAPI(fake.url), "m", None, START, END, STEP).drift
    assert len(row.t) == 9 and row.trend is None
    assert row.trend_reason == "9 points < 12 minimum"


def test_short_range_slope_is_flagged_as_extrapolated() -> None:
    report = _report(start=END - 6 * 3600)
    r = {x.name: x for x in report.drift}["linear"]
    assert r.trend is not None and r.extrapolated
    line = next(x for x in text(report).splitlines() if " linear " in x)
    assert line.endswith("(per day: extrapolated from 6h)")
    doc = {d["name"]: d for d in json.loads(to_json(report))["drift"]}
    assert doc["linear"]["trend"]["extrapolated"] is True
    assert doc["linear"]["trend"]["span_seconds"] == 6 * 3600


def test_text_and_json_name_the_step(rows: dict[str, SeriesReport]) -> None:
    report = _report()
    out = text(report)
    step = rows["step"]
    assert step.step_at is not None and step.step_size is not None
    line = next(x for x in out.splitlines() if x.split()[:2] == ["1", "step"])
    when = datetime.fromtimestamp(step.step_at, UTC).strftime("%Y-%m-%d %H:%M")
    assert line.endswith(f"step {step.step_size:+.4f} at {when} "
                         "(no slope: a step fits better than a line)")
    both = next(x for x in out.splitlines() if x.split()[:2] == ["1", "both"])
    assert " then ↑ " in both and both.endswith(" significant")
    doc = {d["name"]: d for d in json.loads(to_json(report))["drift"]}
    assert doc["step"]["shape"] == "step" and doc["step"]["trend"] is None
    assert doc["step"]["step"] == {"time": step.step_at, "size": step.step_size}
    assert doc["step"]["trend_reason"] == "a step fits better than a line"
    assert doc["linear"]["step"] is None and doc["linear"]["trend_reason"] is None
    assert doc["both"]["shape"] == "step+trend" and doc["both"]["trend"]["significant"]


def test_forecast_reaches_at_most_twice_the_fitted_span_ahead() -> None:
    # 0.05 + 0.06/day: the fitted line reaches 0.25 about 1.3 days after the end. From two
    # days of data that is forecast; from the last 6 hours (horizon 12 h) it is not.
    short = _report(start=END - 6 * 3600)
    r = {x.name: x for x in short.drift}["linear"]
    assert r.trend is not None and r.trend.significant and r.trend.slope > 0
    crossing = (0.25 - r.trend.intercept) / r.trend.slope
    assert crossing > END + 2 * 6 * 3600
    assert r.forecast_high is None
    assert r.forecast_note == "beyond 2024-03-03 12:00 (2 × the 6h of data fitted)"
    line = next(x for x in text(short).splitlines() if x.split()[:2] == ["1", "linear"])
    assert line.split()[7:9] == ["beyond", "horizon"]
    doc = {d["name"]: d for d in json.loads(to_json(short))["drift"]}
    assert doc["linear"]["forecast_high"] is None
    assert doc["linear"]["forecast_note"] == r.forecast_note
    full = {x.name: x for x in _report().drift}["linear"]
    assert full.forecast_high is not None and full.forecast_note is None
