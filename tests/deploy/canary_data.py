"""Canary and stable pods' series for the AnalysisTemplate test, and their hand values.

The same numbers as tests/rules/canary.test.yml, per 15-second scrape instead of per
minute, written as OpenMetrics for `promtool tsdb create-blocks-from openmetrics`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from tests.rules.rule_files import floored_psi

STEP = 15  # seconds between samples
SPAN = 70 * 60  # seconds of history: the rules look at the last hour
MIN_SAMPLES = 500


@dataclass(frozen=True)
class Pod:
    model: str
    version: str
    track: str
    instance: str


PODS = {
    "c1": Pod("fraud", "4", "canary", "c1:9847"), "c2": Pod("fraud", "4", "canary", "c2:9847"),
    "s1": Pod("fraud", "3", "stable", "s1:9847"), "s2": Pod("fraud", "3", "stable", "s2:9847"),
    "k1": Pod("calm", "2", "canary", "k1:9847"), "k2": Pod("calm", "1", "stable", "k2:9847"),
    "q1": Pod("quiet", "2", "canary", "q1:9847"), "q2": Pod("quiet", "1", "stable", "q2:9847"),
    "e1": Pod("eta", "8", "canary", "e1:9847"), "e2": Pod("eta", "8", "canary", "e2:9847"),
    "e3": Pod("eta", "7", "stable", "e3:9847"),
}
# pod -> feature -> bucket -> values per step
BUCKETS: dict[str, dict[str, dict[str, float]]] = {
    "c1": {"amount": {"b0": 5, "b1": 10, "b2": 15, "b3": 0}, "country": {"DE": 10, "IT": 5}},
    "c2": {"amount": {"b0": 5, "b1": 10, "b2": 15, "b3": 0}, "country": {"FR": 5}},
    "s1": {"amount": {"b0": 10, "b1": 10, "b2": 10, "b3": 10}, "country": {"DE": 10, "FR": 5}},
    "s2": {"amount": {"b0": 15, "b1": 15, "b2": 15, "b3": 15},
           "country": {"DE": 10, "FR": 5, "__other__": 5}},
    "k1": {"amount": {"b0": 2, "b1": 4, "b2": 6}},  # the same shares as k2: no drift
    "k2": {"amount": {"b0": 1, "b1": 2, "b2": 3}},
    "q1": {"amount": {"b0": 0.05}},  # 12 values in the hour: below min_samples
    "q2": {"amount": {"b0": 10}},
}
# pod -> gauge -> value
GAUGES: dict[str, dict[str, float]] = {
    "c1": {"mlmon_accuracy_ratio": 0.8, "mlmon_performance_samples": 300},
    "c2": {"mlmon_accuracy_ratio": 0.9, "mlmon_performance_samples": 100},
    "s1": {"mlmon_accuracy_ratio": 0.9, "mlmon_performance_samples": 1000},
    "s2": {"mlmon_accuracy_ratio": 0.95, "mlmon_performance_samples": 1000},
    "e1": {"mlmon_regression_rmse": 2, "mlmon_performance_samples": 100},
    "e2": {"mlmon_regression_rmse": 4, "mlmon_performance_samples": 300},
    "e3": {"mlmon_regression_rmse": 3, "mlmon_performance_samples": 200},
}


def _labels(pod: Pod, **extra: str) -> str:
    pairs = {"model": pod.model, "version": pod.version, **extra, "job": "mlmon",
             "instance": pod.instance, "track": pod.track}
    return "{" + ",".join(f'{k}="{v}"' for k, v in pairs.items()) + "}"


def openmetrics(end: int) -> str:
    """Every series from end - SPAN to end, one sample per STEP."""
    times = range(end - SPAN, end + 1, STEP)
    lines = ["# TYPE mlmon_feature_bucket counter"]
    for name, features in BUCKETS.items():
        for feature, buckets in features.items():
            for bucket, per_step in buckets.items():
                series = "mlmon_feature_bucket_total" + _labels(
                    PODS[name], feature=feature, bucket=bucket)
                lines += [f"{series} {i * per_step} {t}" for i, t in enumerate(times)]
    gauges: dict[str, list[str]] = defaultdict(list)
    for name in PODS:
        series = "mlmon_threshold" + _labels(PODS[name], threshold="min_samples")
        gauges["mlmon_threshold"] += [f"{series} {MIN_SAMPLES} {t}" for t in times]
    for name, values in GAUGES.items():
        for metric, value in values.items():
            series = metric + _labels(PODS[name])
            gauges[metric] += [f"{series} {value} {t}" for t in times]
    for metric, samples in gauges.items():
        lines += [f"# TYPE {metric} gauge", *samples]
    return "\n".join([*lines, "# EOF"]) + "\n"


def _track_counts(model: str, feature: str, track: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for name, features in BUCKETS.items():
        if PODS[name].model == model and PODS[name].track == track:
            for bucket, per_step in features.get(feature, {}).items():
                out[bucket] += per_step
    return out


def psi_by_hand(model: str, feature: str) -> float | None:
    """Canary (current) vs stable (reference) PSI, or None below min_samples an hour."""
    canary = _track_counts(model, feature, "canary")
    stable = _track_counts(model, feature, "stable")
    per_hour = 3600 / STEP
    if min(sum(canary.values()), sum(stable.values())) * per_hour < MIN_SAMPLES:
        return None
    buckets = sorted(set(canary) | set(stable))
    c = np.array([canary.get(b, 0.0) for b in buckets])
    s = np.array([stable.get(b, 0.0) for b in buckets])
    return floored_psi(c, s)


def max_psi_by_hand(model: str) -> float | None:
    features = {f for name in BUCKETS if PODS[name].model == model for f in BUCKETS[name]}
    values = [v for f in features if (v := psi_by_hand(model, f)) is not None]
    return max(values) if values else None


def weighted_by_hand(model: str, track: str, metric: str, power: int = 1) -> float:
    """Pair-weighted mean of a per-pod gauge (power 2 and a root: RMSE)."""
    pods = [n for n, p in PODS.items() if p.model == model and p.track == track and n in GAUGES]
    weights = np.array([GAUGES[n]["mlmon_performance_samples"] for n in pods])
    values = np.array([GAUGES[n][metric] for n in pods]) ** power
    mean = float(np.sum(values * weights) / np.sum(weights))
    return mean ** (1 / power)


def pairs_by_hand(model: str, track: str) -> float:
    return sum(GAUGES[n]["mlmon_performance_samples"] for n, p in PODS.items()
               if p.model == model and p.track == track and n in GAUGES)
