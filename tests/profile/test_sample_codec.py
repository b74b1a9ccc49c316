"""exporter.profile.sample_codec.compact: rounding that keeps what KS and the codec need."""

from __future__ import annotations

import numpy as np

from exporter.profile.sample_codec import compact, decode_sample, encode_sample


def test_compact_rounds_noisy_floats_to_36_mantissa_bits_and_shrinks_them() -> None:
    x = np.sort(np.random.default_rng(0).normal(size=10_000))
    got = compact(x)
    assert np.max(np.abs(got - x) / np.abs(x)) <= 2.0**-37  # round to nearest at 36 bits
    assert np.all(got.view(np.uint64) & np.uint64((1 << 16) - 1) == 0)
    assert np.unique(got).size == np.unique(x).size and np.all(np.diff(got) >= 0)
    assert len(encode_sample(got)["data"]) < 0.7 * len(encode_sample(x)["data"])
    back = decode_sample("float", got.size, None, encode_sample(got)["data"])
    assert np.array_equal(back.view(np.uint64), got.view(np.uint64))


def test_compact_keeps_exact_decimals_and_values_it_would_merge() -> None:
    dec = np.sort(np.round(np.random.default_rng(1).normal(size=1_000), 3))
    assert np.array_equal(compact(dec), dec)
    close = np.array([1.0, 1.0 + 2.0**-50, 2.0 + 1e-13])  # 1.0 and its neighbour would merge
    assert np.array_equal(compact(close).view(np.uint64), close.view(np.uint64))
    big = np.array([np.finfo(np.float64).max * (1 - 2.0**-53), np.finfo(np.float64).max])
    assert np.array_equal(compact(big), big)  # rounding up would overflow to inf
