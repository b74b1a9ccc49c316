"""Page-Hinkley on the error stream, against River's ``drift.PageHinkley`` (the oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from river import drift

from exporter.stats.errordrift import (
    CAP,
    CLASSIFICATION,
    REGRESSION,
    ErrorDrift,
    PageHinkley,
    PageHinkleyParams,
)

WARMUP_ERRORS = 1000  # the classifier warm-up the module docstring states (not imported)


def river_detections(xs: list[float], p: PageHinkleyParams) -> list[int]:
    ph = drift.PageHinkley(min_instances=p.min_instances, delta=p.delta, threshold=p.threshold,
                           alpha=p.alpha, mode="up")
    out = []
    for i, x in enumerate(xs):
        ph.update(x)
        if ph.drift_detected:
            out.append(i)
    return out


def ours(xs: list[float], p: PageHinkleyParams) -> list[int]:
    ph = PageHinkley(p)
    return [i for i, x in enumerate(xs) if ph.update(x)]


def bernoulli(rng: np.random.Generator, rates: list[tuple[int, float]]) -> list[float]:
    return np.concatenate([rng.random(n) < r for n, r in rates]).astype(float).tolist()


PARAMS = [CLASSIFICATION, PageHinkleyParams(0.005, 50.0, 30, 0.9999),
          PageHinkleyParams(0.01, 5.0, 10, 1.0), PageHinkleyParams(0.02, 3.0, 1, 0.99),
          PageHinkleyParams(0.1, 10.0, 50, 0.999)]


@pytest.mark.parametrize("params", PARAMS)
def test_same_detections_as_river_on_bernoulli_streams(params: PageHinkleyParams) -> None:
    rng = np.random.default_rng(20260)
    total = 0
    for _ in range(12):
        rates = [(int(rng.integers(200, 3000)), float(rng.uniform(0.01, 0.6)))
                 for _ in range(int(rng.integers(1, 5)))]
        xs = bernoulli(rng, rates)
        expected = river_detections(xs, params)
        assert ours(xs, params) == expected
        total += len(expected)
    print(f"{params}: {total} detections, all at River's indices")
    assert total > 0  # the streams exercise detection (and the reset after it)


def test_same_detections_as_river_on_absolute_errors() -> None:
    rng = np.random.default_rng(5)
    params = PageHinkleyParams(0.3, 8.0, 40, 1.0)
    total = 0
    for _ in range(10):
        xs = np.abs(np.concatenate([rng.normal(0, s, n) for n, s in
                                    [(1500, 1.0), (800, 1.7), (1500, 0.6), (700, 2.5)]]))
        expected = river_detections(xs.tolist(), params)
        assert ours(xs.tolist(), params) == expected
        total += len(expected)
    assert total >= 10


def normalised_river(errors: list[float], p: PageHinkleyParams) -> list[int]:
    """The regression rule written out independently: the scale is the mean of the first
    min_instances absolute errors after each (re)start, errors are divided by it and capped
    at 5; River's Page-Hinkley runs on that stream, restarting the scale after a detection."""
    ph = drift.PageHinkley(min_instances=p.min_instances, delta=p.delta, threshold=p.threshold,
                           alpha=p.alpha, mode="up")
    out: list[int] = []
    start = 0
    while start < len(errors):
        head = errors[start:start + p.min_instances]
        if len(head) < p.min_instances:
            break
        scale = sum(head) / len(head)
        assert scale > 0
        detected_at = None
        for i in range(start, len(errors)):
            ph.update(min(errors[i] / scale, 5.0))
            if ph.drift_detected:
                detected_at = i
                break
        if detected_at is None:
            break
        out.append(detected_at)
        start = detected_at + 1
    return out


def standardised_river(errors: list[float], p: PageHinkleyParams) -> list[int]:
    return standardised_river_run(errors, p)[0]


def standardised_river_run(errors: list[float], p: PageHinkleyParams,
                           ) -> tuple[list[int], float]:
    """The classifier rule written out independently: after each (re)start the next
    max(1000, min_instances) 0/1 errors give p̂, each error is divided by
    max(0.3, √(p̂(1 − p̂)))/0.3 and River's Page-Hinkley runs on that stream; a detection
    restarts the warm-up at the error after it (even inside the previous warm-up). A
    detection inside a warm-up is known, and reported, at the warm-up's last error.
    Returns the detections and River's statistic after the last error (its cumulative sum
    minus that sum's minimum; 0 while a warm-up is incomplete)."""
    ph = drift.PageHinkley(min_instances=p.min_instances, delta=p.delta, threshold=p.threshold,
                           alpha=p.alpha, mode="up")
    k = max(WARMUP_ERRORS, p.min_instances)
    out: list[int] = []
    start = 0
    while start + k <= len(errors):
        rate = sum(errors[start:start + k]) / k
        divisor = max(0.3, (rate * (1 - rate)) ** 0.5) / 0.3
        detected_at = None
        for i in range(start, len(errors)):
            ph.update(errors[i] / divisor)
            if ph.drift_detected:
                detected_at = i
                break
        if detected_at is None:
            break
        out.append(max(detected_at, start + k - 1))
        start = detected_at + 1
    running = start + k <= len(errors)  # the last warm-up complete, River fed to the end
    return out, ph._sum_increase - ph._min_increase if running else 0.0


