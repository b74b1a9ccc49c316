"""analyse() on a long-term store: only the hourly averages of rules/mlmon-downsampling.yml
(and mlmon_threshold), as prometheus/prometheus.example.yml ships them. The end-to-end
check against a real VictoriaMetrics is tests/e2e/test_victoriametrics.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from exporter.history.analysis import DOWNSAMPLED, DOWNSAMPLED_PSI, HistoryError, analyse
from exporter.history.promapi import PrometheusAPI
from tests.history.dataset import AMOUNT_SLOPE, ELAPSED, END, START, STEP, T, stored
from tests.history.promfake import FakePrometheus, serving


def _store() -> FakePrometheus:
    psi = 0.02 + AMOUNT_SLOPE * ELAPSED
    accuracy = 0.92 - 0.01 * ELAPSED
    return FakePrometheus([
        stored(DOWNSAMPLED_PSI, psi, model="fraud", version="3", feature="amount",
               cluster="example"),
        stored(DOWNSAMPLED["accuracy"], accuracy, model="fraud", version="3",
               cluster="example"),
        stored("mlmon_threshold", np.full(T.size, 0.2), model="fraud", version="3",
               threshold="psi_high", job="mlmon", instance="pod-1", cluster="example"),
    ])


def test_auto_reads_the_hourly_averages_when_no_raw_series_are_kept() -> None:
    with serving(_store()) as fake:
        api = PrometheusAPI(fake.url)
        report = analyse(api, "fraud", "3", START, END, STEP)
        assert analyse(api, "fraud", "3", START, END, STEP, series="downsampled") == report
        with pytest.raises(HistoryError, match="no drift or performance series"):
            analyse(api, "fraud", "3", START, END, STEP, series="raw")
    assert report.series == "downsampled"
    assert report.thresholds == {"psi_medium": 0.1, "psi_high": 0.2}
    (amount,) = report.drift
    np.testing.assert_array_equal(amount.t, T)
    assert amount.trend is not None
    assert amount.trend.slope == pytest.approx(
        sps.linregress(T, 0.02 + AMOUNT_SLOPE * ELAPSED).slope, rel=1e-9)
    (accuracy,) = report.performance
    assert accuracy.name == "accuracy"
    assert accuracy.change == pytest.approx(-0.01 * ELAPSED[-1], rel=1e-9)


def test_raw_series_win_in_auto_and_downsampled_can_be_forced() -> None:
    store = _store()
    store.series.append(stored("mlmon_feature_psi", np.full(T.size, 0.07), model="fraud",
                               version="3", feature="amount", job="mlmon", instance="pod-1"))
    with serving(store) as fake:
        api = PrometheusAPI(fake.url)
        raw = analyse(api, "fraud", "3", START, END, STEP)
        down = analyse(api, "fraud", "3", START, END, STEP, series="downsampled")
    assert (raw.series, down.series) == ("raw", "downsampled")
    assert raw.drift[0].current == 0.07
    assert down.drift[0].current == pytest.approx(0.02 + AMOUNT_SLOPE * ELAPSED[-1])
    assert raw.performance == ()  # no raw accuracy: auto does not mix the two
