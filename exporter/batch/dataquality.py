"""Data quality of a batch file per feature (and per chunk): missing, out-of-range and
unseen-category ratios against the profile, as the sidecar computes them over its window.

Formulas and limits in ``exporter.stats.quality``: missing over all rows, out-of-range
(numeric: outside the profile's summary [min, max]) and unseen-category (categorical: not
among the profile's kept categories) over the present values. The counts are integers, so
``merge`` is exact whichever way the rows were split. A verdict (a measure above its limit)
needs ``min_samples`` rows, as a drift verdict does; ``--format prometheus`` exports the
ratios from that many rows too. The renderers of every format live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from exporter.config.model import QualityConfig
from exporter.metric_names import QUALITY_METRICS
from exporter.profile.model import CategoricalProfile, Profile
from exporter.readers.chunks import Chunk
from exporter.stats.quality import (
    FeatureQuality,
    QualityCounts,
    QualityReference,
    limits,
    numeric_counts,
    reference_of,
)

if TYPE_CHECKING:
    from exporter.batch.report import BatchReport

Sample = tuple[tuple[str, ...], float | None]


@dataclass(frozen=True)
class _Feature:
    name: str
    kind: str
    reference: QualityReference
    known: frozenset[str]  # categorical: the profile's kept categories


class DataQualityCollector:
    """``update`` per reader chunk, ``result`` at the end; ``merge`` adds another's counts."""

    def __init__(self, profile: Profile, quality: QualityConfig) -> None:
        self._quality = quality
        self._profile = profile
        self._features: list[_Feature] = []
        for f in profile.features:
            ref = reference_of(f)
            assert ref is not None
            known = frozenset(f.categories) if isinstance(f, CategoricalProfile) else frozenset()
            self._features.append(_Feature(f.name, f.kind, ref, known))
        self.counts = [QualityCounts(0, 0, 0) for _ in self._features]

    def fresh(self) -> DataQualityCollector:
        return DataQualityCollector(self._profile, self._quality)

    def update(self, chunk: Chunk) -> None:
        for i, f in enumerate(self._features):
            if f.kind == "numeric":
                values = chunk.numeric.get(f.name)
                if values is None:  # the column is absent: every row is missing
                    values = np.full(chunk.rows, np.nan)
                c = numeric_counts(values, f.reference.low, f.reference.high)
            else:
                names = chunk.categorical.get(f.name)
                rows = names.tolist() if names is not None else [None] * chunk.rows
                missing = rows.count(None)
                unseen = sum(1 for v in rows if v is not None and v not in f.known)
                c = QualityCounts(len(rows), missing, unseen)
            self.counts[i] = self.counts[i] + c

    def merge(self, other: DataQualityCollector) -> None:
        """Add the counts of ``other`` (same profile): exact, as the counts are integers."""
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]

    def result(self) -> tuple[FeatureQuality, ...]:
        out = []
        for f, c in zip(self._features, self.counts, strict=True):
            lim = limits(f.reference, *self._quality.for_feature(f.name))
            out.append(FeatureQuality(f.name, f.kind, c, lim))
        return tuple(out)


def quality_dicts(features: tuple[FeatureQuality, ...], min_samples: int) -> list[dict[str, Any]]:
    """JSON: per feature its counts, ratios, limits and the measures above their limit
    (``exceeded``: null below min_samples rows, no verdict)."""
    return [{**q.summary(), **({} if q.counts.rows >= min_samples else {"exceeded": None})}
            for q in features]


def verdict_lines(features: tuple[FeatureQuality, ...], min_samples: int,
                  where: str = "") -> list[str]:
    """One line per feature and measure above its limit ("data quality: ...")."""
    if not features or features[0].counts.rows < min_samples:
        return []
    return [f"data quality{where}: {q.name} {m} ratio {ratio:.2%} above its limit "
            f"{limit:.2%}" for q in features for m, ratio, limit in q.exceeded()]


def text_lines(r: BatchReport) -> list[str]:
    """The terminal section: a table of the file's ratios, then the verdict lines (file and
    chunks)."""
    if not r.data_quality:
        return []
    t = r.thresholds.min_samples

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.2%}"

    lines = ["", "data quality (missing over rows; out of range / unseen over present values):"]
    for q in r.data_quality:
        lines.append(f"  {q.name}: missing {pct(q.missing_ratio)} (limit "
                     f"{pct(q.limits.missing)}), {q.outside_measure.replace('_', ' ')} "
                     f"{pct(q.outside_ratio)} (limit {pct(q.limits.outside)})")
    verdicts = verdict_lines(r.data_quality, t)
    for c in r.chunks:
        verdicts += verdict_lines(c.data_quality, t, f" (chunk {c.index})")
    return lines + (verdicts or ["data quality: every feature within its limits"
                                 if r.rows >= t else
                                 f"data quality: no verdict (fewer than {t} rows)"])


def html_section(r: BatchReport) -> str:
    if not r.data_quality:
        return ""

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.2%}"

    rows = "".join(
        f"<tr><td>{escape(q.name)}</td><td>{pct(q.missing_ratio)}</td>"
        f"<td>{pct(q.limits.missing)}</td><td>{q.outside_measure}</td>"
        f"<td>{pct(q.outside_ratio)}</td><td>{pct(q.limits.outside)}</td></tr>"
        for q in r.data_quality)
    t = r.thresholds.min_samples
    verdicts = verdict_lines(r.data_quality, t)
    for c in r.chunks:
        verdicts += verdict_lines(c.data_quality, t, f" (chunk {c.index})")
    notes = "".join(f'<p class="sev-high">{escape(v)}</p>' for v in verdicts)
    return ("<h2>Data quality</h2><table><tr><th>feature</th><th>missing</th><th>limit</th>"
            "<th>value check</th><th>ratio</th><th>limit</th></tr>"
            f"{rows}</table>{notes}")


def prom_samples(r: BatchReport) -> dict[str, list[Sample]]:
    """Metric name -> samples: the ratios from min_samples rows, the limits always."""
    m = (r.model, r.version)
    out: dict[str, list[Sample]] = {n: [] for n in (*QUALITY_METRICS.values(),
                                                    "mlmon_feature_quality_limit_ratio")}
    for q in r.data_quality:
        if r.rows >= r.thresholds.min_samples:
            for measure, ratio, _ in q.ratios():
                out[QUALITY_METRICS[measure]].append(((*m, q.name), ratio))
        out["mlmon_feature_quality_limit_ratio"] += [
            ((*m, q.name, "missing"), q.limits.missing),
            ((*m, q.name, q.outside_measure), q.limits.outside)]
    return out
