"""Text, JSON and HTML reports name the figures planted in the data."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from exporter.history.analysis import HistoryReport, SeriesReport, analyse
from exporter.history.promapi import PrometheusAPI
from exporter.history.render import text, to_html, to_json
from tests.history.dataset import (
    ACC3_END,
    ACC3_START,
    ACC4,
    AMOUNT_SLOPE,
    DAY,
    ELAPSED,
    END,
    JOINED_PER_STEP,
    START,
    STEP,
    Fraud,
    T,
    stored,
)
from tests.history.promfake import FakePrometheus, Stored, serving

SVG = "{http://www.w3.org/2000/svg}"
CRIT_95 = float(sps.t.ppf(0.975, T.size - 2))


def _report(prom: FakePrometheus, version: str | None = "3",
            compare: tuple[str, str] | None = None, model: str = "fraud") -> HistoryReport:
    return analyse(PrometheusAPI(prom.url), model, version, START, END, STEP, compare)


def _served(series: list[Stored], model: str, version: str | None = None,
            compare: tuple[str, str] | None = None) -> HistoryReport:
    with serving(FakePrometheus(series)) as fake:
        return _report(fake, version, compare, model)


def _row(out: str, *first: str) -> list[str]:
    """The whitespace-separated cells of the one line starting with ``first``."""
    rows = [line.split() for line in out.splitlines() if line.split()[:len(first)] == [*first]]
    assert len(rows) == 1, (first, out)
    return rows[0]


def _hm(t: float) -> list[str]:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M").split()


def _strict_json(doc: str) -> Any:
    def no_constant(name: str) -> None:
        raise AssertionError(f"{name} in JSON")

    return json.loads(doc, parse_constant=no_constant)


def test_text_names_the_planted_figures(prom: FakePrometheus, data: Fraud) -> None:
    out = text(_report(prom))
    lines = out.splitlines()
    assert lines[0] == "mlmon history — model fraud, version(s) 3"
    assert lines[1] == ("range 2024-03-01 00:00 .. 2024-03-03 00:00 UTC, step 300s, "
                        "PSI thresholds medium 0.1 / high 0.25")
    # amount: 0.02 + 0.13/day; 0.28 at the end; medium at 14:50 on day one, high at
    # 18:30 on day two (see test_analysis); already high so no forecast
    assert _row(out, "3", "amount") == [
        "3", "amount", "0.2800", "+0.2600", "2024-03-01", "14:50", "2024-03-02", "18:30", "-",
        "↑", "+0.1300/day", "[+0.1300,", "+0.1300]", "significant"]
    y = data.psi[("3", "income")]
    ref = sps.linregress(T, y)
    half = CRIT_95 * ref.stderr * DAY
    assert _row(out, "3", "income") == [
        "3", "income", f"{y[-1]:.4f}", f"{y[-1] - y[0]:+.4f}",
        *_hm(float(T[np.flatnonzero(y >= 0.1)[0]])), "-",
        *_hm((0.25 - ref.intercept) / ref.slope),
        "↑", f"{ref.slope * DAY:+.4f}/day",
        f"[{ref.slope * DAY - half:+.4f},", f"{ref.slope * DAY + half:+.4f}]", "significant"]
    age = data.psi[("3", "age")]
    ref = sps.linregress(T, age)
    half = CRIT_95 * ref.stderr * DAY
    assert _row(out, "3", "age") == [  # never medium, never high, no forecast
        "3", "age", f"{age[-1]:.4f}", f"{age[-1] - age[0]:+.4f}", "-", "-", "-",
        "↑" if ref.slope > 0 else "↓", f"{ref.slope * DAY:+.4f}/day",
        f"[{ref.slope * DAY - half:+.4f},", f"{ref.slope * DAY + half:+.4f}]",
        "not", "significant"]
    # accuracy 0.92 -> 0.90 over two days: −0.0100/day; macro F1 0.80 -> 0.78
    assert _row(out, "3", "accuracy") == [
        "3", "accuracy", "0.9000", "-0.0200", "↓", "-0.0100/day", "[-0.0100,", "-0.0100]",
        "significant"]
    assert _row(out, "3", "f1_macro")[2:6] == ["0.7800", "-0.0200", "↓", "-0.0100/day"]
    assert "Comparison" not in out
    assert out.endswith("\n")


def test_text_comparison_section(prom: FakePrometheus, data: Fraud) -> None:
    out = text(_report(prom, None, ("3", "4")))
    assert "\nComparison 3 (A) vs 4 (B)\n" in out
    p_a, p_b = (ACC3_START + ACC3_END) / 2, ACC4
    n = JOINED_PER_STEP * (2 * DAY / STEP)
    pooled = (p_a + p_b) / 2
    z = (p_b - p_a) / math.sqrt(pooled * (1 - pooled) * (2 / n))
    assert _row(out, "accuracy", "0.9100") == [
        "accuracy", "0.9100", "0.9500", "+0.0400", f"{2 * sps.norm.sf(z):.3g}",
        "4", "better", "(two-proportion", "z-test)"]
    mae3, mae4 = data.mae["3"], data.mae["4"]
    ref = sps.ttest_ind(mae3, mae4, equal_var=False)
    assert _row(out, "mae", f"{np.mean(mae3):.4f}") == [
        "mae", f"{np.mean(mae3):.4f}", f"{np.mean(mae4):.4f}",
        f"{np.mean(mae4) - np.mean(mae3):+.4f}", f"{ref.pvalue:.3g}", "4", "better",
        "(Welch", "t-test)"]
    assert _row(out, "psi:amount")[5:7] == ["4", "better"]


def test_text_not_significant_verdict() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.9, 0.01, T.size), rng.normal(0.9, 0.01, T.size)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert ref.pvalue > 0.05
    report = _served([stored("mlmon_accuracy_ratio", a, model="m", version="a"),
                      stored("mlmon_accuracy_ratio", b, model="m", version="b")],
                     "m", compare=("a", "b"))
    row = _row(text(report), "accuracy")
    assert row[4:] == [f"{ref.pvalue:.3g}", "no", "significant", "difference", "(Welch", "t-test)"]


def _nan_and_escaping_report() -> HistoryReport:
    psi = 0.02 + AMOUNT_SLOPE * ELAPSED
    return _served([
        stored("mlmon_feature_psi", psi, model="<fraud & co>", version="1", feature="amount"),
        stored("mlmon_feature_psi", np.full(T.size, np.nan), model="<fraud & co>",
               version="1", feature="dead"),
    ], "<fraud & co>")


def test_text_without_values_shows_dashes() -> None:
    out = text(_nan_and_escaping_report())
    assert out.splitlines()[0] == "mlmon history — model <fraud & co>, version(s) 1"
    assert _row(out, "1", "dead") == ["1", "dead", "-", "-", "-", "-", "-", "not", "reported",
                                      "(no", "samples)"]


def _check_series_json(doc: dict[str, Any], r: SeriesReport) -> None:
    assert doc["name"] == r.name and doc["version"] == r.version
    assert doc["current"] == r.current and doc["change"] == r.change
    assert r.trend is not None
    assert doc["trend"] == {
        "slope_per_second": r.trend.slope, "slope_per_day": r.trend.slope * DAY,
        "ci_low_per_day": r.trend.slope_low * DAY, "ci_high_per_day": r.trend.slope_high * DAY,
        "confidence": 0.95, "pvalue": r.trend.pvalue, "significant": r.trend.significant,
        "points": T.size, "span_seconds": 2 * DAY, "extrapolated": False}
    assert doc["trend_reason"] is None and doc["step"] is None
    assert doc["shape"] == ("trend" if r.trend.significant else "flat")
    if r.kind == "drift":
        assert doc["first_crossed"] == r.crossed
        assert doc["forecast_high"] == r.forecast_high
    else:
        assert "first_crossed" not in doc and "forecast_high" not in doc


def test_json_fields_equal_the_analysis(prom: FakePrometheus, data: Fraud) -> None:
    report = _report(prom)
    doc = _strict_json(to_json(report))
    assert doc["prometheus"] == prom.url and doc["model"] == "fraud"
    assert doc["versions"] == ["3"]
    assert (doc["start"], doc["end"], doc["step"]) == (START, END, STEP)
    assert doc["thresholds"] == {"psi_medium": 0.1, "psi_high": 0.25}
    assert "compare" not in doc
    assert [d["name"] for d in doc["drift"]] == [r.name for r in report.drift]
    for d, r in zip(doc["drift"], report.drift, strict=True):
        _check_series_json(d, r)
    assert [p["name"] for p in doc["performance"]] == ["accuracy", "f1_macro", "mae"]
    for p, r in zip(doc["performance"], report.performance, strict=True):
        _check_series_json(p, r)
    # and against the truth planted in the data
    amount = doc["drift"][0]
    assert amount["name"] == "amount"
    assert amount["trend"]["slope_per_day"] == pytest.approx(AMOUNT_SLOPE, rel=1e-9)
    assert amount["first_crossed"] == {"medium": START + 53_400, "high": START + 153_000}
    income = next(d for d in doc["drift"] if d["name"] == "income")
    ref = sps.linregress(T, data.psi[("3", "income")])
    assert income["trend"]["slope_per_second"] == pytest.approx(ref.slope, rel=1e-9)
    assert income["forecast_high"] == pytest.approx((0.25 - ref.intercept) / ref.slope,
                                                    rel=1e-12)
    assert doc["performance"][0]["trend"]["slope_per_day"] == pytest.approx(-0.01, rel=1e-9)


def test_json_comparison(prom: FakePrometheus, data: Fraud) -> None:
    report = _report(prom, None, ("3", "4"))
    doc = _strict_json(to_json(report))
    assert doc["versions"] == ["3", "4"]
    assert doc["compare"]["a"] == "3" and doc["compare"]["b"] == "4"
    results = doc["compare"]["results"]
    assert [r["name"] for r in results] == [c.name for c in report.comparisons]
    for got, c in zip(results, report.comparisons, strict=True):
        cmp = c.comparison
        assert got == {"name": c.name, "a": cmp.a, "b": cmp.b, "difference": cmp.difference,
                       "statistic": cmp.statistic, "pvalue": cmp.pvalue,
                       "significant": cmp.significant, "method": cmp.method,
                       "better": c.better}
    mae = next(r for r in results if r["name"] == "mae")
    ref = sps.ttest_ind(data.mae["3"], data.mae["4"], equal_var=False)
    assert mae["statistic"] == pytest.approx(ref.statistic, rel=1e-9)
    assert mae["better"] == "4"


def test_json_has_null_for_missing_and_infinite_values() -> None:
    doc = _strict_json(to_json(_nan_and_escaping_report()))
    dead = next(d for d in doc["drift"] if d["name"] == "dead")
    assert dead == {"name": "dead", "version": "1", "current": None, "change": None,
                    "trend": None, "first_crossed": {"medium": None, "high": None},
                    "forecast_high": None, "forecast_note": None, "trend_reason": "no samples",
                    "shape": None, "step": None}
    # two constant accuracies without joined counts: Welch's t is infinite, p = 0
    report = _served([stored("mlmon_accuracy_ratio", np.full(T.size, 0.5), model="m",
                             version="a"),
                      stored("mlmon_accuracy_ratio", np.full(T.size, 0.75), model="m",
                             version="b")], "m", compare=("a", "b"))
    (acc,) = _strict_json(to_json(report))["compare"]["results"]
    assert acc["statistic"] is None
    assert acc["a"] == 0.5 and acc["b"] == 0.75 and acc["difference"] == 0.25
    assert acc["pvalue"] == 0.0 and acc["significant"] is True and acc["better"] == "b"


def _svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", page, flags=re.S)]


def _points(svg: ET.Element) -> list[tuple[float, float]]:
    (line,) = svg.iter(f"{SVG}polyline")
    return [(float(x), float(y)) for x, y in
            (p.split(",") for p in line.attrib["points"].split())]


def test_html_has_one_chart_per_series_with_one_point_per_sample(prom: FakePrometheus) -> None:
    report = _report(prom)
    page = to_html(report)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    svgs = _svgs(page)
    rows = [*report.drift, *report.performance]
    assert len(svgs) == len(rows) == 6  # amount, income, age; accuracy, f1_macro, mae
    for svg, r in zip(svgs, rows, strict=True):
        assert svg.tag == f"{SVG}svg"
        assert svg.attrib["aria-label"] == f"{r.name} (v{r.version})"
        assert next(svg.iter(f"{SVG}text")).text == f"{r.name} (v{r.version})"
        points = _points(svg)
        assert len(points) == T.size  # one point per 5-minute sample
        xs = [x for x, _ in points]
        assert xs == sorted(xs)
        # drift charts carry the two PSI thresholds as guides; performance charts none
        assert len(list(svg.iter(f"{SVG}line"))) == (2 if r.kind == "drift" else 0)
        # ... each named with its value
        texts = {t.text for t in svg.iter(f"{SVG}text")}
        named = {"medium 0.1", "high 0.25"}  # the fraud data set's thresholds
        assert (named <= texts) if r.kind == "drift" else not named & texts
    # the exact line rises: its first point is the lowest on the chart, its last the highest
    amount = _points(svgs[0])
    assert amount[0][1] == max(y for _, y in amount) and amount[-1][1] == min(y for _, y in amount)
    # significant trends are highlighted: amount and income, not age
    assert page.count("class='sig'") == 2
    for needle in ("<script", "src=", "href=", "url(", "@import"):
        assert needle not in page


def test_html_escapes_and_draws_empty_series() -> None:
    page = to_html(_nan_and_escaping_report())
    assert "<fraud & co>" not in page
    assert "<title>mlmon history — &lt;fraud &amp; co&gt;</title>" in page
    charts = {svg.attrib["aria-label"]: svg for svg in _svgs(page)}
    assert set(charts) == {"amount (v1)", "dead (v1)"}
    assert len(_points(charts["amount (v1)"])) == T.size
    assert list(charts["dead (v1)"].iter(f"{SVG}polyline")) == []  # no samples, no line


def test_html_comparison(prom: FakePrometheus) -> None:
    report = _report(prom, None, ("3", "4"))
    page = to_html(report)
    assert "<h2>Comparison 3 vs 4</h2>" in page
    pre = re.search(r"<pre>(.*?)</pre>", page, flags=re.S)
    assert pre is not None
    lines = pre.group(1).splitlines()
    assert [line.split()[0] for line in lines] == ["accuracy", "mae", "psi:amount"]
    assert lines[0].split()[1:4] == ["0.9100", "0.9500", "+0.0400"]
    assert "4 better" in lines[0]
