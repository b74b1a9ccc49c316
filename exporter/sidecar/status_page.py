"""`GET /`: a self-contained HTML view of the /v1/status document, for port-forward debugging.

Server-rendered from the same dictionary /v1/status serves; no script, no external
resources. Every value is escaped: model and feature names come from the config.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from exporter.sidecar.multivariate import render as render_multivariate
from exporter.sidecar.segments import render as render_segments
from exporter.stats.severity import Severity

REFRESH_SECONDS = 10
SEVERITIES = tuple(s.label for s in Severity)  # low, medium, high

_CSS = """
body{font:14px/1.4 "DejaVu Sans",Arial,sans-serif;margin:1.5em;color:#1d2330;background:#f7f8fa}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.4em 0 .4em}
h3{font-size:1em;margin:1em 0 .3em}
.meta,.note{color:#5b6475}a{color:#1f5fbf}
table{border-collapse:collapse;background:#fff;margin:.3em 0}
th,td{border:1px solid #d5d9e0;padding:.25em .6em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#eceff4}
.sev-low{background:#dff3e3}.sev-medium{background:#fff1c2}
.sev-high{background:#f9d0cc}.sev-none{background:#eceff4;color:#5b6475}
.badge{display:inline-block;padding:0 .5em;border-radius:.6em;font-size:.9em}
tr.prediction td{border-top:2px solid #8a93a3}
.bar{display:inline-block;width:10em;height:.7em;background:#e3e6eb;vertical-align:middle}
.bar span{display:block;height:100%;background:#1f5fbf}
section.model{margin-bottom:1.5em}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def severity_class(label: str | None) -> str:
    return f"sev-{label}" if label in SEVERITIES else "sev-none"


def fmt_p(value: float | None) -> str:
    """Four decimals; scientific below 0.001 so tiny p-values stay readable."""
    if value is None or math.isnan(value):
        return "–"
    if value == 0.0:
        return "0"  # underflow: the tests reject the reference beyond float precision
    return f"{value:.2e}" if value < 1e-3 else f"{value:.4f}"


def fmt_number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return str(value) if isinstance(value, int) else f"{value:.4f}"


def fmt_time(ts: float | None, now: float) -> str:
    if ts is None:
        return "not yet"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))
    return f"{stamp} ({max(0.0, now - ts):.0f} s ago)"


def _badge(label: str | None) -> str:
    return f'<span class="badge {severity_class(label)}">{_e(label or "no verdict")}</span>'


def _yes_no(value: bool | None) -> str:
    return "–" if value is None else ("yes" if value else "no")


def _feature_row(f: Mapping[str, Any], prediction: bool = False) -> str:
    label = f.get("severity")
    kind = "prediction" if prediction else "feature"  # tr.feature: the features only
    alpha = f.get("alpha")
    return (
        f'<tr class="{kind} {severity_class(label)}" data-feature="{_e(f["name"])}">'
        f'<td class="name">{_e(f["name"])}</td><td class="kind">{_e(f["kind"])}</td>'
        f'<td class="num samples">{_e(f.get("samples", 0))}</td>'
        f'<td class="num psi">{fmt_number(f.get("psi"))}</td>'
        f'<td class="num upper">{fmt_number(f.get("psi_upper_bound"))}</td>'
        f'<td class="num floor">{fmt_number(f.get("psi_noise_floor"))}</td>'
        f'<td class="num ks">{fmt_p(f.get("ks_pvalue"))}</td>'
        f'<td class="num chi2">{fmt_p(f.get("chi2_pvalue"))}</td>'
        f'<td class="num pvalue">{fmt_p(f.get("pvalue"))}</td>'
        f'<td class="num alpha">{"–" if alpha is None else _e(f"{alpha:g}")}</td>'
        f'<td class="significant">{_yes_no(f.get("significant"))}</td>'
        f'<td class="severity">{_e(label or "no verdict")}</td></tr>')


_DRIFT_HEAD = (
    "<tr><th>feature</th><th>kind</th><th>samples</th><th>PSI</th>"
    '<th title="one-sided 97.5 % upper confidence bound on the PSI">PSI upper</th>'
    '<th title="PSI an undrifted window of this size exceeds with probability α">'
    "noise floor</th><th>KS p</th><th>χ² p</th>"
    '<th title="KS (numeric), χ² with sparse categories pooled (categorical), '
    "PSI's χ² limit without a reference sample\">test p</th><th>α</th>"
    '<th title="test significant after Holm across the model, and PSI ≥ noise floor">'
    "significant</th><th>severity</th></tr>")

VERDICT_NOTE = (
    '<p class="note verdict">Medium when PSI or its upper bound reaches psi_medium, high '
    "when PSI reaches psi_high, and either only when the shift is significant: the test "
    "p-value significant after Holm across the model's features and the prediction (each "
    "at its α) and PSI at or above its noise floor; otherwise low.</p>")


def _features(features: Sequence[Mapping[str, Any]],
              prediction: Mapping[str, Any] | None) -> str:
    if not features and prediction is None:
        return '<p class="note">No feature has been computed yet.</p>'
    rows = [_feature_row(f) for f in features]
    if prediction is not None:
        rows.append(_feature_row(prediction, prediction=True))
    return (f'<table class="drift"><thead>{_DRIFT_HEAD}</thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{VERDICT_NOTE}')


def _performance(perf: Mapping[str, Any]) -> str:
    if not perf:
        return '<p class="note">No joined labels yet.</p>'
    rows = "".join(f'<tr data-metric="{_e(k)}"><th>{_e(k)}</th>'
                   f'<td class="num">{_e(fmt_number(v))}</td></tr>' for k, v in perf.items())
    return f'<table class="performance"><tbody>{rows}</tbody></table>'


def _model(m: Mapping[str, Any], now: float) -> str:
    fill = float(m.get("window_fill") or 0.0)
    width = min(100.0, max(0.0, fill * 100))
    share = m.get("drift_share")
    share_text = "–" if share is None else f"{share:.0%}"
    top = ", ".join(_e(n) for n in m.get("top_drifted", [])) or "–"
    return (
        f'<section class="model" data-model="{_e(m["model"])}" data-version="{_e(m["version"])}">'
        f'<h2>{_e(m["model"])} <span class="meta">version {_e(m["version"])}</span> '
        f'{_badge(m.get("severity"))}</h2>'
        '<table class="summary"><tbody>'
        f'<tr><th>window fill</th><td class="window-fill"><span class="bar">'
        f'<span style="width:{width:.1f}%"></span></span> {fill:.1%} '
        f'({_e(m["window_samples"])} / {_e(m["window_size"])})</td></tr>'
        f'<tr><th>last compute</th><td class="last-compute">'
        f'{_e(fmt_time(m.get("last_compute"), now))}</td></tr>'
        f'<tr><th>predictions</th><td class="num">{_e(m.get("predictions_total", 0))}</td></tr>'
        f'<tr><th>labels joined</th><td class="num">{_e(m.get("labels_joined", 0))}</td></tr>'
        f'<tr><th>drift share</th><td class="num">{share_text}</td></tr>'
        f'<tr><th>top drifted</th><td>{top}</td></tr>{_quality(m)}'
        '</tbody></table>'
        f'<h3>Drift</h3>{_features(m.get("features", []), m.get("prediction"))}'
        f'<h3>Performance</h3>{_performance(m.get("performance", {}))}'
        f'{_estimate(m)}'
        f'{render_multivariate(m, _e, fmt_number)}'
        f'{render_segments(m, _e, fmt_number)}'
        '</section>')


def _quality(m: Mapping[str, Any]) -> str:
    """Features and measures above their data-quality limit (exporter.stats.quality)."""
    dq = m.get("data_quality") or []
    bad = [f'{q["name"]} {e}' for q in dq for e in q.get("exceeded", [])]
    text = ", ".join(bad) if bad else "within limits" if dq else "–"
    return f'<tr><th>data quality</th><td class="data-quality">{_e(text)}</td></tr>'


def _estimate(m: Mapping[str, Any]) -> str:
    """Estimated accuracy (CBPE) next to the realized one, and what the confidence rests on."""
    basis = m.get("estimate_basis")
    if basis is None:
        return ""
    est = m.get("estimate")
    realized = (m.get("performance") or {}).get("accuracy")
    if est is None:
        body = '<p class="note">Not enough predictions in the window yet.</p>'
    else:
        rows = [("estimated accuracy", est.get("accuracy")), ("realized accuracy", realized),
                *((f"estimated {k}", est.get(k)) for k in ("precision", "recall", "f1")
                  if est.get(k) is not None)]
        body = '<table class="estimate"><tbody>' + "".join(
            f'<tr data-metric="{_e(k)}"><th>{_e(k)}</th>'
            f'<td class="num">{_e(fmt_number(v))}</td></tr>' for k, v in rows) + "</tbody></table>"
    return (f'<h3>Estimated performance</h3><p class="estimate-basis">confidence: '
            f'{_e(basis)}</p>{body}')


def _events(events: Mapping[str, Mapping[str, int]]) -> str:
    received = "".join(f'<tr data-transport="{_e(k)}"><th>{_e(k)}</th>'
                       f'<td class="num">{_e(v)}</td></tr>'
                       for k, v in events.get("received", {}).items())
    rejected_all = events.get("rejected", {})
    total = sum(rejected_all.values())
    rejected = "".join(f'<tr data-reason="{_e(k)}"><th>{_e(k)}</th>'
                       f'<td class="num">{_e(v)}</td></tr>'
                       for k, v in rejected_all.items() if v)
    return ('<h2>Events</h2><h3>Received</h3>'
            f'<table class="received"><tbody>{received}</tbody></table>'
            f'<h3>Rejected <span class="meta rejected-total">{total}</span></h3>'
            + (f'<table class="rejected"><tbody>{rejected}</tbody></table>' if rejected
               else '<p class="note">None rejected.</p>'))


def render(status: Mapping[str, Any], now: float | None = None) -> str:
    """The page for one /v1/status document."""
    now = time.time() if now is None else now
    models = "".join(_model(m, now) for m in status.get("models", []))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no favicon request, no 404 in the console
        f'<title>mlmon status</title><style>{_CSS}</style></head><body>'
        f'<h1>mlmon status</h1><p class="meta">mlmon {_e(status.get("version", "?"))} · '
        f'up {float(status.get("uptime_seconds", 0.0)):.0f} s · '
        f'refreshes every {REFRESH_SECONDS} s · '
        '<a href="/metrics">/metrics</a> · <a href="/v1/status">/v1/status</a></p>'
        f'<p class="meta legend">drift severity: {"".join(_badge(s) + " " for s in SEVERITIES)}'
        f'{_badge(None)} (too few samples, or no profile)</p>'
        f'{models or "<p class=note>No model configured.</p>"}'
        f'{_events(status.get("events", {}))}'
        '</body></html>')
