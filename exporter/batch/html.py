"""The HTML report: one self-contained file (inline CSS and SVG, no script, no URL)."""

from __future__ import annotations

from html import escape
from itertools import pairwise

from exporter.batch import chunk_chart
from exporter.batch.dataquality import html_section
from exporter.batch.errorstream import error_drift_line
from exporter.batch.jsonout import performance_dict
from exporter.batch.multivariate import html_section as multivariate_section
from exporter.batch.quality import quality_dict
from exporter.batch.report import BatchReport, FeatureResult
from exporter.batch.segments import html_section as segment_section
from exporter.batch.text import flagged, sampled_note
from exporter.stats.performance import ClassificationMetrics
from exporter.stats.severity import Severity

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}
.sev-low{background:#e3f4e3}.sev-medium{background:#fff1c9}.sev-high{background:#f9d0d0}
.sev-na{background:#eee}
.grid{display:flex;flex-wrap:wrap;gap:1.5em}
figure{margin:0}figcaption{font-weight:600;margin-bottom:.3em}
.ref{fill:#9aa5b1}.cur-low{fill:#3c9a3c}.cur-medium{fill:#d9a400}.cur-high{fill:#c62828}
.cur-na{fill:#777}
.axis{stroke:#444;stroke-width:1}
.tick{font-size:9px;fill:#444}
"""

_W, _H, _PAD = 380, 150, 22


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def _css(severity: Severity | None) -> str:
    """The CSS class suffix of a severity ("na" without a verdict)."""
    return severity.label if severity is not None else "na"


def _text(severity: Severity | None) -> str:
    return severity.label if severity is not None else "n/a"


def histogram_svg(f: FeatureResult) -> str:
    """Reference vs current proportions per profile bucket, as grouped bars."""
    ref = list(f.reference_proportions)
    cur = [float(v) for v in f.current_proportions]
    n = len(ref)
    top = max([*ref, *cur, 1e-12])
    slot = (_W - _PAD) / n
    bar = max(slot / 2 - 1, 1.0)
    parts = [f'<svg width="{_W}" height="{_H + 30}" viewBox="0 0 {_W} {_H + 30}" '
             f'role="img" aria-label="{escape(f.drift.name)} histogram">']
    titles = _bucket_titles(f)
    for i, (r, c) in enumerate(zip(ref, cur, strict=True)):
        x = _PAD + i * slot
        label = escape(titles[i])
        for j, (value, cls, who) in enumerate(((r, "ref", "reference"),
                                              (c, f"cur-{_css(f.drift.severity)}", "current"))):
            h = value / top * (_H - 10)
            parts.append(f'<rect class="{cls}" x="{x + j * bar:.1f}" y="{_H - h:.1f}" '
                         f'width="{bar:.1f}" height="{h:.1f}"><title>{label}: {who} '
                         f'{value:.3%}</title></rect>')
        if n <= 12:
            parts.append(f'<text class="tick" x="{x + bar:.1f}" y="{_H + 12}" '
                         f'text-anchor="middle">{escape(_short(f, i))}</text>')
    parts.append(f'<line class="axis" x1="{_PAD}" y1="{_H}" x2="{_W}" y2="{_H}"/>')
    parts.append(f'<text class="tick" x="0" y="10">{top:.0%}</text>')
    parts.append(f'<text class="tick" x="{_PAD}" y="{_H + 26}">■ reference (grey) vs '
                 f'current (coloured by severity)</text></svg>')
    return "".join(parts)


def _bucket_titles(f: FeatureResult) -> list[str]:
    """Numeric bins as intervals ("[1.5, 3.2)"), categories as themselves."""
    labels = list(f.bucket_labels)
    if f.drift.kind != "numeric":
        return labels
    edges = [f"{float(e):.4g}" for e in labels[:-1]]
    if not edges:
        return ["all values"]
    return [f"< {edges[0]}",
            *(f"[{lo}, {hi})" for lo, hi in pairwise(edges)),
            f"≥ {edges[-1]}"]


def _short(f: FeatureResult, i: int) -> str:
    """Tick label: a numeric bin by its upper edge, a category by its value."""
    label = f.bucket_labels[i]
    if f.drift.kind == "numeric":
        return f"<{float(label):.3g}" if label != "+Inf" else "+Inf"
    return label if len(label) <= 10 else label[:9] + "…"


def _feature_table(r: BatchReport) -> str:
    head = ("feature", "kind", "samples", "PSI", "KS D", "KS p", "χ²", "χ² p",
            "Wasserstein", "Jensen–Shannon", "Hellinger", "severity")
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for f in r.features:
        d = f.drift
        cells = (escape(d.name), d.kind, str(d.samples), _fmt(d.psi), _fmt(d.ks_statistic),
                 _fmt(d.ks_pvalue), _fmt(d.chi2_statistic), _fmt(d.chi2_pvalue),
                 _fmt(d.wasserstein), _fmt(d.jensen_shannon), _fmt(d.hellinger),
                 _text(d.severity))
        rows.append(f'<tr class="sev-{_css(d.severity)}">' + "".join(f"<td>{c}</td>" for c in cells)
                    + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _performance_table(r: BatchReport) -> str:
    p = performance_dict(r.performance)
    if p is None:
        return "<p>No label column: performance not computed.</p>"
    if p["kind"] == "regression":
        body = "".join(f"<tr><td>{k}</td><td>{_fmt(p[k])}</td></tr>"
                       for k in ("samples", "mae", "rmse", "mape", "r2"))
        return f"<table><tr><th>metric</th><th>value</th></tr>{body}</table>"
    rows = [f"<tr><td>{escape(c)}</td><td>{_fmt(v['precision'])}</td><td>{_fmt(v['recall'])}"
            f"</td><td>{_fmt(v['f1'])}</td></tr>" for c, v in p["classes"].items()]
    m = p["macro"]
    rows.append(f"<tr><td>macro</td><td>{_fmt(m['precision'])}</td><td>{_fmt(m['recall'])}"
                f"</td><td>{_fmt(m['f1'])}</td></tr>")
    loss = f", log loss {_fmt(p['log_loss'])}" if p["log_loss"] is not None else ""
    return (f"<p>{p['samples']} labelled rows: accuracy {_fmt(p['accuracy'])}{loss}</p>"
            "<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th></tr>"
            + "".join(rows) + "</table>")


def _quality(r: BatchReport) -> str:
    q = quality_dict(r.quality)
    rows = "".join(f"<tr><td>{k}</td><td>{_fmt(v)}</td></tr>"
                   for k in ("roc_auc", "brier_score", "expected_calibration_error")
                   if isinstance(v := q.get(k), float))
    return (f"<table><tr><th>ranking, calibration</th><th>value</th></tr>{rows}</table>"
            if rows else "")


def render(r: BatchReport) -> str:
    title = f"mlmon batch report: {escape(r.model)} version {escape(r.version)}"
    figures = "".join(f"<figure><figcaption>{escape(f.drift.name)} ({_text(f.drift.severity)})"
                      f"</figcaption>{histogram_svg(f)}</figure>" for f in r.features)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>{_CSS}{chunk_chart.CSS}</style></head><body>"
            f"<h1>{title}</h1><p>{r.rows} rows; drift share {r.drift_share:.1%}; "
            f'dataset severity <span class="sev-{_css(r.severity)}">{_text(r.severity)}</span></p>'
            f'<p class="top">top drifted: {escape(flagged(r.drifted()))}</p>'
            f"<h2>Features</h2>{_feature_table(r)}{_sampled(r)}<h2>Histograms</h2>"
            f'<div class="grid">{figures}</div>{chunk_chart.section(r)}'
            f"<h2>Performance</h2>{_performance_table(r)}{_quality(r)}{_estimate(r)}{_error_drift(r)}"
            f"{html_section(r)}{segment_section(r.segments)}"
            f"{multivariate_section(r)}</body></html>\n")


def _error_drift(r: BatchReport) -> str:
    line = error_drift_line(r.error_drift)
    return "" if line is None else f"<h2>Error stream</h2><p>{escape(line)}</p>"


def _estimate(r: BatchReport) -> str:
    """CBPE of the file next to its realized accuracy (when labelled)."""
    e = r.estimate
    if e is None:
        return ""
    basis = "calibrated confidence" if e.calibrated else "raw scores (no reference labels)"
    rows = [("estimated accuracy", e.accuracy), ("estimated precision", e.precision),
            ("estimated recall", e.recall), ("estimated F1", e.f1)]
    if isinstance(r.performance, ClassificationMetrics):
        rows.insert(1, ("realized accuracy", r.performance.accuracy))
    body = "".join(f"<tr><td>{k}</td><td>{_fmt(v)}</td></tr>" for k, v in rows if v is not None)
    return (f"<h2>Estimated performance</h2><p>{e.samples} rows, {basis}</p>"
            f"<table><tr><th>metric</th><th>value</th></tr>{body}</table>")


def _sampled(r: BatchReport) -> str:
    note = sampled_note(r)
    return "" if note is None else f'<p class="sampled">{escape(note)}</p>'
