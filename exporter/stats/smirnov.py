"""One-sided Smirnov survival P(D⁺_n ≥ d), the building block of ``kolmogorov.kstwo_sf``.

For 0 < d < 1 and n ≤ 10⁶, the Birnbaum & Tingey (1951) sum, exact:

    P(D⁺_n ≥ d) = d Σ_{j=0}^{⌊n(1−d)⌋} C(n, j) p_j^{j−1} (1 − p_j)^{n−j},  p_j = d + j/n.

Each term is Binom(n, p_j)(j) / p_j, and the binomial probability is taken in the form
of Loader (2000), "Fast and accurate computation of binomial probabilities", so that no
large logarithms cancel (ln C(n, j) alone reaches 7e5 at n = 10⁶, where a double's
round-off is 1e-10): with t = n·d, j + t = n·p_j and n − j − t = n(1 − p_j),

    ln Binom = δ(n) − δ(j) − δ(n − j) − bd0(j, j + t) − bd0(n − j, n − j − t)
               − ½ ln(2π j (n − j)/n),

δ(k) = ln k! − (k + ½)ln k + k − ½ln 2π (Stirling's series from k = 16, exact below) and
bd0(x, m) = x ln(x/m) + m − x = x·ln(1 + (x − m)/m) − (x − m), whose round-off is that of
a number of size |x − m| = n·d. The terms are summed in blocks, in log space.

Above n = 10⁶ scipy (``scipy.special.smirnov``, which ``scipy.stats.kstwo`` and so
``ks_2samp(method="asymp")`` call) switches to Smirnov's approximation
P ≈ exp(−(6nd + 1)²/(18n)); it is used here too, so that the p-values stay scipy's.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from exporter.stats.special import LN_SQRT_2PI, STIRLING

EXACT_MAX_N = 1_000_000  # scipy's bound for the exact sum
_BLOCK = 1 << 15
_SMALL_K = 16
# δ(k) for k < 16 from ln k! (exact integers), Stirling's series above
_DELTA_SMALL = np.array([0.0] + [math.log(math.factorial(k)) - (k + 0.5) * math.log(k) + k
                                 - LN_SQRT_2PI for k in range(1, _SMALL_K)])


def _delta(k: NDArray[np.float64]) -> NDArray[np.float64]:
    """δ(k) = ln k! − (k + ½)ln k + k − ½ln 2π for integer-valued k ≥ 1.

    Since ln k! = ln k + ln Γ(k), δ(k) is Stirling's correction of ln Γ at k: its series,
    3 terms from k = 100 (the 4th is below 1e-17), 7 from k = 16, the table below 16.
    """
    if float(np.min(k)) >= 100.0:  # the usual case: no masks
        inv2 = 1.0 / (k * k)
        return np.asarray((STIRLING[0] + inv2 * (STIRLING[1] + inv2 * STIRLING[2])) / k,
                          dtype=np.float64)
    out = np.empty_like(k)
    small = k < _SMALL_K
    out[small] = _DELTA_SMALL[k[small].astype(np.int64)]
    for lo, hi, terms in ((_SMALL_K, 100.0, STIRLING), (100.0, math.inf, STIRLING[:3])):
        sel = (k >= lo) & (k < hi)
        if np.any(sel):
            ks = k[sel]
            inv2 = 1.0 / (ks * ks)
            acc = np.zeros_like(ks)
            for c in reversed(terms):
                acc = acc * inv2 + c
            out[sel] = acc / ks
    return out


def _bd0(x: NDArray[np.float64], m: NDArray[np.float64], diff: float) -> NDArray[np.float64]:
    """x ln(x/m) + m − x = x·ln(1 + diff/m) − diff for x, m > 0, diff = x − m.

    Its round-off is about 2e-16·|diff|: below 5e-12 wherever the sum is above 1e-300
    (there n·d² < 370, so |diff| = n·d < √(370·10⁶))."""
    return np.asarray(x * np.log1p(diff / m) - diff, dtype=np.float64)


def _log_terms(n: int, d: float, j: NDArray[np.float64]) -> NDArray[np.float64]:
    """ln of the Birnbaum–Tingey terms C(n, j) p_j^{j−1}(1 − p_j)^{n−j} for 1 ≤ j < n(1 − d)."""
    t = n * d
    rest = n - j  # n − j ≥ 1
    m_lo = j + t  # n·p_j
    m_hi = rest - t  # n(1 − p_j) > 0
    log_binom = (float(_delta(np.array([float(n)]))[0]) - _delta(j) - _delta(rest)
                 - _bd0(j, m_lo, -t) - _bd0(rest, m_hi, t)
                 - 0.5 * np.log((2.0 * math.pi / n) * j * rest))
    return np.asarray(log_binom - np.log(m_lo / n), dtype=np.float64)


def smirnov(n: int, d: float) -> float:
    """P(D⁺_n ≥ d): one-sided Smirnov survival, equal to ``scipy.special.smirnov(n, d)``."""
    if n < 1:
        raise ValueError(f"smirnov needs n >= 1, got {n}")
    if math.isnan(d):
        return math.nan
    if d <= 0.0:
        return 1.0
    if d >= 1.0:
        return 0.0
    if n > EXACT_MAX_N:
        return math.exp(-((6.0 * n * d + 1.0) ** 2) / (18.0 * n))
    last = math.floor(n * (1.0 - d))
    # j = 0: p_0 = d, the term is (1 − d)ⁿ / d
    logs = [np.array([n * math.log1p(-d) - math.log(d)])]
    for start in range(1, last + 1, _BLOCK):
        j = np.arange(start, min(start + _BLOCK, last + 1), dtype=np.float64)
        j = j[(n - j) - n * d > 0.0]  # 1 − p_j = 0 exactly: the term is 0
        if j.size:
            logs.append(_log_terms(n, d, j))
    top = max(float(np.max(block)) for block in logs)
    total = math.fsum(float(np.sum(np.exp(block - top))) for block in logs)
    return min(max(math.exp(top + math.log(d * total)), 0.0), 1.0)
