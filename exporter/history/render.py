"""Render a history report as a terminal table, JSON or a self-contained HTML page."""

from __future__ import annotations

import html
import json
import math
from datetime import UTC, datetime
from typing import Any

from exporter.history.analysis import HistoryReport, SeriesReport, VersionComparison
from exporter.history.shape import duration
from exporter.history.svg import Guide, line_chart

DAY = 86_400.0


def _ts(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


def _num(v: float | None, fmt: str = ".4f") -> str:
    if v is None or math.isnan(v):
        return "-"
    return format(v, fmt)


def _slope_text(r: SeriesReport) -> str:
    if r.trend is None:
        return f"not reported ({r.trend_reason})" if r.trend_reason else "-"
    arrow = "↑" if r.trend.slope > 0 else "↓" if r.trend.slope < 0 else "→"
    sig = "significant" if r.trend.significant else "not significant"
    out = (f"{arrow} {r.trend.slope * DAY:+.4f}/day "
           f"[{r.trend.slope_low * DAY:+.4f}, {r.trend.slope_high * DAY:+.4f}] {sig}")
    if r.extrapolated:
        out += f" (per day: extrapolated from {duration(r.trend_span)})"
    return out


def _trend_text(r: SeriesReport) -> str:
    if r.step_at is None or r.step_size is None:
        return _slope_text(r)
    step = f"step {r.step_size:+.4f} at {_ts(r.step_at)}"
    if r.shape == "step":
        return f"{step} (no slope: {r.trend_reason})"
    return f"{step}, then {_slope_text(r)}"


def _forecast(r: SeriesReport, full: bool = False) -> str:
    if r.forecast_note is None:
        return _ts(r.forecast_high)
    return r.forecast_note if full else "beyond horizon"


_DOWNSAMPLED_NOTE = ("series: hourly averages recorded every 5 minutes "
                     "(rules/mlmon-downsampling.yml), as a long-term store keeps them")


def text(report: HistoryReport) -> str:
    lines = [
        f"mlmon history — model {report.model}, version(s) {', '.join(report.versions)}",
        f"range {_ts(report.start)} .. {_ts(report.end)} UTC, step {report.step:g}s, "
        f"PSI thresholds medium {report.thresholds['psi_medium']:g} / "
        f"high {report.thresholds['psi_high']:g}",
        *([_DOWNSAMPLED_NOTE] if report.series == "downsampled" else []),
        "",
        "Drift (PSI per feature)",
        f"{'version':<8} {'feature':<16} {'current':>8} {'change':>8}  "
        f"{'first medium':<16} {'first high':<16} {'high forecast':<16} trend (95% CI)",
    ]
    for r in report.drift:
        lines.append(
            f"{r.version:<8} {r.name:<16} {_num(r.current):>8} {_num(r.change, '+.4f'):>8}  "
            f"{_ts(r.crossed.get('medium')):<16} {_ts(r.crossed.get('high')):<16} "
            f"{_forecast(r):<16} {_trend_text(r)}")
    lines += ["", "Performance",
              f"{'version':<8} {'metric':<16} {'current':>8} {'change':>8}  trend (95% CI)"]
    for r in report.performance:
        lines.append(f"{r.version:<8} {r.name:<16} {_num(r.current):>8} "
                     f"{_num(r.change, '+.4f'):>8}  {_trend_text(r)}")
    if report.compare is not None:
        a, b = report.compare
        lines += ["", f"Comparison {a} (A) vs {b} (B)",
                  f"{'metric':<22} {'A':>8} {'B':>8} {'B-A':>9} {'p-value':>9}  verdict"]
        for c in report.comparisons:
            lines.append(_comparison_line(c))
    return "\n".join(lines) + "\n"


def _comparison_line(c: VersionComparison) -> str:
    cmp = c.comparison
    verdict = f"{c.better} better" if c.better else (
        "significant difference" if cmp.significant else "no significant difference")
    return (f"{c.name:<22} {_num(cmp.a):>8} {_num(cmp.b):>8} {_num(cmp.difference, '+.4f'):>9} "
            f"{_num(cmp.pvalue, '.3g'):>9}  {verdict} ({cmp.method})")


def _clean(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) or math.isinf(v) else v


def _series_json(r: SeriesReport) -> dict[str, Any]:
    trend = None
    if r.trend is not None:
        trend = {
            "slope_per_second": r.trend.slope, "slope_per_day": r.trend.slope * DAY,
            "ci_low_per_day": r.trend.slope_low * DAY, "ci_high_per_day": r.trend.slope_high * DAY,
            "confidence": r.trend.confidence, "pvalue": r.trend.pvalue,
            "significant": r.trend.significant, "points": r.trend.n,
            "span_seconds": r.trend_span, "extrapolated": r.extrapolated,
        }
    out: dict[str, Any] = {
        "name": r.name, "version": r.version, "current": _clean(r.current),
        "change": _clean(r.change), "trend": trend, "trend_reason": r.trend_reason,
        "shape": r.shape,
        "step": None if r.step_at is None else {"time": r.step_at, "size": r.step_size},
    }
    if r.kind == "drift":
        out["first_crossed"] = {k: v for k, v in r.crossed.items()}
        out["forecast_high"] = r.forecast_high
        out["forecast_note"] = r.forecast_note
    return out


def to_json(report: HistoryReport) -> str:
    doc: dict[str, Any] = {
        "prometheus": report.prometheus, "model": report.model,
        "versions": list(report.versions), "start": report.start, "end": report.end,
        "step": report.step, "thresholds": report.thresholds, "series": report.series,
        "drift": [_series_json(r) for r in report.drift],
        "performance": [_series_json(r) for r in report.performance],
    }
    if report.compare is not None:
        doc["compare"] = {
            "a": report.compare[0], "b": report.compare[1],
            "results": [
                {"name": c.name, "a": _clean(c.comparison.a), "b": _clean(c.comparison.b),
                 "difference": _clean(c.comparison.difference),
                 "statistic": _clean(c.comparison.statistic),
                 "pvalue": c.comparison.pvalue, "significant": c.comparison.significant,
                 "method": c.comparison.method, "better": c.better}
                for c in report.comparisons
            ],
        }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:right}th{background:#f4f4f4}td:first-child,td:nth-child(2){text-align:left}
.chart{display:inline-block;margin:0.5em}.sig{color:#b00020;font-weight:bold}"""


def to_html(report: HistoryReport) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>mlmon history — {esc(report.model)}</title><style>{_CSS}</style></head><body>",
        f"<h1>mlmon history — {esc(report.model)}</h1>",
        f"<p>Versions {esc(', '.join(report.versions))}; {esc(_ts(report.start))} .. "
        f"{esc(_ts(report.end))} UTC; PSI thresholds {report.thresholds['psi_medium']:g} / "
        f"{report.thresholds['psi_high']:g}.</p>",
        "<h2>Drift</h2><table><tr><th>version</th><th>feature</th><th>current</th>"
        "<th>change</th><th>first medium</th><th>first high</th><th>high forecast</th>"
        "<th>trend (95% CI)</th></tr>",
    ]
    for r in report.drift:
        cls = " class='sig'" if r.trend is not None and r.trend.significant else ""
        parts.append(
            f"<tr><td>{esc(r.version)}</td><td>{esc(r.name)}</td><td>{_num(r.current)}</td>"
            f"<td>{_num(r.change, '+.4f')}</td><td>{_ts(r.crossed.get('medium'))}</td>"
            f"<td>{_ts(r.crossed.get('high'))}</td><td>{esc(_forecast(r, True))}</td>"
            f"<td{cls}>{esc(_trend_text(r))}</td></tr>")
    parts.append("</table>")
    for r in report.drift:
        parts.append(_chart(r, [("medium", report.thresholds["psi_medium"]),
                                ("high", report.thresholds["psi_high"])]))
    parts.append("<h2>Performance</h2><table><tr><th>version</th><th>metric</th>"
                 "<th>current</th><th>change</th><th>trend (95% CI)</th></tr>")
    for r in report.performance:
        parts.append(f"<tr><td>{esc(r.version)}</td><td>{esc(r.name)}</td>"
                     f"<td>{_num(r.current)}</td><td>{_num(r.change, '+.4f')}</td>"
                     f"<td>{esc(_trend_text(r))}</td></tr>")
    parts.append("</table>")
    for r in report.performance:
        parts.append(_chart(r, []))
    if report.compare is not None:
        parts.append(f"<h2>Comparison {esc(report.compare[0])} vs {esc(report.compare[1])}"
                     "</h2><pre>")
        parts.extend(esc(_comparison_line(c)) + "\n" for c in report.comparisons)
        parts.append("</pre>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _chart(r: SeriesReport, guides: list[Guide]) -> str:
    title = f"{r.name} (v{r.version})"
    return "<div class='chart'>" + line_chart(r.t, r.y, title, guides) + "</div>"
