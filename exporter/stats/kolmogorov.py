"""Survival function of the two-sided one-sample Kolmogorov statistic D_n for finite n.

``kstwo_sf(d, n)`` = P(D_n ≥ d), D_n = sup_x |F_n(x) − F(x)| for n i.i.d. draws from a
continuous F; the value ``scipy.stats.kstwo.sf(d, n)`` gives, computed without scipy
(importing ``scipy.stats`` costs ~1.2 s and ~50 MB, ``scipy.special`` alone ~0.2 s).
``kstwobign_sf(x)`` is its limit P(√n·D_n ≥ x) as n → ∞, ``scipy.stats.kstwobign.sf``.

The (n, d) plane is split as Simard & L'Ecuyer (2011), "Computing the Two-Sided
Kolmogorov–Smirnov Distribution", J. Stat. Softw. 39(11), recommend, with the same
cut-offs as scipy (so the approximations agree with scipy where the paper approximates).
t = n·d, s = n·d²:

1. d ≤ 0: 1; d ≥ 1: 0; t ≤ 1/2: 1 (D_n ≥ 1/(2n) always).
2. 1/2 < t ≤ 1 (Ruben & Gambino 1982): P(D_n ≤ d) = n!/nⁿ · (2t − 1)ⁿ, p = 1 − that.
3. t ≥ n − 1 (Ruben & Gambino 1982): p = 2(1 − d)ⁿ, exact.
4. d ≥ 1/2: the events D⁺ ≥ d and D⁻ ≥ d are disjoint, so p = 2·P(D⁺_n ≥ d), exact;
   P(D⁺_n ≥ d) is the one-sided Smirnov survival (Birnbaum & Tingey 1951), see
   ``exporter.stats.smirnov``.
5. n ≤ 140: s ≤ 4: p = 1 − P(D_n < d) by the Durbin (1973) matrix method as given by
   Marsaglia, Tsang & Wang (2003) (exact up to round-off); s > 4: p = 2·P(D⁺_n ≥ d)
   (Miller 1956; it drops P(D⁺ ≥ d, D⁻ ≥ d)).
6. n > 140: s ≥ 370: p = 0 (the true value is below 2·e^{−740} ≈ 1e-321);
   2.2 ≤ s < 370: p = 2·P(D⁺_n ≥ d); s < 2.2 (p > 0.02): p = 1 − P(D_n < d) with the
   Durbin matrix when n ≤ 100,000 and n·d^{3/2} ≤ 1.4 (the matrix is at most 117 × 117),
   otherwise with the Pelz & Good (1976) asymptotic series to order n^{−3/2}:
   P(D_n ≤ z/√n) ≈ K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^{3/2} (``pelz_good_cdf``).

Durbin matrix: with k = ⌊n·d⌋ + 1, h = k − n·d ∈ (0, 1] and m = 2k − 1, let H be the
m × m matrix H_ij = 1/(i − j + 1)! (0 when i − j + 1 < 0), except the first column
H_i1 = (1 − hⁱ)/i!, the last row H_mj = (1 − h^{m−j+1})/(m − j + 1)! and
H_m1 = (1 − 2hᵐ + max(0, 2h − 1)ᵐ)/m!; then P(D_n < d) = n!/nⁿ · (Hⁿ)_kk. Hⁿ is taken by
repeated squaring with power-of-two rescaling (exact), and n!/nⁿ in log space.

Regions 5 and 6 approximate where the paper (and scipy) do: measured against the exact
Durbin matrix, the doubled one-sided survival errs by up to ~8e-5 relative just above
n·d² = 4 (n ≤ 140) and ~2e-6 just above n·d² = 2.2 (n > 140), Pelz–Good by up to
~2e-5 at n = 141 (less than 1e-10 at n = 20,000). They are kept so that the p-values
stay those of ``scipy.stats.ks_2samp(method="asymp")``.

Agreement with scipy.stats.kstwo.sf (tests/stats/test_kolmogorov.py, dense grid of n
from 1 to 20,000 and beyond and d across (0, 1)): < 1e-9 relative, with
"relative" = |a − b| / max(|a|, |b|, 1e-300) so that values below 1e-300 compare
absolutely. Pure: math and numpy only.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from exporter.stats.smirnov import smirnov
from exporter.stats.special import STIRLING

KOLMOG_CUTOVER = 0.82  # where kstwobign_sf switches series, as scipy
_KOLMOG_MIN = math.pi / math.sqrt(8.0 * 746.0)  # below: every term underflows, P(K ≥ x) = 1
SMALL_N = 140  # Simard & L'Ecuyer's bound between the "small n" and "large n" schemes
DURBIN_MAX_N = 100_000
_LN2 = np.log(np.longdouble(2.0))


def smirnov_sf(n: int, d: float) -> float:
    """One-sided P(D⁺_n ≥ d), 0 < d < 1: ``exporter.stats.smirnov.smirnov`` (the
    Birnbaum & Tingey sum, as ``scipy.special.smirnov``)."""
    return smirnov(n, d)


def log_factorial_over_power(n: int) -> np.longdouble:
    """ln(n!/nⁿ) in extended precision. For n ≥ 10 Stirling's series
    ln(n!/nⁿ) = −n + ½ln(2πn) + Σ_{k=1}^{7} B_{2k} / (2k(2k − 1) n^{2k−1})
    (Bernoulli numbers B_{2k}; the next term is below 3e-17 at n = 10), so the large −n
    stays exact; ln Γ(n + 1) − n ln n below 10."""
    if n < 10:
        return np.longdouble(math.lgamma(n + 1.0) - n * math.log(n))
    x = float(n)
    series = sum(c / x ** (2 * k - 1) for k, c in enumerate(STIRLING, start=1))
    return np.longdouble(-n) + np.longdouble(0.5 * math.log(2.0 * math.pi * x) + series)


def _durbin_matrix(h: float, m: int) -> NDArray[np.float64]:
    idx = np.arange(m)
    lag = idx[:, None] - idx[None, :] + 1  # i − j + 1
    inv_fact = np.exp(-np.array([math.lgamma(i + 1.0) for i in range(m + 1)]))  # 1/i!
    mat = np.where(lag >= 0, inv_fact[np.clip(lag, 0, m)], 0.0)
    h_pow = h ** np.arange(1, m + 1, dtype=np.float64)  # h¹ … hᵐ
    mat[:, 0] -= h_pow * inv_fact[1:]
    mat[m - 1, :] -= h_pow[::-1] * inv_fact[m - idx]
    mat[m - 1, 0] += max(0.0, 2.0 * h - 1.0) ** m * inv_fact[m]
    return np.asarray(mat, dtype=np.float64)


def _rescaled(mat: NDArray[np.float64]) -> tuple[NDArray[np.float64], int]:
    exponent = math.frexp(float(np.max(np.abs(mat))))[1]
    return np.ldexp(mat, -exponent), exponent


def durbin_cdf(n: int, d: float) -> float:
    """P(D_n < d) by the Durbin matrix method (module doc), for 1/n < d < 1."""
    k = math.floor(n * d) + 1
    m = 2 * k - 1
    base, base_exp = _durbin_matrix(k - n * d, m), 0
    acc: NDArray[np.float64] | None = None
    acc_exp = 0
    power = n
    while True:
        if power & 1:
            if acc is None:
                acc, acc_exp = base.copy(), base_exp
            else:
                acc, shift = _rescaled(acc @ base)
                acc_exp += base_exp + shift
        power >>= 1
        if power == 0:
            break
        base, shift = _rescaled(base @ base)
        base_exp = 2 * base_exp + shift
    assert acc is not None
    corner = float(acc[k - 1, k - 1])
    if corner <= 0.0:
        return 0.0
    log_p = log_factorial_over_power(n) + np.longdouble(acc_exp) * _LN2
    return float(np.exp(log_p + np.longdouble(math.log(corner))))


def pelz_good_cdf(n: int, d: float) -> float:
    """P(D_n ≤ d) by the Pelz & Good (1976) series (Simard & L'Ecuyer 2011, §2.3).

    With z = d√n, w = π²/(2z²), and sums over u = k + ½ (k ≥ 0) and v = k (k ≥ 1):
    K₀ = √(2π)/z Σ_u e^{−u²w}
    K₁ = √(π/2)/(3z⁴) Σ_u (π²u² − z²) e^{−u²w}
    K₂ = √(π/2)/(36z⁷) Σ_u (6z⁶ + 2z⁴ + π²(2z⁴ − 5z²)u² + π⁴(1 − 2z²)u⁴) e^{−u²w}
         − √(π/2)/(18z³) Σ_v π²v² e^{−v²w}
    K₃ = √(π/2)/(3240z¹⁰) Σ_u (−30z⁶ − 90z⁸ + π²(135z⁴ − 96z⁶)u² + π⁴(212z⁴ − 60z²)u⁴
         + π⁶(5 − 30z²)u⁶) e^{−u²w} + √(π/2)/(108z⁶) Σ_v (3π²v²z² − π⁴v⁴) e^{−v²w}
    P ≈ K₀ + K₁/√n + K₂/n + K₃/n^{3/2}. 40 terms: e^{−u²w} < 1e-300 beyond for z < 1.5.
    """
    z = d * math.sqrt(n)
    z2 = z * z
    pi2 = math.pi**2
    w = pi2 / (2.0 * z2)
    u2 = (np.arange(40, dtype=np.float64) + 0.5) ** 2
    v2 = np.arange(1, 41, dtype=np.float64) ** 2
    eu = np.exp(-u2 * w)
    ev = np.exp(-v2 * w)
    root_half_pi = math.sqrt(math.pi / 2.0)
    k0 = math.sqrt(2.0 * math.pi) / z * float(np.sum(eu))
    k1 = root_half_pi / (3.0 * z2**2) * float(np.sum((pi2 * u2 - z2) * eu))
    poly2 = (6.0 * z2**3 + 2.0 * z2**2 + pi2 * (2.0 * z2**2 - 5.0 * z2) * u2
             + pi2**2 * (1.0 - 2.0 * z2) * u2**2)
    k2 = root_half_pi / (36.0 * z**7) * float(np.sum(poly2 * eu)) \
        - root_half_pi / (18.0 * z**3) * float(np.sum(pi2 * v2 * ev))
    poly3 = (-30.0 * z2**3 - 90.0 * z2**4 + pi2 * (135.0 * z2**2 - 96.0 * z2**3) * u2
             + pi2**2 * (212.0 * z2**2 - 60.0 * z2) * u2**2
             + pi2**3 * (5.0 - 30.0 * z2) * u2**3)
    k3 = root_half_pi / (3240.0 * z2**5) * float(np.sum(poly3 * eu)) \
        + root_half_pi / (108.0 * z2**3) * float(np.sum((3.0 * pi2 * v2 * z2 - pi2**2 * v2**2)
                                                        * ev))
    root_n = math.sqrt(n)
    return k0 + k1 / root_n + k2 / n + k3 / (n * root_n)


Region = Literal["d_at_least_1", "t_at_most_half", "ruben_gambino_low", "ruben_gambino_high",
                 "smirnov_exact", "durbin", "smirnov_doubled", "underflow", "pelz_good"]


def region(d: float, n: int) -> Region:
    """Which formula ``kstwo_sf`` uses at (d, n); the numbers refer to the module doc."""
    t = n * d
    if d >= 1.0:
        return "d_at_least_1"  # 1.
    if t <= 0.5:
        return "t_at_most_half"  # 1.
    if t <= 1.0:
        return "ruben_gambino_low"  # 2.
    if t >= n - 1:
        return "ruben_gambino_high"  # 3.
    if d >= 0.5:
        return "smirnov_exact"  # 4.
    s = t * d
    if n <= SMALL_N:  # 5.
        return "durbin" if s <= 4.0 else "smirnov_doubled"
    if s >= 370.0:  # 6.
        return "underflow"
    if s >= 2.2:
        return "smirnov_doubled"
    if n <= DURBIN_MAX_N and n * d**1.5 <= 1.4:
        return "durbin"
    return "pelz_good"


def kstwobign_sf(x: float) -> float:
    """Limiting Kolmogorov survival P(K ≥ x) = lim P(√n·D_n ≥ x) (Kolmogorov 1933), as
    ``scipy.special.kolmogorov`` (= ``scipy.stats.kstwobign.sf``): 2 Σ (−1)^{k−1} e^{−2k²x²}
    above 0.82, and 1 − √(2π)/x Σ_{k odd} e^{−k²π²/(8x²)} (the theta-function form, whose
    terms fall fast for small x) below."""
    x = float(x)
    if math.isnan(x):
        return math.nan
    if x <= _KOLMOG_MIN:
        return 1.0
    if x <= KOLMOG_CUTOVER:
        w = -math.pi**2 / (8.0 * x * x)
        total, k = 0.0, 1
        while True:
            term = math.exp(w * k * k)
            total += term
            if term <= 1e-18 * total:
                break
            k += 2
        return _clip(1.0 - math.sqrt(2.0 * math.pi) / x * total)
    w = -2.0 * x * x
    total, sign, k = 0.0, 1.0, 1
    while True:
        term = math.exp(w * k * k)
        total += sign * term
        if term <= 1e-18 * total:
            break
        sign, k = -sign, k + 1
    return _clip(2.0 * total)


def kstwo_sf(d: float, n: int) -> float:
    """P(D_n ≥ d) for the two-sided Kolmogorov statistic, n ≥ 1 (regions: module doc)."""
    if n < 1:
        raise ValueError(f"kstwo_sf needs n >= 1, got {n}")
    where = region(d, n)
    if where in ("d_at_least_1", "underflow"):
        return 0.0
    if where == "t_at_most_half":
        return 1.0
    if where == "ruben_gambino_low":
        log_cdf = log_factorial_over_power(n) + n * np.log(np.longdouble(2.0 * n * d - 1.0))
        return _clip(1.0 - float(np.exp(log_cdf)))
    if where == "ruben_gambino_high":
        return _clip(2.0 * (1.0 - d) ** n)
    if where in ("smirnov_exact", "smirnov_doubled"):
        return _clip(2.0 * smirnov_sf(n, d))
    if where == "durbin":
        return _clip(1.0 - durbin_cdf(n, d))
    return _clip(1.0 - pelz_good_cdf(n, d))


def _clip(p: float) -> float:
    return min(max(p, 0.0), 1.0)
