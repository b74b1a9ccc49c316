"""The batch report as Prometheus metrics: a custom collector on a fresh registry.

Names come from ``exporter.metric_names`` (those whose sources include
``batch``); a statistic without a value (below ``min_samples``, not defined for
the kind, or not finite) is left out rather than exported as NaN.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from exporter import __version__
from exporter.batch.dataquality import prom_samples
from exporter.batch.multivariate import prom_samples as multivariate_samples
from exporter.batch.report import BatchReport
from exporter.batch.segments import prom_samples as segment_samples
from exporter.metric_names import BY_NAME, MACRO_CLASS
from exporter.stats.performance import ClassificationMetrics

if TYPE_CHECKING:  # prometheus_client (~40 ms) is imported only when metrics are made
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import GaugeMetricFamily, Metric

JOB = "mlmon-batch"

Sample = tuple[tuple[str, ...], float | None]


def _family(name: str, samples: Iterable[Sample]) -> GaugeMetricFamily:
    from prometheus_client.core import GaugeMetricFamily

    spec = BY_NAME[name]
    family = GaugeMetricFamily(spec.family, spec.help, labels=list(spec.labels))
    for labels, value in samples:
        if value is not None and math.isfinite(value):
            family.add_metric(list(labels), float(value))
    return family


class BatchCollector:
    """Yields fresh metric families for one report on every ``collect``."""

    def __init__(self, report: BatchReport, build_info: bool = True) -> None:
        self._r = report
        self._build_info = build_info

    def collect(self) -> Iterator[Metric]:
        r = self._r
        m = (r.model, r.version)
        if self._build_info:
            yield _family("mlmon_build_info", [((__version__, platform.python_version()), 1.0)])
        thresholds = r.thresholds.items()
        yield _family("mlmon_threshold", [((*m, k), float(v)) for k, v in thresholds])
        yield _family("mlmon_window_samples", [(m, float(r.rows))])
        yield _family("mlmon_batch_rows", [(m, float(r.rows))])
        yield _family("mlmon_batch_timestamp_seconds", [(m, r.analysed_at)])
        yield from self._features()
        sev = None if r.severity is None else float(r.severity)
        yield _family("mlmon_model_drift_share_ratio", [(m, r.drift_share)])
        yield _family("mlmon_model_drift_severity", [(m, sev)])
        yield from self._prediction()
        yield from self._performance()
        yield from self._estimate()
        yield from self._error_drift()
        yield from (_family(n, s) for n, s in prom_samples(r).items())
        yield from (_family(n, s) for n, s in multivariate_samples(r).items())
        yield from (_family(n, s) for n, s in segment_samples(r.segments, *m).items())

    def _features(self) -> Iterator[Metric]:
        m = (self._r.model, self._r.version)
        columns: dict[str, list[Sample]] = {name: [] for name in (
            "mlmon_feature_samples", "mlmon_feature_psi", "mlmon_feature_ks_statistic",
            "mlmon_feature_ks_pvalue", "mlmon_feature_chi2_statistic",
            "mlmon_feature_chi2_pvalue", "mlmon_feature_wasserstein_distance",
            "mlmon_feature_jensen_shannon_distance", "mlmon_feature_hellinger_distance",
            "mlmon_feature_drift_severity", "mlmon_feature_drift_pvalue",
            "mlmon_feature_psi_noise_floor", "mlmon_feature_psi_upper_bound",
            "mlmon_feature_drift_significant")}
        ratios: list[Sample] = []
        for f in self._r.features:
            d = f.drift
            key = (*m, d.name)
            values = (float(d.samples), d.psi, d.ks_statistic, d.ks_pvalue, d.chi2_statistic,
                      d.chi2_pvalue, d.wasserstein, d.jensen_shannon, d.hellinger,
                      None if d.severity is None else float(d.severity), d.pvalue,
                      d.psi_noise_floor, d.psi_upper,
                      None if d.significant is None else float(d.significant))
            for name, value in zip(columns, values, strict=True):
                columns[name].append((key, value))
            ratios += [((*key, b), p) for b, p in zip(f.bucket_labels,
                                                      f.reference_proportions, strict=True)]
        for name, samples in columns.items():
            yield _family(name, samples)
        yield _family("mlmon_feature_reference_ratio", ratios)

    def _prediction(self) -> Iterator[Metric]:
        m = (self._r.model, self._r.version)
        s = self._r.prediction.summary
        if s is not None and s.count:
            yield _family("mlmon_prediction_mean", [(m, s.mean)])
            yield _family("mlmon_prediction_stddev", [(m, s.std)])
            yield _family("mlmon_prediction_quantile",
                          [((*m, repr(q)), v) for q, v in s.quantiles])
        if self._r.prediction.class_shares:
            yield _family("mlmon_prediction_class_ratio",
                          [((*m, c), v) for c, v in self._r.prediction.class_shares])

    def _performance(self) -> Iterator[Metric]:
        p = self._r.performance
        if p is None:
            return
        m = (self._r.model, self._r.version)
        yield _family("mlmon_performance_samples", [(m, float(p.samples))])
        if isinstance(p, ClassificationMetrics):
            yield _family("mlmon_accuracy_ratio", [(m, p.accuracy)])
            for name, per_class, macro in (
                    ("mlmon_precision_ratio", p.precision, p.macro_precision),
                    ("mlmon_recall_ratio", p.recall, p.macro_recall),
                    ("mlmon_f1_ratio", p.f1, p.macro_f1)):
                yield _family(name, [*(((*m, c), v) for c, v in zip(p.classes, per_class,
                                                                     strict=True)),
                                     ((*m, MACRO_CLASS), macro)])
            if p.log_loss is not None:
                yield _family("mlmon_log_loss", [(m, p.log_loss)])
        else:
            yield _family("mlmon_regression_mae", [(m, p.mae)])
            yield _family("mlmon_regression_rmse", [(m, p.rmse)])
            yield _family("mlmon_regression_mape_ratio", [(m, p.mape)])
            yield _family("mlmon_regression_r2", [(m, p.r2)])
        q = self._r.quality
        if q is not None:
            for name, value in (("mlmon_roc_auc_ratio", q.roc_auc), ("mlmon_brier_score", q.brier),
                                ("mlmon_expected_calibration_error_ratio", q.ece)):
                if value is not None:
                    yield _family(name, [(m, value)])


    def _error_drift(self) -> Iterator[Metric]:
        """The file's error-stream test: detections, final statistic and threshold."""
        e = self._r.error_drift
        if e is None:
            return
        from prometheus_client.core import CounterMetricFamily

        labels = (self._r.model, self._r.version, e.detector)
        spec = BY_NAME["mlmon_error_drift_detections_total"]  # a counter, as the sidecar's
        counter = CounterMetricFamily(spec.family, spec.help, labels=list(spec.labels))
        counter.add_metric(list(labels), float(e.detections))
        yield counter
        yield _family("mlmon_error_drift_statistic", [(labels, e.statistic)])
        yield _family("mlmon_error_drift_threshold", [(labels, e.params.threshold)])

    def _estimate(self) -> Iterator[Metric]:
        """CBPE of the file: accuracy, and precision / recall / F1 at 0.5 for binary models."""
        e = self._r.estimate
        if e is None:
            return
        m = (self._r.model, self._r.version)
        yield _family("mlmon_estimated_accuracy_ratio", [(m, e.accuracy)])
        for name, value in (("mlmon_estimated_precision_ratio", e.precision),
                            ("mlmon_estimated_recall_ratio", e.recall),
                            ("mlmon_estimated_f1_ratio", e.f1)):
            if value is not None:
                yield _family(name, [(m, value)])


def registry(report: BatchReport, build_info: bool = True) -> CollectorRegistry:
    from prometheus_client import CollectorRegistry

    reg = CollectorRegistry(auto_describe=False)
    reg.register(BatchCollector(report, build_info))
    return reg


def render(report: BatchReport) -> str:
    from prometheus_client.exposition import generate_latest

    return generate_latest(registry(report)).decode("utf-8")


def push(report: BatchReport, url: str, timeout: float = 10.0) -> None:
    """PUT the batch's metrics to a Pushgateway, grouped by model and version.

    ``mlmon_build_info`` is left out: its ``version`` label (mlmon's version)
    would clash with the ``version`` grouping label (the model's version).
    """
    from prometheus_client.exposition import push_to_gateway

    push_to_gateway(url, job=JOB, registry=registry(report, build_info=False),
                    grouping_key={"model": report.model, "version": report.version},
                    timeout=timeout)
