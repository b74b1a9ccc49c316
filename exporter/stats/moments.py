"""Running count, mean, variance, minimum and maximum over a stream of batches, exactly.

The sums Σx and Σx² are kept exactly and rounded once when read, so the result does
not depend on how the values are split into batches, nor on the order in which
partial results are merged (``merge``): the profile builder's Spark engine merges
per-partition moments and must get the same bits as one pass over the file.

* Exact sums, vectorised: every finite double is x = m·2^(e−53) with an integer
  |m| < 2^53 (``frexp``). Per batch, m is split into m_hi·2^26 + m_lo and both halves
  are summed per exponent e in int64 (exact for up to 2^36 terms); the per-exponent
  sums are added into one Python integer T with Σ = T·2^−OFFSET. Integers add exactly
  and in any order.
* Σx² uses Dekker's exact product (Dekker, "A floating-point technique for extending
  the available precision", 1971; Veltkamp split): x² = p + e with p = fl(x·x) and
  e = ((hi·hi − p) + 2·hi·lo) + lo·lo exact for |x| in the normal range. The terms are
  a function of each value alone, so their exact sum does not depend on the batching.
* mean = Σx / n and M2 = Σx² − (Σx)²/n (= Σ(x − mean)²) are evaluated in exact rational
  arithmetic (``fractions.Fraction``) and rounded once, to the nearest float.

Values so large that x² overflows (|x| > 1.3e154) make M2 infinite; an inf or NaN makes
mean and M2 NaN (callers pass finite values). Used by the profile
builder and by ``mlmon batch``'s streaming columns and regression metrics.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

_SPLIT = 134217729.0  # 2**27 + 1 (Veltkamp split of a 53-bit significand)
OFFSET = 1200  # Σ = T·2^-OFFSET: covers the smallest subnormal, 2^-1074 = 1·2^(-1073-53)
_BLOCK = 1 << 20  # terms per int64 sum: far below the 2^36 that could overflow


def exact_sum(x: NDArray[np.float64]) -> int:
    """T with Σx = T·2^−OFFSET exactly (finite x)."""
    total = 0
    for i in range(0, x.size, _BLOCK):
        frac, exp = np.frexp(x[i:i + _BLOCK])
        m = (frac * 9007199254740992.0).astype(np.int64)  # ·2^53: the integer significand
        hi = m >> 26  # m = hi·2^26 + lo, |hi| < 2^27, 0 <= lo < 2^26: int64 sums are exact
        lo = m & 0x3FFFFFF
        base, top = int(exp.min()), int(exp.max())
        if base == top:  # one binade (common): no grouping
            total += ((int(hi.sum()) << 26) + int(lo.sum())) << (base - 53 + OFFSET)
            continue
        sum_hi = np.zeros(top - base + 1, dtype=np.int64)
        sum_lo = np.zeros(top - base + 1, dtype=np.int64)
        index = exp - base
        np.add.at(sum_hi, index, hi)
        np.add.at(sum_lo, index, lo)
        for k in np.flatnonzero(sum_hi | sum_lo).tolist():
            total += ((int(sum_hi[k]) << 26) + int(sum_lo[k])) << (base + k - 53 + OFFSET)
    return total


class ExactSum:
    """The sum of the finite terms added, kept as an exact integer (Σ = total·2^−OFFSET,
    ``exact_sum``) and rounded once when read: the same bits however the terms are split
    or merged."""

    def __init__(self) -> None:
        self.total = 0

    def add(self, terms: NDArray[np.float64]) -> None:
        self.total += exact_sum(terms[np.isfinite(terms)])

    def merge(self, other: ExactSum) -> None:
        self.total += other.total

    @property
    def value(self) -> float:
        return float(Fraction(self.total, 1 << OFFSET))


class Moments:
    """``add`` batches of finite values (or ``merge`` another); read n, mean, m2, std,
    min and max."""

    def __init__(self) -> None:
        self.n = 0
        self.min = math.inf
        self.max = -math.inf
        self._sum = 0  # Σx·2^OFFSET
        self._sq = 0  # Σx²·2^OFFSET
        self._sq_overflow = False  # some x² beyond the float range
        self._nonfinite = False  # an inf or NaN was added: mean and M2 are NaN

    def add(self, x: NDArray[np.float64]) -> None:
        """Add a batch of finite values (an empty batch changes nothing)."""
        if x.size == 0:
            return
        self.n += int(x.size)
        self.min = min(self.min, float(x.min()) + 0.0)  # -0.0 -> 0.0: order-free
        self.max = max(self.max, float(x.max()) + 0.0)
        if not np.isfinite(x).all():
            self._nonfinite = True
        if self._nonfinite:
            return
        self._sum += exact_sum(x)
        if self._sq_overflow:
            return
        with np.errstate(over="ignore", invalid="ignore"):
            p = x * x
            c = _SPLIT * x
            hi = c - (c - x)
            lo = x - hi
            e = ((hi * hi - p) + 2.0 * hi * lo) + lo * lo
        if not (np.isfinite(p).all() and np.isfinite(e).all()):
            self._sq_overflow = True
            return
        self._sq += exact_sum(p) + exact_sum(e)

    def merge(self, other: Moments) -> None:
        """Add the values ``other`` has seen: the same result as adding them here."""
        self.n += other.n
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self._sum += other._sum
        self._sq += other._sq
        self._sq_overflow = self._sq_overflow or other._sq_overflow
        self._nonfinite = self._nonfinite or other._nonfinite

    @property
    def mean(self) -> float:
        """Σx / n correctly rounded; 0.0 when empty; NaN after a non-finite value."""
        if self._nonfinite:
            return math.nan
        return float(Fraction(self._sum, self.n << OFFSET)) if self.n else 0.0

    @property
    def m2(self) -> float:
        """Σ (x − mean)² (exact mean), correctly rounded; inf after an overflow of x²."""
        if self._nonfinite:
            return math.nan
        if self._sq_overflow:
            return math.inf
        if not self.n:
            return 0.0
        # (Σx² − (Σx)²/n)·2^OFFSET = (sq·n·2^OFFSET − sum²) / (n·2^OFFSET), then /2^OFFSET
        num = self._sq * (self.n << OFFSET) - self._sum * self._sum
        return float(Fraction(max(num, 0), (self.n << OFFSET) << OFFSET))

    @property
    def std(self) -> float:
        """Population standard deviation √(M2/n); NaN when empty."""
        return math.sqrt(self.m2 / self.n) if self.n else math.nan
