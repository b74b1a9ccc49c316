"""Per-segment metrics: prediction counts, drift share, largest PSI, realized accuracy / MAE.

A model with ``segment: {feature, max_values}`` and a profile carrying the segments section
(``exporter.profile.segments``) splits its metrics by the value of that categorical feature:
the profile's top values, everything else (and a missing value) ``__other__``. The label
set is therefore bounded by ``max_values + 1`` per model.

- ``mlmon_segment_predictions_total``: every accepted prediction, counted as it arrives.
- ``mlmon_segment_drift_share_ratio`` / ``mlmon_segment_max_psi``: over the window's rows of
  the segment, each feature (and the prediction) against the segment's reference counts on
  the profile's global buckets, with the verdict of ``exporter.stats.drift`` (``min_samples``
  applies per segment and feature: below it, no verdict). The profile keeps no reference
  sample per segment, so a numeric feature's test is PSI's χ² test on the bins (KS needs the
  sample), categorical features use the pooled χ² as the model does; Holm over the segment's
  features, as ``model_verdict`` does for the model. Without any verdict (a segment with
  fewer than ``min_samples`` window rows) the segment exports neither series. The feature
  with the largest PSI is named in ``/v1/status`` (a ``feature`` label would not be bounded).
- ``mlmon_segment_accuracy_ratio`` (classifiers) / ``mlmon_segment_regression_mae``
  (regressors): over the joined pairs of the segment in the last ``labels.window`` joined
  pairs of the model (each pending prediction keeps its segment index in the join table).

A configured segment whose profile has no section (or one for another feature or
``max_values``) stops start-up (``exporter.profile.match``); a state built without that
check exports nothing for segments and logs a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import ModelConfig
from exporter.metric_names import PREDICTION_FEATURE
from exporter.profile.model import CategoricalProfile, NumericProfile, Profile
from exporter.sidecar.buckets import CategoricalBuckets
from exporter.sidecar.window import Ring
from exporter.stats.drift import (
    FeatureDrift,
    categorical_drift,
    drift_share,
    highest_severity,
    model_verdict,
    numeric_drift,
)
from exporter.stats.reference import CategoricalReference, NumericReference
from exporter.stats.thresholds import Thresholds

log = logging.getLogger("mlmon.segments")
Reference = NumericReference | CategoricalReference
PAIR_COLUMNS = 4  # segment index, label, predicted class, predicted value


class _Spec(Protocol):
    """What a segment needs of a feature's spec (``exporter.sidecar.state.FeatureSpec``)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def column(self) -> int: ...
    @property
    def categorical(self) -> CategoricalBuckets | None: ...


def _reference(feature: NumericProfile | CategoricalProfile,
               counts: tuple[int, ...]) -> Reference:
    if isinstance(feature, NumericProfile):  # no per-segment sample: the binned test
        return NumericReference(np.asarray(feature.edges, dtype=np.float64),
                                np.asarray(counts, dtype=np.int64), np.empty(0))
    return CategoricalReference(np.asarray(counts, dtype=np.int64))


@dataclass(frozen=True)
class SegmentSpec:
    """Immutable, read once from the profile: values, code map and references."""

    feature: str
    column: int  # the segment feature's column in the categorical window
    values: tuple[str, ...]  # the top values, then "__other__"
    code_map: NDArray[np.int64]  # feature bucket code -> segment; the last entry is missing
    references: tuple[tuple[Reference, ...], ...]  # per segment, per feature (config order)
    prediction: tuple[Reference | None, ...]  # per segment

    @property
    def other(self) -> int:
        return len(self.values) - 1


def segment_spec(config: ModelConfig, profile: Profile | None, column: int,
                 buckets: CategoricalBuckets | None) -> SegmentSpec | None:
    """The model's segment spec, or None (no ``segment:``, or the profile lacks its section)."""
    seg = config.segment
    if seg is None or profile is None:
        return None
    section = profile.segments
    profiled = {f.name for f in profile.features}
    if section is None or section.feature != seg.feature or section.max_values != seg.max_values \
            or buckets is None or not buckets.fixed \
            or not all(f.name in profiled for f in config.features):
        log.warning("model %s:%s: segment %s (max_values %d) is configured but the profile has "
                    "no matching segments section; no segment metrics until the profile is "
                    "rebuilt with `mlmon profile build`", config.name, config.version,
                    seg.feature, seg.max_values)
        return None
    values = tuple(p.value for p in section.segments)
    other = len(values) - 1
    index = {v: i for i, v in enumerate(values[:-1])}
    # codes: 0..k-1 the feature's categories, k its __other__ bucket, -1 (last entry) missing
    code_map = np.array([index.get(c, other) for c in buckets.categories] + [other, other],
                        dtype=np.int64)
    # references in the config's feature order (the profile's may differ): by name
    at = {f.name: i for i, f in enumerate(profile.features)}
    feats = [(profile.features[at[f.name]], at[f.name]) for f in config.features]
    pred = profile.prediction
    return SegmentSpec(
        seg.feature, column, values, code_map,
        tuple(tuple(_reference(f, p.features[i]) for f, i in feats) for p in section.segments),
        tuple(None if pred is None or p.prediction is None else _reference(pred, p.prediction)
              for p in section.segments))


