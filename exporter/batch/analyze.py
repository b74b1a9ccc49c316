"""From collected values to the report, with ``exporter.stats`` doing the statistics.

The features (the prediction included) are judged together by
``exporter.stats.drift.model_verdict`` (Holm over their tests, as the sidecar does); the
dataset's severity is then the highest severity among features that have a verdict, and
``drift_share`` the share of those features at medium or above.
"""

from __future__ import annotations

import time
from dataclasses import replace

from exporter.batch.collect import Collected
from exporter.batch.column import NumericColumn
from exporter.batch.perf import Performance
from exporter.batch.report import BatchReport, FeatureResult, PredictionStats
from exporter.batch.sampled import sampled_drift, sampled_summary
from exporter.metric_names import PREDICTION_FEATURE
from exporter.profile.model import (
    CategoricalProfile,
    FeatureProfile,
    Profile,
    categorical_reference,
    numeric_reference,
)
from exporter.stats.drift import (
    FeatureDrift,
    categorical_drift,
    drift_share,
    highest_severity,
    model_verdict,
    numeric_drift,
)
from exporter.stats.summary import Summary, class_shares, summarize
from exporter.stats.thresholds import Thresholds


def feature_drift(key: str, f: FeatureProfile, collected: Collected,
                  thresholds: Thresholds) -> FeatureResult:
    if isinstance(f, CategoricalProfile):
        drift = categorical_drift(key, categorical_reference(f), collected.categorical[key],
                                  thresholds)
        missing = collected.categorical_missing[key]
    else:
        column = collected.numeric[key]
        if column.sampled:
            drift = sampled_drift(key, numeric_reference(f), column, thresholds)
            return FeatureResult(drift, f.bucket_labels, f.proportions, column.missing,
                                 len(column.values))
        drift = numeric_drift(key, numeric_reference(f), column.values, thresholds)
        missing = column.missing
    return FeatureResult(drift, f.bucket_labels, f.proportions, missing)


def _summary(column: NumericColumn) -> Summary:
    return sampled_summary(column) if column.sampled else summarize(column.values)


def _prediction_stats(profile: Profile, collected: Collected) -> PredictionStats:
    if collected.prediction is None:
        return PredictionStats(None, ())
    if isinstance(profile.prediction, CategoricalProfile):
        counts = collected.categorical[PREDICTION_FEATURE]
        shares = class_shares(counts)
        return PredictionStats(None, tuple(zip(profile.prediction.bucket_labels,
                                               (float(s) for s in shares), strict=True)))
    if profile.prediction is not None:
        column = collected.numeric[PREDICTION_FEATURE]
        return PredictionStats(_summary(column), (), _sample(column))
    numbers = collected.prediction.numbers
    if not collected.prediction.has_class_names and numbers is not None:
        return PredictionStats(_summary(numbers), (), _sample(numbers))
    return PredictionStats(None, ())


def _sample(column: NumericColumn) -> int | None:
    return len(column.values) if column.sampled else None


def judge(profile: Profile, collected: Collected,
          thresholds: Thresholds) -> tuple[FeatureResult, ...]:
    """Every feature (the prediction last) judged together: Holm across them."""
    keyed: list[tuple[str, FeatureProfile]] = [(f.name, f) for f in profile.features]
    if profile.prediction is not None and collected.prediction is not None:
        keyed.append((PREDICTION_FEATURE, profile.prediction))
    single = [feature_drift(k, f, collected, thresholds) for k, f in keyed]
    drifts: list[FeatureDrift] = model_verdict([r.drift for r in single], thresholds)
    return tuple(replace(r, drift=d) for r, d in zip(single, drifts, strict=True))


def analyze(profile: Profile, collected: Collected, thresholds: Thresholds,
            performance: Performance | None, now: float | None = None) -> BatchReport:
    results = judge(profile, collected, thresholds)
    drifts = [r.drift for r in results]
    return BatchReport(
        model=profile.model,
        version=profile.version,
        rows=collected.rows,
        features=results,
        drift_share=drift_share(drifts),
        severity=highest_severity(drifts),
        thresholds=thresholds,
        prediction=_prediction_stats(profile, collected),
        performance=performance,
        analysed_at=time.time() if now is None else now,
    )
