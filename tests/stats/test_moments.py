"""exporter.stats.moments: running moments against numpy over the whole array."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exporter.stats.moments import Moments


@pytest.mark.parametrize("offset", [0.0, 1e6, 1e9])
def test_merged_batches_equal_numpy_over_everything(offset: float) -> None:
    rng = np.random.default_rng(1)
    x = offset + rng.normal(size=10_007)
    m = Moments()
    for part in np.array_split(x, [1, 2, 500, 501, 7_000]):  # uneven, one of a single value
        m.add(part)
    assert m.n == x.size
    assert m.mean == pytest.approx(float(np.mean(x)), rel=1e-15, abs=1e-12)
    assert m.std == pytest.approx(float(np.std(x)), rel=1e-9)
    assert (m.min, m.max) == (float(x.min()), float(x.max()))


def test_empty_batches_change_nothing_and_empty_std_is_nan() -> None:
    m = Moments()
    m.add(np.empty(0))
    assert m.n == 0 and math.isnan(m.std) and (m.min, m.max) == (math.inf, -math.inf)
    m.add(np.array([2.0, 4.0]))
    m.add(np.empty(0))
    assert (m.n, m.mean, m.m2, m.std) == (2, 3.0, 2.0, 1.0)
