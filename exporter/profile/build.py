"""Two-pass, bounded-memory profile builder.

Pass 1 streams the file once, keeping per numeric feature a running count,
mean and M2 (Chan et al. pairwise merge), min, max, missing count and a
bottom-k sample: the ``sample_size`` values whose splitmix64 hash of (row
index, feature) is smallest. The hash is a bijection of the row index, so the
sample is a uniform sample without replacement that does not depend on how
the file is chunked. Categorical features keep value counts (pruned to the
most frequent when a column has very many distinct values). Pass 1 also keeps
a numeric feature's distinct values while there are at most ``bins`` of them:
such a feature is binned by value (``exporter.stats.binning.value_edges``), so
even a value too rare to be sampled gets its own bin. Otherwise bin edges come
from the sample (``quantile_edges``: quantiles, heavy ties in bins of their
own). Pass 2 counts every value into those bins exactly, and recounts pruned
categorical columns exactly. A classifier whose file also has the label column gets a
calibration section (``exporter.profile.calibrate``), fitted during pass 1.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import ModelConfig
from exporter.metric_names import PREDICTION_FEATURE
from exporter.profile.bottomk import U64, BottomK, splitmix64
from exporter.profile.calibrate import CalibrationAcc, calibration_wanted
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
from exporter.profile.sample_codec import compact
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


def _salt(name: str) -> np.uint64:
    return U64(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little"))


class NumericAcc:
    def __init__(self, name: str, sample_size: int, bins: int) -> None:
        self.name = name
        self.k = sample_size
        self.bins = bins
        # every distinct value while there are at most `bins` of them, then None
        self.distinct: NDArray[np.float64] | None = (np.empty(0, dtype=np.float64)
                                                     if bins > 1 else None)
        self.salt = _salt(name)
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
            merged = np.union1d(self.distinct, new)
            self.distinct = merged if merged.size <= self.bins else None

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


class CategoricalAcc:
    def __init__(self, name: str, max_categories: int) -> None:
        self.name = name
        self.max_categories = max_categories
        self.capacity = max(10_000, 20 * max_categories)
        self.counts: Counter[str] = Counter()
        self.missing = 0
        self.pruned = False

    def update(self, values: NDArray[np.object_]) -> None:
        c = Counter(values.tolist())
        self.missing += c.pop(None, 0)
        self.counts.update(c)
        if len(self.counts) > self.capacity:
            # Keep the heaviest half: exact counts are recomputed in pass 2.
            self.counts = Counter(dict(_top(self.counts, self.capacity // 2)))
            self.pruned = True

    def categories(self) -> tuple[str, ...]:
        return tuple(sorted(k for k, _ in _top(self.counts, self.max_categories)))


def _top(counts: Counter[str], k: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def _categorical_profile(name: str, cats: tuple[str, ...], counts: Counter[str],
                         total: int, missing: int) -> CategoricalProfile:
    known = [counts.get(c, 0) for c in cats]
    return CategoricalProfile(name, cats, (*known, total - sum(known)), missing)


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

    @property
    def categorical(self) -> bool:
        return bool(self.classes)


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
    columns: dict[str, ColumnKind] = {f.name: f.kind for f in config.features}
    pcol = config.prediction_column
    available = set(available_columns(path))
    has_prediction = pcol in available and pcol not in columns
    if has_prediction:
        columns[pcol] = "prediction"
    cal = (CalibrationAcc(config) if has_prediction and calibration_wanted(config, available)
           else None)
    if cal is not None:
        columns[config.label_column] = "prediction"  # numbers and class names both kept
    nums = {f.name: NumericAcc(f.name, config.sample_size, config.bins)
            for f in config.features if f.kind == "numeric"}
    cats = {f.name: CategoricalAcc(f.name, config.max_categories)
            for f in config.features if f.kind == "categorical"}
    pred = PredictionAcc(config) if has_prediction else None
    rows = 0
    for chunk in read_chunks(path, columns, chunk_rows=chunk_rows):
        rows += chunk.rows
        for name, acc in nums.items():
            acc.update(chunk.numeric[name], chunk.start)
        for name, cacc in cats.items():
            cacc.update(chunk.categorical[name])
        if pred is not None:
            pred.update(chunk)
        if cal is not None:
            cal.update(chunk)

    if rows == 0:
        raise ProfileError(f"{path}: no data rows; a profile needs training data")
    finished = {name: acc.finish() for name, acc in nums.items()}
    bins = {name: np.zeros(len(e) + 1, dtype=np.int64) for name, (e, _, _) in finished.items()}
    pred_numeric = pred is not None and not pred.categorical
    pred_finished = pred.numeric.finish() if pred is not None else None
    pred_bins = np.zeros(len(pred_finished[0]) + 1 if pred_finished else 1, dtype=np.int64)
    chosen = {name: acc.categories() for name, acc in cats.items()}
    recount = {name for name, acc in cats.items() if acc.pruned}
    exact: dict[str, Counter[str]] = {name: Counter() for name in recount}
    pred_class_nums: Counter[str] = Counter()
    if nums or recount or pred is not None:
        pass2 = {k: v for k, v in columns.items() if k in nums or k in recount or k == pcol}
        for chunk in read_chunks(path, pass2, chunk_rows=chunk_rows):
            for name, (edges, _, _) in finished.items():
                bins[name] += bin_counts(chunk.numeric[name], edges)
            for name in recount:
                wanted = set(chosen[name])
                exact[name].update(v for v in chunk.categorical[name].tolist() if v in wanted)
            if pred is not None and pred_finished is not None:
                p = chunk.predictions[pcol].numbers
                if pred_numeric:
                    pred_bins += bin_counts(p, pred_finished[0])
                else:
                    pred_class_nums.update(class_name(x) for x in p[~np.isnan(p)].tolist())

    features: list[FeatureProfile] = []
    for f in config.features:
        if f.name in nums:
            edges, summary, sample = finished[f.name]
            features.append(NumericProfile(
                f.name, tuple(float(e) for e in edges), tuple(int(c) for c in bins[f.name]),
                summary, sample))
        else:
            cacc = cats[f.name]
            counts = exact[f.name] if f.name in recount else cacc.counts
            total = rows - cacc.missing
            features.append(_categorical_profile(f.name, chosen[f.name], counts, total,
                                                 cacc.missing))
    prediction: FeatureProfile | None = None
    if pred is not None and pred_finished is not None:
        if pred_numeric:
            edges, summary, sample = pred_finished
            prediction = NumericProfile(
                PREDICTION_FEATURE, tuple(float(e) for e in edges),
                tuple(int(c) for c in pred_bins), summary, sample)
        else:
            counts = pred.classes + pred_class_nums
            total = sum(counts.values())
            prediction = _categorical_profile(PREDICTION_FEATURE,
                                              tuple(sorted(config.prediction.classes)),
                                              counts, total, rows - total)
    profile = Profile(SCHEMA_VERSION, config.name, config.version, rows, tuple(features),
                      prediction, "", cal.finish() if cal is not None else None)
    return replace(profile, content_hash=content_hash(profile_body(profile)))
