"""`mlmon batch` per segment: rows, drift share, largest PSI (and its feature), accuracy / MAE.

With a profile carrying the segments section (``exporter.profile.segments``), every row goes
to the segment of its segment-feature value (one of the profile's top values, else
``__other__``, a missing value included) and is counted into the profile's buckets, as the
sidecar does. Each segment is then judged against its own reference counts with
``exporter.stats.drift`` (binned tests: the profile keeps no reference sample per segment, so a
numeric feature's test is PSI's χ² test; Holm within the segment). With labels: accuracy
(classifiers: class names, or a binary score's class at 0.5) or MAE (regressors), the task
being the one ``exporter.batch.perf`` infers for the whole file.

Everything is kept as integer counts or exact sums (``exporter.stats.moments.ExactSum``),
so ``merge`` of the collectors of any split of the rows gives the result of one pass (a
Spark engine merges partitions).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from exporter.batch.collect import keys
from exporter.batch.perf import THRESHOLD, Task
from exporter.config.model import ModelConfig
from exporter.metric_names import PREDICTION_FEATURE
from exporter.profile.model import CategoricalProfile, NumericProfile, Profile
from exporter.profile.segments import category_index, group_counts, segment_counts
from exporter.readers.chunks import Chunk, ColumnKind
from exporter.stats.drift import (
    FeatureDrift,
    binned_drift,
    categorical_drift,
    drift_share,
    highest_severity,
    model_verdict,
)
from exporter.stats.moments import ExactSum
from exporter.stats.reference import CategoricalReference
from exporter.stats.thresholds import Thresholds

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class SegmentResult:
    feature: str  # the segment feature
    value: str
    rows: int
    drift_share: float | None  # None: no feature of the segment has a verdict
    max_psi: float | None
    max_psi_feature: str | None
    labelled: int  # rows with a label and a prediction (the task's)
    accuracy: float | None  # classifiers
    mae: float | None  # regressors


class SegmentCollector:
    """``update`` per chunk, ``merge`` partitions, ``result`` at the end."""

    def __init__(self, profile: Profile, model: ModelConfig | None, prediction_column: str | None,
                 label_column: str | None) -> None:
        assert profile.segments is not None
        self.profile = profile
        self.model = model
        self.section = profile.segments
        self.values = tuple(p.value for p in self.section.segments)
        self.prediction_column = prediction_column
        self.label_column = label_column if prediction_column is not None else None
        self.classes = ("0", "1") if model is None else model.prediction.classes
        g = len(self.values)
        self.rows = np.zeros(g, dtype=np.int64)
        self.counts = {f.name: np.zeros((g, len(f.counts)), dtype=np.int64)
                       for f in profile.features}
        p = profile.prediction
        self.pred = (np.zeros((g, len(p.counts)), dtype=np.int64)
                     if p is not None and prediction_column is not None else None)
        # per segment: [correct by class name, named pairs, correct by score, scored pairs]
        self.hits = np.zeros((g, 4), dtype=np.int64)
        self.abs_error = [ExactSum() for _ in range(g)]
        self.regressed = np.zeros(g, dtype=np.int64)

    @classmethod
    def make(cls, profile: Profile, model: ModelConfig | None, prediction_column: str | None,
             label_column: str | None) -> SegmentCollector | None:
        if profile.segments is None:
            return None
        return cls(profile, model, prediction_column, label_column)

    def fresh(self) -> SegmentCollector:
        """An empty collector of the same kind (for another partition)."""
        return SegmentCollector(self.profile, self.model, self.prediction_column,
                                self.label_column)

    def columns(self) -> dict[str, ColumnKind]:
        cols: dict[str, ColumnKind] = {f.name: f.kind for f in self.profile.features}
        for c in (self.prediction_column, self.label_column):
            if c is not None:
                cols[c] = "prediction"
        return cols

    def update(self, chunk: Chunk) -> None:
        g = len(self.values)
        groups = category_index(chunk.categorical[self.section.feature], self.values[:-1])
        groups[groups < 0] = g - 1  # missing: __other__
        self.rows += np.bincount(groups, minlength=g).astype(np.int64)
        for f in self.profile.features:
            counts = self.counts[f.name]
            counts += group_counts(groups, _buckets(f, chunk), g, counts.shape[1])
        if self.prediction_column is None:
            return
        p = chunk.predictions[self.prediction_column]
        if self.pred is not None:
            assert self.profile.prediction is not None
            b = (category_index(np.array(keys(p), dtype=object), self.profile.prediction.categories)
                 if isinstance(self.profile.prediction, CategoricalProfile)
                 else _bins(self.profile.prediction, p.numbers))
            self.pred += group_counts(groups, b, g, self.pred.shape[1])
        if self.label_column is not None:
            self._labels(groups, chunk)

    def _labels(self, groups: NDArray[np.int64], chunk: Chunk) -> None:
        assert self.prediction_column is not None and self.label_column is not None
        g = len(self.values)
        p, y = chunk.predictions[self.prediction_column], chunk.predictions[self.label_column]
        truth = np.array(keys(y), dtype=object)
        named = np.array(keys(p), dtype=object)
        ok = (truth != None) & (named != None)  # noqa: E711 (elementwise on objects)
        self.hits[:, 0] += np.bincount(groups[ok & (truth == named)], minlength=g)
        self.hits[:, 1] += np.bincount(groups[ok], minlength=g)
        scored = ~np.isnan(p.numbers) & (truth != None)  # noqa: E711
        if len(self.classes) == 2:
            cls = np.where(p.numbers >= THRESHOLD, self.classes[1], self.classes[0])
            self.hits[:, 2] += np.bincount(groups[scored & (cls == truth)], minlength=g)
            self.hits[:, 3] += np.bincount(groups[scored], minlength=g)
        both = ~np.isnan(p.numbers) & ~np.isnan(y.numbers)
        err = np.abs(y.numbers - p.numbers)
        self.regressed += np.bincount(groups[both], minlength=g)
        for s in np.unique(groups[both]).tolist():
            self.abs_error[s].add(err[both & (groups == s)])

    def merge(self, other: SegmentCollector) -> None:
        """Add another partition's collector (same profile): exact."""
        if other.values != self.values or other.counts.keys() != self.counts.keys():
            raise ValueError("cannot merge segment collectors of different profiles")
        self.rows += other.rows
        for name, counts in self.counts.items():
            counts += other.counts[name]
        if self.pred is not None and other.pred is not None:
            self.pred += other.pred
        self.hits += other.hits
        self.regressed += other.regressed
        for mine, theirs in zip(self.abs_error, other.abs_error, strict=True):
            mine.merge(theirs)

    def result(self, thresholds: Thresholds, task: Task | None) -> tuple[SegmentResult, ...]:
        """Per segment; ``task`` (None: no labels) decides accuracy or MAE."""
        out = []
        feats = list(self.profile.features)
        if self.model is not None and self.model.segment is not None:
            thresholds = self.model.segment.thresholds(thresholds)  # segment.min_samples
        for s, value in enumerate(self.values):
            drifts = [_drift(f.name, f, segment_counts(self.section, i)[s], self.counts[f.name][s],
                             thresholds) for i, f in enumerate(feats)]
            p = self.profile.prediction
            seg_pred = self.section.segments[s].prediction
            if p is not None and self.pred is not None and seg_pred is not None:
                drifts.append(_drift(PREDICTION_FEATURE, p, np.array(seg_pred, dtype=np.int64),
                                     self.pred[s], thresholds))
            judged = model_verdict(drifts, thresholds)
            top = max((d for d in judged if d.psi is not None),
                      key=lambda d: (d.psi or 0.0, d.name), default=None)
            share = drift_share(judged) if highest_severity(judged) is not None else None
            acc = mae = None
            labelled = 0
            if task is not None and task.kind == "regression":
                labelled = int(self.regressed[s])
                mae = self.abs_error[s].value / labelled if labelled else None
            elif task is not None:
                hit, n = (self.hits[s, 2:] if task.scores else self.hits[s, :2]).tolist()
                labelled, acc = n, (hit / n if n else None)
            out.append(SegmentResult(self.section.feature, value, int(self.rows[s]), share,
                                     None if top is None else top.psi,
                                     None if top is None else top.name, labelled, acc, mae))
        return tuple(out)


