"""A numeric column in bounded memory: exact counts and moments, values up to the cap,
then the bottom-k sample by the SplitMix64 hash of the row, recomputed here in plain ints."""

from __future__ import annotations

import numpy as np
import pytest

from exporter.batch.column import ColumnAcc, NumericColumn, row_keys

MASK = (1 << 64) - 1


def splitmix64(x: int) -> int:
    """Steele, Lea & Flood (2014), the SplitMix64 finalizer, in Python integers."""
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def bottom_k_rows(values: np.ndarray, k: int) -> list[int]:
    """The rows (with a value) of the k smallest hashes of their 0-based row number."""
    rows = [i for i in range(len(values)) if not np.isnan(values[i])]
    return sorted(rows, key=splitmix64)[:k]


def feed(values: np.ndarray, edges: np.ndarray | None, cap: int, chunk: int) -> NumericColumn:
    acc = ColumnAcc(edges, cap)
    for start in range(0, len(values), chunk):
        part = values[start:start + chunk]
        acc.update(part, row_keys(start, len(part)))
    return acc.finish()


def data(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(1e6, 3.0, n)  # a large offset: the moments must not lose it
    x[rng.random(n) < 0.1] = np.nan
    return x


def test_row_keys_are_splitmix64_of_the_row_number() -> None:
    assert row_keys(1000, 5).tolist() == [splitmix64(r) for r in range(1000, 1005)]


def test_within_the_cap_every_value_in_file_order() -> None:
    x = data(500)
    col = feed(x, np.array([1e6 - 1, 1e6, 1e6 + 1]), cap=1000, chunk=37)
    finite = x[~np.isnan(x)]
    assert not col.sampled
    assert col.values.tolist() == finite.tolist()
    assert (col.count, col.missing) == (finite.size, int(np.isnan(x).sum()))


@pytest.mark.parametrize("chunk", [1, 53, 4000])
def test_beyond_the_cap_the_bottom_k_sample_and_exact_counts_and_moments(chunk: int) -> None:
    x = data(4000)
    edges = np.array([1e6 - 2, 1e6, 1e6 + 0.5, 1e6 + 4])
    col = feed(x, edges, cap=300, chunk=chunk)
    finite = x[~np.isnan(x)]
    assert col.sampled and col.count == finite.size and col.missing == x.size - finite.size
    assert sorted(col.values.tolist()) == sorted(x[bottom_k_rows(x, 300)].tolist())
    expected = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=5)
    assert col.counts is not None and col.counts.tolist() == expected.tolist()
    assert col.mean == pytest.approx(np.mean(finite), rel=1e-14)
    assert col.std == pytest.approx(np.std(finite), rel=1e-9)
    assert (col.min, col.max) == (finite.min(), finite.max())


def test_an_empty_column() -> None:
    col = feed(np.full(10, np.nan), None, cap=5, chunk=3)
    assert (col.count, col.missing, col.sampled, col.counts) == (0, 10, False, None)
    assert np.isnan(col.mean) and np.isnan(col.std)
