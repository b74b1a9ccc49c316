"""Per-segment reference: rows and bucket counts for each value of one categorical feature.

A model configured with ``segment: {feature, max_values}`` gets an optional profile section
holding, per segment value, the reference rows and every feature's (and the prediction's)
bucket counts on the WHOLE profile's buckets (its numeric bin edges and its categories), so a
segment's PSI compares like with like. The segment values are the ``max_values`` most frequent
categories of the segment feature in the reference (exact counts of the feature's profile;
ties broken by name, as the category list itself is), sorted by name; every other row, the
rows whose segment value is missing included, is the ``__other__`` segment. So the segments'
rows add up to the profile's rows, and their bucket counts to the profile's counts.

Counting needs the bins of pass 1, so it runs in the builder's pass 2: ``SegmentAcc`` counts
rows per category of the segment feature's profile (plus one group for the rest and missing)
and picks the top values only in ``finish``. Everything is an integer count, so merging the
accumulators of any split of the rows gives exactly the counts of one pass (``merge``), as the
Spark engine needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import ModelConfig
from exporter.metric_names import OTHER_BUCKET
from exporter.profile.model import (
    CategoricalProfile,
    FeatureProfile,
    ProfileError,
    SegmentProfile,
    Segments,
)
from exporter.readers.chunks import Chunk, ColumnKind, class_name

IntArray = NDArray[np.int64]
# the prediction's buckets: inner bin edges (numeric) or the class names (categorical)
PredictionBuckets = NDArray[np.float64] | tuple[str, ...]


def category_index(values: NDArray[np.object_], categories: Sequence[str],
                    ) -> NDArray[np.int64]:
    """Index of each value in ``categories``; len(categories) for any other; -1 if missing."""
    index = {c: i for i, c in enumerate(categories)}
    other = len(categories)
    return np.fromiter((-1 if v is None else index.get(v, other) for v in values.tolist()),
                       dtype=np.int64, count=len(values))


def group_counts(groups: NDArray[np.int64], buckets: NDArray[np.int64], n_groups: int,
                  n_buckets: int) -> IntArray:
    """(groups × buckets) counts of the rows whose bucket is not missing (-1)."""
    ok = buckets >= 0
    flat = groups[ok] * n_buckets + buckets[ok]
    counts: IntArray = np.bincount(flat, minlength=n_groups * n_buckets).astype(np.int64)
    return counts.reshape(n_groups, n_buckets)


class SegmentAcc:
    """Pass-2 counts per category of the segment feature; exact under any split of the rows."""

    def __init__(self, config: ModelConfig, numeric_edges: Mapping[str, NDArray[np.float64]],
                 categories: Mapping[str, tuple[str, ...]],
                 prediction: PredictionBuckets | None) -> None:
        assert config.segment is not None
        self.config = config
        self.feature = config.segment.feature
        self.groups = tuple(categories[self.feature])  # the feature's profile categories
        g = len(self.groups) + 1  # + the rest and missing
        self.edges = dict(numeric_edges)
        self.categories = dict(categories)
        self.prediction = prediction
        self.rows = np.zeros(g, dtype=np.int64)
        self.counts: dict[str, IntArray] = {}
        for f in config.features:
            n = (len(self.edges[f.name]) + 1 if f.kind == "numeric"
                 else len(self.categories[f.name]) + 1)
            self.counts[f.name] = np.zeros((g, n), dtype=np.int64)
        self.pred: IntArray | None = None
        if prediction is not None:
            self.pred = np.zeros((g, len(prediction) + 1), dtype=np.int64)

    def columns(self) -> dict[str, ColumnKind]:
        """The columns pass 2 must read for this accumulator (name -> reader kind)."""
        out: dict[str, ColumnKind] = {f.name: f.kind for f in self.config.features}
        if self.prediction is not None:
            out[self.config.prediction_column] = "prediction"
        return out

    def update(self, chunk: Chunk) -> None:
        g = len(self.groups) + 1
        groups = category_index(chunk.categorical[self.feature], self.groups)
        groups[groups < 0] = g - 1  # missing segment value: the __other__ segment
        self.rows += np.bincount(groups, minlength=g).astype(np.int64)
        for f in self.config.features:
            counts = self.counts[f.name]
            if f.kind == "numeric":
                x = chunk.numeric[f.name]
                b = np.searchsorted(self.edges[f.name], x, side="right").astype(np.int64)
                b[np.isnan(x)] = -1  # bin_counts' convention: NaN not counted
            else:
                b = category_index(chunk.categorical[f.name], self.categories[f.name])
            counts += group_counts(groups, b, g, counts.shape[1])
        if self.pred is not None:
            self.pred += group_counts(groups, self._prediction_buckets(chunk), g,
                                       self.pred.shape[1])

    def _prediction_buckets(self, chunk: Chunk) -> NDArray[np.int64]:
        p = chunk.predictions[self.config.prediction_column]
        if isinstance(self.prediction, tuple):  # class names, as the profile counts them
            names = np.array([c if c is not None else
                              (None if np.isnan(x) else class_name(x))
                              for c, x in zip(p.classes.tolist(), p.numbers.tolist(),
                                              strict=True)], dtype=object)
            return category_index(names, self.prediction)
        assert self.prediction is not None
        b = np.searchsorted(self.prediction, p.numbers, side="right").astype(np.int64)
        b[np.isnan(p.numbers)] = -1
        return b

    def fresh(self) -> SegmentAcc:
        """An empty accumulator with the same buckets (what a partition starts from)."""
        return SegmentAcc(self.config, self.edges, self.categories, self.prediction)

    def merge(self, other: SegmentAcc) -> None:
        """Add another accumulator's counts (same config and buckets): exact."""
        if other.groups != self.groups or other.counts.keys() != self.counts.keys():
            raise ValueError("cannot merge segment accumulators of different profiles")
        self.rows += other.rows
        for name, counts in self.counts.items():
            counts += other.counts[name]
        if self.pred is not None and other.pred is not None:
            self.pred += other.pred

    def finish(self, features: Sequence[FeatureProfile],
               prediction: FeatureProfile | None) -> Segments:
        """The section: top values by the segment feature's exact counts, the rest __other__.

        ``features`` are the finished profile's features (config order); the segments'
        counts must add up to theirs (a builder bug otherwise).
        """
        assert self.config.segment is not None
        seg = next(f for f in features if f.name == self.feature)
        assert isinstance(seg, CategoricalProfile) and seg.categories == self.groups
        top = top_values(seg, self.config.segment.max_values)
        chosen = [self.groups.index(v) for v in top]
        rest = np.ones(len(self.groups) + 1, dtype=bool)
        rest[chosen] = False
        out: list[SegmentProfile] = []
        for value, rows in [*((v, [i]) for v, i in zip(top, chosen, strict=True)),
                            (OTHER_BUCKET, np.flatnonzero(rest).tolist())]:
            out.append(SegmentProfile(
                value, int(self.rows[rows].sum()),
                tuple(tuple(int(c) for c in self.counts[f.name][rows].sum(axis=0))
                      for f in self.config.features),
                None if self.pred is None
                else tuple(int(c) for c in self.pred[rows].sum(axis=0))))
        section = Segments(self.feature, self.config.segment.max_values, tuple(out))
        _check_sums(section, features, prediction, int(self.rows.sum()))
        return section