@pytest.mark.parametrize("params", PARAMS)
def test_classifier_standardisation_matches_river_on_the_scaled_stream(
        params: PageHinkleyParams) -> None:
    rng = np.random.default_rng(31)
    total = scaled = 0
    for _ in range(10):
        rates = [(int(rng.integers(300, 3000)), float(rng.uniform(0.01, 0.6)))
                 for _ in range(int(rng.integers(2, 6)))]
        errors = bernoulli(rng, rates)
        expected, statistic = standardised_river_run(errors, params)
        ed = ErrorDrift("classification", params)
        got = [i for i, e in enumerate(errors) if ed.update(e)]
        assert ed.statistic == pytest.approx(statistic, abs=1e-9)
        scaled += np.mean(errors[:max(WARMUP_ERRORS, params.min_instances)]) > 0.1
        assert got == expected
        assert ed.detections == len(expected)
        total += len(expected)
    print(f"{params}: {total} detections at the standardised River's indices")
    # detections, restarts, and a first warm-up above 10 %: a divisor other than 1
    assert total > 0 and scaled > 0


def test_regression_scale_and_cap_match_river_on_the_normalised_stream() -> None:
    rng = np.random.default_rng(11)
    total = 0
    for k in range(8):
        sd = float(rng.uniform(0.1, 50.0))  # the units cancel: any residual scale
        parts = [rng.normal(0, sd, 3000), rng.normal(0, 2 * sd, 1500),
                 rng.standard_t(3, 2000) * sd, rng.normal(0, 0.5 * sd, 1000)]
        errors = np.abs(np.concatenate(parts)).tolist()
        params = REGRESSION if k % 2 else PageHinkleyParams(0.3, 10.0, 60, 1.0)
        expected = normalised_river(errors, params)
        ed = ErrorDrift("regression", params)
        got = [i for i, e in enumerate(errors) if ed.update(e)]
        assert got == expected
        assert ed.detections == len(expected)
        total += len(expected)
    assert total >= 8
    assert CAP == 5.0


def test_abrupt_rise_10_to_20_percent_is_detected_within_1000_labels() -> None:
    rng = np.random.default_rng(1)
    delays = []
    for _ in range(50):
        pre = int(rng.integers(3000, 5000))
        xs = bernoulli(rng, [(pre, 0.1), (1000, 0.2)])
        det = ErrorDrift("classification", CLASSIFICATION)
        hits = [i for i, x in enumerate(xs) if det.update(x)]
        assert hits, "rise not detected within 1,000 labels"
        assert hits[0] >= pre, f"false detection at {hits[0]} before the rise at {pre}"
        delays.append(hits[0] - pre)
    print(f"10 % -> 20 %, 50 streams: detection delay max {max(delays)}, "
          f"median {float(np.median(delays)):g}, min {min(delays)} labels")
    assert max(delays) < 1000


def test_stable_error_rate_gives_no_detection_over_100000_labels() -> None:
    rng = np.random.default_rng(2)
    worst = 0.0
    for _ in range(5):
        ph = ErrorDrift("classification", CLASSIFICATION)
        peak = 0.0
        for x in bernoulli(rng, [(100_000, 0.1)]):
            assert not ph.update(x)
            peak = max(peak, ph.statistic)
        worst = max(worst, peak / CLASSIFICATION.threshold)
    print(f"stable 10 %, 5 x 100,000 labels: no detection; max statistic / threshold {worst:.3f}")
    assert worst < 1.0


@pytest.mark.parametrize("rate", [0.2, 0.3])
def test_stable_high_error_rate_gives_no_detection_over_100000_labels(rate: float) -> None:
    """Standardised by the warm-up rate, a stable 20 % or 30 % stream is as quiet as 10 %
    (raw 0/1 errors under δ = 0.04, λ = 18 detected in 34 % / 81 % of such streams)."""
    rng = np.random.default_rng(int(rate * 100))
    worst = 0.0
    for _ in range(5):
        ph = ErrorDrift("classification", CLASSIFICATION)
        peak = 0.0
        for x in bernoulli(rng, [(100_000, rate)]):
            assert not ph.update(x), f"false detection at a stable {rate:.0%}"
            peak = max(peak, ph.statistic)
        worst = max(worst, peak / CLASSIFICATION.threshold)
    print(f"stable {rate:.0%}, 5 x 100,000 labels: no detection; "
          f"max statistic / threshold {worst:.3f}")
    assert worst < 1.0


def test_regression_doubling_mae_detected_and_stable_mae_not() -> None:
    rng = np.random.default_rng(3)
    delays = []
    for _ in range(30):
        sd = float(rng.uniform(0.5, 100.0))
        pre = int(rng.integers(2000, 4000))
        errors = np.abs(np.concatenate([rng.normal(0, sd, pre), rng.normal(0, 2 * sd, 1000)]))
        det = ErrorDrift("regression", REGRESSION)
        hits = [i for i, e in enumerate(errors.tolist()) if det.update(e)]
        assert hits and hits[0] >= pre
        delays.append(hits[0] - pre)
    worst = 0.0
    for _ in range(2):
        det = ErrorDrift("regression", REGRESSION)
        for e in np.abs(rng.normal(0, 7.0, 100_000)).tolist():
            assert not det.update(e)
            worst = max(worst, det.statistic / REGRESSION.threshold)
    print(f"MAE doubling, 30 streams: delay max {max(delays)}, median "
          f"{float(np.median(delays)):g}; stable normal residuals 2 x 100,000: no detection, "
          f"max statistic / threshold {worst:.3f}")
    assert max(delays) < 1000


def test_all_zero_calibration_waits_for_a_nonzero_error() -> None:
    p = PageHinkleyParams(0.5, 20.0, 10, 1.0)
    det = ErrorDrift("regression", p)
    for _ in range(25):
        assert not det.update(0.0)
    assert det.scale is None and len(det.calibration) == 10 and det.zeros == 15
    det.update(2.6)  # scale: 2.6 over 26 errors = 0.1
    assert det.scale == pytest.approx(0.1)
    assert det.calibration == [] and det.test.n == 26
    # the test saw 25 zeros then min(2.6 / 0.1, 5) = 5: PH by hand
    mean = 5 / 26
    m_min = sum(-(0.0 - 0.0) - 0.5 for _ in range(25))  # zeros: mean stays 0, m falls by δ
    assert det.test.total == pytest.approx(m_min + (5 - mean) - 0.5)
    assert det.statistic == pytest.approx(5 - mean - 0.5)


def test_state_round_trip_continues_the_same_detections() -> None:
    rng = np.random.default_rng(9)
    for kind, params in (("classification", CLASSIFICATION), ("regression", REGRESSION)):
        if kind == "classification":
            xs = bernoulli(rng, [(3000, 0.1), (2000, 0.25), (3000, 0.05), (2000, 0.3)])
        else:
            xs = np.abs(np.concatenate([rng.normal(0, 1, 3000), rng.normal(0, 3, 2000)])).tolist()
        whole = ErrorDrift(kind, params)  # type: ignore[arg-type]
        expected = [i for i, x in enumerate(xs) if whole.update(x)]
        assert expected
        for cut in (50, 150, expected[0], expected[0] + 1, len(xs) // 2):
            first = ErrorDrift(kind, params)  # type: ignore[arg-type]
            got = [i for i, x in enumerate(xs[:cut]) if first.update(x)]
            second = ErrorDrift(kind, params)  # type: ignore[arg-type]
            second.load(first.state())
            got += [cut + i for i, x in enumerate(xs[cut:]) if second.update(x)]
            assert got == expected
            assert second.detections == whole.detections
            assert second.statistic == whole.statistic


def test_bad_state_is_refused() -> None:
    det = ErrorDrift("regression", REGRESSION)
    good = det.state()
    with pytest.raises((ValueError, TypeError, KeyError)):
        det.load({**good, "scale": -1.0})
    with pytest.raises((ValueError, TypeError, KeyError)):
        det.load({**good, "calibration": [1.0] * 500})
    with pytest.raises((ValueError, TypeError, KeyError)):
        det.load({k: v for k, v in good.items() if k != "test"})


def test_state_under_other_parameters_keeps_only_the_count() -> None:
    rng = np.random.default_rng(4)
    old = ErrorDrift("classification", PageHinkleyParams(0.01, 3.0, 10, 1.0))
    for x in bernoulli(rng, [(500, 0.1), (500, 0.5)]):
        old.update(x)
    assert old.detections > 0 and old.test.n > 0
    new = ErrorDrift("classification", CLASSIFICATION)
    new.load(old.state())
    assert new.detections == old.detections and new.errors == old.errors
    assert new.test.n == 0 and new.statistic == 0.0


def test_classifier_state_without_a_warmup_starts_afresh() -> None:
    """A state of the unscaled rule (no "warmup": 0/1 errors fed raw) keeps only its counts."""
    rng = np.random.default_rng(6)
    ed = ErrorDrift("classification", CLASSIFICATION)
    for x in bernoulli(rng, [(1500, 0.3)]):
        ed.update(x)
    doc = ed.state()
    assert ed.test.n == 1500 and doc["warmup"] == WARMUP_ERRORS
    old = {k: v for k, v in doc.items() if k != "warmup"}
    new = ErrorDrift("classification", CLASSIFICATION)
    new.load(old)
    assert new.errors == 1500 and new.test.n == 0 and new.scale is None
    same = ErrorDrift("classification", CLASSIFICATION)
    same.load(doc)
    assert same.test.n == 1500 and same.scale == ed.scale
