"""Change detection on a labelled file's error stream, in file order (``mlmon batch``).

The same Page-Hinkley test the sidecar runs on its joined labels
(``exporter.stats.errordrift``), over the rows that have both a label and a prediction, in
the order of the file. Which task the file is (named classes, scores of a binary
classifier, regression) is known only at its end (``exporter.batch.perf``), so one detector
per task still possible runs alongside, each O(max(min_instances, 1000)) memory (the
calibration errors it holds: ``exporter.stats.errordrift.WARMUP`` for classifiers); the
result is the one of the task ``performance`` reports. Detections are reported by their 0-based row
offset in the file (the first ``MAX_ROWS`` of them; all are counted).

The test is sequential (each row's statistic depends on every earlier row, and a
detection resets it), so it cannot be merged from summaries of row ranges. A collector
made with ``record=True`` (a Spark partition's) keeps its rows' error values and offsets
instead (one float and one integer per labelled row and stream); ``merge`` feeds them to
this collector's detectors, in row order: the same detections as one pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.batch.collect import keys
from exporter.batch.perf import THRESHOLD, Task
from exporter.config.model import ModelConfig
from exporter.readers.chunks import Chunk
from exporter.stats.errordrift import (
    DETECTOR,
    ErrorDrift,
    ErrorKind,
    PageHinkleyParams,
    default_params,
)

MAX_ROWS = 1000  # detection row offsets kept in the report


@dataclass(frozen=True)
class ErrorDriftResult:
    detector: str
    kind: ErrorKind
    params: PageHinkleyParams
    errors: int  # rows with a label and a prediction, fed in file order
    detections: int
    rows: tuple[int, ...]  # 0-based file row offsets of the detections (first MAX_ROWS)
    statistic: float  # the test's statistic after the last row


class _Stream:
    def __init__(self, kind: ErrorKind, model: ModelConfig | None, record: bool) -> None:
        cfg = model.error_drift if model is not None else None
        params = cfg.params(kind) if cfg is not None else default_params(kind)
        self.detector = ErrorDrift(kind, params)
        self.rows: list[int] = []
        self.recorded: list[tuple[NDArray[np.int64], NDArray[np.float64]]] | None = (
            [] if record else None)

    def feed(self, offsets: list[int], errors: list[float]) -> None:
        if self.recorded is not None:
            if offsets:
                self.recorded.append((np.asarray(offsets, dtype=np.int64),
                                      np.asarray(errors, dtype=np.float64)))
            return
        d = self.detector
        for at, e in zip(offsets, errors, strict=True):
            if d.update(e) and len(self.rows) < MAX_ROWS:
                self.rows.append(at)

    def merge(self, other: _Stream) -> None:
        if other.recorded is None:
            raise ValueError("only a recording error stream can be merged into another")
        if self.recorded is not None:
            self.recorded += other.recorded
            return
        for offsets, errors in other.recorded:
            self.feed(offsets.tolist(), errors.tolist())

    def result(self) -> ErrorDriftResult:
        d = self.detector
        return ErrorDriftResult(DETECTOR, d.kind, d.params, d.errors, d.detections,
                                tuple(self.rows), d.statistic)


class ErrorStreamCollector:
    """``update`` with every chunk (in file order); ``result(task)`` at the end."""

    def __init__(self, model: ModelConfig | None, prediction_column: str,
                 label_column: str, record: bool = False) -> None:
        self._prediction_column = prediction_column
        self._label_column = label_column
        kind = model.prediction.kind if model is not None else None
        classes = model.prediction.classes if model is not None else ("0", "1")
        self._classes = classes
        self._model = model
        self._named = (_Stream("classification", model, record) if kind != "regression"
                       else None)
        self._scores = (_Stream("classification", model, record)
                        if kind != "regression" and len(classes) == 2 else None)
        self._regression = (_Stream("regression", model, record) if kind != "classification"
                            else None)

    @classmethod
    def make(cls, model: ModelConfig | None, prediction_column: str | None,
             label_column: str | None) -> ErrorStreamCollector | None:
        """None without labels, or when the config turns error_drift off."""
        if prediction_column is None or label_column is None:
            return None
        if model is not None and not model.error_drift.enabled:
            return None
        return cls(model, prediction_column, label_column)

    def fresh(self, record: bool) -> ErrorStreamCollector:
        return ErrorStreamCollector(self._model, self._prediction_column, self._label_column,
                                    record)

    def merge(self, other: ErrorStreamCollector) -> None:
        """Feed (or keep) the recorded errors of ``other``, the rows after this one's."""
        for mine, theirs in ((self._named, other._named), (self._scores, other._scores),
                             (self._regression, other._regression)):
            if mine is not None and theirs is not None:
                mine.merge(theirs)

    def update(self, chunk: Chunk) -> None:
        p = chunk.predictions[self._prediction_column]
        y = chunk.predictions[self._label_column]
        truth = keys(y)
        start = chunk.start
        if self._named is not None:
            predicted = keys(p)
            rows = [i for i, (t, q) in enumerate(zip(truth, predicted, strict=True))
                    if t is not None and q is not None]
            self._named.feed([start + i for i in rows],
                             [float(truth[i] != predicted[i]) for i in rows])
        if self._scores is not None:
            c0, c1 = self._classes
            scores = p.numbers.tolist()
            rows = [i for i, (t, s) in enumerate(zip(truth, scores, strict=True))
                    if t is not None and not math.isnan(s)]
            self._scores.feed([start + i for i in rows],
                              [float(truth[i] != (c1 if scores[i] >= THRESHOLD else c0))
                               for i in rows])
        if self._regression is not None:
            ok = ~np.isnan(y.numbers) & ~np.isnan(p.numbers)
            self._regression.feed((np.flatnonzero(ok) + start).tolist(),
                                  np.abs(y.numbers[ok] - p.numbers[ok]).tolist())

    def result(self, task: Task) -> ErrorDriftResult | None:
        stream = (self._regression if task.kind == "regression"
                  else self._scores if task.scores else self._named)
        return None if stream is None else stream.result()


def error_drift_dict(r: ErrorDriftResult | None) -> dict[str, object] | None:
    """The JSON report's ``error_drift`` section."""
    if r is None:
        return None
    p = r.params
    return {"detector": r.detector, "errors": "0/1 misclassification / (max(0.3, sd of the "
            "warm-up error rate) / 0.3)" if r.kind == "classification"
            else "absolute error / calibration MAE (capped at 5)",
            "parameters": {"delta": p.delta, "threshold": p.threshold,
                           "min_instances": p.min_instances, "alpha": p.alpha},
            "labelled_rows": r.errors, "detections": r.detections,
            "detection_rows": list(r.rows), "statistic": r.statistic}


def error_drift_line(r: ErrorDriftResult | None) -> str | None:
    """One line for the text and HTML reports."""
    if r is None:
        return None
    p = r.params
    at = ", ".join(str(i) for i in r.rows[:20]) + (" …" if len(r.rows) > 20 else "")
    found = f"{r.detections} detection(s) at row(s) {at}" if r.detections else "no detection"
    return (f"error stream ({r.detector}, delta {p.delta:g}, threshold {p.threshold:g}, "
            f"min_instances {p.min_instances}, alpha {p.alpha:g}; {r.errors} labelled rows in "
            f"file order): {found}; statistic {r.statistic:.3g}")
