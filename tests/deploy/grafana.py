"""Helpers shared by the dashboard tests: load it, walk its panels and queries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from exporter.metric_names import METRICS
from tests.paths import ROOT

DASHBOARD = ROOT / "grafana" / "mlmon.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Labels Prometheus (or the PodMonitor's relabelling) adds to every scraped series.
TARGET_LABELS = frozenset({"namespace", "pod", "container", "job", "instance", "endpoint"})
# Series Prometheus itself writes for every scrape target.
PROMETHEUS_SERIES = frozenset({"up"})

Panel = dict[str, Any]


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def panels(dashboard: dict[str, Any]) -> Iterator[Panel]:
    """Every non-row panel, including panels nested in collapsed rows."""
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def rows(dashboard: dict[str, Any]) -> list[tuple[str, list[Panel]]]:
    """(row title, panels under it) in dashboard order."""
    out: list[tuple[str, list[Panel]]] = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            out.append((panel["title"], list(panel.get("panels", []))))
        elif out:
            out[-1][1].append(panel)
    return out


def exprs(dashboard: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(panel title, refId, expr) of every query target."""
    return [(p["title"], t["refId"], t["expr"]) for p in panels(dashboard)
            for t in p.get("targets", [])]


def exported_series() -> dict[str, frozenset[str]]:
    """Series names the exporter writes -> their labels (histograms expanded)."""
    out: dict[str, frozenset[str]] = {}
    for spec in METRICS:
        labels = frozenset(spec.labels)
        if spec.type == "histogram":
            out[spec.name + "_bucket"] = labels | {"le"}
            out[spec.name + "_sum"] = labels
            out[spec.name + "_count"] = labels
        else:
            out[spec.name] = labels
    return out

