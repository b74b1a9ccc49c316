"""Mutable per-(model, version) state: windows, bucket counters, label join.

Only the ingest worker mutates it (under ``SidecarState.lock``); the compute thread
takes a consistent ``copy`` under the same lock and works on that.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import Config, ModelConfig
from exporter.metric_names import PREDICTION_FEATURE, REJECT_REASONS, TRANSPORTS
from exporter.profile.model import CategoricalProfile, NumericProfile, Profile, to_reference
from exporter.sidecar.buckets import CategoricalBuckets, NumericBuckets, NumericColumns
from exporter.sidecar.ingest.decode import ModelBatch
from exporter.sidecar.label_join import (
    JoinCounters,
    JoinTable,
    PairWindow,
    Pending,
    ScoreCounters,
    pending,
)
from exporter.sidecar.multivariate import spec_for
from exporter.sidecar.predictions import PredictionParser
from exporter.sidecar.segments import SegmentState, segment_state
from exporter.sidecar.window import Ring
from exporter.stats.calibration import Calibration
from exporter.stats.errordrift import ErrorDrift
from exporter.stats.quality import QualityReference, reference_of
from exporter.stats.reference import CategoricalReference, NumericReference
from exporter.types import ModelKey


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    kind: str  # "numeric" | "categorical"
    column: int  # column in the numeric or categorical ring
    numeric: NumericBuckets | None
    categorical: CategoricalBuckets | None
    reference: NumericReference | CategoricalReference | None = None  # None: no drift
    quality: QualityReference | None = None  # None: no profile, no value check


class ModelState:
    """The profile is read once, into bucket specs and numpy references; not kept."""

    def __init__(self, config: ModelConfig, profile: Profile | None,
                 template: ModelState | None = None) -> None:
        self.config = config
        self.profile_hash = profile.content_hash if profile is not None else None
        self.classes = config.prediction.classes
        self.parser = PredictionParser(config.prediction)
        self.features: list[FeatureSpec]
        self.prediction: FeatureSpec
        self.calibration = _calibration(config, profile)
        self.mv_spec, self.mv_note = spec_for(config, profile)  # PCA reconstruction error
        if template is not None:  # an empty state sharing the template's immutable specs
            self.profile_hash = template.profile_hash
            self.calibration = template.calibration
            self.mv_spec, self.mv_note = template.mv_spec, template.mv_note
            self.features = [_fresh(s) for s in template.features]
            self.prediction = _fresh(template.prediction)
        else:
            self._specs(config, profile)
        n_num = sum(1 for s in self.features if s.kind == "numeric")
        n_cat = len(self.features) - n_num
        size = config.window.size
        self.numeric = Ring(size, n_num, np.float64, np.nan)
        self.categorical = Ring(size, n_cat, np.int32, -1)
        self.pred = Ring(size, 2, np.float64, np.nan)  # value, class index (NaN = none)
        # multi-class probability rows for the CBPE estimate (window size x classes)
        self.proba = (Ring(size, len(self.classes), np.float64, np.nan)
                      if config.prediction.kind == "classification" and len(self.classes) > 2
                      else None)
        self.buckets: dict[str, NDArray[np.int64]] = {}
        numeric_specs = [s for s in self.features if s.kind == "numeric"]
        # every numeric feature's counters are views of one array, updated once per batch
        self.numeric_columns = NumericColumns(
            [s.numeric.edges if s.numeric is not None else np.empty(0) for s in numeric_specs])
        self._numeric_names = [s.name for s in numeric_specs]
        for spec, view in zip(numeric_specs, self.numeric_columns.views, strict=True):
            if spec.numeric is not None:
                self.buckets[spec.name] = view
        for spec in [*self.features, self.prediction]:
            if spec.name in self.buckets:
                continue
            if spec.numeric is not None:
                self.buckets[spec.name] = np.zeros(len(spec.numeric.edges) + 1, dtype=np.int64)
            elif spec.categorical is not None:
                self.buckets[spec.name] = np.zeros(spec.categorical.size, dtype=np.int64)
        self.missing: dict[str, int] = {s.name: 0 for s in [*self.features, self.prediction]}
        self.predictions_total = 0
        self.segments: SegmentState | None = segment_state(  # None: no segments
            config, profile, self.features, None if template is None else template.segments)
        self.join_counters = JoinCounters()
        lc = config.labels
        self.join = JoinTable(lc.ttl, lc.max_pending, len(self.classes), self.join_counters,
                              max_bytes=lc.max_pending_bytes, early_ttl=lc.early_ttl,
                              max_early=lc.max_early, extra=int(self.segments is not None))
        self.pairs = PairWindow(config.labels.window, len(self.classes))
        # binary classifiers: joined labels per score bin, for the fleet AUC (None otherwise)
        self.scores = (ScoreCounters() if config.prediction.kind == "classification"
                       and len(self.classes) == 2 else None)
        # Page-Hinkley on the joined pairs' errors, in arrival order (None: error_drift off)
        ed = config.error_drift
        self.error_drift = (ErrorDrift(config.prediction.kind, ed.params(config.prediction.kind))
                            if ed.enabled else None)

    def fresh(self) -> ModelState:
        """An empty state for the same configuration and profile."""
        return ModelState(self.config, None, template=self)

    def _specs(self, config: ModelConfig, profile: Profile | None) -> None:
        self.features = []
        n_num = n_cat = 0
        for f in config.features:
            ref = _feature_profile(profile, f.name)
            if f.kind == "numeric":
                nb = NumericBuckets(ref) if isinstance(ref, NumericProfile) else None
                self.features.append(FeatureSpec(f.name, "numeric", n_num, nb, None,
                                                 _reference(ref, NumericReference),
                                                 reference_of(ref if nb else None)))
                n_num += 1
            else:
                cp = ref if isinstance(ref, CategoricalProfile) else None
                cb = CategoricalBuckets(cp, config.max_categories)
                self.features.append(FeatureSpec(f.name, "categorical", n_cat, None, cb,
                                                 _reference(cp, CategoricalReference),
                                                 reference_of(cp)))
                n_cat += 1
        self.prediction = self._prediction_spec(profile)

    def _prediction_spec(self, profile: Profile | None) -> FeatureSpec:
        ref = profile.prediction if profile is not None else None
        if isinstance(ref, NumericProfile):
            return FeatureSpec(PREDICTION_FEATURE, "numeric", 0, NumericBuckets(ref), None,
                               _reference(ref, NumericReference))
        if self.config.prediction.kind == "classification":
            cp = ref if isinstance(ref, CategoricalProfile) else None
            cb = CategoricalBuckets(cp, max(len(self.classes), 1))
            if cp is None:
                cb.code_names(list(self.classes))  # fix the bucket order to the class order
            return FeatureSpec(PREDICTION_FEATURE, "categorical", 1, None, cb,
                               _reference(cp, CategoricalReference))
        return FeatureSpec(PREDICTION_FEATURE, "numeric", 0, None, None)

    # --- update ---------------------------------------------------------------------------

    def update(self, batch: ModelBatch, now: float, rejected: Counter[str]) -> None:
        """Apply one decoded batch; bad predictions or labels are counted in ``rejected``.

        A line is accepted or rejected whole, and counted once: a prediction whose own
        label is invalid is not recorded either (the reply must not say "rejected" for
        a prediction that is in the window).
        """
        # the parser counts each bad prediction by reason (bad_type, bad_value)
        values, classes, probas, ok = self.parser.predictions(batch.predictions, rejected)
        is_pred = batch.is_prediction
        ys, labelled = self._label_values(batch.labels)
        bad = is_pred & ~ok
        if labelled is not None:
            bad_label = labelled & np.isnan(ys)
            for i in np.flatnonzero(bad_label & ~bad).tolist():  # a line is counted once
                label = batch.labels[i]
                assert label is not None
                rejected[self.parser.label_rejection(label)] += 1
            bad |= bad_label
            labelled &= ~bad
        take = is_pred & ~bad
        n = int(take.sum())
        line_segments: list[NDArray[np.float64]] = []  # each line's segment index, if any
        if n:
            received = np.full(n, now)
            everything = n == len(take)
            num = batch.numeric if everything else batch.numeric[take]
            cats = batch.categorical if everything else [c.take(take) for c in batch.categorical]
            self.numeric.extend(num, received)
            missing = self.numeric_columns.add(np.ascontiguousarray(num.T)).tolist()
            for name, k in zip(self._numeric_names, missing, strict=True):
                if k:
                    self.missing[name] += k
            cat = np.empty((n, len(self.features) - num.shape[1]), dtype=np.int32)
            for spec in self.features:
                if spec.kind != "numeric":
                    assert spec.categorical is not None
                    codes = spec.categorical.code_column(cats[spec.column])
                    cat[:, spec.column] = codes
                    self.missing[spec.name] += int((codes < 0).sum())
                    self.buckets[spec.name] += spec.categorical.counts(codes)
            self.categorical.extend(cat, received)
            line_segments += [self.segments.observe(cat, take)] if self.segments else []
            pv, pc = values[take], classes[take]
            self.pred.extend(np.column_stack([pv, pc]), received)
            if self.proba is not None:
                self.proba.extend(probas[take], received)
            self._count_prediction(pv, pc)
            self.predictions_total += n
        self._labels(batch, ys, labelled, (values, classes, probas, *line_segments), take, now)

    def _label_values(self, labels: list[float | str | None],
                      ) -> tuple[NDArray[np.float64], NDArray[np.bool_] | None]:
        """Each line's label value (NaN: none or invalid) and which lines carry one (None: no
        line does)."""
        n = len(labels)
        ys = np.full(n, np.nan)
        if labels.count(None) == n:
            return ys, None
        labelled = np.zeros(n, dtype=bool)
        for i, label in enumerate(labels):
            if label is not None:
                labelled[i] = True
                y = self.parser.label_value(label)
                if y is not None:
                    ys[i] = y
        return ys, labelled

    def _count_prediction(self, values: NDArray[np.float64], classes: NDArray[np.float64]) -> None:
        spec = self.prediction
        if spec.numeric is not None:
            self.buckets[spec.name] += spec.numeric.counts(values)
            self.missing[spec.name] += int(np.isnan(values).sum())
        elif spec.categorical is not None:
            codes = spec.categorical.class_codes(self.classes, classes)
            self.buckets[spec.name] += spec.categorical.counts(codes)
            self.missing[spec.name] += int((codes < 0).sum())
        else:
            self.missing[spec.name] += int(np.isnan(values).sum())

    def _labels(self, batch: ModelBatch, ys: NDArray[np.float64],
                labelled: NDArray[np.bool_] | None,
                parsed: tuple[NDArray[np.float64], ...],  # values, classes, probas(, segments)
                take: NDArray[np.bool_], now: float) -> None:
        """Join the accepted lines' labels (``labelled``) to predictions; predictions with an
        id and no label wait in the join table, or join a label that came before them."""
        self.join.expire(now)
        n = len(batch)
        ids = batch.ids
        missing_ids = ids.count(None)
        if missing_ids == n and labelled is None:
            return
        values, classes, probas = parsed[:3]
        raw_ts = batch.ts
        if raw_ts.count(None) == n:
            ts = np.full(n, now)
        else:
            ts = np.array(raw_ts, dtype=np.float64)
            ts[~np.isfinite(ts)] = now
        has_id = (np.ones(n, dtype=bool) if not missing_ids
                  else np.array([i is not None for i in ids], dtype=bool))
        no_label = np.ones(n, dtype=bool) if labelled is None else ~labelled
        joined: list[tuple[float, Pending, float]] = []  # label, prediction, label received
        wait = np.flatnonzero(take & has_id & no_label)
        if len(wait):
            rows = np.column_stack([np.full(n, now), ts, *parsed])[wait]  # + segment column
            waiting = cast("list[str]", ids if len(wait) == n else [ids[i] for i in wait.tolist()])
            if len(self.join.early):  # labels that came first: join them now
                waiting, rows = self._join_early(waiting, rows, joined)
            self.join.add_many(waiting, rows)  # rows with an id only
        if labelled is not None:
            for i in np.flatnonzero(labelled).tolist():
                y = float(ys[i])
                self.join_counters.labels += 1
                if take[i]:  # a prediction carrying its own label
                    joined.append((y, pending(
                        [now, float(ts[i]), float(values[i]), float(classes[i]),
                         *probas[i].tolist(), *(s[i] for s in parsed[3:])], len(self.classes)),
                        now))
                    continue
                ident = ids[i]
                assert ident is not None  # the decoder rejects a label without an id
                entry = self.join.take(ident)
                if entry is None:
                    self.join.early.hold(ident, y, now)
                else:
                    joined.append((y, entry, now))
        if joined:
            self._join(joined, now)

    def _join_early(self, waiting: list[str], rows: NDArray[np.float64],
                    joined: list[tuple[float, Pending, float]],
                    ) -> tuple[list[str], NDArray[np.float64]]:
        """Join waiting predictions to held early labels; the predictions still waiting."""
        early = self.join.early.match(waiting)
        if not early:
            return waiting, rows
        keep: list[int] = []
        for j, ident in enumerate(waiting):
            label = early.pop(ident, None)  # popped: a re-sent prediction id joins once
            if label is None:
                keep.append(j)
            else:
                joined.append((label[0], pending(rows[j].tolist(), len(self.classes)), label[1]))
        return [waiting[j] for j in keep], rows[keep]

    def _join(self, joined: list[tuple[float, Pending, float]], now: float) -> None:
        k = len(self.classes)
        rows = np.full((len(joined), 3 + k), np.nan)
        rows[:, 0] = [y for y, _, _ in joined]
        rows[:, 1] = [p.cls for _, p, _ in joined]
        rows[:, 2] = [p.value for _, p, _ in joined]
        for r, (_, p, _) in enumerate(joined):
            if p.proba is not None:
                rows[r, 3:] = p.proba
        self.pairs.extend(rows, np.full(len(joined), now))
        if self.scores is not None:
            self.scores.add(rows[:, 0], rows[:, 2])
        if self.error_drift is not None:
            _feed_errors(self.error_drift, rows, self.config.prediction.kind)
        # delay: label received - prediction time; an early label's is clamped at 0
        self.join.record_delays(np.array([t - p.ts for _, p, t in joined], dtype=np.float64))
        self.join_counters.joined += len(joined)
        if self.segments is not None:
            self.segments.joined([p.segment for _, p, _ in joined], rows, now)


def _feed_errors(detector: ErrorDrift, rows: NDArray[np.float64], kind: str) -> None:
    """Each joined pair's error in order: class != label (classifiers), |label - value|
    (regressors); pairs without a predicted class or value are skipped."""
    y, predicted = rows[:, 0], rows[:, 1] if kind == "classification" else rows[:, 2]
    ok = ~np.isnan(y) & ~np.isnan(predicted)
    errors = ((predicted[ok] != y[ok]).astype(np.float64) if kind == "classification"
              else np.abs(y[ok] - predicted[ok]))
    for e in errors.tolist():
        detector.update(e)


def _calibration(config: ModelConfig, profile: Profile | None) -> Calibration | None:
    """The profile's calibration maps when they are for this model's classes."""
    cal = profile.calibration if profile is not None else None
    if cal is None or config.prediction.kind != "classification" \
            or cal.classes != config.prediction.classes:
        return None
    return cal


def _fresh(spec: FeatureSpec) -> FeatureSpec:
    """The spec with its own learnt-category table (profile categories are shared)."""
    cb = spec.categorical
    if cb is None or cb.fixed:
        return spec
    learnt = CategoricalBuckets(None, cb.limit)
    if spec.name == PREDICTION_FEATURE:
        learnt.code_names(list(cb.categories))  # the class order, fixed at start
    return FeatureSpec(spec.name, spec.kind, spec.column, None, learnt, None)


def _reference(profile: NumericProfile | CategoricalProfile | None,
               kind: type[NumericReference] | type[CategoricalReference],
               ) -> NumericReference | CategoricalReference | None:
    if profile is None:
        return None
    ref = to_reference(profile)
    return ref if isinstance(ref, kind) else None


def _feature_profile(profile: Profile | None,
                     name: str) -> NumericProfile | CategoricalProfile | None:
    if profile is None:
        return None
    try:
        return profile.feature(name)
    except KeyError:
        return None


class SidecarState:
    """All model states plus the transport/rejection counters, behind one lock."""

    def __init__(self, config: Config, profiles: Mapping[ModelKey, Profile]) -> None:
        self.lock = threading.Lock()
        self.config = config
        self.models = {m.key: ModelState(m, profiles.get(m.key)) for m in config.models}
        self.received: dict[str, int] = dict.fromkeys(TRANSPORTS, 0)
        self.rejected: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)
        self.last_rejection: dict[str, str] = {}  # reason -> the latest example (for /v1/status)

    def fresh(self) -> SidecarState:
        """An empty store with the same models (profiles are not re-read)."""
        empty = SidecarState(self.config, {})
        empty.models = {k: m.fresh() for k, m in self.models.items()}
        return empty

    def reject(self, reasons: Counter[str] | dict[str, int]) -> None:
        """Count rejections; a reason outside REJECT_REASONS is a bug (KeyError), not a series."""
        for reason, n in reasons.items():
            self.rejected[reason] += n
