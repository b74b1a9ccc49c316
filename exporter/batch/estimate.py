"""Estimated performance without labels (CBPE) of a batch file, streamed chunk by chunk.

The classes come from the model's config (classification) or, without a config, from
the profile's calibration section; the calibration maps from the profile (raw scores
without them). With neither, a labelled file whose task ``exporter.batch.perf`` infers to
be binary scores (classes 0/1) gets the raw-score estimate: it is collected on speculation
and dropped when the task turns out otherwise. Binary: the score P(classes[1]) (a
number, or the probability of classes[1] in a probability object); multi-class:
probability objects. Only sums are
kept (``exporter.stats.cbpe.ExpectedSums``), so memory does not grow with the file. As
in the sidecar, no estimate below ``min_samples`` scored rows. The sums are integers (fixed
point), a function of each row alone: ``merge`` of any split's collectors is exact.
"""

from __future__ import annotations

import numpy as np

from exporter.batch.perf import Task
from exporter.config.model import ModelConfig
from exporter.profile.model import CategoricalProfile, Profile
from exporter.readers.chunks import Chunk
from exporter.stats.calibration import Calibration
from exporter.stats.cbpe import Estimate, ExpectedSums


class EstimateCollector:
    def __init__(self, classes: tuple[str, ...], calibration: Calibration | None,
                 prediction_column: str, min_samples: int, speculative: bool = False) -> None:
        self.speculative = speculative  # binary 0/1 scores unless the inferred task says not
        self.classes = classes
        self.calibration = calibration
        self.column = prediction_column
        self.min_samples = min_samples
        self.binary = len(classes) == 2
        self.sums = ExpectedSums(binary=self.binary, calibrated=calibration is not None)

    @classmethod
    def make(cls, profile: Profile, model: ModelConfig | None, prediction_column: str | None,
             min_samples: int, labelled: bool = False) -> EstimateCollector | None:
        """A collector when the model is a classifier with known classes (or, without a
        config, may turn out to be binary scores), else None."""
        if prediction_column is None:
            return None
        if model is None and profile.calibration is None:
            if not labelled or isinstance(profile.prediction, CategoricalProfile):
                return None
            return cls(("0", "1"), None, prediction_column, min_samples, speculative=True)
        cal = profile.calibration
        if model is not None:
            if model.prediction.kind != "classification" or len(model.prediction.classes) < 2:
                return None
            classes = model.prediction.classes
            if cal is not None and cal.classes != classes:
                cal = None
        elif cal is not None:
            classes = cal.classes
        else:
            return None
        return cls(classes, cal, prediction_column, min_samples)

    def fresh(self) -> EstimateCollector:
        """An empty collector with the same classes and maps (one per analysis chunk)."""
        return EstimateCollector(self.classes, self.calibration, self.column, self.min_samples,
                                 self.speculative)

    def confirmed(self, task: Task | None) -> bool:
        """Whether the estimate applies: always, unless collected on speculation and the
        inferred task is not binary scores."""
        return not self.speculative or (task is not None and task.scores
                                         and task.classes == self.classes)

    def update(self, chunk: Chunk) -> None:
        p = chunk.predictions.get(self.column)
        if p is None or chunk.rows == 0:
            return
        k = len(self.classes)
        probs = p.probabilities
        if self.binary:
            scores = p.numbers.copy()
            if probs is not None:
                for i, row in enumerate(probs):
                    if row is not None and set(row) <= set(self.classes):
                        scores[i] = row.get(self.classes[1], 0.0)
            self.sums.add_binary(scores, self.calibration)
            return
        if probs is None:
            return
        rows = np.full((chunk.rows, k), np.nan)
        for i, row in enumerate(probs):
            if row is not None and set(row) <= set(self.classes):
                rows[i] = [row.get(c, 0.0) for c in self.classes]
        self.sums.add_proba(rows, self.calibration)

    def merge(self, other: EstimateCollector) -> None:
        """Add the sums of ``other`` (same classes and maps): exact integer sums."""
        a, b = self.sums, other.sums
        a.n += b.n
        a.correct += b.correct
        a.tp += b.tp
        a.fp += b.fp
        a.fn += b.fn
        a.tn += b.tn

    def estimate(self) -> Estimate | None:
        est = self.sums.estimate()
        return est if est.samples and est.samples >= self.min_samples else None
