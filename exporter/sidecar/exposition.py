"""Fast /metrics rendering in Prometheus text 0.0.4 and OpenMetrics 1.0.

prometheus_client's generic encoders validate and escape every label of every
sample (~10 µs each); a sidecar with 2 models × 50 features exports ~3,000
samples, which would cost tens of milliseconds per scrape. This renderer writes
the same formats for the sidecar's own families (gauge, counter, histogram),
escapes only values that need it, and caches the part that changes only with
the snapshot. prometheus_client still picks the format (``choose_encoder``) and
renders the process collector. The output is checked against prometheus_client's
encoders and both of its parsers in the tests.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from exporter.sidecar.metrics import SidecarCollector
from exporter.sidecar.snapshot import Snapshot

OPENMETRICS = "application/openmetrics-text"
_EOF = "# EOF\n"


def _value(v: float) -> str:
    if v != v:
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def _label_value(v: str) -> str:
    if "\\" in v or '"' in v or "\n" in v:
        return v.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return v


def _sample(s: Sample) -> str:
    if not s.labels:
        return f"{s.name} {_value(s.value)}\n"
    labels = ",".join(f'{k}="{_label_value(v)}"' for k, v in s.labels.items())
    return f"{s.name}{{{labels}}} {_value(s.value)}\n"


def render(families: Iterable[object], openmetrics: bool) -> str:
    """Families (prometheus_client Metric objects) in one of the two formats, without EOF."""
    out: list[str] = []
    for fam in families:
        name: str = fam.name  # type: ignore[attr-defined]
        mtype: str = fam.type  # type: ignore[attr-defined]
        doc: str = fam.documentation  # type: ignore[attr-defined]
        doc = doc.replace("\\", r"\\").replace("\n", r"\n")
        if openmetrics:
            doc = doc.replace('"', r"\"")
        elif mtype == "counter":
            name += "_total"  # the text format names counter families with the suffix
        out.append(f"# HELP {name} {doc}\n# TYPE {name} {mtype}\n")
        out.extend(_sample(s) for s in fam.samples)  # type: ignore[attr-defined]
    return "".join(out)


class Exposition:
    """Renders /metrics: live families every time, snapshot families once per snapshot."""

    def __init__(self, collector: SidecarCollector, extra: Iterable[Collector] = ()) -> None:
        self.collector = collector
        self.extra = CollectorRegistry()
        for c in extra:
            self.extra.register(c)
        self._cache: dict[bool, tuple[Snapshot, str]] = {}
        self._lock = threading.Lock()

    def negotiate(self, accept: str) -> tuple[bool, str]:
        """(openmetrics?, content type) chosen by prometheus_client from the Accept header."""
        _, content_type = choose_encoder(accept)
        return content_type.startswith(OPENMETRICS), content_type

    def render(self, openmetrics: bool) -> bytes:
        snap = self.collector.snapshot()
        with self._lock:
            cached = self._cache.get(openmetrics)
            if cached is None or cached[0] is not snap:
                cached = (snap, render(self.collector.per_snapshot(snap), openmetrics))
                self._cache[openmetrics] = cached
        live = render(self.collector.live(), openmetrics)
        encoder, _ = choose_encoder(OPENMETRICS if openmetrics else "")
        extra = encoder(self.extra).decode()
        if openmetrics and extra.endswith(_EOF):
            extra = extra[: -len(_EOF)]
        tail = _EOF if openmetrics else ""
        return (live + cached[1] + extra + tail).encode()
