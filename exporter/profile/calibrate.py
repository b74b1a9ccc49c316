"""The profile's calibration section: reference scores and labels -> calibration maps.

Fitted only for classifiers whose reference file has both the prediction column
(scores P(classes[1]) for binary models, or objects of class probabilities) and the
label column (``label_column``; class names, or numbers naming a class: 1 and 1.0 are
"1"). Rows whose label names no configured class, or with no score, are left out.
Memory is bounded: the rows kept are a bottom-k sample of ``SAMPLE_ROWS`` (the same
splitmix64 hash of the row index as the feature samples, so the result does not
depend on chunking). The maps themselves (``exporter.stats.calibration``) hold at
most ``MAX_POINTS`` points per class.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import ModelConfig
from exporter.profile.bottomk import U64, BottomK, splitmix64
from exporter.readers.chunks import Chunk, class_name
from exporter.stats.calibration import Calibration, fit_binary, fit_multiclass

SAMPLE_ROWS = 200_000
_SALT = U64(int.from_bytes(hashlib.sha256(b"__calibration__").digest()[:8], "little"))


class CalibrationAcc:
    """Keeps (label index, score or probabilities) of a bounded sample of reference rows."""

    def __init__(self, config: ModelConfig, sample_rows: int = SAMPLE_ROWS) -> None:
        self.config = config
        self.classes = config.prediction.classes
        self.index = {c: i for i, c in enumerate(self.classes)}
        k = len(self.classes)
        self.binary = k == 2
        width = 1 if self.binary else k
        self.columns = [BottomK(sample_rows) for _ in range(width + 1)]  # label, then scores

    def update(self, chunk: Chunk) -> None:
        p = chunk.predictions[self.config.prediction_column]
        labels = self._labels(chunk)
        n = chunk.rows
        scores = np.full((n, len(self.columns) - 1), np.nan)
        if self.binary:
            scores[:, 0] = p.numbers
        if p.probabilities is not None:
            for i, row in enumerate(p.probabilities):
                if row is not None and set(row) <= set(self.index):
                    vec = [row.get(c, 0.0) for c in self.classes]
                    scores[i] = vec[1] if self.binary else vec
        ok = (labels >= 0) & np.all(np.isfinite(scores), axis=1)
        if not ok.any():
            return
        keys = splitmix64(np.flatnonzero(ok).astype(np.uint64) + U64(chunk.start)) ^ _SALT
        self.columns[0].add(keys, labels[ok].astype(np.float64))
        for j, col in enumerate(self.columns[1:]):
            col.add(keys, scores[ok, j])

    def merge(self, other: CalibrationAcc) -> None:
        """Add another split's sample (the same bottom-k keys: exact)."""
        for mine, theirs in zip(self.columns, other.columns, strict=True):
            mine.merge(theirs)

    def _labels(self, chunk: Chunk) -> NDArray[np.int64]:
        lab = chunk.predictions[self.config.label_column]
        out = np.full(chunk.rows, -1, dtype=np.int64)
        for i, (num, name) in enumerate(zip(lab.numbers.tolist(), lab.classes.tolist(),
                                            strict=True)):
            key = name if name is not None else (None if num != num else class_name(num))
            if key is not None:
                out[i] = self.index.get(key, -1)
        return out

    def finish(self) -> Calibration | None:
        first = self.columns[0]
        if not first.keys.size:
            return None
        order = [np.argsort(c.keys, kind="stable") for c in self.columns]
        labels = first.values[order[0]].astype(np.int64)
        scores = np.column_stack([c.values[o] for c, o in
                                  zip(self.columns[1:], order[1:], strict=True)])
        if self.binary:
            return fit_binary(scores[:, 0], labels, self.classes)
        return fit_multiclass(scores, labels, self.classes)


def calibration_wanted(config: ModelConfig, available: set[str]) -> bool:
    """Whether a calibration can be fitted from a file with these columns."""
    return (config.prediction.kind == "classification" and len(config.prediction.classes) >= 2
            and config.prediction_column in available and config.label_column in available
            and config.label_column not in {f.name for f in config.features})
