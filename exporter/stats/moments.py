"""Running count, mean, variance, minimum and maximum over a stream of batches.

Each batch's own mean and sum of squared deviations M2 are merged into the running ones
(Chan, Golub & LeVeque, "Algorithms for computing the sample variance", 1979):

    δ = mean_b − mean,  mean ← mean + δ·n_b/n,  M2 ← M2 + M2_b + δ²·n_a·n_b/n

which stays accurate where Σx² − n·mean² cancels (values far from zero), whatever the
batch sizes. Used by the profile builder and by ``mlmon batch``'s streaming columns
and regression metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass
class Moments:
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0  # Σ (x − mean)²
    min: float = math.inf
    max: float = -math.inf

    def add(self, x: NDArray[np.float64]) -> None:
        """Merge a batch of finite values (an empty batch changes nothing)."""
        n_b = int(x.size)
        if n_b == 0:
            return
        mean_b = float(x.mean())
        m2_b = float(np.square(x - mean_b).sum())
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * self.n * n_b / n
        self.n = n
        self.min = min(self.min, float(x.min()))
        self.max = max(self.max, float(x.max()))

    @property
    def std(self) -> float:
        """Population standard deviation √(M2/n); NaN when empty."""
        return math.sqrt(self.m2 / self.n) if self.n else math.nan
