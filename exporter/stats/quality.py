"""Data quality of one window (or batch) per feature: missing, out-of-range, unseen categories.

For a feature observed in n events (rows), m of them missing (the value null or absent):

    missing_ratio          = m / n                                   (denominator: all events)
    out_of_range_ratio     = #{x present : x < min_ref or x > max_ref} / (n - m)   (numeric)
    unseen_category_ratio  = #{x present : x not a kept reference category} / (n - m)
                                                                        (categorical)

The two value measures are over the present (non-missing) values, so a feature that goes
missing does not dilute them; they are undefined (None) when no value is present.
``min_ref`` / ``max_ref`` are the profile's exact summary min and max; the kept categories
are the profile's (at most ``max_categories``), so a value the profile lumped into its
``__other__`` bucket counts as unseen too.

Limits. Each configured limit is the allowed *excess* over the reference's own ratio of
the same measure, so that a feature which was 30 % missing in training does not alert at
30 %:

    missing limit         = min(1, m_ref / n_ref + missing_ratio_max)
    out-of-range limit    = min(1, out_of_range_ratio_max)       (the reference lies within
                                                                  its own [min, max])
    unseen limit          = min(1, other_ref / present_ref + unseen_category_ratio_max)

where ``other_ref`` is the reference's ``__other__`` count (zero unless the feature had more
than ``max_categories`` categories). A measure is exceeded when ratio > limit (strictly).
The same checks as Great Expectations' ``expect_column_values_to_not_be_null``,
``..._to_be_between`` and ``..._to_be_in_set`` with ``mostly`` = 1 - limit
(https://greatexpectations.io/expectations/), and Evidently's data-quality preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Measure = Literal["missing", "out_of_range", "unseen_category"]


@dataclass(frozen=True)
class QualityCounts:
    """Integer counts: they add up exactly across chunks, pods or partitions."""

    rows: int  # events in the window (rows of the batch)
    missing: int  # of them without a value (null or absent)
    outside: int  # present values out of range (numeric) or unseen (categorical)

    @property
    def present(self) -> int:
        return self.rows - self.missing

    def __add__(self, other: QualityCounts) -> QualityCounts:
        return QualityCounts(self.rows + other.rows, self.missing + other.missing,
                             self.outside + other.outside)


def numeric_counts(values: NDArray[np.float64], low: float | None,
                   high: float | None) -> QualityCounts:
    """NaN is missing; a present value is outside when below ``low`` or above ``high``
    (None: no bound, nothing outside)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    nan = np.isnan(x)
    present = x[~nan]
    outside = 0
    if low is not None and high is not None:
        outside = int(np.count_nonzero((present < low) | (present > high)))
    return QualityCounts(int(x.size), int(np.count_nonzero(nan)), outside)


def categorical_counts(codes: NDArray[np.int32], unseen: int | None) -> QualityCounts:
    """Codes < 0 are missing; a code equal to ``unseen`` (the ``__other__`` bucket of a
    profile's categories; None: no reference, nothing unseen) is outside."""
    c = np.asarray(codes).ravel()
    outside = int(np.count_nonzero(c == unseen)) if unseen is not None else 0
    return QualityCounts(int(c.size), int(np.count_nonzero(c < 0)), outside)


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class QualityReference:
    """What the limits and the value check take from a feature's profile."""

    kind: str  # "numeric" | "categorical"
    missing_ratio: float  # m_ref / n_ref
    outside_ratio: float  # 0 (numeric), the __other__ share of present values (categorical)
    low: float | None = None  # numeric: the reference min and max
    high: float | None = None


def numeric_reference(count: int, missing: int, low: float, high: float) -> QualityReference:
    """From a numeric profile's summary (count = present values)."""
    return QualityReference("numeric", share(missing, count + missing), 0.0, low, high)


def categorical_reference(counts: tuple[int, ...], missing: int) -> QualityReference:
    """From a categorical profile's counts (kept categories, then __other__) and missing."""
    present = sum(counts)
    other = counts[-1] if counts else 0
    return QualityReference("categorical", share(missing, present + missing),
                            share(other, present))


def reference_of(feature: Any) -> QualityReference | None:
    """From a profile's feature (``exporter.profile.model``, read by its fields: a numeric
    one has ``summary``, a categorical one ``categories``, ``counts`` and ``missing``);
    None for None."""
    if feature is None:
        return None
    s = getattr(feature, "summary", None)
    if s is not None:
        return numeric_reference(int(s.count), int(s.missing), float(s.min), float(s.max))
    return categorical_reference(tuple(feature.counts), int(feature.missing))


@dataclass(frozen=True)
class Limits:
    """Effective limits of one feature (ratios in [0, 1]); None: the measure does not apply."""

    missing: float
    outside: float | None


def limits(reference: QualityReference | None, missing_max: float, out_of_range_max: float,
           unseen_max: float) -> Limits:
    """The reference's own ratio plus the allowed excess, capped at 1 (module docstring);
    without a reference the missing limit is absolute and no value check applies."""
    if reference is None:
        return Limits(min(1.0, missing_max), None)
    if reference.kind == "numeric":
        outside = min(1.0, out_of_range_max)
    else:
        outside = min(1.0, reference.outside_ratio + unseen_max)
    return Limits(min(1.0, reference.missing_ratio + missing_max), outside)


@dataclass(frozen=True)
class FeatureQuality:
    name: str
    kind: str  # "numeric" | "categorical"
    counts: QualityCounts
    limits: Limits

    @property
    def outside_measure(self) -> Measure:
        return "out_of_range" if self.kind == "numeric" else "unseen_category"

    @property
    def missing_ratio(self) -> float | None:
        c = self.counts
        return c.missing / c.rows if c.rows else None

    @property
    def outside_ratio(self) -> float | None:
        """None without a reference or without present values."""
        c = self.counts
        if self.limits.outside is None or not c.present:
            return None
        return c.outside / c.present

    def ratios(self) -> tuple[tuple[Measure, float, float], ...]:
        """(measure, ratio, limit) of every measure that has a value."""
        out: list[tuple[Measure, float, float]] = []
        if self.missing_ratio is not None:
            out.append(("missing", self.missing_ratio, self.limits.missing))
        if self.outside_ratio is not None and self.limits.outside is not None:
            out.append((self.outside_measure, self.outside_ratio, self.limits.outside))
        return tuple(out)

    def exceeded(self) -> tuple[tuple[Measure, float, float], ...]:
        """The measures whose ratio is above their limit (strictly)."""
        return tuple(r for r in self.ratios() if r[1] > r[2])

    def summary(self) -> dict[str, object]:
        """Plain values (JSON): counts, ratios, limits and the measures above their limit."""
        c, o = self.counts, self.outside_measure
        return {"name": self.name, "kind": self.kind, "rows": c.rows, "missing": c.missing,
                "present": c.present, o: c.outside, "missing_ratio": self.missing_ratio,
                f"{o}_ratio": self.outside_ratio,
                "limits": {"missing": self.limits.missing, o: self.limits.outside},
                "exceeded": [m for m, _, _ in self.exceeded()]}
