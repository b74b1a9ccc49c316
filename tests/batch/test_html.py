"""The HTML report is self-contained: no script, no URL, one SVG histogram per feature."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from exporter.cli import main
from exporter.profile.files import load_profile
from exporter.profile.model import SCHEMA_VERSION, NumericProfile, Profile
from tests.factories import categorical_profile, numeric_profile, write_csv, write_profile


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.svg_labels: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag == "svg":
            self.svg_labels.append(dict(attrs).get("aria-label") or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_report_is_self_contained(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["batch", "--profile", str(files["profile"]), "--input", str(files["input"]),
                 "--format", "html", "--out", str(out)]) == 0
    doc = out.read_text()
    scan = _Scan()
    scan.feed(doc)
    assert "script" not in scan.tags and "link" not in scan.tags and "img" not in scan.tags
    assert not [v for _, v in scan.attrs if v and re.search(r"(https?:|//|url\()", v)]
    assert not re.search(r"https?://|url\(|@import|@font-face", doc)
    assert sorted(scan.svg_labels) == sorted(
        f"{n} histogram" for n in ("x", "y", "color", "__prediction__"))
    assert "style" in scan.tags
    text = " ".join(scan.text)
    assert "accuracy" in text and "high" in text


def test_names_are_escaped_and_severity_coloured(tmp_path: Path) -> None:
    x = np.linspace(0.0, 1.0, 600)
    name = 'a<b&"c'
    prof = Profile(SCHEMA_VERSION, "m", "1", 600, (numeric_profile(name, x),), None, "")
    profile = write_profile(prof, tmp_path / "p.json")
    data = write_csv(tmp_path / "d.csv", {name: (x + 0.5).tolist()})
    out = tmp_path / "r.html"
    assert main(["batch", "--profile", str(profile), "--input", str(data),
                 "--format", "html", "--out", str(out)]) == 0
    doc = out.read_text()
    scan = _Scan()
    scan.feed(doc)
    assert scan.svg_labels == [f"{name} histogram"]  # parsed back from escaped text
    assert "<b&" not in doc
    assert 'class="sev-high"' in doc and 'class="cur-high"' in doc


def test_low_dataset_severity_is_coloured_low(tmp_path: Path) -> None:
    # Severity.LOW is 0: the verdict must not be mistaken for "no verdict".
    x = np.linspace(0.0, 1.0, 600)
    prof = Profile(SCHEMA_VERSION, "m", "1", 600, (numeric_profile("x", x),), None, "")
    profile = write_profile(prof, tmp_path / "p.json")
    data = write_csv(tmp_path / "d.csv", {"x": x.tolist()})
    out = tmp_path / "r.html"
    assert main(["batch", "--profile", str(profile), "--input", str(data),
                 "--format", "html", "--out", str(out)]) == 0
    doc = out.read_text()
    assert 'dataset severity <span class="sev-low">low</span>' in doc
    assert '<tr class="sev-low"><td>x</td>' in doc and "sev-na" not in doc.split("</style>")[1]


class _Ticks(HTMLParser):
    """Bucket tick labels (centred <text>) per histogram SVG."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks: dict[str, list[str]] = {}
        self._svg = ""
        self._tick = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self._svg = a.get("aria-label") or ""
            self.ticks[self._svg] = []
        self._tick = tag == "text" and a.get("text-anchor") == "middle"

    def handle_data(self, data: str) -> None:
        if self._tick:
            self.ticks[self._svg].append(data)
            self._tick = False


def test_categories_that_look_like_numbers_are_labelled_by_value(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rates = [str(v) for v in rng.integers(1, 6, 800)]
    x = rng.normal(0.0, 1.0, 800)
    prof = Profile(SCHEMA_VERSION, "m", "1", 800,
                   (categorical_profile("rate_marriage", rates), numeric_profile("x", x, bins=4)),
                   None, "")
    profile = write_profile(prof, tmp_path / "p.json")
    data = write_csv(tmp_path / "d.csv", {"rate_marriage": [int(r) for r in rates],
                                          "x": x.tolist()})
    out = tmp_path / "r.html"
    assert main(["batch", "--profile", str(profile), "--input", str(data),
                 "--format", "html", "--out", str(out)]) == 0
    scan = _Ticks()
    scan.feed(out.read_text())
    assert scan.ticks["rate_marriage histogram"] == ["1", "2", "3", "4", "5", "__other__"]
    edges = load_profile(profile).feature("x")
    assert isinstance(edges, NumericProfile)
    assert scan.ticks["x histogram"] == [*(f"<{e:.3g}" for e in edges.edges), "+Inf"]


def test_top_drifted_names_only_features_at_medium_or_above(files: dict[str, Path],
                                                           tmp_path: Path) -> None:
    outs = {fmt: tmp_path / f"r.{fmt}" for fmt in ("html", "json")}
    for fmt, out in outs.items():
        assert main(["batch", "--profile", str(files["profile"]), "--input",
                     str(files["input"]), "--format", fmt, "--out", str(out)]) == 0
    features = json.loads(outs["json"].read_text())["features"]
    top = outs["html"].read_text().split('<p class="top">top drifted: ', 1)[1].split("</p>")[0]
    named = {f["name"] for f in features if f"{f['name']} (" in top}
    assert named == {f["name"] for f in features if f["severity"] in ("medium", "high")}
    assert "y (" not in top and "low" not in top


def test_top_drifted_says_none_when_nothing_drifted(tmp_path: Path) -> None:
    x = np.linspace(0.0, 1.0, 600)
    prof = Profile(SCHEMA_VERSION, "m", "1", 600, (numeric_profile("x", x),), None, "")
    profile = write_profile(prof, tmp_path / "p.json")
    data = write_csv(tmp_path / "d.csv", {"x": x.tolist()})
    out = tmp_path / "r.html"
    assert main(["batch", "--profile", str(profile), "--input", str(data),
                 "--format", "html", "--out", str(out)]) == 0
    assert ('<p class="top">top drifted: none (no feature at medium or above)</p>'
            in out.read_text())