def top_values(feature: CategoricalProfile, max_values: int) -> tuple[str, ...]:
    """The ``max_values`` most frequent categories (count > 0; ties by name), sorted by name."""
    ranked = sorted(((c, n) for c, n in zip(feature.categories, feature.counts, strict=False)
                     if n > 0), key=lambda cn: (-cn[1], cn[0]))
    return tuple(sorted(c for c, _ in ranked[:max_values]))


def _check_sums(s: Segments, features: Sequence[FeatureProfile],
                prediction: FeatureProfile | None, rows: int) -> None:
    """The segments' rows and counts add up to the profile's (else ProfileError)."""
    if sum(p.rows for p in s.segments) != rows:
        raise ProfileError(f"segments: rows add up to {sum(p.rows for p in s.segments)}, "
                           f"the profile has {rows}")
    for i, f in enumerate(features):
        total = tuple(int(x) for x in np.sum([p.features[i] for p in s.segments], axis=0))
        if total != tuple(f.counts):
            raise ProfileError(f"segments: the counts of feature {f.name!r} do not add up "
                               "to the profile's")
    if prediction is not None:
        if any(p.prediction is None for p in s.segments):
            raise ProfileError("segments: prediction counts missing")
        total = tuple(int(x) for x in np.sum([p.prediction or () for p in s.segments], axis=0))
        if total != tuple(prediction.counts):
            raise ProfileError("segments: the prediction counts do not add up to the "
                               "profile's")