class SegmentState:
    """Mutable per-model segment state: prediction counters and the joined pairs' segments."""

    def __init__(self, spec: SegmentSpec, pair_window: int) -> None:
        self.spec = spec
        self.predictions = np.zeros(len(spec.values), dtype=np.int64)
        self.pairs = Ring(pair_window, PAIR_COLUMNS, np.float64, np.nan)

    def fresh(self) -> SegmentState:
        return SegmentState(self.spec, self.pairs.size)

    def observe(self, categorical: NDArray[np.int32], taken: NDArray[np.bool_],
                ) -> NDArray[np.float64]:
        """Count the accepted predictions (``categorical``: their category codes, one row per
        ``taken`` line) by segment; each line's segment index (-1: a line not taken)."""
        segs = self.spec.code_map[categorical[:, self.spec.column]]
        self.predictions += np.bincount(segs, minlength=len(self.spec.values))
        out = np.full(len(taken), -1.0)
        out[taken] = segs
        return out

    def joined(self, segs: list[int], rows: NDArray[np.float64], now: float) -> None:
        """Joined pairs (label, class, value columns first) with their segment indices."""
        out = np.column_stack([np.array(segs, dtype=np.float64), rows[:, :3]])
        self.pairs.extend(out, np.full(len(out), now))


@dataclass(frozen=True)
class SegmentCopy:
    spec: SegmentSpec
    pairs: NDArray[np.float64]  # segment, label, class, value; oldest first


def copy_segments(s: SegmentState | None) -> SegmentCopy | None:
    return None if s is None else SegmentCopy(s.spec, s.pairs.ordered()[0])


@dataclass(frozen=True)
class SegmentResult:
    value: str
    samples: int  # window rows of the segment
    drift_share: float | None  # None: no feature has a verdict (below min_samples)
    max_psi: float | None
    max_psi_feature: str | None
    performance_samples: int
    accuracy: float | None  # classifiers
    mae: float | None  # regressors


def _drift(spec: _Spec, ref: Reference, numeric: NDArray[np.float64],
           categorical: NDArray[np.int32], t: Thresholds) -> FeatureDrift:
    if isinstance(ref, NumericReference):
        return numeric_drift(spec.name, ref, numeric[:, spec.column], t)
    assert spec.categorical is not None
    return categorical_drift(spec.name, ref, spec.categorical.counts(categorical[:, spec.column]),
                             t)


def compute_segments(c: SegmentCopy, features: Sequence[_Spec], numeric: NDArray[np.float64],
                     categorical: NDArray[np.int32],
                     prediction: NDArray[np.float64] | tuple[NDArray[np.int32], CategoricalBuckets]
                     | None, config: ModelConfig) -> tuple[SegmentResult, ...]:
    """Every segment's results over the window copy (rows aligned across the arrays).

    ``prediction``: the numeric prediction values, or (class codes, their buckets), or None.
    """
    t = config.segment.thresholds(config.thresholds) if config.segment else config.thresholds
    spec = c.spec
    segs = spec.code_map[categorical[:, spec.column]] if len(categorical) else np.empty(0, int)
    pairs = c.pairs
    out = []
    for s, value in enumerate(spec.values):
        mask = segs == s
        drifts = [_drift(f, ref, numeric[mask], categorical[mask], t)
                  for f, ref in zip(features, spec.references[s], strict=True)]
        pref = spec.prediction[s]
        if isinstance(prediction, np.ndarray) and isinstance(pref, NumericReference):
            drifts.append(numeric_drift(PREDICTION_FEATURE, pref, prediction[mask], t))
        elif isinstance(prediction, tuple) and isinstance(pref, CategoricalReference):
            codes, buckets = prediction
            drifts.append(categorical_drift(PREDICTION_FEATURE, pref,
                                            buckets.counts(codes[mask]), t))
        judged = model_verdict(drifts, t)
        scored = [d for d in judged if d.psi is not None]
        top = max(scored, key=lambda d: (d.psi or 0.0, d.name), default=None)
        share = drift_share(judged) if highest_severity(judged) is not None else None
        acc, mae, n = _performance(pairs[pairs[:, 0] == s], config.prediction.kind)
        out.append(SegmentResult(value, int(mask.sum()), share,
                                 None if top is None else top.psi,
                                 None if top is None else top.name, n, acc, mae))
    return tuple(out)


