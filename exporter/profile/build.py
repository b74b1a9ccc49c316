"""Two-pass, bounded-memory profile builder.

Pass 1 streams the file once, keeping per numeric feature the count, the exact
sums behind mean and variance (``exporter.stats.moments``), min, max, missing count
and a bottom-k sample: the ``sample_size`` values whose splitmix64 hash of (row
index, feature) is smallest. The hash is a bijection of the row index, so the
sample is a uniform sample without replacement that does not depend on how
the file is chunked. Categorical features keep value counts
(``exporter.profile.categorical``; a column with very many distinct values chooses its
categories from a bottom-k sample of rows instead). Pass 1 also keeps
a numeric feature's distinct values while there are at most ``bins`` of them:
such a feature is binned by value (``exporter.stats.binning.value_edges``), so
even a value too rare to be sampled gets its own bin. Otherwise bin edges come
from the sample (``quantile_edges``: quantiles, heavy ties in bins of their
own). Pass 2 counts every value into those bins exactly, and recounts pruned
categorical columns exactly. A classifier whose file also has the label column gets a
calibration section (``exporter.profile.calibrate``), fitted during pass 1.

Every accumulator merges exactly (``merge``): the accumulators of any split of the
rows, merged in row order, finish to the same bits as one accumulator over all rows.
``Pass1`` and ``Pass2`` group them, so the Spark engine (``exporter.spark.build``)
runs them per partition and merges on the driver; ``assemble`` makes the profile.
A new section is an accumulator added to ``Pass1`` or ``Pass2`` (``update(chunk)``,
``merge(other)``; in ``Pass2`` also an empty copy in ``fresh``) and read in ``assemble``.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import ModelConfig
from exporter.metric_names import PREDICTION_FEATURE
from exporter.profile.bottomk import U64, BottomK, salt, splitmix64
from exporter.profile.calibrate import CalibrationAcc, calibration_wanted
from exporter.profile.categorical import CategoricalAcc
from exporter.profile.codec import content_hash, profile_body
from exporter.profile.model import (
    SCHEMA_VERSION,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    NumericSummary,
    Profile,
    ProfileError,
)
from exporter.profile.pca import RowSampleAcc, multivariate_features
from exporter.profile.sample_codec import compact
from exporter.profile.segments import SegmentAcc
from exporter.readers.chunks import (
    DEFAULT_CHUNK_ROWS,
    Chunk,
    ColumnKind,
    ReadError,
    available_columns,
    class_name,
    read_chunks,
)
from exporter.stats.binning import bin_counts, quantile_edges, value_edges
from exporter.stats.moments import Moments
from exporter.stats.summary import QUANTILES


class NumericAcc:
    def __init__(self, name: str, sample_size: int, bins: int) -> None:
        self.name = name
        self.k = sample_size
        self.bins = bins
        # every distinct value while there are at most `bins` of them, then None
        self.distinct: NDArray[np.float64] | None = (np.empty(0, dtype=np.float64)
                                                     if bins > 1 else None)
        self.salt = salt(name)
        self.missing = 0
        self.moments = Moments()
        self.sample = BottomK(sample_size)

    def update(self, values: NDArray[np.float64], start: int) -> None:
        ok = ~np.isnan(values)
        x = values[ok]
        self.missing += int(values.size - x.size)
        if not x.size:
            return
        self.moments.add(x)
        self._track_distinct(x)
        rows = np.flatnonzero(ok).astype(np.uint64) + U64(start)
        self.sample.add(splitmix64(rows ^ self.salt), x)

    def _track_distinct(self, x: NDArray[np.float64]) -> None:
        if self.distinct is None:
            return
        new = x[~np.isin(x, self.distinct)]  # few known values: one comparison each
        if new.size:
            merged = np.union1d(self.distinct, new + 0.0)  # -0.0 -> 0.0: order-free
            self.distinct = merged if merged.size <= self.bins else None

    def merge(self, other: NumericAcc) -> None:
        self.missing += other.missing
        self.moments.merge(other.moments)
        self.sample.merge(other.sample)
        if other.distinct is None:
            self.distinct = None
        else:
            self._track_distinct(other.distinct)

    def finish(self) -> tuple[NDArray[np.float64], NumericSummary, tuple[float, ...]]:
        """Bin edges, summary and the sorted sample."""
        sample = np.sort(self.sample.values)
        if self.distinct is not None and self.distinct.size:
            edges = value_edges(self.distinct)
        else:
            edges = quantile_edges(sample, self.bins) if sample.size else np.empty(0)
        m = self.moments
        empty = m.n == 0
        qs = np.quantile(sample, QUANTILES) if sample.size else [np.nan] * len(QUANTILES)
        summary = NumericSummary(
            count=m.n, missing=self.missing,
            mean=np.nan if empty else m.mean, std=m.std,
            min=np.nan if empty else m.min, max=np.nan if empty else m.max,
            quantiles=tuple((float(q), float(v)) for q, v in zip(QUANTILES, qs, strict=True)),
        )
        return edges, summary, tuple(float(v) for v in compact(sample))


class PredictionAcc:
    """Numbers feed a numeric accumulator; class names (or argmax) feed class counts."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.numeric = NumericAcc(PREDICTION_FEATURE, config.sample_size, config.bins)
        self.classes: Counter[str] = Counter()
        self.rows = 0

    def update(self, chunk: Chunk) -> None:
        p = chunk.predictions[self.config.prediction_column]
        self.rows += chunk.rows
        self.numeric.update(p.numbers, chunk.start)
        named = Counter(p.classes.tolist())
        named.pop(None, 0)
        self.classes.update(named)
        if named and self.config.prediction.kind == "regression":
            example = next(iter(named))
            raise ReadError(f"column {self.config.prediction_column!r} holds class names "
                            f"(e.g. {example!r}) but model {self.config.name!r} is a "
                            "regression model")

    def merge(self, other: PredictionAcc) -> None:
        self.numeric.merge(other.numeric)
        self.classes.update(other.classes)
        self.rows += other.rows

    @property
    def categorical(self) -> bool:
        return bool(self.classes)


