"""The /metrics collector: fresh metric families from the latest snapshot plus live counters."""

from __future__ import annotations

import dataclasses
import math
import platform
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from exporter import __version__
from exporter.metric_names import BY_NAME, MACRO_CLASS, PREDICTION_QUANTILES, QUALITY_METRICS
from exporter.sidecar.label_join import DELAY_BUCKETS, EARLY_OUTCOMES, UNJOINED_REASONS
from exporter.sidecar.multivariate import add_metrics as add_multivariate
from exporter.sidecar.segments import add_counters as add_segment_counters
from exporter.sidecar.segments import add_results as add_segment_results
from exporter.sidecar.snapshot import ModelSnapshot, Snapshot
from exporter.sidecar.state import ModelState, SidecarState
from exporter.stats.drift import FeatureDrift
from exporter.stats.errordrift import DETECTOR
from exporter.stats.performance import ClassificationMetrics
from exporter.stats.quality import limits
from exporter.stats.ranking import SCORE_EDGES, positives_above
from exporter.stats.thresholds import Thresholds

COMPUTE_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
THRESHOLD_NAMES = tuple(f.name for f in dataclasses.fields(Thresholds))
STREAM_TRANSPORTS = ("unix", "tcp")  # the transports that hold connections of their own


@dataclass
class RuntimeStats:
    """Counters kept outside the model state: compute cycles and state saves."""

    compute_buckets: list[int] = field(default_factory=lambda: [0] * (len(COMPUTE_BUCKETS) + 1))
    compute_sum: float = 0.0
    saves: dict[str, int] = field(default_factory=lambda: {"ok": 0, "error": 0})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe_compute(self, seconds: float) -> None:
        with self.lock:
            i = next((i for i, b in enumerate(COMPUTE_BUCKETS) if seconds <= b),
                     len(COMPUTE_BUCKETS))
            self.compute_buckets[i] += 1
            self.compute_sum += seconds


def _gauge(name: str) -> GaugeMetricFamily:
    spec = BY_NAME[name]
    return GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)


def _counter(name: str) -> CounterMetricFamily:
    spec = BY_NAME[name]
    return CounterMetricFamily(spec.family, spec.help, labels=spec.labels)


def _histogram(name: str) -> HistogramMetricFamily:
    spec = BY_NAME[name]
    return HistogramMetricFamily(spec.name, spec.help, labels=spec.labels)


def _family(name: str) -> Metric:
    """An empty family of the type metric_names gives the name."""
    kind = BY_NAME[name].type
    return (_counter(name) if kind == "counter" else
            _histogram(name) if kind == "histogram" else _gauge(name))


