"""Shared readers for the rule tests: the rule files, their alerts and PromQL tokens."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import ArrayLike

from exporter.rulegen import load_groups
from exporter.stats.psi import EPSILON
from tests.deploy.promql import analyse
from tests.paths import ROOT
from tests.procs import require_binary

RULES_DIR = ROOT / "rules"
TESTS_DIR = Path(__file__).resolve().parent
RUNBOOKS = ROOT / "docs" / "runbooks.md"

# The PromQL of a template's `query` call: {{ with printf "..." $labels.x | query }}.
_PRINTF_QUERY = re.compile(r'printf "((?:[^"\\]|\\.)*)"[^|}]*\|\s*query\b')


@functools.cache
def rules() -> list[dict[str, Any]]:
    return [rule for group in load_groups(RULES_DIR) for rule in group["rules"]]


def alerts() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for r in rules() if "alert" in r}


def records() -> dict[str, dict[str, Any]]:
    return {r["record"]: r for r in rules() if "record" in r}


def unit_test_files() -> list[Path]:
    return sorted(TESTS_DIR.glob("*.test.yml"))


def load_test_file(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_binary("promtool"), *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def series_labels(series: str) -> tuple[str, dict[str, str]]:
    """``name{a="x",b="y"}`` of a promtool input series as (name, labels)."""
    name, _, rest = series.partition("{")
    return name, dict(re.findall(r'(\w+)="([^"]*)"', rest))


def floored_psi(current: ArrayLike, reference: ArrayLike) -> float:
    """The PSI the recording rules compute, by hand: both sides' shares floored at the
    exporter's epsilon and renormalised, then sum((c - r) * ln(c / r))."""
    shares = []
    for counts in (np.asarray(current, dtype=float), np.asarray(reference, dtype=float)):
        floored = np.maximum(counts / counts.sum(), EPSILON)
        shares.append(floored / floored.sum())
    c, r = shares
    return float(np.sum((c - r) * np.log(c / r)))


def metric_names(promql: str) -> set[str]:
    """Every metric (or recorded series) an expression selects."""
    return {selector.metric for selector in analyse(promql).selectors}


def sidecar_job_regex() -> str:
    """The `job` regex the sidecar alerts select scrape targets by (MlmonSidecarTargetsAbsent)."""
    (selector,) = analyse(alerts()["MlmonSidecarTargetsAbsent"]["expr"]).selectors
    op, regex = selector.matchers["job"]
    assert op == "=~"
    return regex


def annotation_queries(text: str) -> list[str]:
    """PromQL of the `query` calls in an annotation template (``printf "..." | query``)."""
    return _PRINTF_QUERY.findall(text)


def github_anchors(markdown: str) -> set[str]:
    """Anchors GitHub generates for the Markdown headings (lower case, spaces to '-')."""
    anchors = set()
    for line in markdown.splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors
