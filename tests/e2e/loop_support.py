"""Pieces of the loop test: the sidecar config, tap traffic from the fraud example, and an
aiohttp app (the fake Kubernetes API) served from a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import json
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import yaml
from aiohttp import web

from tests.e2e.grafana_traffic import csv_cell
from tests.paths import EXAMPLES
from tests.procs import post_events
from tests.responder.service import serve

FRAUD = EXAMPLES / "fraud"
MODEL, VERSION = "fraud", "3"
WINDOW = 600  # events in the drift window and joined pairs in the accuracy window
# The smallest window judged (drift verdicts, accuracy): 400, not 200, puts the chance of
# a false alarm under normal traffic below 1e-13 (false_alarm_bound; 5e-5 at 200).
MIN_SAMPLES = 400
ACCURACY_FLOOR = 0.85  # reference.csv scores 0.962 at a 0.5 threshold, current.csv 0.705
PSI_HIGH = 0.25  # the example's psi_high: MlmonFeatureDriftHigh needs PSI at least this


def sidecar_config(path: Path) -> Path:
    """The fraud example with windows small enough to turn over in seconds."""
    document = yaml.safe_load((FRAUD / "mlmon.yaml").read_text(encoding="utf-8"))
    (model,) = document["models"]
    model["profile"] = str((FRAUD / model["profile"]).resolve())
    model["window"] = {"size": WINDOW}
    model["thresholds"].update(min_samples=MIN_SAMPLES, accuracy_floor=ACCURACY_FLOOR)
    model["labels"] = {"ttl": "1h", "max_pending": 100_000, "window": WINDOW}
    document["compute_interval"] = "1s"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@dataclasses.dataclass(frozen=True)
class FalseAlarmBound:
    """``false_alarm_bound``'s terms (each a probability, see there) and their sum."""

    buckets: dict[str, int]  # judged feature -> buckets k
    drift_tail: dict[str, float]  # P(χ²(k − 1) ≥ PSI_HIGH · MIN_SAMPLES), per compute
    accuracy: float  # of reference.csv at a 0.5 threshold
    accuracy_tail: float  # P(Binomial(MIN_SAMPLES, accuracy) < floor), per compute
    confidence: float  # mean calibrated confidence of reference.csv (CBPE's estimate)
    estimate_tail: float  # Hoeffding: P(estimate of MIN_SAMPLES < floor), per compute
    theta: float  # Page-Hinkley's exponent at the reference error rate
    error_shift_tail: float  # labels · exp(−θλ), for the whole phase
    cycles: int
    total: float


