"""The HTML report is self-contained: no script, no URL, one SVG histogram per feature."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from exporter.cli import main
from exporter.profile.model import SCHEMA_VERSION, Profile
from tests.factories import numeric_profile, write_csv, write_profile


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
