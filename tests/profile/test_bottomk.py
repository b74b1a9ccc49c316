"""Bottom-k sampling keeps the k smallest keys, whatever the chunks it is fed in."""

from __future__ import annotations

import numpy as np
import pytest

from exporter.profile.bottomk import BottomK, splitmix64


@pytest.mark.parametrize("chunk", [1, 7, 100, 5000])
def test_the_k_smallest_keys_whatever_the_chunking(chunk: int) -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(0, 1, 5000)
    keys = splitmix64(np.arange(5000, dtype=np.uint64))
    sample = BottomK(300)
    for a in range(0, 5000, chunk):
        sample.add(keys[a:a + chunk], values[a:a + chunk])
    smallest = np.argsort(keys)[:300]
    assert sorted(sample.values.tolist()) == sorted(values[smallest].tolist())
    assert sorted(sample.keys.tolist()) == sorted(keys[smallest].tolist())


def test_up_to_k_values_all_kept_in_order() -> None:
    sample = BottomK(10)
    for a in range(0, 10, 3):
        x = np.arange(a, min(a + 3, 10), dtype=np.float64)
        sample.add(splitmix64(x.astype(np.uint64)), x)
    assert sample.values.tolist() == list(range(10))
