"""What changes when the demo injects drift: per-feature transforms and a label change."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.demo.reference import ReferenceData


@dataclass(frozen=True)
class FeatureDrift:
    """Numeric: x -> x * scale + shift. Categorical: values redrawn from ``mix``."""

    feature: str
    scale: float = 1.0
    shift: float = 0.0
    mix: tuple[tuple[str, float], ...] = ()  # (category, probability), sums to 1

    def describe(self) -> str:
        if self.mix:
            top = sorted(self.mix, key=lambda cp: -cp[1])[:3]
            return f"{self.feature} mix → " + "/".join(f"{c} {p:.0%}" for c, p in top)
        parts = []
        if self.scale != 1.0:
            parts.append(f"×{self.scale:g}")
        if self.shift:
            parts.append(f"{self.shift:+.3g}")
        return f"{self.feature} {' '.join(parts)}"


@dataclass(frozen=True)
class DriftPlan:
    features: tuple[FeatureDrift, ...] = ()
    label_flip: float = 0.0  # classification: share of labels moved to another class
    label_shift: float = 0.0  # regression: added to every label
    # Classification, covariate shift: each drifted row's label is drawn from the simulated
    # model's probability for the drifted row (P(y | x) unchanged, what CBPE assumes).
    labels_from_model: bool = False

    def describe(self) -> str:
        parts = [f.describe() for f in self.features]
        if self.labels_from_model:
            parts.append("labels drawn from P(y | drifted x) (covariate shift)")
        if self.label_flip:
            parts.append(f"{self.label_flip:.0%} of labels changed (concept drift)")
        if self.label_shift:
            parts.append(f"labels {self.label_shift:+.3g} (concept drift)")
        return "; ".join(parts) or "none"


AMOUNT_SCALE = 10.0  # a unit change upstream (amounts sent in a 10× smaller currency unit)


def default_plan(data: ReferenceData, regression: bool) -> DriftPlan:
    """Drift on the first numeric and first categorical feature.

    A skewed non-negative numeric feature (amounts, counts: mean above 1.2 × median)
    grows ×10, like a unit change upstream; any other shifts by one standard deviation.
    The categorical feature's mix is reversed (the rarest reference category becomes the
    most frequent). Classification: a covariate shift — each drifted row's label is drawn
    from the simulated model's probability for the drifted row, so the drifted rows stay
    as predictable as the model says and the estimated accuracy (CBPE) should move with
    realized accuracy, only earlier. (For the bundled fraud example the drifted rows' expected
    accuracy is about 0.77, below its 0.8 floor.) Regression: targets rise by half a
    standard deviation (concept drift; there is no estimate for regressors).
    """
    drifts: list[FeatureDrift] = []
    if data.numeric_names:
        col = data.numeric[:, 0]
        finite = col[np.isfinite(col)]
        if finite.size and (finite >= 0).all() and finite.mean() > 1.2 * np.median(finite):
            drifts.append(FeatureDrift(data.numeric_names[0], scale=AMOUNT_SCALE))
        else:
            std = round(float(finite.std()), 6) if finite.size else 1.0
            drifts.append(FeatureDrift(data.numeric_names[0], shift=std or 1.0))
    if data.categorical_names:
        drifts.append(FeatureDrift(data.categorical_names[0],
                                   mix=_reversed_mix(data.categorical[:, 0])))
    if regression:
        labels = data.labels.astype(np.float64)
        return DriftPlan(tuple(drifts), label_shift=round(0.5 * float(labels.std()), 6) or 1.0)
    return DriftPlan(tuple(drifts), labels_from_model=True)


def _reversed_mix(values: NDArray[np.object_]) -> tuple[tuple[str, float], ...]:
    present = [v for v in values if v is not None]
    cats, counts = np.unique(np.asarray(present, dtype=str), return_counts=True)
    order = np.argsort(-counts, kind="stable")
    shares = counts[order] / counts.sum()
    return tuple((str(cats[i]), float(s)) for i, s in zip(order, shares[::-1], strict=True))
