"""Change detection on the stream of joined-label errors: the Page-Hinkley test, one-sided up.

The stream is one error per joined prediction/label pair, in arrival order: 0/1
(misclassified) for classifiers and the absolute error for regressors, each divided by a
scale taken from the first errors after every (re)start (below).

Page-Hinkley (Page 1954, *Biometrika* 41:100; Hinkley 1971, *Biometrika* 58:509; as
surveyed by Gama et al. 2014, *ACM Comput. Surv.* 46(4):44, §3.2.2), with the fading
factor α of River's ``drift.PageHinkley``, whose update order this follows exactly so that
River is the tests' oracle. For each new error xₜ (t = 1, 2, … since the last reset)::

    x̄ₜ = x̄ₜ₋₁ + (xₜ − x̄ₜ₋₁)/t                  running mean (not faded)
    mₜ = α·mₜ₋₁ + (xₜ − x̄ₜ) − δ                 cumulative deviation, m₀ = 0
    Mₜ = min(Mₜ₋₁, mₜ)                            M₀ = +∞
    PHₜ = mₜ − Mₜ                                 the statistic (``statistic``)
    change when t ≥ min_instances and PHₜ > λ (``threshold``)

A change resets everything: the update after a detection starts from t = 1 (x̄, m and M
forgotten). ``delta`` (δ) is the size of rise tolerated per error, in the units of the
errors: below a rise of δ the statistic drifts down; above it, up by about (rise − δ) per
error, so a rise of r is found about λ/(r − δ) errors after it starts.

**Defaults** (``CLASSIFICATION``, ``REGRESSION``; α = 1, no fading). With α < 1 the sum mₜ
is an AR(1) process of standard deviation ≈ σ/√(2(1−α)) around −δ/(1−α), and PH = m − min m
grows over a long stable stream like that deviation times √(2 ln n): for 0/1 errors at 10 %
(σ = 0.3) and River's α = 0.9999 that is ≈ 21 × 4.8 ≈ 100, far above any threshold that still
detects quickly. α = 1 is the plain test.

* Classifiers, δ = 0.04, λ = 18, min_instances = 100 (designed for a rise of the error
  rate from 10 % to 20 %), on 0/1 errors standardised to the design point's spread (next
  bullet). Under no change the increments xₜ − x̄ − δ have mean −δ and PH
  exceeds λ within one excursion with probability ≈ exp(−θλ), θ > 0 the root of
  (1−p)·e^{θ(−p−δ)} + p·e^{θ(1−p−δ)} = 1: at p = 0.1, θ = 0.73 and exp(−θλ) = 2·10⁻⁶,
  with an excursion every few dozen errors. After a rise to 20 % the statistic gains
  ≈ 0.2 − 0.1 − 0.04 = 0.06 per error (standard deviation 0.4 per error), so λ = 18 is
  crossed ≈ 300 errors after the rise (standard deviation ≈ √(λ·0.16/0.06³) ≈ 115, more
  while the running mean still follows the new rate). The two targets pull against each
  other (Lorden's bound: mean delay ≥ ln(ARL₀)/KL, KL = 0.044 nats per error for
  10 % → 20 %), and these values balance them: simulated (bench/error_drift.py), about
  0.5–1 % of 100,000-label streams at a stable 10 % see a false detection, and about 0.2 %
  of rises 10 % → 20 % after 4,000 labels take longer than 1,000 labels
  (docs/statistics.md#error-stream-change-detection, with other base rates).
* Classifiers at other base rates. Raw 0/1 errors at p have σ = √(p(1−p)): at 20–30 %
  the same δ, λ would be crossed by noise in 34 % / 81 % of stable 100,000-label streams
  (θ falls to 0.36 at 30 %). So each 0/1 error is divided by ``scale`` = max(σ₀, σ̂)/σ₀,
  σ₀ = ``SIGMA0`` = 0.3 (the 10 % design point), σ̂ = √(p̂(1−p̂)), p̂ the mean of the first
  ``WARMUP`` = 1000 errors (at least min_instances) since the last reset: the scaled
  errors have σ ≈ 0.3 whatever p, and δ, λ keep their meaning (in units of that σ; a
  rise p → 2p gains ≈ p/scale − δ per error, 0.11 at 20 %, 0.16 at 30 %). Floor σ₀
  rather than σ̂: no division by zero at p̂ = 0 or 1, and no scaling up below 10 %, where
  the raw errors are already quieter (θ = 2.0 at 2 %) and scaling up would make the rare
  errors big jumps (at p̂ = 1 % each error ×3: e^{−θλ} = 10⁻⁴ per error, false detections
  common). Why 1000: the scale's relative error is ≈ (1−2p)/(2√(n p(1−p))), 4 % at
  p = 10 %, n = 1000 (6 % at 500; 13 % at min_instances = 100), and the false-alarm rate
  moves by about e^{θλ·2·that} per standard deviation; the price is that no detection is
  possible in the first 1000 labels after start-up and after each detection (the held
  errors are replayed once p̂ is known, so a change inside the warm-up is found at its
  end). Memory: at most 1000 held errors. At 10 % the behaviour is that of the raw test up
  to the noise of p̂ (scale 1 whenever p̂ ≤ 10 %). Simulated (bench/error_drift.py, 1000
  streams): false detections per 100,000 labels 0.2 % / 0.3 % / 0 % at 10 / 20 / 30 %.
* Regressors, δ = 0.5, λ = 20, min_instances = 100 (designed for a doubling of the mean
  absolute error). Each absolute error is divided by the mean of the first
  ``min_instances`` absolute errors since the last reset (the calibration scale, fixed
  until the next detection) and capped at ``CAP`` = 5, so the errors have mean ≈ 1 and
  δ, λ are in units of that MAE. The cap keeps one outlier from detecting alone (without
  it a single error of 20 × MAE would; with Student-t(3) residuals every 100,000-label
  stream did); for normal residuals it touches 1 error in 15,000. Normal residuals give
  scaled errors of standard deviation √(π/2 − 1) = 0.76; a doubling adds ≈ 1 − 0.5 per
  error, so λ = 20 is crossed ≈ 40 errors after it.

The calibration errors are kept (at most ``min_instances`` of them; ``WARMUP`` for
classifiers) and given to the test once the scale is known, so the test sees exactly the
scaled stream. A detection while they are replayed is reported on the error that completed
the calibration; the held errors after it start the next one. ``statistic`` is 0 while
errors wait for their scale. When all of a regressor's are 0 the scale is the first
non-zero absolute error's mean with the zeros before it (the zeros are counted, not kept).
Memory: O(max(min_instances, WARMUP)), independent of the stream's length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

ErrorKind = Literal["classification", "regression"]
DETECTOR = "page_hinkley"
CAP = 5.0  # scaled absolute errors are capped here (regressors)
WARMUP = 1000  # classifiers: 0/1 errors that estimate the base error rate after each reset
SIGMA0 = 0.3  # classifiers: the 0/1 errors' standard deviation at the 10 % design point


@dataclass(frozen=True)
class PageHinkleyParams:
    delta: float
    threshold: float
    min_instances: int = 100
    alpha: float = 1.0


CLASSIFICATION = PageHinkleyParams(delta=0.04, threshold=18.0)
REGRESSION = PageHinkleyParams(delta=0.5, threshold=20.0)


def default_params(kind: ErrorKind) -> PageHinkleyParams:
    return CLASSIFICATION if kind == "classification" else REGRESSION


class PageHinkley:
    """One-sided (up) Page-Hinkley test; ``update(x)`` is True on the error that detects."""

    __slots__ = ("_detected", "mean", "minimum", "n", "params", "total")

    def __init__(self, params: PageHinkleyParams) -> None:
        self.params = params
        self.n = 0  # errors since the last reset
        self.mean = 0.0
        self.total = 0.0  # mₜ
        self.minimum = math.inf  # Mₜ
        self._detected = False

    def reset(self) -> None:
        self.n, self.mean, self.total, self.minimum = 0, 0.0, 0.0, math.inf
        self._detected = False

    @property
    def statistic(self) -> float:
        """PHₜ = mₜ − Mₜ (0 before the first error)."""
        return self.total - self.minimum if self.n else 0.0

    def update(self, x: float) -> bool:
        p = self.params
        if self._detected:
            self.reset()
        self.n += 1
        self.mean += (1.0 / self.n) * (x - self.mean)
        self.total = p.alpha * self.total + (x - self.mean) - p.delta
        if self.total < self.minimum:
            self.minimum = self.total
        if self.n >= p.min_instances:
            self._detected = self.total - self.minimum > p.threshold
        return self._detected

    def state(self) -> list[float]:
        return [float(self.n), self.mean, self.total, self.minimum, float(self._detected)]

    def load(self, state: list[float]) -> None:
        n, mean, total, minimum, detected = (float(v) for v in state)
        if n < 0 or n != int(n) or not (math.isfinite(mean) and math.isfinite(total)):
            raise ValueError("bad Page-Hinkley state")
        self.n, self.mean, self.total, self.minimum = int(n), mean, total, minimum
        self._detected = bool(detected)


class ErrorDrift:
    """The error stream's detector: Page-Hinkley on 0/1 errors, or on scaled absolute errors.

    ``update(error)`` returns True when this error completes a detection; ``detections``
    counts them, ``statistic`` is the test's current PH.
    """

    def __init__(self, kind: ErrorKind, params: PageHinkleyParams) -> None:
        self.kind = kind
        self.params = params
        self.test = PageHinkley(params)
        self.detections = 0
        self.errors = 0  # errors seen in total
        self.scale: float | None = None  # errors are divided by it once known
        self.calibration: list[float] = []  # errors waiting for the scale
        self.zeros = 0  # leading zero errors beyond min_instances (all-zero calibration)
        # errors that set the scale: WARMUP (at least min_instances) for classifiers
        self.warmup = (max(WARMUP, params.min_instances) if kind == "classification"
                       else params.min_instances)

    @property
    def statistic(self) -> float:
        """The test's PH; 0 while the errors wait for a scale (after start-up or a detection)."""
        return self.test.statistic if self.scale is not None else 0.0

    def update(self, error: float) -> bool:
        self.errors += 1
        if self.scale is not None:
            return self._feed(self._scaled(error, self.scale))
        return self._calibrate(error)

    def _scaled(self, error: float, scale: float) -> float:
        return error / scale if self.kind == "classification" else min(error / scale, CAP)

    def _feed(self, x: float) -> bool:
        detected = self.test.update(x)
        if detected:
            self.detections += 1
            self.scale = None  # the next errors set a new scale
        return detected

    def _calibrate(self, error: float) -> bool:
        if self.kind == "classification":
            return self._calibrate_rate(error)
        k = self.params.min_instances
        if len(self.calibration) < k:
            self.calibration.append(error)
            if len(self.calibration) < k:
                return False
        elif error == 0.0:
            self.zeros += 1
            return False
        else:
            self.calibration.append(error)
        total = math.fsum(self.calibration)
        if total == 0.0:  # all zero so far: count further zeros, keep none
            return False
        held, zeros = self.calibration, self.zeros
        scale = self.scale = total / (len(held) + zeros)
        self.calibration, self.zeros = [], 0
        # the held errors in order: the first k, then the counted zeros, then the non-zero one
        ordered = held[:k] + [0.0] * zeros + held[k:]
        detected = False
        for e in ordered:  # at most one detection: the test has at least k errors to see
            detected = self._feed(self._scaled(e, scale)) or detected
        return detected

    def _calibrate_rate(self, error: float) -> bool:
        """Hold 0/1 errors until ``warmup`` of them give the scale σ̂/σ₀, then replay them."""
        self.calibration.append(error)
        n = len(self.calibration)
        if n < self.warmup:
            return False
        held, rate = self.calibration, math.fsum(self.calibration) / n
        self.scale = scale = max(SIGMA0, math.sqrt(rate * (1.0 - rate))) / SIGMA0
        self.calibration = []
        for i, e in enumerate(held):
            if self._feed(e / scale):  # a detection: the errors after it start a new warm-up
                self.calibration = held[i + 1:]
                return True
        return False

    def state(self) -> dict[str, object]:
        p = self.params
        return {"test": self.test.state(), "detections": self.detections, "errors": self.errors,
                "scale": self.scale, "calibration": list(self.calibration), "zeros": self.zeros,
                "kind": self.kind, "params": [p.delta, p.threshold, p.min_instances, p.alpha],
                "warmup": self.warmup}

    def load(self, d: dict[str, object]) -> None:
        """Restore ``state()``; raises ValueError (or TypeError) on a malformed document.

        A state written with other parameters or another kind keeps only its detection
        count: the test starts afresh under the new parameters."""
        if not isinstance(d, dict):
            raise ValueError("bad error-drift state")
        p = self.params
        same = (d.get("kind") == self.kind and d.get("params")
                == [p.delta, p.threshold, p.min_instances, p.alpha]
                and (self.kind == "regression" or d.get("warmup") == self.warmup))
        test, cal = d["test"], d["calibration"]
        if not isinstance(test, list) or not isinstance(cal, list):
            raise ValueError("bad error-drift state")
        detections, errors, zeros, scale = d["detections"], d["errors"], d["zeros"], d["scale"]
        if not (isinstance(detections, int) and isinstance(errors, int)
                and isinstance(zeros, int)):
            raise ValueError("bad error-drift counters")
        if scale is not None and (not isinstance(scale, int | float) or not scale > 0):
            raise ValueError("bad error-drift scale")
        if len(cal) > self.warmup + 1:
            raise ValueError("error-drift calibration longer than its warm-up")
        if not same:
            self.detections, self.errors = detections, errors
            return
        self.test.load([float(v) for v in test])
        self.detections, self.errors, self.zeros = detections, errors, zeros
        self.scale = None if scale is None else float(scale)
        self.calibration = [float(v) for v in cal]
