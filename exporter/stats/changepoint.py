"""Step change or trend: choose among four least-squares models by BIC.

Models of a series y over times t (n points, independent Gaussian errors of one variance):

=============  ==============================  ==============================
model          mean                            parameters k
=============  ==============================  ==============================
flat           a                               1
trend          a + b·t                         2
step           a + δ·[t ≥ τ]                   3 (a, δ and the change time τ)
step+trend     a + b·t + δ·[t ≥ τ]             4 (a, b, δ, τ)
=============  ==============================  ==============================

Each is scored by the Schwarz criterion BIC = n_eff·ln(RSS/n) + k·ln(n_eff) (Schwarz 1978,
*Ann. Statist.* 6:461); counting the change time as a parameter is Yao's change-point BIC
(Yao 1988, *Statist. Probab. Lett.* 6:181). The lowest BIC wins, ties to the simpler model.

Monitoring series are serially correlated (a PSI over a sliding window changes little from
one sample to the next), and with n independent points in the BIC nearly every such series
would be a "step". So n is replaced by the effective number of independent points
n_eff = n·(1 − r₁)/(1 + r₁) (Bayley & Hammersley 1946, *JRSS Suppl.* 8:184; as used for
trends by Santer et al. 2000, *J. Geophys. Res.* 105:7337), r₁ the lag-1 autocorrelation
of the step+trend model's residuals (the richest model, so that a real step or trend does
not count as correlation), clipped to [0, 0.95]. For independent noise r₁ ≈ 0 and this is the
plain BIC.

The change time minimises the RSS over every split with at least ``MIN_SEGMENT`` points on
each side, scanned in O(n) with cumulative sums, m points from the split on:

* step: RSS(τ) = SST − n·S² / (m·(n − m)), S = Σ_{i≥τ}(yᵢ − ȳ) (the two-mean / CUSUM form,
  Hinkley 1970, *Biometrika* 57:1);
* step+trend: by Frisch–Waugh–Lovell, with e the residuals of the line and d the step
  indicator residualised on [1, t − t̄]:
  RSS(τ) = RSS_line − (Σ_{i≥τ} eᵢ)² / (m − m²/n − (Σ_{i≥τ}(tᵢ − t̄))² / Sₜₜ).

The chosen splits' RSS are then recomputed from their residuals, and an RSS below
n·(1e-9·max|y|)² counts as that floor (exact data would otherwise give ln 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

MIN_SEGMENT = 5  # points on each side of a step
MAX_R1 = 0.95
PARAMETERS = {"flat": 1, "trend": 2, "step": 3, "step+trend": 4}


@dataclass(frozen=True)
class Shape:
    model: str  # "flat" | "trend" | "step" | "step+trend": the lowest BIC
    bic: dict[str, float]  # per model compared
    split: int | None  # index (NaN dropped) of the first point after the step
    step_time: float | None  # t at that point
    step_size: float | None  # jump of the mean (step) or shift of the line (step+trend)
    r1: float = 0.0  # lag-1 autocorrelation of the richest model's residuals
    n_eff: float = 0.0  # effective number of independent points


def _fit(design: FloatArray, y: FloatArray) -> tuple[FloatArray, float]:
    coef: FloatArray = np.asarray(np.linalg.lstsq(design, y, rcond=None)[0], dtype=np.float64)
    return coef, float(np.sum((y - design @ coef) ** 2))


def classify(t: FloatArray, y: FloatArray) -> Shape:
    """The BIC-best of flat, trend, step and step+trend (steps only with
    ``2·MIN_SEGMENT`` points or more); NaN pairs are dropped. Needs 3 points."""
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = ~(np.isnan(t) | np.isnan(y))
    t, y = t[keep], y[keep]
    n = int(t.size)
    if n < 3:
        raise ValueError("classify needs at least 3 points")
    one = np.ones(n)
    tc = t - t.mean()
    stt = float(np.sum(tc**2))
    line = np.column_stack([one, tc])
    _, rss_flat = _fit(one[:, None], y)
    coef_line, rss_line = _fit(line, y)
    rss = {"flat": rss_flat, "trend": rss_line}
    richest = y - line @ coef_line
    designs: dict[str, FloatArray] = {}
    splits: dict[str, int] = {}
    if n >= 2 * MIN_SEGMENT and stt > 0.0:
        m = np.arange(n, 0, -1, dtype=np.float64)  # points from index k on
        tail = np.cumsum((y - y.mean())[::-1])[::-1]
        e = y - line @ coef_line
        e_tail = np.cumsum(e[::-1])[::-1]
        t_tail = np.cumsum(tc[::-1])[::-1]
        ks = np.arange(MIN_SEGMENT, n - MIN_SEGMENT + 1)
        mk = m[ks]
        gain_step = n * tail[ks] ** 2 / (mk * (n - mk))
        denom = mk - mk**2 / n - t_tail[ks] ** 2 / stt
        gain_both = np.where(denom > 0.0, e_tail[ks] ** 2 / np.where(denom > 0, denom, 1.0), 0.0)
        for model, gain in (("step", gain_step), ("step+trend", gain_both)):
            k = int(ks[int(np.argmax(gain))])
            d = (np.arange(n) >= k).astype(np.float64)
            design = np.column_stack([one, d] if model == "step" else [one, tc, d])
            coef, rss[model] = _fit(design, y)
            designs[model], splits[model] = design, k
        richest = y - designs["step+trend"] @ _fit(designs["step+trend"], y)[0]
    floor = n * (1e-9 * max(float(np.max(np.abs(y))), 1e-300)) ** 2
    r1 = lag1_autocorrelation(richest, floor)
    n_eff = max(n * (1.0 - r1) / (1.0 + r1), 3.0)
    bic = {model: n_eff * math.log(max(r, floor) / n) + PARAMETERS[model] * math.log(n_eff)
           for model, r in rss.items()}
    best = min(bic, key=lambda model: (bic[model], PARAMETERS[model]))
    if best not in splits:
        return Shape(best, bic, None, None, None, r1, n_eff)
    coef = _fit(designs[best], y)[0]
    k = splits[best]
    return Shape(best, bic, k, float(t[k]), float(coef[-1]), r1, n_eff)


def lag1_autocorrelation(e: FloatArray, floor: float = 0.0) -> float:
    """r₁ = Σ eᵢ·eᵢ₊₁ / Σ eᵢ², clipped to [0, MAX_R1]; 0 when Σ eᵢ² ≤ ``floor``."""
    sse = float(np.sum(e**2))
    if e.size < 3 or sse <= floor:
        return 0.0
    return min(max(float(np.sum(e[:-1] * e[1:])) / sse, 0.0), MAX_R1)
