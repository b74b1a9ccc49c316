"""The HTML report is self-contained: no script, no URL, one SVG histogram per feature."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from exporter.cli import main


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
