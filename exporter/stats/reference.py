"""The reference side of a drift comparison, as the statistics core takes it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exporter.stats.ecdf import check_sorted


@dataclass(frozen=True)
class NumericReference:
    """Checked once here, not on every compute: counts fit the edges, the sample is sorted."""

    edges: NDArray[np.float64]  # inner edges
    counts: NDArray[np.int64]  # len(edges) + 1
    sample_sorted: NDArray[np.float64]

    def __post_init__(self) -> None:
        if len(self.counts) != len(self.edges) + 1:
            raise ValueError(f"reference has {len(self.edges)} edges but {len(self.counts)} "
                             f"counts (expected {len(self.edges) + 1})")
        object.__setattr__(self, "counts", np.asarray(self.counts, dtype=np.int64))
        object.__setattr__(self, "sample_sorted",
                           check_sorted(self.sample_sorted, "reference sample"))


@dataclass(frozen=True)
class CategoricalReference:
    counts: NDArray[np.int64]  # per known category, then __other__ last
