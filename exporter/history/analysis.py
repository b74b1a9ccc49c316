"""Build a history report for one model from Prometheus range queries."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from exporter.history.promapi import PrometheusAPI, PrometheusError, Series
from exporter.history.shape import FORECAST_SPANS, assess, duration
from exporter.metric_names import MACRO_CLASS
from exporter.stats.thresholds import DEFAULT_PSI_HIGH, DEFAULT_PSI_MEDIUM
from exporter.stats.trend import (
    Comparison,
    Trend,
    compare_means,
    compare_proportions,
    first_crossing,
    forecast_crossing,
)

# Performance series: name -> (PromQL selector template, higher is better)
PERFORMANCE: dict[str, tuple[str, bool]] = {
    "accuracy": ("mlmon_accuracy_ratio{{{sel}}}", True),
    "f1_macro": (f'mlmon_f1_ratio{{{{{{sel}},class="{MACRO_CLASS}"}}}}', True),
    "log_loss": ("mlmon_log_loss{{{sel}}}", False),
    "mae": ("mlmon_regression_mae{{{sel}}}", False),
    "rmse": ("mlmon_regression_rmse{{{sel}}}", False),
    "mape": ("mlmon_regression_mape_ratio{{{sel}}}", False),
    "r2": ("mlmon_regression_r2{{{sel}}}", True),
}
# The hourly averages rules/mlmon-downsampling.yml records: what
# prometheus/prometheus.example.yml ships to a long-term store, where the raw series above
# are not kept. `series="auto"` reads them when the range has no raw series.
DOWNSAMPLED_PSI = "model_version_feature:mlmon_feature_psi:avg1h"
DOWNSAMPLED: dict[str, str] = {
    "accuracy": "model_version:mlmon_accuracy_ratio:avg1h",
    "mae": "model_version:mlmon_regression_mae:avg1h",
    "rmse": "model_version:mlmon_regression_rmse:avg1h",
}
SERIES = ("auto", "raw", "downsampled")


class HistoryError(RuntimeError):
    """The history cannot be reported: says what is wrong (and what Prometheus said)."""


@dataclass(frozen=True)
class SeriesReport:
    kind: str  # "drift" | "performance"
    name: str  # feature or performance metric
    version: str
    t: tuple[float, ...]
    y: tuple[float, ...]
    current: float
    change: float
    trend: Trend | None  # the slope reported (see exporter/history/shape.py), if any
    crossed: dict[str, float | None] = field(default_factory=dict)  # severity -> time
    forecast_high: float | None = None  # only from a significant rising slope
    shape: str | None = None  # "flat" | "trend" | "step" | "step+trend"; None: too short
    trend_reason: str | None = None  # why no slope is reported
    step_at: float | None = None  # time of the first sample after a step
    step_size: float | None = None
    extrapolated: bool = False  # slope per day from less than a day of data
    trend_span: float = 0.0  # seconds the slope is fitted over
    forecast_note: str | None = None  # why a crossing of the fitted line is not forecast


@dataclass(frozen=True)
class VersionComparison:
    name: str  # metric or "psi:<feature>"
    comparison: Comparison
    better: str | None  # the version that is better, when significant


@dataclass(frozen=True)
class HistoryReport:
    prometheus: str
    model: str
    versions: tuple[str, ...]
    start: float
    end: float
    step: float
    thresholds: dict[str, float]
    drift: tuple[SeriesReport, ...]
    performance: tuple[SeriesReport, ...]
    compare: tuple[str, str] | None = None
    comparisons: tuple[VersionComparison, ...] = ()
    series: str = "raw"  # "raw" sidecar series or the "downsampled" hourly averages


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


_REGEX_META = frozenset("\\.+*?()|[]{}^$")


def _literal(value: str) -> str:
    """``value`` as a regular expression (RE2) matching exactly itself."""
    return "".join("\\" + c if c in _REGEX_META else c for c in value)


# Any mlmon series, sidecar's or recorded (`model_version:mlmon_accuracy_ratio:avg1h`).
_ANY_MLMON = '{__name__=~"(.+:)?mlmon_.+"}'


def _selector(model: str, version: str | None) -> str:
    sel = f'model="{_q(model)}"'
    if version is not None:
        sel += f',version="{_q(version)}"'
    return sel


def _series_report(kind: str, name: str, version: str, s: Series,
                   thresholds: dict[str, float], end: float, step: float) -> SeriesReport:
    keep = ~np.isnan(s.y)
    t, y = s.t[keep], s.y[keep]
    found = assess(t, y, step)
    trend = found.trend
    current = float(y[-1]) if y.size else math.nan
    change = float(y[-1] - y[0]) if y.size else math.nan
    crossed: dict[str, float | None] = {}
    forecast = None
    note = None
    if kind == "drift":
        crossed = {
            "medium": first_crossing(t, y, thresholds["psi_medium"]),
            "high": first_crossing(t, y, thresholds["psi_high"]),
        }
        if trend is not None:
            forecast = forecast_crossing(trend, thresholds["psi_high"], end, current)
            horizon = end + FORECAST_SPANS * found.span
            if forecast is not None and forecast > horizon:
                forecast = None
                stamp = datetime.fromtimestamp(horizon, UTC).strftime("%Y-%m-%d %H:%M")
                note = (f"beyond {stamp} ({FORECAST_SPANS:g} × the {duration(found.span)} "
                        "of data fitted)")
    return SeriesReport(kind, name, version, tuple(map(float, t)), tuple(map(float, y)),
                        current, change, trend, crossed, forecast, found.shape, found.reason,
                        found.step_at, found.step_size, found.extrapolated, found.span, note)


def _thresholds(api: PrometheusAPI, sel: str, rng: str, end: float) -> dict[str, float]:
    found = {
        labels.get("threshold", ""): value
        for labels, value in api.query(
            f'max by (threshold) (last_over_time(mlmon_threshold{{{sel},'
            f'threshold=~"psi_medium|psi_high"}}[{rng}]))', end)
    }
    return {
        "psi_medium": found.get("psi_medium", DEFAULT_PSI_MEDIUM),
        "psi_high": found.get("psi_high", DEFAULT_PSI_HIGH),
    }


def _query_series(api: PrometheusAPI, sel: str, start: float, end: float, step: float,
                  thresholds: dict[str, float], downsampled: bool,
                  ) -> tuple[list[SeriesReport], list[SeriesReport]]:
    psi = f"{DOWNSAMPLED_PSI}{{{sel}}}" if downsampled else f"mlmon_feature_psi{{{sel}}}"
    drift = [
        _series_report("drift", s.labels.get("feature", "?"), s.labels.get("version", ""), s,
                       thresholds, end, step)
        for s in api.query_range(f"max by (version, feature) ({psi})", start, end, step)
    ]
    performance: list[SeriesReport] = []
    for name, (template, _) in PERFORMANCE.items():
        if downsampled and name not in DOWNSAMPLED:
            continue
        selector = (f"{DOWNSAMPLED[name]}{{{sel}}}" if downsampled
                    else template.format(sel=sel))
        for s in api.query_range(f"avg by (version) ({selector})", start, end, step):
            performance.append(_series_report("performance", name,
                                              s.labels.get("version", ""), s, thresholds, end,
                                              step))
    return drift, performance


def analyse(api: PrometheusAPI, model: str, version: str | None, start: float, end: float,
            step: float, compare: tuple[str, str] | None = None,
            series: str = "auto") -> HistoryReport:
    """Query the range and report trends per feature and performance metric, from the
    sidecars' raw series or (``series="downsampled"``, or ``"auto"`` when the range has
    no raw series, as in a long-term store) from the hourly averages."""
    if end <= start or step <= 0:
        raise HistoryError("the range must be positive and the step greater than 0")
    if series not in SERIES:
        raise HistoryError(f"series must be one of {', '.join(SERIES)}, not {series!r}")
    models = api.label_values("model", _ANY_MLMON, start, end)
    if model not in models:
        ever = api.label_values("model", _ANY_MLMON, None, None)
        if model in ever:
            raise HistoryError(f"no data for model {model!r} in the requested range; "
                               "widen --range or move --end")
        known = ", ".join(ever) or "none"
        raise HistoryError(f"unknown model {model!r}: Prometheus has no mlmon series for it "
                           f"(models it knows: {known})")
    sel_versions: tuple[str, ...] | None
    if compare is not None:
        sel_versions = compare
    elif version is not None:
        sel_versions = (version,)
    else:
        sel_versions = None
    sel = _selector(model, None)
    if sel_versions is not None:
        sel += ',version=~"' + "|".join(_q(_literal(v)) for v in sel_versions) + '"'
    rng = f"{max(1, round(end - start))}s"
    thresholds = _thresholds(api, sel, rng, end)
    used = "downsampled" if series == "downsampled" else "raw"
    drift, performance = _query_series(api, sel, start, end, step, thresholds,
                                       used == "downsampled")
    if series == "auto" and not drift and not performance:
        used = "downsampled"
        drift, performance = _query_series(api, sel, start, end, step, thresholds, True)
    if not drift and not performance:
        raise HistoryError(f"no drift or performance series for model {model!r}"
                           + (f" version(s) {', '.join(sel_versions)}" if sel_versions else "")
                           + " in the requested range")
    seen_versions = tuple(sorted({r.version for r in (*drift, *performance)}))
    comparisons: tuple[VersionComparison, ...] = ()
    if compare is not None:
        missing = [v for v in compare if v not in seen_versions]
        if missing:
            raise HistoryError(f"version(s) {', '.join(missing)} of {model!r} have no data "
                               "in the requested range")
        comparisons = _compare(api, sel, rng, end, compare, drift, performance,
                               used == "downsampled")
    drift.sort(key=lambda r: (r.version, -r.current if not math.isnan(r.current) else 0, r.name))
    performance.sort(key=lambda r: (r.version, r.name))
    return HistoryReport(api.base_url, model, seen_versions, start, end, step, thresholds,
                         tuple(drift), tuple(performance), compare, comparisons, used)


def _compare(api: PrometheusAPI, sel: str, rng: str, end: float, versions: tuple[str, str],
             drift: list[SeriesReport], performance: list[SeriesReport],
             downsampled: bool = False) -> tuple[VersionComparison, ...]:
    a, b = versions
    # Hourly averages of accuracy are no proportions of the joined-label counts (which a
    # long-term store does not keep either): compared by Welch's t-test like the others.
    joined = {} if downsampled else {
        labels.get("version", ""): value
        for labels, value in api.query(
            f"sum by (version) (increase(mlmon_labels_joined_total{{{sel}}}[{rng}]))", end)
    }
    out: list[VersionComparison] = []
    by_key = {(r.name, r.version): r for r in performance}
    for name, (_, higher_better) in PERFORMANCE.items():
        ra, rb = by_key.get((name, a)), by_key.get((name, b))
        if ra is None or rb is None:
            continue
        cmp: Comparison | None
        if name in ("accuracy",) and joined.get(a, 0) > 0 and joined.get(b, 0) > 0:
            cmp = compare_proportions(float(np.mean(ra.y)), int(joined[a]),
                                      float(np.mean(rb.y)), int(joined[b]))
        else:
            cmp = compare_means(np.array(ra.y), np.array(rb.y))
        if cmp is not None:
            out.append(VersionComparison(name, cmp, _better(cmp, higher_better, a, b)))
    drift_key = {(r.name, r.version): r for r in drift}
    for feature in sorted({r.name for r in drift}):
        da, db = drift_key.get((feature, a)), drift_key.get((feature, b))
        if da is None or db is None:
            continue
        cmp = compare_means(np.array(da.y), np.array(db.y))
        if cmp is not None:
            out.append(VersionComparison(f"psi:{feature}", cmp, _better(cmp, False, a, b)))
    return tuple(out)


def _better(cmp: Comparison, higher_better: bool, a: str, b: str) -> str | None:
    if not cmp.significant or cmp.difference == 0:
        return None
    b_higher = cmp.difference > 0
    return b if b_higher == higher_better else a


__all__ = ["DOWNSAMPLED", "DOWNSAMPLED_PSI", "SERIES", "HistoryError", "HistoryReport",
           "PrometheusError", "SeriesReport", "analyse"]
