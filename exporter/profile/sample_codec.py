"""Binary encoding of a sorted reference sample (profile schema 2), lossless to the bit.

Two codecs; the encoder keeps the smaller. Both delta-encode the sorted values as
64-bit integers, shuffle the bytes (all first bytes, then all second bytes, ...) so the
mostly-zero high bytes of small deltas form long runs, and compress with zlib:

``decimal``  values that are exactly ``k / 10**scale`` for integers ``|k| < 2**53`` (what
             a CSV with a fixed number of decimals gives): the numerators ``k``.
``float``    any other values: the float64 bit patterns mapped to integers that sort like
             the floats (sign bit set for positives, all bits flipped for negatives).

The encoded object is ``{"codec", "count", "scale" (decimal only), "data"}`` with ``data``
the base64 of the compressed little-endian bytes.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

SIGN = np.uint64(1 << 63)
MAX_SCALE = 15
EXACT = 2.0**53
KEPT_MANTISSA_BITS = 36  # of float64's 52: see ``compact``
FloatArray = NDArray[np.float64]
U64Array = NDArray[np.uint64]


class SampleError(ValueError):
    """An encoded sample that cannot be decoded; the message says why."""


def _pack(deltas: U64Array) -> str:
    shuffled = deltas.astype("<u8").view(np.uint8).reshape(-1, 8).T.tobytes()
    return base64.b64encode(zlib.compress(shuffled, 9)).decode("ascii")


def _unpack(data: str, count: int) -> U64Array:
    try:
        raw = zlib.decompress(base64.b64decode(data.encode("ascii"), validate=True))
    except (binascii.Error, zlib.error, UnicodeEncodeError) as exc:
        raise SampleError(f"data is not base64 of zlib-compressed bytes ({exc})") from None
    if len(raw) != 8 * count:
        raise SampleError(f"data holds {len(raw)} bytes, expected 8 x count = {8 * count}")
    shuffled = np.frombuffer(raw, dtype=np.uint8).reshape(8, count)
    return np.ascontiguousarray(shuffled.T).view("<u8").reshape(count).astype(np.uint64)


def _deltas(keys: U64Array) -> U64Array:
    out: U64Array = np.diff(keys, prepend=np.uint64(0))  # wraps modulo 2**64
    return out


def _sortable(values: FloatArray) -> U64Array:
    bits = values.astype(np.float64).view(np.uint64)
    out: U64Array = np.where(bits & SIGN, ~bits, bits | SIGN)
    return out


def _unsortable(keys: U64Array) -> FloatArray:
    bits = np.where(keys & SIGN, keys & ~SIGN, ~keys)
    out: FloatArray = bits.astype(np.uint64).view(np.float64)
    return out


def decimal_scale(values: FloatArray) -> int | None:
    """The smallest ``scale`` with every value exactly ``k / 10**scale``, else None."""
    bits = values.view(np.uint64)
    for scale in range(MAX_SCALE + 1):
        k = np.round(values * 10.0**scale)
        if k.size and not np.all(np.abs(k) < EXACT):
            return None
        if np.array_equal((k / 10.0**scale).view(np.uint64), bits):
            return scale
    return None


def compact(sample: FloatArray, bits: int = KEPT_MANTISSA_BITS) -> FloatArray:
    """The sorted sample rounded to ``bits`` mantissa bits, where that loses nothing that counts.

    Reference values that are not exact decimals (``decimal_scale`` is None) carry ~40 bits
    of noise each that no compressor removes; rounding the 52-bit mantissa to nearest at
    36 bits (relative error ≤ 2⁻³⁷ ≈ 7.3e-12, 10,000× finer than float32) shrinks the encoded
    sample by a third. The values are returned unchanged when they are exact decimals (the
    ``decimal`` codec stores them smaller as they are), when rounding would merge two
    distinct values (KS sees ties where there were none) or make one non-finite. The
    profile builder applies this before hashing, so a built profile and its file agree.
    """
    values = np.asarray(sample, dtype=np.float64)
    if values.size == 0 or not 0 < bits < 52 or decimal_scale(values) is not None:
        return values
    drop = 52 - bits
    raw = values.view(np.uint64)
    rounded = ((raw + np.uint64(1 << (drop - 1))) & ~np.uint64((1 << drop) - 1)).view(
        np.float64)
    if not np.all(np.isfinite(rounded)):
        return values
    if np.count_nonzero(np.diff(rounded)) != np.count_nonzero(np.diff(values)):
        return values
    out: FloatArray = rounded
    return out


def encode_sample(sample: tuple[float, ...] | FloatArray) -> dict[str, Any]:
    """The JSON object of a sorted sample: the smaller of the two codecs."""
    values = np.asarray(sample, dtype=np.float64)
    count = int(values.size)
    best: dict[str, Any] = {"codec": "float", "count": count,
                            "data": _pack(_deltas(_sortable(values)))}
    scale = decimal_scale(values)
    if scale is not None:
        k = np.round(values * 10.0**scale).astype(np.int64).view(np.uint64)
        data = _pack(_deltas(k))
        if len(data) <= len(best["data"]):
            best = {"codec": "decimal", "count": count, "scale": scale, "data": data}
    return best


def decode_sample(codec: str, count: int, scale: int | None, data: str) -> FloatArray:
    """The float64 values of an encoded sample; raises SampleError."""
    if codec not in ("float", "decimal"):
        raise SampleError(f"unknown codec {codec!r} (allowed: decimal, float)")
    if (scale is None) != (codec == "float"):
        raise SampleError("'scale' is required with codec 'decimal' and only with it")
    if scale is not None and not 0 <= scale <= MAX_SCALE:
        raise SampleError(f"scale {scale} is outside 0..{MAX_SCALE}")
    keys = np.cumsum(_unpack(data, count), dtype=np.uint64)
    if scale is None:
        values = _unsortable(keys)
    else:
        k = keys.view(np.int64)
        if not np.all(np.abs(k) < EXACT):
            raise SampleError("a numerator is not below 2**53 in magnitude")
        values = k.astype(np.float64) / 10.0**scale
    if not np.all(np.isfinite(values)):
        raise SampleError("a value is not finite")
    return values
