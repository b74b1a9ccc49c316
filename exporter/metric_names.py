"""The one list of metric names mlmon exports.

Everything else — the collector, the metric reference (docs/metrics.md), the rules, the
Grafana dashboard and the tests — is generated from or checked against
``METRICS``. Counter names carry their ``_total`` suffix here, as they appear
in the Prometheus text exposition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricType = Literal["counter", "gauge", "histogram", "info"]
Source = Literal["sidecar", "batch", "responder"]

PREFIX = "mlmon_"

# Label values with a special meaning.
PREDICTION_FEATURE = "__prediction__"  # the prediction, checked like a feature
OTHER_BUCKET = "__other__"  # categories unseen in the reference profile
MISSING_BUCKET = "__missing__"  # value absent or null
MACRO_CLASS = "__macro__"  # macro average over classes

MODEL = ("model", "version")
FEATURE = ("model", "version", "feature")
SEGMENT = ("model", "version", "segment")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...]
    sources: tuple[Source, ...] = ("sidecar",)

    @property
    def family(self) -> str:
        """Name of the metric family (without the counter `_total` suffix)."""
        if self.type == "counter" and self.name.endswith("_total"):
            return self.name[: -len("_total")]
        return self.name


SB: tuple[Source, ...] = ("sidecar", "batch")

METRICS: tuple[MetricSpec, ...] = (
    # --- self-metrics ---------------------------------------------------------
    MetricSpec("mlmon_build_info", "gauge", "Build information; always 1.",
               ("version", "python"), ("sidecar", "batch", "responder")),
    MetricSpec("mlmon_events_received_total", "counter",
               "Lines received from the tap, by transport (unix, tcp, http).", ("transport",)),
    MetricSpec("mlmon_events_rejected_total", "counter",
               "Lines rejected, by reason; every reason is present from start-up.", ("reason",)),
    MetricSpec("mlmon_queue_events", "gauge",
               "Events waiting in the ingest queue.", ()),
    MetricSpec("mlmon_queue_capacity_events", "gauge",
               "Line bound of the ingest queue (server.queue_size); the byte bound "
               "(mlmon_queue_capacity_bytes) applies too, whichever is reached first. When "
               "full, stream readers pause and POST /v1/events answers 503.", ()),
    MetricSpec("mlmon_queue_bytes", "gauge", "Bytes of events waiting in the ingest queue.", ()),
    MetricSpec("mlmon_queue_capacity_bytes", "gauge",
               "Byte bound of the ingest queue; stream readers pause beyond it.", ()),
    MetricSpec("mlmon_connections", "gauge",
               "Open tap connections, by transport (unix, tcp).", ("transport",)),
    MetricSpec("mlmon_connections_refused_total", "counter",
               "Tap connections refused because server.max_connections were open, by "
               "transport (unix, tcp).", ("transport",)),
    MetricSpec("mlmon_decoder_restarts_total", "counter",
               "Decoder processes started again after one died (its batches were decoded "
               "in the sidecar meanwhile).", ()),
    MetricSpec("mlmon_compute_duration_seconds", "histogram",
               "Time taken by one statistics compute cycle over all models.", ()),
    MetricSpec("mlmon_last_compute_timestamp_seconds", "gauge",
               "Unix time at which the latest statistics snapshot was computed.", ()),
    MetricSpec("mlmon_state_saves_total", "counter",
               "State-file writes, by result (ok, error).", ("result",)),
    # --- thresholds from the configuration (rules compare against these) -------
    MetricSpec("mlmon_threshold", "gauge",
               "Configured threshold per model: psi_medium, psi_high, ks_alpha, chi2_alpha, "
               "min_samples, accuracy_floor, mae_ceiling, rmse_ceiling.",
               (*MODEL, "threshold"), SB),
    # --- volume -----------------------------------------------------------------
    MetricSpec("mlmon_predictions_total", "counter",
               "Prediction events accepted.", MODEL),
    MetricSpec("mlmon_labels_total", "counter",
               "Label events accepted (joined or not).", MODEL),
    MetricSpec("mlmon_labels_joined_total", "counter",
               "Labels joined to their prediction.", MODEL),
    MetricSpec("mlmon_labels_unjoined_total", "counter",
               "Predictions or labels that never joined, by reason "
               "(expired, evicted, unmatched).", (*MODEL, "reason")),
    MetricSpec("mlmon_labels_pending", "gauge",
               "Predictions with an id waiting for their label.", MODEL),
    MetricSpec("mlmon_labels_pending_bytes", "gauge",
               "Bytes of ids held by the waiting predictions (bounded by "
               "labels.max_pending_bytes).", MODEL),
    MetricSpec("mlmon_labels_early_total", "counter",
               "Labels that arrived before their prediction, by outcome (held: arrived and "
               "held; joined; expired after labels.early_ttl; evicted over labels.max_early "
               "or labels.max_pending_bytes, or replaced by a newer label for the id).",
               (*MODEL, "outcome")),
    MetricSpec("mlmon_labels_early_pending", "gauge",
               "Labels held waiting for their prediction.", MODEL),
    MetricSpec("mlmon_label_join_ratio", "gauge",
               "Share of labels received since start that joined a prediction.", MODEL),
    MetricSpec("mlmon_label_delay_seconds", "histogram",
               "Time between a prediction and its label.", MODEL),
    MetricSpec("mlmon_window_samples", "gauge",
               "Events currently in the sliding window.", MODEL, SB),
    MetricSpec("mlmon_window_size", "gauge",
               "Configured sliding-window size in events.", MODEL),
    # --- drift --------------------------------------------------------------------
    MetricSpec("mlmon_feature_samples", "gauge",
               "Non-missing values of the feature in the window; below min_samples no "
               "drift value is exported.", FEATURE, SB),
    MetricSpec("mlmon_feature_psi", "gauge",
               "Population stability index of the window against the reference.", FEATURE, SB),
    MetricSpec("mlmon_feature_ks_statistic", "gauge",
               "Two-sample Kolmogorov-Smirnov statistic D (numeric features).", FEATURE, SB),
    MetricSpec("mlmon_feature_ks_pvalue", "gauge",
               "Kolmogorov-Smirnov p-value (numeric features).", FEATURE, SB),
    MetricSpec("mlmon_feature_chi2_statistic", "gauge",
               "Chi-square homogeneity statistic (categorical features).", FEATURE, SB),
    MetricSpec("mlmon_feature_chi2_pvalue", "gauge",
               "Chi-square homogeneity p-value (categorical features).", FEATURE, SB),
    MetricSpec("mlmon_feature_wasserstein_distance", "gauge",
               "Wasserstein-1 distance between window and reference sample (numeric).",
               FEATURE, SB),
    MetricSpec("mlmon_feature_jensen_shannon_distance", "gauge",
               "Jensen-Shannon distance (base 2) between binned distributions.", FEATURE, SB),
    MetricSpec("mlmon_feature_hellinger_distance", "gauge",
               "Hellinger distance between binned distributions.", FEATURE, SB),
    MetricSpec("mlmon_feature_drift_severity", "gauge",
               "Drift severity: 0 low, 1 medium, 2 high (PSI thresholds, counted only when "
               "mlmon_feature_drift_significant is 1).", FEATURE, SB),
    MetricSpec("mlmon_feature_drift_pvalue", "gauge",
               "p-value the severity rests on: KS (numeric), chi-square with sparse "
               "categories pooled (categorical), PSI's chi-square limit without a reference "
               "sample.", FEATURE, SB),
    MetricSpec("mlmon_feature_psi_noise_floor", "gauge",
               "PSI an undrifted window of this size exceeds with probability alpha: "
               "(1/n + 1/N) times the chi-square(k-1) upper-alpha quantile.", FEATURE, SB),
    MetricSpec("mlmon_feature_psi_upper_bound", "gauge",
               "One-sided 97.5 % upper confidence bound on the population PSI; a significant "
               "shift is medium when it reaches psi_medium.", FEATURE, SB),
    MetricSpec("mlmon_feature_drift_significant", "gauge",
               "1 when the shift is told apart from sampling noise: the test significant "
               "after Holm over the model's features and PSI above its noise floor; else 0.",
               FEATURE, SB),
    MetricSpec("mlmon_feature_bucket_total", "counter",
               "Values seen per reference bin or category since start (additive across "
               "pods).", (*FEATURE, "bucket")),
    MetricSpec("mlmon_feature_reference_ratio", "gauge",
               "Reference proportion of each bin or category.", (*FEATURE, "bucket"), SB),
    MetricSpec("mlmon_feature_missing_total", "counter",
               "Events without a value for the feature.", FEATURE),
    # --- data quality (exporter.stats.quality) ------------------------------------
    MetricSpec("mlmon_feature_missing_ratio", "gauge",
               "Share of the window's events without a value for the feature (null or "
               "absent); exported from min_samples events.", FEATURE, SB),
    MetricSpec("mlmon_feature_out_of_range_ratio", "gauge",
               "Share of the feature's present values outside the reference's [min, max] "
               "(numeric features with a profile); exported from min_samples events.",
               FEATURE, SB),
    MetricSpec("mlmon_feature_unseen_category_ratio", "gauge",
               "Share of the feature's present values not among the profile's kept "
               "categories (categorical; values the profile lumped into __other__ count); "
               "exported from min_samples events.", FEATURE, SB),
    MetricSpec("mlmon_feature_quality_limit_ratio", "gauge",
               "Limit of each data-quality measure (missing, out_of_range, unseen_category): "
               "the reference's own ratio plus the configured quality.*_ratio_max, capped "
               "at 1; MlmonFeatureQuality fires above it.", (*FEATURE, "measure"), SB),
    MetricSpec("mlmon_model_drift_share_ratio", "gauge",
               "Share of features (the prediction included) with at least medium drift "
               "(significant after Holm over the model's features).",
               MODEL, SB),
    MetricSpec("mlmon_model_drift_severity", "gauge",
               "Highest drift severity of the model's features and prediction (0, 1, 2).",
               MODEL, SB),
    # --- prediction distribution --------------------------------------------------
    MetricSpec("mlmon_prediction_mean", "gauge",
               "Mean of numeric predictions (scores or regression values) in the window.",
               MODEL, SB),
    MetricSpec("mlmon_prediction_stddev", "gauge",
               "Standard deviation of numeric predictions in the window.", MODEL, SB),
    MetricSpec("mlmon_prediction_quantile", "gauge",
               "Quantiles of numeric predictions in the window, by level q (0.05 0.25 0.5 "
               "0.75 0.95 0.99).",
               (*MODEL, "q"), SB),
    MetricSpec("mlmon_prediction_class_ratio", "gauge",
               "Share of each predicted class in the window (classifiers).",
               (*MODEL, "class"), SB),
    # --- performance (joined labels) ---------------------------------------------
    MetricSpec("mlmon_performance_samples", "gauge",
               "Joined prediction/label pairs in the performance window.", MODEL, SB),
    MetricSpec("mlmon_accuracy_ratio", "gauge",
               "Accuracy over the window of joined labels.", MODEL, SB),
    MetricSpec("mlmon_precision_ratio", "gauge",
               "Precision per class (class=__macro__ for the macro average).",
               (*MODEL, "class"), SB),
    MetricSpec("mlmon_recall_ratio", "gauge",
               "Recall per class (class=__macro__ for the macro average).",
               (*MODEL, "class"), SB),
    MetricSpec("mlmon_f1_ratio", "gauge",
               "F1 score per class (class=__macro__ for the macro average).",
               (*MODEL, "class"), SB),
    MetricSpec("mlmon_log_loss", "gauge",
               "Log loss when predictions carry class probabilities.", MODEL, SB),
    # ranking and calibration (exporter.stats.ranking, exporter.stats.scoring)
    MetricSpec("mlmon_roc_auc_ratio", "gauge",
               "ROC AUC of the binary score P(classes[1]) over the joined labels (ties count "
               "one half); absent while the window lacks either class.", MODEL, SB),
    MetricSpec("mlmon_brier_score", "gauge",
               "Brier score: mean (score - y)^2 for a binary score, else mean sum over classes "
               "of (p_k - y_k)^2 from the class probabilities.", MODEL, SB),
    MetricSpec("mlmon_expected_calibration_error_ratio", "gauge",
               "Top-label expected calibration error over 10 equal-width confidence bins "
               "(Guo et al. 2017).", MODEL, SB),
    MetricSpec("mlmon_score_bucket_total", "counter",
               "Joined labels of a binary classifier's scores per score bin (50 equal-width "
               "bins on [0, 1], bucket = upper edge) and true class (label: positive = "
               "classes[1], negative); additive across pods.", (*MODEL, "label", "bucket")),
    MetricSpec("mlmon_score_positives_above_total", "counter",
               "Joined positive labels whose score lies in a higher bin than bucket (the "
               "fleet AUC's P_{>b}); additive across pods.", (*MODEL, "bucket")),
    # estimated performance without labels (CBPE; exporter.stats.cbpe)
    MetricSpec("mlmon_estimated_accuracy_ratio", "gauge",
               "Estimated accuracy of the prediction window from the model's own confidence "
               "(CBPE), re-calibrated on the labelled reference when the profile has a "
               "calibration map; exported from min_samples predictions.", MODEL, SB),
    MetricSpec("mlmon_estimated_precision_ratio", "gauge",
               "Estimated precision of classes[1] at the 0.5 threshold (CBPE, binary "
               "classifiers).", MODEL, SB),
    MetricSpec("mlmon_estimated_recall_ratio", "gauge",
               "Estimated recall of classes[1] at the 0.5 threshold (CBPE, binary "
               "classifiers).", MODEL, SB),
    MetricSpec("mlmon_estimated_f1_ratio", "gauge",
               "Estimated F1 of classes[1] at the 0.5 threshold (CBPE, binary classifiers).",
               MODEL, SB),
    # multivariate drift: PCA reconstruction error (exporter.stats.pca)
    MetricSpec("mlmon_reconstruction_error", "gauge",
               "Mean PCA reconstruction error of the window's rows of numeric features, "
               "standardised and projected on the profile's principal components (NannyML's "
               "data-reconstruction drift); exported from min_samples events.", MODEL, SB),
    MetricSpec("mlmon_reconstruction_error_upper", "gauge",
               "Upper limit of the reconstruction error's band for the window's row count: "
               "reference mean + sigmas standard errors.", MODEL, SB),
    MetricSpec("mlmon_reconstruction_error_lower", "gauge",
               "Lower limit of the reconstruction error's band for the window's row count: "
               "reference mean - sigmas standard errors (at least 0).", MODEL, SB),
    # change detection on the joined-label error stream (exporter.stats.errordrift)
    MetricSpec("mlmon_error_drift_detections_total", "counter",
               "Rises of the joined-label error (0/1 misclassification scaled down by the "
               "warm-up error rate's standard deviation over 0.3, or absolute error "
               "scaled by its calibration MAE) detected by the detector (page_hinkley); "
               "exported at 0 from start-up.", (*MODEL, "detector"), SB),
    MetricSpec("mlmon_error_drift_statistic", "gauge",
               "The detector's current statistic (Page-Hinkley: cumulative deviation above "
               "its minimum); a detection when it exceeds mlmon_error_drift_threshold.",
               (*MODEL, "detector"), SB),
    MetricSpec("mlmon_error_drift_threshold", "gauge",
               "The detector's threshold (error_drift.threshold, lambda).",
               (*MODEL, "detector"), SB),
    MetricSpec("mlmon_regression_mae", "gauge", "Mean absolute error.", MODEL, SB),
    MetricSpec("mlmon_regression_rmse", "gauge", "Root mean squared error.", MODEL, SB),
    MetricSpec("mlmon_regression_mape_ratio", "gauge",
               "Mean absolute percentage error as a ratio (rows with label 0 excluded).",
               MODEL, SB),
    MetricSpec("mlmon_regression_r2", "gauge", "Coefficient of determination R².", MODEL, SB),
    # --- segments (exporter.sidecar.segments): segment = one of the profile's top
    # segment.max_values values of the model's segment feature, or __other__ -------
    MetricSpec("mlmon_segment_predictions_total", "counter",
               "Predictions per segment (the value of the model's segment feature: one of "
               "its segment.max_values most frequent reference values, else __other__, "
               "missing included); every segment exported from start-up.", SEGMENT),
    MetricSpec("mlmon_segment_drift_share_ratio", "gauge",
               "Share of features (the prediction included) with at least medium drift in "
               "the segment's window rows against the segment's reference counts (binned "
               "tests, Holm within the segment); exported once a feature of the segment "
               "has min_samples values.", SEGMENT, SB),
    MetricSpec("mlmon_segment_max_psi", "gauge",
               "Largest PSI among the features (the prediction included) of the segment's "
               "window rows against the segment's reference counts; which feature is in "
               "/v1/status.", SEGMENT, SB),
    MetricSpec("mlmon_segment_accuracy_ratio", "gauge",
               "Accuracy of the segment's joined pairs among the model's last labels.window "
               "joined pairs (classifiers).", SEGMENT, SB),
    MetricSpec("mlmon_segment_regression_mae", "gauge",
               "Mean absolute error of the segment's joined pairs among the model's last "
               "labels.window joined pairs (regressors).", SEGMENT, SB),
    # --- batch --------------------------------------------------------------------
    MetricSpec("mlmon_batch_rows", "gauge", "Rows in the analysed batch.", MODEL, ("batch",)),
    MetricSpec("mlmon_batch_timestamp_seconds", "gauge",
               "Unix time at which the batch was analysed.", MODEL, ("batch",)),
    # --- responder ----------------------------------------------------------------
    MetricSpec("mlmon_responder_alerts_received_total", "counter",
               "Alerts received from Alertmanager, by status (firing, resolved).",
               ("status",), ("responder",)),
    MetricSpec("mlmon_responder_actions_total", "counter",
               "Responder decisions by action, backend and result "
               "(ok, failed, skipped_cooldown, skipped_cap, skipped_duplicate, dry_run, queued).",
               ("action", "backend", "result"), ("responder",)),
    MetricSpec("mlmon_responder_retrain_queue", "gauge",
               "Retraining requests waiting for their window.", (), ("responder",)),
)

BY_NAME: dict[str, MetricSpec] = {m.name: m for m in METRICS}

REJECT_REASONS: tuple[str, ...] = (
    "malformed_json",
    "unknown_model",
    "unknown_version",
    "bad_type",
    "missing_field",
    "line_too_long",
    "truncated",
    "too_many_features",
    "queue_full",
    "unsupported_version",
    "too_deep",
    "bad_value",
    "id_too_long",
    "internal_error",
)

TRANSPORTS: tuple[str, ...] = ("unix", "tcp", "http")

# Data-quality measure (the ``measure`` label) -> the metric of its ratio.
QUALITY_METRICS: dict[str, str] = {
    "missing": "mlmon_feature_missing_ratio",
    "out_of_range": "mlmon_feature_out_of_range_ratio",
    "unseen_category": "mlmon_feature_unseen_category_ratio",
}

PREDICTION_QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def names(source: Source | None = None) -> tuple[str, ...]:
    """Metric names, optionally only those a given component exports."""
    return tuple(m.name for m in METRICS if source is None or source in m.sources)