@dataclass(frozen=True)
class Plan:
    """What is read from the file: decided once (on the Spark driver) from its columns."""

    config: ModelConfig
    columns: dict[str, ColumnKind]  # pass 1's
    has_prediction: bool
    calibrate: bool

    @staticmethod
    def of(config: ModelConfig, available: set[str]) -> Plan:
        columns: dict[str, ColumnKind] = {f.name: f.kind for f in config.features}
        pcol = config.prediction_column
        has_prediction = pcol in available and pcol not in columns
        if has_prediction:
            columns[pcol] = "prediction"
        calibrate = has_prediction and calibration_wanted(config, available)
        if calibrate:
            columns[config.label_column] = "prediction"  # numbers and class names both kept
        return Plan(config, columns, has_prediction, calibrate)


class Pass1:
    """Pass 1's accumulators: ``update`` with chunks, ``merge`` a later split's."""

    def __init__(self, plan: Plan) -> None:
        config = plan.config
        self.rows = 0
        self.nums = {f.name: NumericAcc(f.name, config.sample_size, config.bins)
                     for f in config.features if f.kind == "numeric"}
        self.cats = {f.name: CategoricalAcc(f.name, config.max_categories, salt(f.name))
                     for f in config.features if f.kind == "categorical"}
        self.pred = PredictionAcc(config) if plan.has_prediction else None
        self.cal = CalibrationAcc(config) if plan.calibrate else None
        # whole numeric rows for the multivariate (PCA) section (exporter.profile.pca)
        self.mv_rows = RowSampleAcc(multivariate_features(config), config.sample_size)

    def update(self, chunk: Chunk) -> None:
        self.rows += chunk.rows
        for name, acc in self.nums.items():
            acc.update(chunk.numeric[name], chunk.start)
        for name, cacc in self.cats.items():
            cacc.update(chunk.categorical[name], chunk.start)
        if self.pred is not None:
            self.pred.update(chunk)
        if self.cal is not None:
            self.cal.update(chunk)
        self.mv_rows.update(chunk)

    def merge(self, other: Pass1) -> None:
        self.rows += other.rows
        for name, acc in self.nums.items():
            acc.merge(other.nums[name])
        for name, cacc in self.cats.items():
            cacc.merge(other.cats[name])
        if self.pred is not None and other.pred is not None:
            self.pred.merge(other.pred)
        if self.cal is not None and other.cal is not None:
            self.cal.merge(other.cal)
        self.mv_rows.merge(other.mv_rows)


Finished = tuple[NDArray[np.float64], NumericSummary, tuple[float, ...]]


