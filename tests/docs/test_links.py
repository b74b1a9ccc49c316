"""Every relative link in README.md, bench/README.md and docs/*.md resolves, anchors
included; the README stays short and no page cites a design document that does not exist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.paths import ROOT

README = ROOT / "README.md"
PAGES = sorted([README, ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")])

LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+).*?\1")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
SKIPPED_SCHEMES = ("http:", "https:", "mailto:")


def _outside_fences(text: str) -> Iterator[str]:
    """The lines of a Markdown text outside fenced code blocks."""
    fence: str | None = None
    for line in text.splitlines():
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        yield line


def _prose(text: str) -> Iterator[str]:
    """The lines of a Markdown text outside fenced code blocks, inline code removed."""
    return (CODE_SPAN.sub("", line) for line in _outside_fences(text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text lowercased, punctuation other than
    hyphens (and underscores) dropped, spaces turned into hyphens."""
    text = INLINE_LINK.sub(r"\1", heading).replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (repeats get -1, -2, ... as on GitHub)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in _outside_fences(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match is None:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    """Every inline link target of a Markdown file, outside code."""
    text = path.read_text(encoding="utf-8")
    return [m.group(1) for line in _prose(text) for m in LINK.finditer(line)]


def dead_links(path: Path) -> list[str]:
    """The relative link targets of a Markdown file that do not resolve: a missing file,
    or a ``#anchor`` naming no heading of the target page."""
    dead: list[str] = []
    for target in links(path):
        if target.lower().startswith(SKIPPED_SCHEMES):
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / unquote(file_part)).resolve() if file_part else path
        missing_anchor = (bool(fragment) and resolved.suffix == ".md" and resolved.is_file()
                          and unquote(fragment).lower() not in anchors(resolved))
        if not resolved.exists() or missing_anchor:
            dead.append(target)
    return dead


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert dead_links(page) == []


def test_the_pages_are_the_documented_ones() -> None:
    names = {str(p.relative_to(ROOT)) for p in PAGES}
    assert {"README.md", "bench/README.md", "docs/architecture.md", "docs/metrics.md",
            "docs/client.md", "docs/responder.md", "docs/deploy.md"} <= names
    readme = README.read_text(encoding="utf-8")
    for page in PAGES:
        if page != README:
            assert str(page.relative_to(ROOT)) in readme, f"README's map lacks {page.name}"


def test_checker_reports_a_dead_link(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## A section: with `code`\n",
                                       encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md), [fine too](other.md#a-section-with-code), [here](#page),\n"
        "[web](https://example.com/missing.md), [mail](mailto:someone@example.com),\n"
        "`[in code](missing-in-code.md)` and [dead](missing.md).\n\n"
        "```\n[in a block](missing-in-block.md)\n```\n",
        encoding="utf-8")
    assert dead_links(page) == ["missing.md"]


def test_checker_reports_a_dead_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## Setup\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n[a](other.md#setup) [b](other.md#teardown) [c](#nowhere)\n",
                    encoding="utf-8")
    assert dead_links(page) == ["other.md#teardown", "#nowhere"]


def test_slugs_follow_github() -> None:
    assert slug("Responder: alerts → rollback and retraining") == \
        "responder-alerts--rollback-and-retraining"
    assert slug("Cost on the caller's thread") == "cost-on-the-callers-thread"
    assert slug("Tap protocol v1") == "tap-protocol-v1"


def test_readme_is_short_and_starts_with_the_two_commands() -> None:
    readme = README.read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make demo" in quick_start and "make test" in quick_start


def test_no_page_cites_a_missing_design_document() -> None:
    for page in PAGES:
        assert "DESIGN.md" not in page.read_text(encoding="utf-8"), page
