"""Parse tap predictions and labels into numbers: value, class index, probabilities."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import PredictionConfig
from exporter.sidecar.ingest.decode import PredictionValue


class PredictionParser:
    """A prediction is a number (score or regression value), a class name, or
    an object of class probabilities; a label is a class (name or integer) or a number."""

    def __init__(self, config: PredictionConfig) -> None:
        self.kind = config.kind
        self.classes = config.classes
        self.class_index = {c: i for i, c in enumerate(self.classes)}

    def predictions(self, raw: list[PredictionValue], rejected: Counter[str] | None = None,
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                               NDArray[np.bool_]]:
        """Numeric value, class index (NaN = none), probabilities and validity per event;
        the invalid ones are counted by reason in ``rejected``."""
        n = len(raw)
        probas = np.full((n, len(self.classes)), np.nan)
        if _NUMBERS.issuperset(map(type, raw)):  # numpy would parse strings ("Infinity") too
            values = np.array(raw, dtype=np.float64)  # fast path: numbers and None only
            ok = np.ones(n, dtype=bool)
            classes = self._classes_of_scores(values)
            if self.kind == "classification" and len(self.classes) != 2:
                classes[:] = np.nan  # a single score has no class for multi-class models
            return values, classes, probas, ok
        reasons: Counter[str] = Counter() if rejected is None else rejected
        values = np.full(n, np.nan)
        classes = np.full(n, np.nan)
        ok = np.ones(n, dtype=bool)
        regression = self.kind == "regression"
        for i, p in enumerate(raw):
            if p is None:
                continue
            if isinstance(p, float | int):
                values[i] = p
                if not regression and len(self.classes) == 2:
                    classes[i] = 1.0 if p >= 0.5 else 0.0
            elif isinstance(p, str) and (c := self.class_index.get(p)) is not None \
                    and not regression:
                classes[i] = c
            elif isinstance(p, str):
                ok[i] = False
                reasons[_string_rejection(p)] += 1
            elif regression:
                ok[i] = False
                reasons["bad_type"] += 1
            else:
                vec = tuple(float(p.get(c, 0.0)) for c in self.classes)
                if not p or any(k not in self.class_index for k in p) or not all(
                        math.isfinite(x) and 0.0 <= x <= 1.0 for x in vec):
                    ok[i] = False
                    reasons["bad_type"] += 1
                    continue
                probas[i] = vec
                classes[i] = int(np.argmax(vec))
                values[i] = vec[1] if len(vec) == 2 else np.nan
        return values, classes, probas, ok

    def _classes_of_scores(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.kind != "classification":
            return np.full(len(values), np.nan)
        return np.where(np.isnan(values), np.nan, (values >= 0.5).astype(np.float64))

    def label_value(self, label: float | str) -> float | None:
        if self.kind == "regression":
            if isinstance(label, str):
                return None
            return float(label) if math.isfinite(label) else None
        if isinstance(label, float | int) and not isinstance(label, str):
            if not math.isfinite(label) or label != int(label):
                return None
            label = str(int(label))
        c = self.class_index.get(label)
        return None if c is None else float(c)

    def label_rejection(self, label: float | str) -> str:
        """Why ``label_value`` refused a label: a non-finite number, or the wrong type."""
        if isinstance(label, str):
            return _string_rejection(label)
        return "bad_value" if not math.isfinite(label) else "bad_type"


_NUMBERS = frozenset({float, int, type(None)})


def _string_rejection(text: str) -> str:
    """A string where a number or class is due: bad_value if it spells inf or NaN."""
    try:
        return "bad_type" if math.isfinite(float(text)) else "bad_value"
    except ValueError:
        return "bad_type"

