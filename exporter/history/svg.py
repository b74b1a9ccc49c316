"""A tiny inline SVG line chart (no scripts, no external resources)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime


def line_chart(t: Sequence[float], y: Sequence[float], title: str,
               guides: Sequence[float] = (), width: int = 420, height: int = 180) -> str:
    pad_l, pad_r, pad_t, pad_b = 48, 10, 22, 24
    pts = [(a, b) for a, b in zip(t, y, strict=True) if not math.isnan(b)]
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
           f"role='img' aria-label='{html.escape(title)}'>",
           f"<text x='{pad_l}' y='14' font-size='12'>{html.escape(title)}</text>"]
    if not pts:
        out.append("</svg>")
        return "".join(out)
    t0, t1 = min(p[0] for p in pts), max(p[0] for p in pts)
    values = [p[1] for p in pts] + list(guides)
    y0, y1 = min(values), max(values)
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    if t1 == t0:
        t1 = t0 + 1.0
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(v: float) -> float:
        return pad_l + (v - t0) / (t1 - t0) * plot_w

    def sy(v: float) -> float:
        return pad_t + (1.0 - (v - y0) / (y1 - y0)) * plot_h

    out.append(f"<rect x='{pad_l}' y='{pad_t}' width='{plot_w}' height='{plot_h}' "
               "fill='none' stroke='#ccc'/>")
    for g, colour in zip(guides, ("#e0a800", "#d32f2f"), strict=False):
        out.append(f"<line x1='{pad_l}' x2='{pad_l + plot_w}' y1='{sy(g):.1f}' "
                   f"y2='{sy(g):.1f}' stroke='{colour}' stroke-dasharray='4 3'/>")
    path = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in pts)
    out.append(f"<polyline fill='none' stroke='#1565c0' stroke-width='1.5' points='{path}'/>")
    for v in (y0, y1):
        out.append(f"<text x='{pad_l - 4}' y='{sy(v) + 4:.1f}' font-size='10' "
                   f"text-anchor='end'>{v:.3g}</text>")
    for v in (t0, t1):
        label = datetime.fromtimestamp(v, UTC).strftime("%m-%d %H:%M")
        out.append(f"<text x='{sx(v):.1f}' y='{height - 6}' font-size='10' "
                   f"text-anchor='middle'>{label}</text>")
    out.append("</svg>")
    return "".join(out)