def _bins(f: NumericProfile, x: NDArray[np.float64]) -> NDArray[np.int64]:
    b = np.searchsorted(np.asarray(f.edges, dtype=np.float64), x, side="right").astype(np.int64)
    b[np.isnan(x)] = -1
    return b


def _buckets(f: NumericProfile | CategoricalProfile, chunk: Chunk) -> NDArray[np.int64]:
    if isinstance(f, NumericProfile):
        return _bins(f, chunk.numeric[f.name])
    return category_index(chunk.categorical[f.name], f.categories)


def _drift(name: str, f: NumericProfile | CategoricalProfile, ref: IntArray, cur: IntArray,
           t: Thresholds) -> FeatureDrift:
    """A segment's drift from bucket counts alone (numeric: the binned PSI test), so its
    memory does not grow with the segment's rows."""
    if isinstance(f, CategoricalProfile):
        return categorical_drift(name, CategoricalReference(ref), cur, t)
    return binned_drift(name, ref, cur, t)


# --- renderers -------------------------------------------------------------------------------

def as_dicts(results: Sequence[SegmentResult]) -> list[dict[str, Any]]:
    return [{"feature": r.feature, "segment": r.value, "rows": r.rows, "drift_share": r.drift_share,
             "max_psi": r.max_psi, "max_psi_feature": r.max_psi_feature,
             "labelled": r.labelled, "accuracy": r.accuracy, "mae": r.mae} for r in results]