def _cumulative(bounds: tuple[float, ...], counts: list[int]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    total = 0
    for bound, n in zip((*bounds, math.inf), counts, strict=True):
        total += n
        out.append(("+Inf" if math.isinf(bound) else repr(bound), float(total)))
    return out


def _num(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


@dataclass(frozen=True)
class IngestLoad:
    """The intake's live numbers at scrape time: queue bytes and bound, stream connections."""

    queue_bytes: int = 0
    queue_capacity_bytes: int = 0
    connections: Mapping[str, int] = field(default_factory=dict)  # open, by transport
    refused: Mapping[str, int] = field(default_factory=dict)  # over server.max_connections
    decoder_restarts: int = 0


def _ingest_families(load: IngestLoad) -> Iterator[Metric]:
    g = _gauge("mlmon_queue_bytes")
    g.add_metric([], float(load.queue_bytes))
    yield g
    g = _gauge("mlmon_queue_capacity_bytes")
    g.add_metric([], float(load.queue_capacity_bytes))
    yield g
    g = _gauge("mlmon_connections")
    for t in STREAM_TRANSPORTS:
        g.add_metric([t], float(load.connections.get(t, 0)))
    yield g
    c = _counter("mlmon_connections_refused_total")
    for t in STREAM_TRANSPORTS:
        c.add_metric([t], float(load.refused.get(t, 0)))
    yield c
    c = _counter("mlmon_decoder_restarts_total")
    c.add_metric([], float(load.decoder_restarts))
    yield c


class SidecarCollector:
    """A prometheus_client collector; builds every family anew on each scrape."""

    def __init__(self, store: SidecarState, snapshot: Callable[[], Snapshot], stats: RuntimeStats,
                 queue_size: Callable[[], int], queue_capacity: int,
                 ingest: Callable[[], IngestLoad] = IngestLoad) -> None:
        self.store = store
        self.snapshot = snapshot
        self.stats = stats
        self.queue_size = queue_size
        self.queue_capacity = queue_capacity
        self.ingest = ingest

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot()
        yield from self.live()
        yield from self.per_snapshot(snap)

    def live(self) -> Iterator[Metric]:
        """Families that change with every event: rendered on every scrape."""
        yield from self._self_metrics()
        yield from self._volume()
        yield from self._error_drift()

    def _error_drift(self) -> Iterator[Metric]:
        """Page-Hinkley on the error stream: detections (0 from start-up), statistic and
        threshold, per model with error_drift enabled."""
        names = ("mlmon_error_drift_detections_total", "mlmon_error_drift_statistic",
                 "mlmon_error_drift_threshold")
        fams: dict[str, Metric] = {n: _family(n) for n in names}
        add = _adder(fams)
        with self.store.lock:
            for state in self.store.models.values():
                ed = state.error_drift
                if ed is None:
                    continue
                labels = [state.config.name, state.config.version, DETECTOR]
                add("mlmon_error_drift_detections_total", labels, ed.detections)
                add("mlmon_error_drift_statistic", labels, ed.statistic)
                add("mlmon_error_drift_threshold", labels, ed.params.threshold)
        yield from fams.values()

    def per_snapshot(self, snap: Snapshot) -> Iterator[Metric]:
        """Families that change only with the snapshot (or never): cacheable per snapshot."""
        yield from self._static()
        yield from self._snapshot(snap)

    def _static(self) -> Iterator[Metric]:
        names = ("mlmon_threshold", "mlmon_window_size", "mlmon_feature_reference_ratio",
                 "mlmon_feature_quality_limit_ratio")
        fams: dict[str, Metric] = {n: _gauge(n) for n in names}
        add = _adder(fams)
        for state in self.store.models.values():
            cfg = state.config
            mv = [cfg.name, cfg.version]
            for t in THRESHOLD_NAMES:
                value = getattr(cfg.thresholds, t)
                if value is not None:
                    add("mlmon_threshold", [*mv, t], float(value))
            add("mlmon_window_size", mv, cfg.window.size)
            for q in state.features:  # data-quality limits (exporter.stats.quality)
                lim = limits(q.quality, *cfg.quality.for_feature(q.name))
                add("mlmon_feature_quality_limit_ratio", [*mv, q.name, "missing"], lim.missing)
                measure = "out_of_range" if q.kind == "numeric" else "unseen_category"
                add("mlmon_feature_quality_limit_ratio", [*mv, q.name, measure], lim.outside)
            for spec in [*state.features, state.prediction]:
                buckets = spec.numeric or spec.categorical
                if buckets is None or buckets.reference is None:
                    continue
                for label, r in zip(buckets.labels, buckets.reference.tolist(), strict=True):
                    add("mlmon_feature_reference_ratio", [*mv, spec.name, label], r)
        yield from fams.values()

    def _self_metrics(self) -> Iterator[Metric]:
        info = _gauge("mlmon_build_info")
        info.add_metric([__version__, platform.python_version()], 1.0)
        yield info
        with self.store.lock:
            received = dict(self.store.received)
            rejected = dict(self.store.rejected)
        fam = _counter("mlmon_events_received_total")
        for transport, n in received.items():
            fam.add_metric([transport], float(n))
        yield fam
        fam = _counter("mlmon_events_rejected_total")
        for reason, n in rejected.items():
            fam.add_metric([reason], float(n))
        yield fam
        g = _gauge("mlmon_queue_events")
        g.add_metric([], float(self.queue_size()))
        yield g
        g = _gauge("mlmon_queue_capacity_events")
        g.add_metric([], float(self.queue_capacity))
        yield g
        yield from _ingest_families(self.ingest())
        with self.stats.lock:
            buckets = list(self.stats.compute_buckets)
            total = self.stats.compute_sum
            saves = dict(self.stats.saves)
        h = _histogram("mlmon_compute_duration_seconds")
        h.add_metric([], _cumulative(COMPUTE_BUCKETS, buckets), total)
        yield h
        snap = self.snapshot()
        if snap.computed_at is not None:
            g = _gauge("mlmon_last_compute_timestamp_seconds")
            g.add_metric([], snap.computed_at)
            yield g
        fam = _counter("mlmon_state_saves_total")
        for result, n in saves.items():
            fam.add_metric([result], float(n))
        yield fam

    def _volume(self) -> Iterator[Metric]:
        names = ("mlmon_predictions_total", "mlmon_labels_total",
                 "mlmon_labels_joined_total", "mlmon_labels_unjoined_total",
                 "mlmon_labels_pending", "mlmon_labels_pending_bytes", "mlmon_labels_early_total",
                 "mlmon_labels_early_pending", "mlmon_label_join_ratio",
                 "mlmon_label_delay_seconds",
                 "mlmon_feature_bucket_total", "mlmon_feature_missing_total",
                 "mlmon_score_bucket_total", "mlmon_score_positives_above_total")
        fams: dict[str, Metric] = {n: _family(n) for n in names}
        with self.store.lock:
            for state in self.store.models.values():
                self._model_volume(state, fams)
        yield from fams.values()

    @staticmethod
    def _model_volume(state: ModelState, fams: dict[str, Metric]) -> None:
        cfg = state.config
        mv = [cfg.name, cfg.version]
        add = _adder(fams)
        jc = state.join_counters
        add("mlmon_predictions_total", mv, state.predictions_total)
        add("mlmon_labels_total", mv, jc.labels)
        add("mlmon_labels_joined_total", mv, jc.joined)
        for reason in UNJOINED_REASONS:
            add("mlmon_labels_unjoined_total", [*mv, reason], jc.unjoined[reason])
        add("mlmon_labels_pending", mv, len(state.join))
        add("mlmon_labels_pending_bytes", mv, state.join.bytes)
        for outcome in EARLY_OUTCOMES:
            add("mlmon_labels_early_total", [*mv, outcome], jc.early[outcome])
        add("mlmon_labels_early_pending", mv, len(state.join.early))
        if jc.labels:
            add("mlmon_label_join_ratio", mv, jc.joined / jc.labels)
        delay = fams["mlmon_label_delay_seconds"]
        assert isinstance(delay, HistogramMetricFamily)
        delay.add_metric(mv, _cumulative(DELAY_BUCKETS, [int(x) for x in jc.delay_buckets]),
                         jc.delay_sum)
        for spec in [*state.features, state.prediction]:
            fv = [*mv, spec.name]
            add("mlmon_feature_missing_total", fv, state.missing[spec.name])
            counts = state.buckets.get(spec.name)
            buckets = spec.numeric or spec.categorical
            if counts is None or buckets is None:
                continue
            for label, n in zip(buckets.labels, counts.tolist(), strict=False):
                add("mlmon_feature_bucket_total", [*fv, label], n)
        if state.scores is not None:  # binary classifiers: the fleet AUC's counters
            _score_counters(mv, state.scores.counts, add)
        add_segment_counters(state.segments, mv, add)  # per segment (exporter.sidecar.segments)

    def _snapshot(self, snap: Snapshot) -> Iterator[Metric]:
        fams: dict[str, Metric] = {}  # created by the first sample of each name
        for ms in snap.models.values():
            _model_snapshot(ms, _adder(fams))
        yield from fams.values()


def _adder(fams: dict[str, Metric]) -> Callable[[str, list[str], float | None], None]:
    def add(name: str, labels: list[str], value: float | None) -> None:
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            fam = fams.get(name)
            if fam is None:
                fam = fams[name] = _family(name)
            fam.add_metric(labels, float(value))  # type: ignore[attr-defined]
    return add


def _score_counters(mv: list[str], counts: NDArray[np.int64],
                    add: Callable[[str, list[str], float | None], None]) -> None:
    """Joined labels per score bin and class, and the positives above each bin."""
    above = positives_above(counts[1]).tolist()
    for b, edge in enumerate(SCORE_EDGES[1:].tolist()):
        bucket = repr(edge)
        add("mlmon_score_bucket_total", [*mv, "negative", bucket], int(counts[0, b]))
        add("mlmon_score_bucket_total", [*mv, "positive", bucket], int(counts[1, b]))
        add("mlmon_score_positives_above_total", [*mv, bucket], above[b])


def _feature(fv: list[str], d: FeatureDrift,
             add: Callable[[str, list[str], float | None], None]) -> None:
    add("mlmon_feature_samples", fv, d.samples)
    if d.psi is None:
        return  # below min_samples, or no reference: only the sample count
    add("mlmon_feature_psi", fv, d.psi)
    add("mlmon_feature_ks_statistic", fv, d.ks_statistic)
    add("mlmon_feature_ks_pvalue", fv, d.ks_pvalue)
    add("mlmon_feature_chi2_statistic", fv, d.chi2_statistic)
    add("mlmon_feature_chi2_pvalue", fv, d.chi2_pvalue)
    add("mlmon_feature_wasserstein_distance", fv, d.wasserstein)
    add("mlmon_feature_jensen_shannon_distance", fv, d.jensen_shannon)
    add("mlmon_feature_hellinger_distance", fv, d.hellinger)
    add("mlmon_feature_drift_severity", fv, None if d.severity is None else int(d.severity))
    add("mlmon_feature_drift_pvalue", fv, d.pvalue)
    add("mlmon_feature_psi_noise_floor", fv, d.psi_noise_floor)
    add("mlmon_feature_psi_upper_bound", fv, d.psi_upper)
    add("mlmon_feature_drift_significant", fv,
        None if d.significant is None else int(d.significant))


def _model_snapshot(ms: ModelSnapshot, add: Callable[[str, list[str], float | None], None],
                    ) -> None:
    mv = [ms.model, ms.version]
    add("mlmon_window_samples", mv, ms.window_samples)
    for d in (*ms.features, ms.prediction):
        _feature([*mv, d.name], d, add)
    add("mlmon_model_drift_share_ratio", mv, ms.drift_share)
    add("mlmon_model_drift_severity", mv, None if ms.severity is None else int(ms.severity))
    s = ms.prediction_summary
    if s is not None:
        add("mlmon_prediction_mean", mv, _num(s.mean))
        add("mlmon_prediction_stddev", mv, _num(s.std))
        wanted = {round(q, 4) for q in PREDICTION_QUANTILES}
        for q, v in s.quantiles:
            if round(q, 4) in wanted:
                add("mlmon_prediction_quantile", [*mv, repr(float(q))], _num(v))
    for cls, share in ms.class_shares:
        add("mlmon_prediction_class_ratio", [*mv, cls], share)
    add("mlmon_performance_samples", mv, ms.performance_samples)
    p = ms.performance
    if isinstance(p, ClassificationMetrics):
        add("mlmon_accuracy_ratio", mv, p.accuracy)
        for name, per, macro in (("mlmon_precision_ratio", p.precision, p.macro_precision),
                                 ("mlmon_recall_ratio", p.recall, p.macro_recall),
                                 ("mlmon_f1_ratio", p.f1, p.macro_f1)):
            for cls, v in zip(p.classes, per, strict=True):
                add(name, [*mv, cls], v)
            add(name, [*mv, MACRO_CLASS], macro)
        add("mlmon_log_loss", mv, p.log_loss)
    elif p is not None:
        add("mlmon_regression_mae", mv, p.mae)
        add("mlmon_regression_rmse", mv, p.rmse)
        add("mlmon_regression_mape_ratio", mv, _num(p.mape))
        add("mlmon_regression_r2", mv, _num(p.r2))
    pq = ms.probability_quality
    if pq is not None:
        add("mlmon_roc_auc_ratio", mv, pq.roc_auc)
        add("mlmon_brier_score", mv, pq.brier)
        add("mlmon_expected_calibration_error_ratio", mv, pq.ece)
    _estimate(mv, ms, add)
    add_multivariate(mv, ms.multivariate, add)
    add_segment_results(ms.segments, mv, add)
    for fq in ms.quality:  # data quality, from min_samples events
        for measure, ratio, _ in fq.ratios():
            add(QUALITY_METRICS[measure], [*mv, fq.name], ratio)


def _estimate(mv: list[str], ms: ModelSnapshot,
              add: Callable[[str, list[str], float | None], None]) -> None:
    """CBPE: estimated accuracy, and for binary models precision / recall / F1 at 0.5."""
    e = ms.estimate
    if e is None:
        return
    add("mlmon_estimated_accuracy_ratio", mv, e.accuracy)
    add("mlmon_estimated_precision_ratio", mv, e.precision)
    add("mlmon_estimated_recall_ratio", mv, e.recall)
    add("mlmon_estimated_f1_ratio", mv, e.f1)
