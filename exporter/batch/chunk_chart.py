"""HTML chart of chunk analysis: PSI per chunk for one feature, as inline SVG.

One point per chunk, coloured by the chunk's severity for the feature (grey
without a verdict, drawn on the axis); dashed lines at the medium and high PSI
thresholds. Every point carries ``data-chunk`` and ``data-psi`` and a tooltip.
"""

from __future__ import annotations

from html import escape

from exporter.batch.report import BatchReport, ChunkResult, FeatureResult
from exporter.batch.text import chunk_span, flagged
from exporter.stats.severity import Severity

CSS = """
.thr-medium{stroke:#d9a400;stroke-dasharray:4 3}.thr-high{stroke:#c62828;stroke-dasharray:4 3}
.psi-line{fill:none;stroke:#9aa5b1;stroke-width:1}
circle.cur-na{fill:#bbb}
td.text{text-align:left}
"""

_H, _PAD, _TOP = 150, 34, 8


def _width(n: int) -> int:
    return min(max(380, _PAD + 10 * n), 1400)


def _css(severity: Severity | None) -> str:
    return severity.label if severity is not None else "na"


def psi_chart(name: str, position: int, r: BatchReport) -> str:
    """The PSI of feature ``name`` (at ``position`` in every chunk) over the chunks."""
    assert r.chunking is not None
    t = r.thresholds
    points: list[tuple[ChunkResult, FeatureResult]] = [(c, c.features[position])
                                                       for c in r.chunks]
    psis = [f.drift.psi for _, f in points if f.drift.psi is not None]
    top = max([*psis, t.psi_high * 1.25])
    w = _width(len(points))
    step = (w - _PAD - 8) / max(len(points) - 1, 1)

    def y(psi: float) -> float:
        return _TOP + (_H - _TOP) * (1 - psi / top)

    parts = [f'<svg width="{w}" height="{_H + 26}" viewBox="0 0 {w} {_H + 26}" role="img" '
             f'aria-label="{escape(name)} PSI per chunk">']
    for label, value in (("medium", t.psi_medium), ("high", t.psi_high)):
        parts.append(f'<line class="thr-{label}" data-psi="{value!r}" x1="{_PAD}" '
                     f'y1="{y(value):.2f}" x2="{w}" y2="{y(value):.2f}"/>'
                     f'<text class="tick" x="0" y="{y(value) + 3:.2f}">{value:g}</text>')
    line = [(_PAD + i * step, y(f.drift.psi)) for i, (_, f) in enumerate(points)
            if f.drift.psi is not None]
    if len(line) > 1:
        parts.append('<polyline class="psi-line" points="'
                     + " ".join(f"{a:.2f},{b:.2f}" for a, b in line) + '"/>')
    for i, (c, f) in enumerate(points):
        d = f.drift
        psi = d.psi
        tip = (f"chunk {c.index} ({escape(chunk_span(c, r.chunking))}, {c.rows} rows): "
               + (f"PSI {psi:.4g}, {_css(d.severity)}" if psi is not None
                  else f"no verdict ({d.samples} values &lt; min samples {t.min_samples})"))
        parts.append(f'<circle class="cur-{_css(d.severity)}" data-chunk="{c.index}" '
                     f'data-psi="{"" if psi is None else repr(psi)}" cx="{_PAD + i * step:.2f}" '
                     f'cy="{y(psi if psi is not None else 0.0):.2f}" r="3.5">'
                     f"<title>{tip}</title></circle>")
        if len(points) <= 24:
            parts.append(f'<text class="tick" x="{_PAD + i * step:.2f}" y="{_H + 10}" '
                         f'text-anchor="middle">{c.index}</text>')
    parts.append(f'<line class="axis" x1="{_PAD}" y1="{_H}" x2="{w}" y2="{_H}"/>'
                 f'<text class="tick" x="{_PAD}" y="{_H + 20}">chunks 0 to {len(points) - 1}; '
                 "dashed: PSI medium and high thresholds</text></svg>")
    return "".join(parts)


def section(r: BatchReport) -> str:
    """The "Chunks" section: a PSI chart per feature, or nothing without chunking."""
    if r.chunking is None:
        return ""
    rows = "".join(
        f'<tr class="sev-{_css(c.severity)}"><td>{c.index}</td>'
        f'<td class="text">{escape(chunk_span(c, r.chunking))}</td><td>{c.rows}</td>'
        f"<td>{c.severity.label if c.severity is not None else 'n/a'}</td>"
        '<td class="text">'
        f"{escape(flagged(c.drifted()) if c.severity is not None else 'too few samples')}"
        "</td></tr>" for c in r.chunks)
    table = ("<table><tr><th>chunk</th><th>span</th><th>rows</th><th>severity</th>"
             f"<th>drifted</th></tr>{rows}</table>")
    figures = "".join(
        f"<figure><figcaption>{escape(f.drift.name)}: PSI per chunk</figcaption>"
        f"{psi_chart(f.drift.name, i, r)}</figure>" for i, f in enumerate(r.features))
    return (f"<h2>Chunks</h2><p>{len(r.chunks)} chunks; "
            f"{sum(1 for c in r.chunks if c.drifted())} with a feature at medium or "
            f'above.</p>{table}<div class="grid">{figures}</div>')
