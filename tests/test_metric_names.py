"""The metric list follows the Prometheus naming guide and docs/metrics.md matches it."""

from __future__ import annotations

import re

from exporter.metric_docs import markdown, readme_block
from exporter.metric_names import METRICS, REJECT_REASONS
from tests.paths import ROOT

NAME = re.compile(r"^mlmon_[a-z][a-z0-9_]*$")


def test_names_are_unique_and_well_formed() -> None:
    names = [m.name for m in METRICS]
    assert len(names) == len(set(names))
    for m in METRICS:
        assert NAME.match(m.name), m.name
        assert m.help.strip(), m.name


def test_counters_end_in_total_and_only_counters_do() -> None:
    for m in METRICS:
        assert (m.type == "counter") == m.name.endswith("_total"), m.name


def test_unit_suffixes_fit_the_type() -> None:
    for m in METRICS:
        if m.name.endswith("_ratio"):
            assert m.type == "gauge", m.name
        if m.name.endswith("_seconds"):
            assert m.type in ("gauge", "histogram"), m.name
        assert "le" not in m.labels, m.name  # reserved for histogram buckets


def test_reject_reasons_cover_the_issue_list() -> None:
    required = {"malformed_json", "unknown_model", "unknown_version", "bad_type",
                "missing_field", "line_too_long", "queue_full"}
    assert required <= set(REJECT_REASONS)


def test_readme_metric_reference_is_generated_from_the_list() -> None:
    page = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    block = readme_block(page)
    assert block is not None, "docs/metrics.md lacks the generated metric reference"
    assert block == markdown(), "docs/metrics.md metric reference is stale: run `mlmon metrics`"
    for m in METRICS:
        assert f"`{m.name}`" in block
