"""The HTML chunk section (exporter/batch/chunk_chart.py): PSI per chunk and per feature,
coloured by severity, with the thresholds drawn; parsed back from the report."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest

from exporter.cli import main
from tests.batch.chunk_files import ROWS, chunked_data, write
from tests.factories import make_profile, reference, write_profile


class _Charts(HTMLParser):
    """Per SVG aria-label: its threshold lines and its points (as attribute dicts)."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, list[dict[str, str]]]] = {}
        self._svg: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "svg":
            self._svg = a.get("aria-label", "")
            self.charts[self._svg] = {"lines": [], "points": []}
        elif self._svg is not None and tag == "line" and a["class"].startswith("thr-"):
            self.charts[self._svg]["lines"].append(a)
        elif self._svg is not None and tag == "circle":
            self.charts[self._svg]["points"].append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._svg = None


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("chart")
    profile = write_profile(make_profile(reference()), tmp / "p.json")
    data = write(tmp / "b.csv", chunked_data(), "csv")
    outs = {fmt: tmp / f"r.{fmt}" for fmt in ("html", "json")}
    for fmt, out in outs.items():
        assert main(["batch", "--profile", str(profile), "--input", str(data), "--format", fmt,
                     "--out", str(out), "--chunk-size", str(ROWS)]) == 0
    return outs["html"].read_text(), json.loads(outs["json"].read_text())


def test_one_psi_chart_per_feature_with_both_thresholds(
        reports: tuple[str, dict[str, Any]]) -> None:
    doc, report = reports
    scan = _Charts()
    scan.feed(doc)
    names = [f["name"] for f in report["features"]]
    assert [k for k in scan.charts if k.endswith("PSI per chunk")] == [
        f"{n} PSI per chunk" for n in names]
    t = report["thresholds"]
    for name in names:
        lines = scan.charts[f"{name} PSI per chunk"]["lines"]
        assert [(a["class"], float(a["data-psi"])) for a in lines] == [
            ("thr-medium", t["psi_medium"]), ("thr-high", t["psi_high"])]
        assert float(lines[1]["y1"]) < float(lines[0]["y1"])  # high is drawn above medium


def test_points_carry_each_chunks_psi_and_severity_on_the_thresholds_scale(
        reports: tuple[str, dict[str, Any]]) -> None:
    doc, report = reports
    scan = _Charts()
    scan.feed(doc)
    for i, name in enumerate(f["name"] for f in report["features"]):
        chart = scan.charts[f"{name} PSI per chunk"]
        medium_y, high_y = (float(a["y1"]) for a in chart["lines"])
        points = chart["points"]
        assert [int(p["data-chunk"]) for p in points] == [c["index"] for c in report["chunks"]]
        for p, chunk in zip(points, report["chunks"], strict=True):
            f = chunk["features"][i]
            assert f["name"] == name
            assert p["class"] == f"cur-{f['severity'] or 'na'}"
            if f["psi"] is None:
                assert p["data-psi"] == ""
                continue
            assert float(p["data-psi"]) == f["psi"]
            y = float(p["cy"])
            assert (y <= medium_y) == (f["psi"] >= report["thresholds"]["psi_medium"])
            assert (y <= high_y) == (f["psi"] >= report["thresholds"]["psi_high"])
    x_points = scan.charts["x PSI per chunk"]["points"]
    assert [p["class"] for p in x_points] == ["cur-low", "cur-low", "cur-high", "cur-low",
                                              "cur-na"]


def test_chunk_table_row_per_chunk(reports: tuple[str, dict[str, Any]]) -> None:
    doc, _ = reports
    section = doc.split("<h2>Chunks</h2>", 1)[1]
    assert section.count('<tr class="sev-') == 5
    assert ('<td class="text">rows 1200-1800</td><td>600</td><td>high</td>'
            '<td class="text">x (high, psi ') in section
    assert '<tr class="sev-na"><td>4</td><td class="text">rows 2400-2600</td>' in section