# --- codec ------------------------------------------------------------------------------------

def segments_body(s: Segments) -> dict[str, Any]:
    """The section's canonical JSON object (profile_body adds it only when present)."""
    return {
        "feature": s.feature, "max_values": int(s.max_values),
        "values": [{"value": p.value, "rows": int(p.rows),
                    "features": [[int(c) for c in counts] for counts in p.features],
                    "prediction": None if p.prediction is None
                    else [int(c) for c in p.prediction]}
                   for p in s.segments],
    }


def _counts(v: Any, where: str, fail: Any) -> tuple[int, ...]:
    if not isinstance(v, list) or not all(isinstance(c, int) and not isinstance(c, bool)
                                          and c >= 0 for c in v):
        raise fail(where, f"expected a list of non-negative integer counts, got {v!r}")
    return tuple(v)


def decode_segments(raw: Any, file: str, features: Sequence[FeatureProfile],
                    prediction: FeatureProfile | None, rows: int) -> Segments:
    """Validate the section against the profile it belongs to; ProfileError naming the path."""
    def fail(where: str, problem: str) -> ProfileError:
        return ProfileError(f"{file}: {where}: {problem}; rebuild it with `mlmon profile build`")

    if not isinstance(raw, dict) or set(raw) != {"feature", "max_values", "values"}:
        raise fail("segments", "expected an object with feature, max_values and values")
    name, max_values, values = raw["feature"], raw["max_values"], raw["values"]
    seg = next((f for f in features if f.name == name), None)
    if not isinstance(seg, CategoricalProfile):
        raise fail("segments.feature", f"{name!r} is not a categorical feature of the profile")
    if isinstance(max_values, bool) or not isinstance(max_values, int) or max_values < 1:
        raise fail("segments.max_values", f"expected a positive integer, got {max_values!r}")
    if not isinstance(values, list) or not values:
        raise fail("segments.values", "expected a non-empty list")
    out = []
    for i, v in enumerate(values):
        w = f"segments.values[{i}]"
        if not isinstance(v, dict) or set(v) != {"value", "rows", "features", "prediction"}:
            raise fail(w, "expected an object with value, rows, features and prediction")
        if not isinstance(v["value"], str) or isinstance(v["rows"], bool) \
                or not isinstance(v["rows"], int) or v["rows"] < 0:
            raise fail(w, "expected a string value and a non-negative integer rows")
        feats = v["features"]
        if not isinstance(feats, list) or len(feats) != len(features):
            raise fail(f"{w}.features", f"expected {len(features)} count lists")
        counts = tuple(_counts(c, f"{w}.features[{j}]", fail) for j, c in enumerate(feats))
        for j, (c, f) in enumerate(zip(counts, features, strict=True)):
            if len(c) != len(f.counts):
                raise fail(f"{w}.features[{j}]", f"{len(c)} counts for the {len(f.counts)} "
                           f"buckets of {f.name!r}")
        pred = None if v["prediction"] is None else _counts(v["prediction"],
                                                            f"{w}.prediction", fail)
        if (pred is None) != (prediction is None) or (
                pred is not None and prediction is not None
                and len(pred) != len(prediction.counts)):
            raise fail(f"{w}.prediction", "does not match the profile's prediction buckets")
        out.append(SegmentProfile(v["value"], v["rows"], counts, pred))
    names = [p.value for p in out]
    if names[-1] != OTHER_BUCKET or names[:-1] != sorted(set(names[:-1])) \
            or OTHER_BUCKET in names[:-1] or len(names) - 1 > max_values \
            or not set(names[:-1]) <= set(seg.categories):
        raise fail("segments.values", f"values {names} are not at most max_values sorted "
                   f"categories of {name!r} followed by {OTHER_BUCKET!r}")
    section = Segments(name, max_values, tuple(out))
    try:
        _check_sums(section, features, prediction, rows)
    except ProfileError as exc:
        raise fail("segments", str(exc).removeprefix("segments: ")) from None
    return section


def segment_counts(s: Segments, feature_index: int) -> IntArray:
    """(segments × buckets) reference counts of one feature (index in the profile)."""
    return np.array([p.features[feature_index] for p in s.segments], dtype=np.int64)
