"""A tiny inline SVG line chart (no scripts, no external resources).

Layout is computed from the labels: the left margin fits the value labels, the right
margin the guide labels, and the first and last time labels are anchored inward, so no
text leaves the viewBox; a title too long for the width is shortened (the full title
stays in ``aria-label`` and a ``<title>`` tooltip). Text widths are estimated at
``CHAR_EM`` em per character, generous for digits and Latin text in a sans-serif font.

The value axis covers the data and every guide (threshold) line. It is linear unless
that squeezes two guides, or the lowest guide and the bottom, closer than ``MIN_GAP``
pixels (PSI far above its thresholds); then, for non-negative data and positive guides,
it is ``log(1 + v / g)`` with ``g`` the lowest guide, marked "log scale" on the chart.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import pairwise

Guide = tuple[str, float]  # (label, value): a horizontal threshold line

FONT = 10  # axis and guide labels
TITLE_FONT = 12
TITLE_Y = 14  # the title's baseline
CHAR_EM = 0.62  # estimated character width per font size
EDGE = 3  # pixels kept free at the viewBox edges
MIN_GAP = 12.0  # pixels between adjacent guides before the scale is compressed
COLOURS = ("#e0a800", "#d32f2f", "#6a1b9a")
LOG_NOTE = "log scale"


def text_width(s: str, size: float) -> float:
    return len(s) * CHAR_EM * size


def _fit(s: str, size: float, room: float) -> str:
    """``s`` shortened with an ellipsis to at most ``room`` pixels."""
    if text_width(s, size) <= room:
        return s
    keep = max(0, int(room / (CHAR_EM * size)) - 1)
    return s[:keep] + "…"


def _text(x: float, y: float, s: str, size: int = FONT, anchor: str = "start",
          colour: str | None = None) -> str:
    fill = f" fill='{colour}'" if colour else ""
    return (f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}'{fill}>"
            f"{html.escape(s)}</text>")


def _spread(ys: list[float], gap: float, lo: float, hi: float) -> list[float]:
    """Baselines at least ``gap`` apart, in order, within [lo, hi] where room allows."""
    out: list[float] = []
    for y in ys:  # ascending
        out.append(max(y, out[-1] + gap) if out else max(y, lo))
    overflow = out[-1] - hi if out else 0.0
    if overflow > 0:
        out = [max(lo, y - overflow) for y in out]
    return out


def _scale(values: list[float], guides: list[float], plot_h: float,
           ) -> tuple[Callable[[float], float], float, float, bool]:
    """(transform, low, high, logarithmic) for the value axis."""
    y0, y1 = min(values + guides), max(values + guides)
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    levels = sorted(guides)
    gaps = [b - a for a, b in pairwise(levels)]
    squeezed = any(g / (y1 - y0) * plot_h < MIN_GAP for g in gaps if g > 0)
    if squeezed and levels and levels[0] > 0 and y0 >= 0:
        g = levels[0]
        return (lambda v: math.log1p(v / g)), y0, y1, True
    return (lambda v: v), y0, y1, False


def line_chart(t: Sequence[float], y: Sequence[float], title: str,
               guides: Sequence[Guide] = (), width: int = 420, height: int = 180) -> str:
    pts = [(a, b) for a, b in zip(t, y, strict=True) if not math.isnan(b)]
    head = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' role='img' aria-label='{html.escape(title)}'>"
            f"<title>{html.escape(title)}</title>")
    if not pts:
        return head + _text(EDGE, TITLE_Y, _fit(title, TITLE_FONT, width - 2 * EDGE),
                            TITLE_FONT) + "</svg>"
    t0, t1 = min(p[0] for p in pts), max(p[0] for p in pts)
    one_time = t1 == t0
    if one_time:
        t1 = t0 + 1.0
    values = [p[1] for p in pts]
    guide_labels = [f"{name} {value:g}" for name, value in guides]
    pad_t, pad_b = 26, FONT + 12
    plot_h = height - pad_t - pad_b
    f, lo, hi, logarithmic = _scale(values, [v for _, v in guides], plot_h)
    value_labels = [format(lo, ".3g"), format(hi, ".3g")]
    pad_l = math.ceil(EDGE + 4 + max(text_width(s, FONT) for s in value_labels))
    pad_r = math.ceil(EDGE + 4 + max([text_width(s, FONT) for s in guide_labels],
                                     default=EDGE))
    plot_w = width - pad_l - pad_r
    f0, f1 = f(lo), f(hi)

    def sx(v: float) -> float:
        return pad_l + (v - t0) / (t1 - t0) * plot_w

    def sy(v: float) -> float:
        return pad_t + (1.0 - (f(v) - f0) / (f1 - f0)) * plot_h

    note = LOG_NOTE if logarithmic else ""
    room = width - 2 * EDGE - (text_width(note, FONT) + 8 if note else 0)
    out = [head, _text(EDGE, TITLE_Y, _fit(title, TITLE_FONT, room), TITLE_FONT)]
    if note:
        out.append(_text(width - EDGE, TITLE_Y, note, anchor="end", colour="#555"))
    out.append(f"<rect x='{pad_l}' y='{pad_t}' width='{plot_w}' height='{plot_h}' "
               "fill='none' stroke='#ccc'/>")
    order = sorted(range(len(guides)), key=lambda i: -guides[i][1])  # top first
    baselines = _spread([sy(guides[i][1]) + 0.35 * FONT for i in order], FONT + 1.0,
                        TITLE_Y + 4 + FONT, height - EDGE - 0.3 * FONT)
    colours = [COLOURS[min(i, len(COLOURS) - 1)] for i in range(len(guides))]
    for (_, value), colour in zip(guides, colours, strict=True):
        gy = sy(value)
        out.append(f"<line x1='{pad_l}' x2='{pad_l + plot_w}' y1='{gy:.1f}' "
                   f"y2='{gy:.1f}' stroke='{colour}' stroke-dasharray='4 3'/>")
    for i, base in zip(order, baselines, strict=True):
        out.append(_text(pad_l + plot_w + 4, base, guide_labels[i], colour=colours[i]))
    path = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in pts)
    out.append(f"<polyline fill='none' stroke='#1565c0' stroke-width='1.5' points='{path}'/>")
    for v, s in zip((lo, hi), value_labels, strict=True):
        out.append(_text(pad_l - 4, sy(v) + 0.35 * FONT, s, anchor="end"))
    stamps = [(t0, "start")] if one_time else [(t0, "start"), (t1, "end")]
    for v, anchor in stamps:
        label = datetime.fromtimestamp(v, UTC).strftime("%m-%d %H:%M")
        out.append(_text(sx(v), height - EDGE - 0.3 * FONT, label, anchor=anchor))
    out.append("</svg>")
    return "".join(out)
