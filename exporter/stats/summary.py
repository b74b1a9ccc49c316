"""Summary statistics of a window of values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@dataclass(frozen=True)
class Summary:
    count: int
    mean: float
    std: float  # population (ddof=0)
    min: float
    max: float
    quantiles: tuple[tuple[float, float], ...]


def summarize(values: NDArray[np.float64], quantiles: Sequence[float] = QUANTILES) -> Summary:
    """NaN are ignored; an empty input gives count 0 and NaN elsewhere."""
    raise NotImplementedError


def class_shares(counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Share of each class (zeros when empty)."""
    raise NotImplementedError
