"""One compute cycle: copy the state under the lock, then compute the statistics outside it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import ModelConfig
from exporter.sidecar.multivariate import MultivariateSpec, compute_multivariate
from exporter.sidecar.segments import SegmentCopy, copy_segments, segment_results
from exporter.sidecar.snapshot import ModelSnapshot, Snapshot
from exporter.sidecar.state import FeatureSpec, ModelState, SidecarState
from exporter.stats.calibration import Calibration
from exporter.stats.cbpe import Estimate, estimate_binary, estimate_proba
from exporter.stats.drift import (
    FeatureDrift,
    categorical_drift,
    drift_share,
    highest_severity,
    model_verdict,
    numeric_drift,
)
from exporter.stats.performance import (
    ClassificationMetrics,
    RegressionMetrics,
    classification_metrics,
    regression_metrics,
)
from exporter.stats.quality import FeatureQuality, categorical_counts, limits, numeric_counts
from exporter.stats.reference import CategoricalReference, NumericReference
from exporter.stats.scoring import ProbabilityQuality, binary_quality, multiclass_quality
from exporter.stats.summary import class_shares, summarize
from exporter.stats.thresholds import Thresholds


@dataclass(frozen=True)
class ModelCopy:
    config: ModelConfig
    features: tuple[FeatureSpec, ...]
    prediction: FeatureSpec
    numeric: NDArray[np.float64]  # window rows, oldest first, within max_age
    categorical: NDArray[np.int32]
    pred: NDArray[np.float64]  # columns: value, class index
    pairs: NDArray[np.float64]  # label, class, value, probabilities...
    proba: NDArray[np.float64] | None = None  # multi-class probability rows (CBPE)
    calibration: Calibration | None = None  # the profile's confidence maps (CBPE)
    mv_spec: MultivariateSpec | None = None  # the profile's PCA model (multivariate drift)
    segments: SegmentCopy | None = None  # per-segment spec and joined pairs


def copy_model(state: ModelState, now: float) -> ModelCopy:
    """A consistent copy of what the statistics need (call with the store lock held)."""
    max_age = state.config.window.max_age
    return ModelCopy(
        state.config, tuple(state.features), state.prediction,
        state.numeric.recent(now, max_age), state.categorical.recent(now, max_age),
        state.pred.recent(now, max_age), state.pairs.ring.ordered()[0],
        proba=state.proba.recent(now, max_age) if state.proba is not None else None,
        calibration=state.calibration, mv_spec=state.mv_spec,
        segments=copy_segments(state.segments),
    )


def _no_reference(name: str, kind: str, samples: int,
                  counts: NDArray[np.int64]) -> FeatureDrift:
    return FeatureDrift(name, kind, samples, None, None, None, None, None, None, None, None,
                        None, counts)


def _numeric(spec: FeatureSpec, values: NDArray[np.float64],
             thresholds: Thresholds) -> FeatureDrift:
    if not isinstance(spec.reference, NumericReference):
        samples = int((~np.isnan(values)).sum())
        return _no_reference(spec.name, "numeric", samples, np.zeros(0, dtype=np.int64))
    return numeric_drift(spec.name, spec.reference, values, thresholds)


def _categorical(spec: FeatureSpec, codes: NDArray[np.int32],
                 thresholds: Thresholds) -> FeatureDrift:
    buckets = spec.categorical
    counts = buckets.counts(codes) if buckets is not None else np.zeros(0, dtype=np.int64)
    if not isinstance(spec.reference, CategoricalReference):
        return _no_reference(spec.name, "categorical", int((codes >= 0).sum()), counts)
    return categorical_drift(spec.name, spec.reference, counts, thresholds)


def _prediction_drift(c: ModelCopy, thresholds: Thresholds) -> FeatureDrift:
    spec = c.prediction
    if spec.kind == "numeric":
        return _numeric(spec, c.pred[:, 0], thresholds)
    assert spec.categorical is not None
    codes = spec.categorical.class_codes(c.config.prediction.classes, c.pred[:, 1])
    return _categorical(spec, codes, thresholds)


def _performance(c: ModelCopy) -> ClassificationMetrics | RegressionMetrics | None:
    pairs = c.pairs
    if c.config.prediction.kind == "regression":
        ok = ~np.isnan(pairs[:, 0]) & ~np.isnan(pairs[:, 2])
        if not ok.any():
            return None
        return regression_metrics(pairs[ok, 0], pairs[ok, 2])
    ok = ~np.isnan(pairs[:, 0]) & ~np.isnan(pairs[:, 1])
    if not ok.any():
        return None
    rows = pairs[ok]
    proba = rows[:, 3:]
    # Log loss only when every pair in the window carried probabilities.
    given = proba if proba.size and not np.isnan(proba).any() else None
    return classification_metrics(rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64),
                                  c.config.prediction.classes, given)


def _probability_quality(c: ModelCopy) -> ProbabilityQuality | None:
    """AUC (binary scores), Brier and ECE over the pairs the realized accuracy counts."""
    pairs = c.pairs
    if c.config.prediction.kind == "regression":
        return None
    ok = ~np.isnan(pairs[:, 0]) & ~np.isnan(pairs[:, 1])
    if not ok.any():
        return None
    rows = pairs[ok]
    labels = rows[:, 0].astype(np.int64)
    if len(c.config.prediction.classes) == 2:  # the score P(classes[1]), column 2
        return binary_quality(rows[:, 2], labels == 1)
    return multiclass_quality(rows[:, 3:], labels)


def _estimate(c: ModelCopy) -> Estimate | None:
    """CBPE over the prediction window: binary scores, or multi-class probability rows;
    None below min_samples usable predictions (like a drift verdict) or for regression."""
    if c.config.prediction.kind != "classification":
        return None
    if len(c.config.prediction.classes) == 2:
        est = estimate_binary(c.pred[:, 0], c.calibration)
    elif c.proba is not None:
        est = estimate_proba(c.proba, c.calibration)
    else:
        return None
    return est if est.samples and est.samples >= c.config.thresholds.min_samples else None


def _quality(c: ModelCopy) -> tuple[FeatureQuality, ...]:
    """Missing, out-of-range and unseen-category counts per feature of the window
    (exporter.stats.quality); none below min_samples events, like a drift verdict."""
    if len(c.pred) < c.config.thresholds.min_samples:
        return ()
    out = []
    for spec in c.features:
        ref = spec.quality
        lim = limits(ref, *c.config.quality.for_feature(spec.name))
        if spec.kind == "numeric":
            low, high = (ref.low, ref.high) if ref is not None else (None, None)
            counts = numeric_counts(c.numeric[:, spec.column], low, high)
        else:
            unseen = (spec.categorical.other if ref is not None and spec.categorical is not None
                      else None)
            counts = categorical_counts(c.categorical[:, spec.column], unseen)
        out.append(FeatureQuality(spec.name, spec.kind, counts, lim))
    return tuple(out)


def compute_model(c: ModelCopy, now: float) -> ModelSnapshot:
    thresholds = c.config.thresholds
    drifts: list[FeatureDrift] = []
    for spec in c.features:
        if spec.kind == "numeric":
            drifts.append(_numeric(spec, c.numeric[:, spec.column], thresholds))
        else:
            drifts.append(_categorical(spec, c.categorical[:, spec.column], thresholds))
    # The prediction counts like a feature in the model's verdict, as in `mlmon batch`;
    # model_verdict decides significance over all of them together (Holm).
    judged = model_verdict([*drifts, _prediction_drift(c, thresholds)], thresholds)
    drifts, prediction = judged[:-1], judged[-1]
    severity = highest_severity(judged)
    summary = summarize(c.pred[:, 0])
    shares: tuple[tuple[str, float], ...] = ()
    classes = c.config.prediction.classes
    if c.config.prediction.kind == "classification" and classes:
        known = c.pred[:, 1][~np.isnan(c.pred[:, 1])].astype(np.int64)
        counts = np.bincount(known, minlength=len(classes)).astype(np.int64)
        shares = tuple(zip(classes, (float(x) for x in class_shares(counts)), strict=True))
    performance = _performance(c)
    return ModelSnapshot(
        model=c.config.name, version=c.config.version, window_size=c.config.window.size,
        window_samples=len(c.pred), computed_at=now, features=tuple(drifts),
        prediction=prediction,
        drift_share=drift_share(judged) if severity is not None else None,
        severity=severity,
        prediction_summary=summary if summary.count else None,
        class_shares=shares, performance=performance,
        performance_samples=performance.samples if performance is not None else 0,
        estimate=_estimate(c),
        probability_quality=_probability_quality(c),
        multivariate=compute_multivariate(c.mv_spec, c.numeric, thresholds.min_samples,
                                          c.config.multivariate.sigmas),
        quality=_quality(c),
        segments=segment_results(c.segments, c.features, c.prediction, c.numeric,
                                 c.categorical, c.pred, c.config),
    )


def compute(store: SidecarState, clock: Callable[[], float] = time.time) -> Snapshot:
    """Copy every model under the lock (fast), then compute without holding it."""
    started = time.perf_counter()
    now = clock()
    with store.lock:
        copies = [copy_model(m, now) for m in store.models.values()]
    models = {(c.config.name, c.config.version): compute_model(c, now) for c in copies}
    return Snapshot(now, time.perf_counter() - started, models)