def segment_results(c: SegmentCopy | None, features: Sequence[_Spec], prediction: _Spec,
                    numeric: NDArray[np.float64], categorical: NDArray[np.int32],
                    pred: NDArray[np.float64], config: ModelConfig) -> tuple[SegmentResult, ...]:
    """``compute_segments`` over a model's window copy (``pred``: value, class index columns);
    () without segments."""
    if c is None:
        return ()
    given: NDArray[np.float64] | tuple[NDArray[np.int32], CategoricalBuckets] | None = None
    if prediction.kind == "numeric":
        given = pred[:, 0]
    elif prediction.categorical is not None:
        b = prediction.categorical
        given = (b.class_codes(config.prediction.classes, pred[:, 1]), b)
    return compute_segments(c, features, numeric, categorical, given, config)


def _performance(rows: NDArray[np.float64], kind: str) -> tuple[float | None, float | None, int]:
    """(accuracy, MAE, pairs) of one segment's joined pairs."""
    label = rows[:, 1]
    if kind == "classification":
        ok = ~np.isnan(label) & ~np.isnan(rows[:, 2])
        n = int(ok.sum())
        return (float(np.mean(rows[ok, 2] == label[ok])) if n else None), None, n
    ok = ~np.isnan(label) & ~np.isnan(rows[:, 3])
    n = int(ok.sum())
    return None, (float(np.mean(np.abs(label[ok] - rows[ok, 3]))) if n else None), n


def segment_state(config: ModelConfig, profile: Profile | None, features: Sequence[_Spec],
                  template: SegmentState | None = None) -> SegmentState | None:
    """The model's segment state, or None when it has no (usable) segment; with a
    ``template`` (an existing state's), an empty one sharing its spec."""
    if template is not None:
        return template.fresh()
    if config.segment is None:
        return None
    spec = next((f for f in features if f.name == config.segment.feature), None)
    if spec is None:
        return None
    seg = segment_spec(config, profile, spec.column, spec.categorical)
    return None if seg is None else SegmentState(seg, config.labels.window)


Add = Callable[[str, list[str], float | None], None]


def add_counters(s: SegmentState | None, mv: list[str], add: Add) -> None:
    """``mlmon_segment_predictions_total`` for every segment (0 from start-up)."""
    if s is not None:
        for value, n in zip(s.spec.values, s.predictions.tolist(), strict=True):
            add("mlmon_segment_predictions_total", [*mv, value], n)


def add_results(results: Sequence[SegmentResult], mv: list[str], add: Add) -> None:
    """The snapshot's per-segment gauges (a None value exports no sample)."""
    for r in results:
        sv = [*mv, r.value]
        add("mlmon_segment_drift_share_ratio", sv, r.drift_share)
        add("mlmon_segment_max_psi", sv, r.max_psi)
        add("mlmon_segment_accuracy_ratio", sv, r.accuracy)
        add("mlmon_segment_regression_mae", sv, r.mae)


def status(results: Sequence[SegmentResult]) -> list[dict[str, object]]:
    """The per-segment part of ``/v1/status`` (the max-PSI feature named here only)."""
    return [{"segment": r.value, "window_samples": r.samples, "drift_share": r.drift_share,
             "max_psi": r.max_psi, "max_psi_feature": r.max_psi_feature,
             "performance_samples": r.performance_samples, "accuracy": r.accuracy,
             "mae": r.mae} for r in results]


def render(m: Mapping[str, Any], esc: Callable[[object], str],
           number: Callable[[float | None], str]) -> str:
    """The status page's per-segment table (from ``/v1/status``'s ``segments``); "" without."""
    rows = m.get("segments") or []
    if not rows:
        return ""
    body = "".join(
        f'<tr data-segment="{esc(r["segment"])}"><th>{esc(r["segment"])}</th>'
        f'<td class="num">{esc(r["window_samples"])}</td>'
        f'<td class="num">{esc(number(r["drift_share"]))}</td>'
        f'<td class="num">{esc(number(r["max_psi"]))}</td><td>{esc(r["max_psi_feature"] or "–")}'
        f'</td><td class="num">{esc(number(r["accuracy"] if r["mae"] is None else r["mae"]))}'
        "</td></tr>" for r in rows)
    return ('<h3>Segments</h3><table class="segments"><thead><tr><th>segment</th>'
            "<th>window rows</th><th>drift share</th><th>max PSI</th><th>feature</th>"
            f"<th>accuracy / MAE</th></tr></thead><tbody>{body}</tbody></table>")