def false_alarm_bound(seconds: float, compute_interval: float = 1.0,
                      labels_per_second: float = 100.0) -> FalseAlarmBound:
    """A bound on P(any alert fires) while Traffic sends normal rows for ``seconds``.

    Normal traffic draws rows of reference.csv with replacement, and the profile was
    built from reference.csv, so every window is a sample of exactly the reference
    distribution (no drift). The alerts whose scaled `for` (stack_config.FOR_SCALE) is
    short enough to fire within a minute and that depend on the data:

    - MlmonFeatureDriftHigh needs PSI ≥ PSI_HIGH in some feature's window (and Holm
      significance, ignored: the bound only gets looser). Under no drift n · PSI → χ²(k − 1)
      for n values against fixed shares over k buckets (Yurdakul 2018, docs/statistics.md
      "The noise floor"; every bucket of this profile holds ≥ 8 % of the reference, ≥ 32
      expected values at n = 400). Judged windows hold n ≥ MIN_SAMPLES and the tail falls
      with n: per feature and compute P ≤ P(χ²(k − 1) ≥ PSI_HIGH · MIN_SAMPLES).
    - MlmonAccuracyBelowFloor needs accuracy < ACCURACY_FLOOR over ≥ MIN_SAMPLES pairs:
      P ≤ P(Binomial(MIN_SAMPLES, p) < ACCURACY_FLOOR · MIN_SAMPLES), p = reference accuracy.
    - MlmonEstimatedAccuracyBelowFloor (CBPE, exported from MIN_SAMPLES predictions on):
      the estimate is a mean of calibrated confidences max(q, 1 − q) ∈ [0.5, 1], q the
      profile's isotonic map of the score (linear interpolation, clamped); Hoeffding:
      P ≤ exp(−2 n (μ − floor)² / 0.5²), μ their mean over reference.csv.
    - MlmonErrorRateShift (`for` 0, Page-Hinkley on the 0/1 errors, δ and λ of
      exporter.stats.errordrift.CLASSIFICATION): with increments x − p − δ of negative
      mean, each excursion of the statistic crosses λ with probability ≤ exp(−θλ), θ > 0
      the root of (1 − p)e^{θ(−p−δ)} + p e^{θ(1−p−δ)} = 1 (Wald; the module's own
      analysis, with its running mean taken as p); an excursion starts at most once per
      label: P ≤ labels · exp(−θλ). The detector divides the errors by
      max(0.3, √(p̂(1 − p̂)))/0.3 ≥ 1 (p̂ of its 1,000-label warm-up), the same as raising
      δ and λ by that factor: pathwise no more crossings, so the bound for raw errors holds
      (and at p ≈ 4 % the divisor is 1 whatever p̂ ≤ 10 %).

    Union bound over the features, the alerts and every compute cycle in ``seconds``
    (overlapping windows are dependent; the union bound needs no independence). The other
    alerts watch targets, traffic volume, rejects and label joins, deterministic here.
    scipy is the oracle for the tails.
    """
    from scipy import optimize, stats

    from exporter.stats.errordrift import CLASSIFICATION

    profile = json.loads((FRAUD / "profile.json").read_text(encoding="utf-8"))
    buckets = {f["name"]: sum(1 for c in f["counts"] if c > 0)
               for f in [*profile["features"], profile["prediction"]]}
    tails = {name: float(stats.chi2.sf(PSI_HIGH * MIN_SAMPLES, k - 1))
             for name, k in buckets.items()}
    with (FRAUD / "reference.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    scores = np.array([float(r["prediction"]) for r in rows])
    labels = np.array([r["label"] == "1" for r in rows])
    accuracy = float(np.mean((scores >= 0.5) == labels))
    errors_allowed = math.ceil(ACCURACY_FLOOR * MIN_SAMPLES) - 1  # correct < floor · n
    accuracy_tail = float(stats.binom.cdf(errors_allowed, MIN_SAMPLES, accuracy))
    (mapping,) = profile["calibration"]["maps"]
    q = np.interp(scores, mapping["x"], mapping["y"])
    confidence = float(np.mean(np.maximum(q, 1 - q)))
    estimate_tail = math.exp(-2 * MIN_SAMPLES * max(0.0, confidence - ACCURACY_FLOOR) ** 2
                             / 0.5 ** 2)
    p, delta, lam = 1 - accuracy, CLASSIFICATION.delta, CLASSIFICATION.threshold
    theta = float(optimize.brentq(lambda t: (1 - p) * math.exp(t * (-p - delta))
                                  + p * math.exp(t * (1 - p - delta)) - 1, 1e-6, 50.0))
    error_shift_tail = math.ceil(labels_per_second * seconds) * math.exp(-theta * lam)
    cycles = math.ceil(seconds / compute_interval) + 1
    total = (cycles * (sum(tails.values()) + accuracy_tail + estimate_tail)
             + error_shift_tail)
    return FalseAlarmBound(buckets, tails, accuracy, accuracy_tail, confidence,
                           estimate_tail, theta, error_shift_tail, cycles, total)


class Rows:
    """Rows of one example CSV as (features, prediction score, label)."""

    def __init__(self, path: Path, features: list[str]) -> None:
        with path.open(newline="", encoding="utf-8") as handle:
            self.rows = [({f: v for f in features if (v := csv_cell(row[f])) is not None},
                          float(row["prediction"]), row["label"])
                         for row in csv.DictReader(handle)]


class Traffic:
    """Posts predictions (and, one tick later, their labels) to the sidecar at ``rate``/s.

    ``drifted`` switches the rows from reference.csv to current.csv; ``drift_started``
    is the wall time the first drifted prediction was sent.
    """

    def __init__(self, sidecar: str, rate: float = 100.0, tick: float = 0.1,
                 seed: int = 7) -> None:
        features = list(yaml.safe_load((FRAUD / "mlmon.yaml").read_text())["models"][0]
                        ["features"])
        self.reference = Rows(FRAUD / "reference.csv", features)
        self.current = Rows(FRAUD / "current.csv", features)
        self.url = f"{sidecar}/v1/events"
        self.per_tick = max(1, round(rate * tick))
        self.tick = tick
        self.drifted = False
        self.drift_started: float | None = None
        self.sent = 0
        self.errors: list[str] = []
        self._rng = np.random.default_rng(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        pending: list[str] = []
        next_tick = time.monotonic()
        while not self._stop.is_set():
            drifted = self.drifted
            source = self.current if drifted else self.reference
            if drifted and self.drift_started is None:
                self.drift_started = time.time()
            lines, labels = [], []
            for row in self._rng.integers(0, len(source.rows), self.per_tick):
                features, score, label = source.rows[row]
                ident = f"req-{self.sent}"
                self.sent += 1
                lines.append(json.dumps({"v": 1, "model": MODEL, "version": VERSION,
                                         "id": ident, "features": features,
                                         "prediction": score}))
                labels.append(json.dumps({"v": 1, "model": MODEL, "id": ident,
                                          "label": label}))
            self._post(lines + pending)
            pending = labels  # ground truth arrives a tick after its prediction
            next_tick += self.tick
            self._stop.wait(max(0.0, next_tick - time.monotonic()))

    def _post(self, lines: list[str]) -> None:
        try:
            code, answer = post_events(self.url, lines, timeout=10)
            if code != 202 or answer.get("rejected"):
                self.errors.append(f"HTTP {code}: {answer}")
        except OSError as exc:
            self.errors.append(str(exc))


@contextlib.contextmanager
def serve_in_thread(app: web.Application) -> Iterator[str]:
    """tests.responder.service.serve on an event loop in its own thread; yield the URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="aiohttp", daemon=True)
    thread.start()
    server = serve(app)
    url = asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
    try:
        yield url
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