class Pass2:
    """Pass 2's exact counts on the bins and categories pass 1 chose (``first``)."""

    def __init__(self, plan: Plan, first: Pass1) -> None:
        config = plan.config
        self.plan = plan
        self.finished: dict[str, Finished] = {n: a.finish() for n, a in first.nums.items()}
        self.bins = {n: np.zeros(len(e) + 1, dtype=np.int64)
                     for n, (e, _, _) in self.finished.items()}
        pred = first.pred
        self.pred_numeric = pred is not None and not pred.categorical
        self.pred_finished = pred.numeric.finish() if pred is not None else None
        self.pred_bins = np.zeros(len(self.pred_finished[0]) + 1 if self.pred_finished else 1,
                                  dtype=np.int64)
        self.chosen = {n: a.categories() for n, a in first.cats.items()}
        self.recount = {n for n, a in first.cats.items() if a.pruned}
        self.exact: dict[str, Counter[str]] = {n: Counter() for n in self.recount}
        self.pred_class_nums: Counter[str] = Counter()
        # per-segment bucket counts on the bins above (exporter.profile.segments)
        self.seg = None if config.segment is None else SegmentAcc(
            config, {n: e for n, (e, _, _) in self.finished.items()}, self.chosen,
            None if self.pred_finished is None else
            self.pred_finished[0] if self.pred_numeric
            else tuple(sorted(config.prediction.classes)))

    def columns(self) -> dict[str, ColumnKind]:
        """What pass 2 reads (empty: no pass 2)."""
        pcol = self.plan.config.prediction_column
        if not (self.finished or self.recount or self.pred_finished is not None
                or self.seg is not None):
            return {}
        cols = {k: v for k, v in self.plan.columns.items()
                if k in self.finished or k in self.recount or k == pcol}
        cols.update(self.seg.columns() if self.seg is not None else {})
        return cols

    def update(self, chunk: Chunk) -> None:
        for name, (edges, _, _) in self.finished.items():
            self.bins[name] += bin_counts(chunk.numeric[name], edges)
        for name in self.recount:
            wanted = set(self.chosen[name])
            self.exact[name].update(v for v in chunk.categorical[name].tolist() if v in wanted)
        if self.pred_finished is not None:
            p = chunk.predictions[self.plan.config.prediction_column].numbers
            if self.pred_numeric:
                self.pred_bins += bin_counts(p, self.pred_finished[0])
            else:
                self.pred_class_nums.update(class_name(x) for x in p[~np.isnan(p)].tolist())
        if self.seg is not None:
            self.seg.update(chunk)

    def merge(self, other: Pass2) -> None:
        for name, counts in self.bins.items():
            counts += other.bins[name]
        for name, exact in self.exact.items():
            exact.update(other.exact[name])
        self.pred_bins += other.pred_bins
        self.pred_class_nums.update(other.pred_class_nums)
        if self.seg is not None and other.seg is not None:
            self.seg.merge(other.seg)

    def fresh(self) -> Pass2:
        """An empty copy with the same bins (what a Spark partition starts from)."""
        out = copy.copy(self)
        out.bins = {n: np.zeros_like(c) for n, c in self.bins.items()}
        out.exact = {n: Counter() for n in self.exact}
        out.pred_bins = np.zeros_like(self.pred_bins)
        out.pred_class_nums = Counter()
        out.seg = self.seg.fresh() if self.seg is not None else None
        return out


def assemble(plan: Plan, first: Pass1, second: Pass2, where: str) -> Profile:
    """The profile from both passes' (merged) accumulators."""
    config = plan.config
    rows = first.rows
    if rows == 0:
        raise ProfileError(f"{where}: no data rows; a profile needs training data")
    features: list[FeatureProfile] = []
    for f in config.features:
        if f.name in first.nums:
            edges, summary, sample = second.finished[f.name]
            features.append(NumericProfile(
                f.name, tuple(float(e) for e in edges),
                tuple(int(c) for c in second.bins[f.name]), summary, sample))
        else:
            cacc = first.cats[f.name]
            counts = second.exact[f.name] if f.name in second.recount else cacc.counts
            assert counts is not None
            features.append(_categorical_profile(f.name, second.chosen[f.name], counts,
                                                 rows - cacc.missing, cacc.missing))
    prediction: FeatureProfile | None = None
    pred, pred_finished = first.pred, second.pred_finished
    if pred is not None and pred_finished is not None:
        if second.pred_numeric:
            edges, summary, sample = pred_finished
            prediction = NumericProfile(
                PREDICTION_FEATURE, tuple(float(e) for e in edges),
                tuple(int(c) for c in second.pred_bins), summary, sample)
        else:
            pcounts = pred.classes + second.pred_class_nums
            total = sum(pcounts.values())
            prediction = _categorical_profile(PREDICTION_FEATURE,
                                              tuple(sorted(config.prediction.classes)),
                                              pcounts, total, rows - total)
    seg = second.seg
    profile = Profile(SCHEMA_VERSION, config.name, config.version, rows, tuple(features),
                      prediction, "", first.cal.finish() if first.cal is not None else None,
                      seg.finish(features, prediction) if seg is not None else None)
    profile = replace(profile, multivariate=first.mv_rows.finish(
        config.multivariate.variance_share))
    return replace(profile, content_hash=content_hash(profile_body(profile)))


def _categorical_profile(name: str, cats: tuple[str, ...], counts: Counter[str],
                         total: int, missing: int) -> CategoricalProfile:
    known = [counts.get(c, 0) for c in cats]
    return CategoricalProfile(name, cats, (*known, total - sum(known)), missing)


def build_profile(config: ModelConfig, path: str | Path, *,
                  chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Profile:
    """Build a profile from a CSV, Parquet or JSONL file in two bounded-memory passes."""
    path = Path(path)
    try:
        return _build(config, path, chunk_rows)
    except ReadError as exc:
        msg = str(exc)
        raise ProfileError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None


def _build(config: ModelConfig, path: Path, chunk_rows: int) -> Profile:
    plan = Plan.of(config, set(available_columns(path)))
    first = Pass1(plan)
    for chunk in read_chunks(path, plan.columns, chunk_rows=chunk_rows):
        first.update(chunk)
    if first.rows == 0:
        raise ProfileError(f"{path}: no data rows; a profile needs training data")
    second = Pass2(plan, first)
    pass2 = second.columns()
    if pass2:
        for chunk in read_chunks(path, pass2, chunk_rows=chunk_rows):
            second.update(chunk)
    return assemble(plan, first, second, str(path))
