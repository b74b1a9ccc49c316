"""line_chart(): well-formed SVG whose points map the data linearly onto the plot area."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest

from exporter.history.svg import LOG_NOTE, line_chart

NS = "{http://www.w3.org/2000/svg}"
T0 = 1_709_251_200.0  # 2024-03-01 00:00 UTC


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Chart:
    root: ET.Element
    box: Box
    points: list[tuple[float, float]]
    guides: list[float]  # y of each horizontal guide line
    texts: list[str]


def parse(svg: str) -> Chart:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    rects = list(root.iter(f"{NS}rect"))
    box = Box(*(float(rects[0].attrib[k]) for k in ("x", "y", "width", "height"))) if rects \
        else Box(0, 0, 0, 0)
    lines = list(root.iter(f"{NS}polyline"))
    assert len(lines) <= 1
    points = [(float(x), float(y)) for x, y in
              (p.split(",") for p in lines[0].attrib["points"].split())] if lines else []
    guides = []
    for g in root.iter(f"{NS}line"):
        assert g.attrib["y1"] == g.attrib["y2"]  # horizontal
        assert (float(g.attrib["x1"]), float(g.attrib["x2"])) == (box.x, box.x + box.w)
        guides.append(float(g.attrib["y1"]))
    texts = [t.text or "" for t in root.iter(f"{NS}text")]
    return Chart(root, box, points, guides, texts)


def expected(box: Box, t: float, v: float, t_range: tuple[float, float],
             y_range: tuple[float, float]) -> tuple[float, float]:
    """Linear map: time left to right, value bottom (low) to top (high)."""
    (t0, t1), (y0, y1) = t_range, y_range
    return (box.x + (t - t0) / (t1 - t0) * box.w,
            box.y + box.h - (v - y0) / (y1 - y0) * box.h)


def test_points_map_linearly_and_guides_widen_the_scale() -> None:
    t = [T0 + 300.0 * i for i in range(5)]
    y = [1.0, 2.0, 3.0, 4.0, 5.0]
    chart = parse(line_chart(t, y, "psi", guides=[("zero", 0.0), ("six", 6.0)]))
    assert chart.root.attrib["width"] == "420" and chart.root.attrib["height"] == "180"
    box = chart.box
    assert box.x > 0 and box.x + box.w <= 420 and box.y > 0 and box.y + box.h <= 180
    assert len(chart.points) == 5
    for (px, py), ti, yi in zip(chart.points, t, y, strict=True):
        ex, ey = expected(box, ti, yi, (t[0], t[-1]), (0.0, 6.0))  # guides set the scale
        assert px == pytest.approx(ex, abs=0.051) and py == pytest.approx(ey, abs=0.051)
    # the guides at 0 and 6 are the bottom and the top of the plot area
    assert chart.guides == [pytest.approx(box.y + box.h, abs=0.051),
                            pytest.approx(box.y, abs=0.051)]
    # axis labels: the value range (3 significant digits) and the first and last time
    assert "0" in chart.texts and "6" in chart.texts
    assert "03-01 00:00" in chart.texts and "03-01 00:20" in chart.texts


def test_data_beyond_the_guides_sets_the_scale() -> None:
    t = [T0, T0 + 60.0, T0 + 120.0]
    y = [0.02, 0.4, 0.3]
    chart = parse(line_chart(t, y, "f", guides=[("medium", 0.1), ("high", 0.25)]))
    box = chart.box
    lo, hi = 0.02, 0.4
    assert chart.points[0][1] == pytest.approx(box.y + box.h, abs=0.051)  # the minimum
    assert chart.points[1][1] == pytest.approx(box.y, abs=0.051)  # the maximum
    for g, v in zip(chart.guides, (0.1, 0.25), strict=True):
        assert g == pytest.approx(box.y + box.h - (v - lo) / (hi - lo) * box.h, abs=0.051)
    assert "0.02" in chart.texts and "0.4" in chart.texts
    assert "medium 0.1" in chart.texts and "high 0.25" in chart.texts  # the lines named
    assert LOG_NOTE not in chart.texts  # 54 px between the guides: linear


def test_constant_series_is_drawn_mid_height() -> None:
    t = [T0 + 60.0 * i for i in range(4)]
    chart = parse(line_chart(t, [0.3] * 4, "flat"))
    box = chart.box
    assert [py for _, py in chart.points] == [pytest.approx(box.y + box.h / 2, abs=0.051)] * 4
    assert "-0.2" in chart.texts and "0.8" in chart.texts  # 0.3 ± 0.5


def test_nan_samples_are_skipped() -> None:
    t = [T0 + 60.0 * i for i in range(6)]
    y = [0.1, math.nan, 0.3, 0.4, math.nan, 0.6]
    chart = parse(line_chart(t, y, "gappy"))
    kept = [(ti, yi) for ti, yi in zip(t, y, strict=True) if not math.isnan(yi)]
    assert len(chart.points) == 4
    for (px, py), (ti, yi) in zip(chart.points, kept, strict=True):
        ex, ey = expected(chart.box, ti, yi, (t[0], t[-1]), (0.1, 0.6))
        assert px == pytest.approx(ex, abs=0.051) and py == pytest.approx(ey, abs=0.051)


def test_one_sample_and_no_sample() -> None:
    one = parse(line_chart([T0], [0.5], "one"))
    ((px, py),) = one.points
    assert px == pytest.approx(one.box.x, abs=0.051)  # t1 = t0: the left edge
    assert py == pytest.approx(one.box.y + one.box.h / 2, abs=0.051)
    none = parse(line_chart([T0, T0 + 60], [math.nan, math.nan], "none",
                            guides=[("medium", 0.1)]))
    assert none.points == [] and none.guides == []
    assert none.texts == ["none"]  # only the title
    assert parse(line_chart([], [], "empty")).texts == ["empty"]


def test_title_is_escaped_and_size_is_honoured() -> None:
    title = """feature <x> & "y" 'z'"""
    chart = parse(line_chart([T0, T0 + 60, T0 + 120], [1.0, 2.0, 3.0], title, width=300,
                             height=100))
    assert chart.root.attrib["aria-label"] == title
    assert chart.texts[0] == title
    assert chart.root.attrib["width"] == "300" and chart.root.attrib["height"] == "100"
    assert chart.box.x + chart.box.w <= 300 and chart.box.y + chart.box.h <= 100
    px, py = chart.points[-1]  # the latest and highest: top right
    assert px == pytest.approx(chart.box.x + chart.box.w, abs=0.051)
    assert py == pytest.approx(chart.box.y, abs=0.051)


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="shorter than argument 1"):
        line_chart([T0, T0 + 60], [1.0], "x")


# Text extents, estimated independently of the chart's own layout: 0.6 em per character
# (sans-serif digits are 0.55 em), from the baseline up one em and down 0.25 em.
EM = 0.6


@dataclass(frozen=True)
class Extent:
    text: str
    left: float
    right: float
    top: float
    bottom: float


def extents(root: ET.Element) -> list[Extent]:
    out = []
    for el in root.iter(f"{NS}text"):
        s, size = el.text or "", float(el.attrib.get("font-size", "16"))
        x, y, w = float(el.attrib["x"]), float(el.attrib["y"]), len(el.text or "") * EM * size
        left = {"start": x, "middle": x - w / 2, "end": x - w}[el.attrib.get("text-anchor",
                                                                            "start")]
        out.append(Extent(s, left, left + w, y - size, y + 0.25 * size))
    return out


def viewbox(root: ET.Element) -> tuple[float, float, float, float]:
    box = root.attrib.get("viewBox")
    if box is None:  # the viewport is the box
        return 0.0, 0.0, float(root.attrib["width"]), float(root.attrib["height"])
    x, y, w, h = (float(v) for v in box.split())
    return x, y, x + w, y + h


def _inside(chart: Chart) -> None:
    x0, y0, x1, y1 = viewbox(chart.root)
    for e in extents(chart.root):
        assert x0 <= e.left and e.right <= x1 and y0 <= e.top and e.bottom <= y1, e


HOURS = [T0 + 3600.0 * i for i in range(48)]
LONG = "customer_lifetime_value_in_local_currency_rolling_90d (v12)"


@pytest.mark.parametrize(("y", "title"), [
    ([0.05 + 3.0 * i / 47 for i in range(48)], "amount (v3)"),  # PSI up to 3
    ([0.000123456 * (1 + i) for i in range(48)], "tiny"),  # long value labels
    ([-123456.7 + 1000.0 * i for i in range(48)], "negative and wide"),
    ([0.01 * i for i in range(48)], LONG),  # a title longer than the chart
])
def test_no_text_leaves_the_viewbox(y: list[float], title: str) -> None:
    chart = parse(line_chart(HOURS, y, title, guides=[("medium", 0.1), ("high", 0.25)]))
    _inside(chart)
    assert chart.root.attrib["aria-label"] == title  # the full title, even when shortened
    assert chart.texts[0] == title or (chart.texts[0].endswith("…")
                                       and title.startswith(chart.texts[0][:-1]))
    # the first and the last time are both labelled
    assert "03-01 00:00" in chart.texts and "03-02 23:00" in chart.texts


# PSI floors every bucket at 1e-4 (exporter.stats.psi), so it stays below about
# 2 * ln(1e4) = 18.4; 30 is beyond anything the sidecar exports.
@pytest.mark.parametrize("peak", [3.0, 18.4, 30.0])
def test_thresholds_stay_visible_and_apart_when_psi_is_far_above(peak: float) -> None:
    y = [0.02 + (peak - 0.02) * (i / 47) ** 2 for i in range(48)]
    chart = parse(line_chart(HOURS, y, "amount (v3)", guides=[("medium", 0.1),
                                                              ("high", 0.25)]))
    _inside(chart)
    box = chart.box
    medium, high = chart.guides
    for g in (medium, high):
        assert box.y <= g <= box.y + box.h
    assert medium - high >= 10.0  # apart by more than a label's height; high is above
    assert medium <= box.y + box.h - 10.0  # and clear of the bottom edge
    # the lines sit where the data cross them: every point below a threshold's value is
    # drawn below its line, every point above it above (screen y grows downwards)
    for line, level in ((medium, 0.1), (high, 0.25)):
        for (_, py), v in zip(chart.points, y, strict=True):
            assert (py > line) if v < level else (py < line)
    assert chart.points[-1][1] == pytest.approx(box.y, abs=0.051)  # the peak at the top
    assert LOG_NOTE in chart.texts
    labels = {e.text: e for e in extents(chart.root)}
    m, h = labels["medium 0.1"], labels["high 0.25"]
    assert h.bottom <= m.top or m.bottom <= h.top  # the two labels do not overlap