def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def text_lines(results: Sequence[SegmentResult]) -> list[str]:
    if not results:
        return []
    out = ["", f"Segments by {results[0].feature}:",
           f"  {'segment':<20} {'rows':>8} {'drift share':>11} {'max PSI':>8}  "
           f"{'(feature)':<20} {'accuracy':>8} {'MAE':>10}"]
    for r in results:
        out.append(f"  {r.value:<20} {r.rows:>8} {_fmt(r.drift_share):>11} "
                   f"{_fmt(r.max_psi, 4):>8}  {r.max_psi_feature or '–':<20} "
                   f"{_fmt(r.accuracy):>8} {_fmt(r.mae, 4):>10}")
    return out


def html_section(results: Sequence[SegmentResult]) -> str:
    if not results:
        return ""
    e = html.escape
    feature = results[0].feature
    rows = "".join(
        f"<tr><td>{e(r.value)}</td><td>{r.rows}</td><td>{_fmt(r.drift_share)}</td>"
        f"<td>{_fmt(r.max_psi, 4)}</td><td>{e(r.max_psi_feature or '–')}</td>"
        f"<td>{_fmt(r.accuracy)}</td><td>{_fmt(r.mae, 4)}</td></tr>" for r in results)
    return (f"<h2>Segments by {e(feature)}</h2><table><thead><tr><th>segment</th>"
            "<th>rows</th><th>drift share</th><th>max PSI</th><th>feature</th>"
            f"<th>accuracy</th><th>MAE</th></tr></thead><tbody>{rows}</tbody></table>")


def prom_samples(results: Sequence[SegmentResult], model: str, version: str,
                 ) -> dict[str, list[tuple[tuple[str, ...], float | None]]]:
    """metric name -> ((model, version, segment), value) for the batch's Prometheus output."""
    out: dict[str, list[tuple[tuple[str, ...], float | None]]] = {}
    for r in results:
        for name, v in (("mlmon_segment_drift_share_ratio", r.drift_share),
                        ("mlmon_segment_max_psi", r.max_psi),
                        ("mlmon_segment_accuracy_ratio", r.accuracy),
                        ("mlmon_segment_regression_mae", r.mae)):
            if v is not None:
                out.setdefault(name, []).append(((model, version, r.value), float(v)))
    return out
