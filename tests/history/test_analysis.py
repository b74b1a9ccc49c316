"""analyse(): trends, crossings, forecasts and comparisons of series with known truth.

Prometheus is a real HTTP server on loopback (tests/history/promfake.py) serving
the generated series; the oracles are hand calculations and scipy.
"""

from __future__ import annotations

import math
import socket

import numpy as np
import pytest
from scipy import stats as sps

from exporter.history.analysis import HistoryError, HistoryReport, SeriesReport, analyse
from exporter.history.promapi import PrometheusAPI, PrometheusError
from tests.history.dataset import (
    ACC3_END,
    ACC3_START,
    ACC4,
    AMOUNT_SLOPE,
    DAY,
    ELAPSED,
    END,
    INCOME_SLOPE,
    JOINED_PER_STEP,
    START,
    STEP,
    Fraud,
    T,
    stored,
)
from tests.history.promfake import Canned, FakePrometheus, Stored, error_body, serving

CRIT_95 = float(sps.t.ppf(0.975, T.size - 2))  # Student's t, 575 degrees of freedom


def _run(prom: FakePrometheus, model: str = "fraud", version: str | None = "3",
         compare: tuple[str, str] | None = None, step: float = STEP) -> HistoryReport:
    return analyse(PrometheusAPI(prom.url), model, version, START, END, step, compare)


def _by_name(rows: tuple[SeriesReport, ...], version: str = "3") -> dict[str, SeriesReport]:
    return {r.name: r for r in rows if r.version == version}


def _analyse_series(*series: Stored, model: str = "m",
                    version: str | None = None) -> HistoryReport:
    with serving(FakePrometheus(list(series))) as fake:
        return _run(fake, model, version)


def test_exact_line_slope_and_crossings(prom: FakePrometheus, data: Fraud) -> None:
    amount = _by_name(_run(prom).drift)["amount"]
    assert (amount.kind, amount.version) == ("drift", "3")
    np.testing.assert_array_equal(amount.t, T)
    np.testing.assert_array_equal(amount.y, data.psi[("3", "amount")])
    assert amount.trend is not None
    assert amount.trend.n == 577  # 2 days of 5-minute samples, both ends included
    assert amount.trend.slope * DAY == pytest.approx(AMOUNT_SLOPE, rel=1e-9)
    # y = 0.02 + 0.13·(t − START)/DAY, so at t = 0 the line is 0.02 − 0.13·START/DAY
    assert amount.trend.intercept == pytest.approx(0.02 - AMOUNT_SLOPE * START / DAY, rel=1e-9)
    assert amount.trend.significant and amount.trend.pvalue < 1e-12
    assert amount.current == pytest.approx(0.02 + 0.13 * 2, abs=1e-12)  # 0.28 at the end
    assert amount.change == pytest.approx(0.13 * 2, abs=1e-12)
    # 0.10 is reached (0.10 − 0.02)/0.13 days = 53,169.2 s in: the first 5-minute sample
    # at or after it is the 178th, 53,400 s = 14:50 on day one.
    # 0.25 is reached 0.23/0.13 days = 152,861.5 s in: sample 510, 153,000 s.
    assert math.ceil((0.10 - 0.02) / AMOUNT_SLOPE * DAY / STEP) == 178
    assert math.ceil((0.25 - 0.02) / AMOUNT_SLOPE * DAY / STEP) == 510
    assert amount.crossed == {"medium": START + 53_400, "high": START + 153_000}
    assert amount.forecast_high is None  # already above the high threshold


def test_noisy_slope_interval_and_forecast_match_linregress(prom: FakePrometheus,
                                                            data: Fraud) -> None:
    income = _by_name(_run(prom).drift)["income"]
    y = data.psi[("3", "income")]
    ref = sps.linregress(T, y)
    trend = income.trend
    assert trend is not None and trend.n == T.size
    assert trend.slope == pytest.approx(ref.slope, rel=1e-9)
    assert trend.intercept == pytest.approx(ref.intercept, rel=1e-9)
    assert trend.slope_low == pytest.approx(ref.slope - CRIT_95 * ref.stderr, rel=1e-9)
    assert trend.slope_high == pytest.approx(ref.slope + CRIT_95 * ref.stderr, rel=1e-9)
    assert trend.pvalue == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
    assert trend.significant
    assert trend.slope_low * DAY < INCOME_SLOPE < trend.slope_high * DAY  # truth inside CI
    assert income.current == y[-1] and income.change == y[-1] - y[0]
    # never high; medium first reached at the first sample ≥ 0.1
    assert income.crossed == {"medium": float(T[np.flatnonzero(y >= 0.1)[0]]), "high": None}
    # forecast: where the fitted line reaches 0.25
    assert income.forecast_high == pytest.approx((0.25 - ref.intercept) / ref.slope, rel=1e-12)
    # the true line 0.05 + 0.05·days reaches 0.25 after 4 days
    assert income.forecast_high == pytest.approx(START + 4 * DAY, abs=0.25 * DAY)


def test_flat_noise_has_no_trend_and_no_forecast(prom: FakePrometheus, data: Fraud) -> None:
    age = _by_name(_run(prom).drift)["age"]
    y = data.psi[("3", "age")]
    ref = sps.linregress(T, y)
    assert ref.pvalue > 0.05  # no trend in the data
    assert age.trend is not None
    assert age.trend.pvalue == pytest.approx(ref.pvalue, rel=1e-6)
    assert not age.trend.significant
    assert age.trend.slope_low < 0 < age.trend.slope_high
    assert float(np.max(y)) < 0.1
    assert age.crossed == {"medium": None, "high": None}
    assert age.forecast_high is None


def test_forecast_is_now_when_the_line_is_already_past_and_none_when_falling() -> None:
    rng = np.random.default_rng(17)
    late = 0.1 + 0.11 * ELAPSED + rng.normal(0, 0.02, T.size)
    late[-1] = 0.24  # the last sample is below 0.25; the fitted line is above it
    falling = 0.2 - 0.05 * ELAPSED
    short_t = T[:2]
    report = _analyse_series(
        stored("mlmon_feature_psi", late, model="m", version="1", feature="late"),
        stored("mlmon_feature_psi", falling, model="m", version="1", feature="falling"),
        stored("mlmon_feature_psi", np.array([0.3, 0.31]), t=short_t, model="m", version="1",
               feature="short"))
    rows = _by_name(report.drift, "1")
    ref = sps.linregress(T, late)
    assert (0.25 - ref.intercept) / ref.slope < END  # the line crossed before the end
    assert rows["late"].shape == "trend" and rows["late"].current == 0.24
    assert rows["late"].forecast_high == END
    assert rows["late"].crossed == {"medium": START, "high": float(T[np.argmax(late >= 0.25)])}
    assert rows["falling"].trend is not None
    assert rows["falling"].trend.slope * DAY == pytest.approx(-0.05, rel=1e-9)
    assert rows["falling"].trend.significant
    assert rows["falling"].current == pytest.approx(0.1, abs=1e-12)
    assert rows["falling"].forecast_high is None  # falling: never forecast
    # two samples: no trend, but level, change and crossings
    assert rows["short"].trend is None and rows["short"].forecast_high is None
    assert rows["short"].trend_reason == "range 5m < 1h minimum"
    assert rows["short"].current == 0.31
    assert rows["short"].change == pytest.approx(0.01, abs=1e-15)
    assert rows["short"].crossed == {"medium": START, "high": START}
    assert rows["short"].t == (START, START + STEP)


def test_nan_samples_are_left_out() -> None:
    rng = np.random.default_rng(5)
    y = 0.05 + 0.02 * ELAPSED + rng.normal(0, 0.003, T.size)
    gaps = [0, 7, 100, 101, 300, T.size - 1]
    y[gaps] = np.nan
    keep = ~np.isnan(y)
    report = _analyse_series(stored("mlmon_feature_psi", y, model="m", version="1",
                                    feature="f"))
    (row,) = report.drift
    ref = sps.linregress(T[keep], y[keep])
    assert row.trend is not None and row.trend.n == T.size - len(gaps)
    assert row.trend.slope == pytest.approx(ref.slope, rel=1e-9)
    np.testing.assert_array_equal(row.t, T[keep])
    np.testing.assert_array_equal(row.y, y[keep])
    assert row.current == y[-2]  # the last sample is NaN: the one before it counts
    assert row.change == y[-2] - y[1]


def test_thresholds_come_from_mlmon_threshold() -> None:
    psi = 0.02 + AMOUNT_SLOPE * ELAPSED
    half = T.size // 2
    high = np.where(np.arange(T.size) < half, 0.3, 0.2)  # lowered half-way: last value counts
    report = _analyse_series(
        stored("mlmon_feature_psi", psi, model="m", version="1", feature="f"),
        stored("mlmon_threshold", np.full(T.size, 0.05), model="m", version="1",
               threshold="psi_medium"),
        stored("mlmon_threshold", high, model="m", version="1", threshold="psi_high"))
    assert report.thresholds == {"psi_medium": 0.05, "psi_high": 0.2}
    (row,) = report.drift
    # 0.05 after 0.03/0.13 days = 19,938.5 s: sample 67 = 20,100 s;
    # 0.2 after 0.18/0.13 days = 119,630.8 s: sample 399 = 119,700 s
    assert row.crossed == {"medium": START + 20_100, "high": START + 119_700}


def test_thresholds_default_when_prometheus_has_none() -> None:
    psi = 0.02 + AMOUNT_SLOPE * ELAPSED
    only_high = _analyse_series(
        stored("mlmon_feature_psi", psi, model="m", version="1", feature="f"),
        stored("mlmon_threshold", np.full(T.size, 0.2), model="m", version="1",
               threshold="psi_high"))
    assert only_high.thresholds == {"psi_medium": 0.1, "psi_high": 0.2}
    neither = _analyse_series(stored("mlmon_feature_psi", psi, model="m", version="1",
                                     feature="f"))
    assert neither.thresholds == {"psi_medium": 0.1, "psi_high": 0.25}
    assert neither.drift[0].crossed == {"medium": START + 53_400, "high": START + 153_000}


def test_performance_trends(prom: FakePrometheus, data: Fraud) -> None:
    report = _run(prom)
    assert [r.name for r in report.performance] == ["accuracy", "f1_macro", "mae"]
    perf = _by_name(report.performance)
    for row in report.performance:
        assert row.kind == "performance" and row.version == "3"
        assert row.crossed == {} and row.forecast_high is None
    acc = perf["accuracy"]
    assert acc.trend is not None and acc.trend.significant
    # accuracy 0.92 -> 0.90 over two days: −0.01 per day
    assert acc.trend.slope * DAY == pytest.approx((ACC3_END - ACC3_START) / 2, rel=1e-9)
    assert acc.current == pytest.approx(0.90, abs=1e-12)
    assert acc.change == pytest.approx(-0.02, abs=1e-12)
    f1 = perf["f1_macro"]
    # only class="__macro__": 0.80 − 0.01·2 = 0.78 (averaging in the per-class 0.30: 0.54)
    assert f1.current == pytest.approx(0.78, abs=1e-12)
    assert f1.trend is not None and f1.trend.slope * DAY == pytest.approx(-0.01, rel=1e-9)
    mae = perf["mae"]
    ref = sps.linregress(T, data.mae["3"])
    assert mae.trend is not None
    assert mae.trend.slope == pytest.approx(ref.slope, rel=1e-9)
    assert mae.trend.pvalue == pytest.approx(ref.pvalue, rel=1e-6)
    assert mae.current == data.mae["3"][-1]


def test_all_versions_are_reported_in_order(prom: FakePrometheus, data: Fraud) -> None:
    report = _run(prom, version=None)
    assert report.versions == ("3", "4")
    assert (report.model, report.prometheus) == ("fraud", prom.url)
    assert (report.start, report.end, report.step) == (START, END, STEP)
    assert report.compare is None and report.comparisons == ()
    # per version, the highest current PSI first
    expected = sorted(data.psi, key=lambda k: (k[0], -data.psi[k][-1]))
    assert expected == [("3", "amount"), ("3", "income"), ("3", "age"), ("4", "amount")]
    assert [(r.version, r.name) for r in report.drift] == expected
    assert [(r.version, r.name) for r in report.performance] == [
        ("3", "accuracy"), ("3", "f1_macro"), ("3", "mae"), ("4", "accuracy"), ("4", "mae")]
    queries = [r.one("query") for r in prom.requests if r.path == "/api/v1/query_range"]
    assert 'max by (version, feature) (mlmon_feature_psi{model="fraud"})' in queries


def test_one_version(prom: FakePrometheus, data: Fraud) -> None:
    report = _run(prom, version="4")
    assert report.versions == ("4",)
    assert [r.name for r in report.drift] == ["amount"]
    assert report.drift[0].y == tuple(data.psi[("4", "amount")])
    assert [r.name for r in report.performance] == ["accuracy", "mae"]
    acc = report.performance[0]
    # a constant series: slope 0, no evidence of a trend
    assert acc.current == ACC4 and acc.change == 0.0
    assert acc.trend is not None and acc.trend.slope == 0.0
    assert acc.trend.pvalue == 1.0 and not acc.trend.significant
    queries = [r.one("query") for r in prom.requests if r.path == "/api/v1/query_range"]
    assert 'max by (version, feature) (mlmon_feature_psi{model="fraud",version=~"4"})' in queries


def test_compare_two_versions(prom: FakePrometheus, data: Fraud) -> None:
    report = _run(prom, version=None, compare=("3", "4"))
    assert report.compare == ("3", "4")
    # f1_macro exists only for version 3, income and age PSI only for version 3
    assert [c.name for c in report.comparisons] == ["accuracy", "mae", "psi:amount"]
    by = {c.name: c for c in report.comparisons}

    acc = by["accuracy"].comparison
    p_a = (ACC3_START + ACC3_END) / 2  # mean of a linear fall: the midpoint, 0.91
    p_b = ACC4
    n = JOINED_PER_STEP * (2 * DAY / STEP)  # increase of the joined counter: 28,800
    pooled = (p_a + p_b) / 2  # equal n
    z = (p_b - p_a) / math.sqrt(pooled * (1 - pooled) * (2 / n))
    assert acc.method == "two-proportion z-test"
    assert acc.a == pytest.approx(p_a, abs=1e-12) and acc.b == pytest.approx(p_b, abs=1e-12)
    assert acc.difference == pytest.approx(0.04, abs=1e-12)
    assert acc.statistic == pytest.approx(z, rel=1e-9)
    assert acc.pvalue == pytest.approx(2 * sps.norm.sf(abs(z)), rel=1e-6, abs=1e-300)
    assert acc.significant and by["accuracy"].better == "4"  # higher accuracy is better

    mae = by["mae"].comparison
    ref = sps.ttest_ind(data.mae["3"], data.mae["4"], equal_var=False)
    assert mae.method == "Welch t-test"
    assert mae.a == pytest.approx(np.mean(data.mae["3"]), rel=1e-12)
    assert mae.difference == pytest.approx(np.mean(data.mae["4"]) - np.mean(data.mae["3"]),
                                           rel=1e-9)
    assert mae.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert mae.pvalue == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
    assert mae.significant and by["mae"].better == "4"  # lower error is better

    psi = by["psi:amount"].comparison
    ref = sps.ttest_ind(data.psi[("3", "amount")], data.psi[("4", "amount")], equal_var=False)
    assert psi.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert psi.significant and by["psi:amount"].better == "4"  # lower drift is better

    joined = [q for r in prom.requests if "joined" in (q := r.params.get("query", [""])[0])]
    assert joined == ['sum by (version) (increase(mlmon_labels_joined_total'
                      '{model="fraud",version=~"3|4"}[172800s]))']


def test_compare_directions_and_no_significance_without_joined_counts() -> None:
    rng = np.random.default_rng(3)
    acc_a, acc_b = rng.normal(0.9, 0.01, T.size), rng.normal(0.9, 0.01, T.size)
    r2_a, r2_b = rng.normal(0.70, 0.02, T.size), rng.normal(0.75, 0.02, T.size)
    rmse_a, rmse_b = rng.normal(2.0, 0.1, T.size), rng.normal(2.2, 0.1, T.size)
    series = []
    for version, acc, r2, rmse in (("a", acc_a, r2_a, rmse_a), ("b", acc_b, r2_b, rmse_b)):
        series += [stored("mlmon_accuracy_ratio", acc, model="m", version=version),
                   stored("mlmon_regression_r2", r2, model="m", version=version),
                   stored("mlmon_regression_rmse", rmse, model="m", version=version)]
    with serving(FakePrometheus(series)) as fake:
        report = _run(fake, "m", None, compare=("a", "b"))
    by = {c.name: c for c in report.comparisons}
    assert list(by) == ["accuracy", "rmse", "r2"]  # the order of PERFORMANCE
    # no joined counter: accuracy falls back to Welch's t-test over the series
    ref = sps.ttest_ind(acc_a, acc_b, equal_var=False)
    assert ref.pvalue > 0.05  # same distribution
    assert by["accuracy"].comparison.method == "Welch t-test"
    assert by["accuracy"].comparison.pvalue == pytest.approx(ref.pvalue, rel=1e-6)
    assert not by["accuracy"].comparison.significant and by["accuracy"].better is None
    assert by["r2"].comparison.difference == pytest.approx(np.mean(r2_b) - np.mean(r2_a))
    assert by["r2"].better == "b"  # higher R² is better
    assert by["rmse"].better == "a"  # lower RMSE is better


def test_invalid_range_is_refused_before_asking(prom: FakePrometheus) -> None:
    api = PrometheusAPI(prom.url)
    for start, end, step in ((END, START, STEP), (START, START, STEP), (START, END, 0.0)):
        with pytest.raises(HistoryError) as err:
            analyse(api, "fraud", None, start, end, step)
        assert str(err.value) == "the range must be positive and the step greater than 0"
    assert prom.requests == []


def test_unknown_model_lists_the_known_ones(prom: FakePrometheus) -> None:
    with pytest.raises(HistoryError) as err:
        _run(prom, "nope")
    assert str(err.value) == ("unknown model 'nope': Prometheus has no mlmon series for it "
                              "(models it knows: churn, fraud)")
    with serving(FakePrometheus([])) as empty, pytest.raises(HistoryError) as err:
        _run(empty, "fraud")
    assert str(err.value).endswith("(models it knows: none)")


def test_model_without_data_in_range(prom: FakePrometheus) -> None:
    with pytest.raises(HistoryError) as err:
        _run(prom, "churn", None)
    assert str(err.value) == ("no data for model 'churn' in the requested range; "
                              "widen --range or move --end")


def test_empty_result_for_a_version(prom: FakePrometheus) -> None:
    with pytest.raises(HistoryError) as err:
        _run(prom, "fraud", "9")
    assert str(err.value) == ("no drift or performance series for model 'fraud' version(s) 9 "
                              "in the requested range")
    only_thresholds = [stored("mlmon_threshold", np.full(T.size, 0.2), model="m", version="1",
                              threshold="psi_high")]
    with serving(FakePrometheus(only_thresholds)) as fake, pytest.raises(HistoryError) as err:
        _run(fake, "m", None)
    assert str(err.value) == "no drift or performance series for model 'm' in the requested range"


def test_compare_with_a_missing_version(prom: FakePrometheus) -> None:
    with pytest.raises(HistoryError) as err:
        _run(prom, version=None, compare=("3", "5"))
    assert str(err.value) == "version(s) 5 of 'fraud' have no data in the requested range"


def test_prometheus_errors_reach_the_caller(prom: FakePrometheus) -> None:
    with pytest.raises(PrometheusError) as err:
        _run(prom, step=1.0)  # 172,800 points: over Prometheus's limit
    assert str(err.value).startswith(f"Prometheus at {prom.url} answered HTTP 400: bad_data: "
                                     "exceeded maximum resolution of 11,000 points")
    prom.canned["/api/v1/label/model/values"] = Canned(
        503, error_body("unavailable", "TSDB not ready"))
    with pytest.raises(PrometheusError) as err:
        _run(prom)
    assert str(err.value) == (f"Prometheus at {prom.url} answered HTTP 503: "
                              "unavailable: TSDB not ready")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PrometheusError) as err:
        analyse(PrometheusAPI(f"http://127.0.0.1:{port}", timeout=5), "fraud", None,
                START, END, STEP)
    assert str(err.value).startswith(f"cannot reach Prometheus at http://127.0.0.1:{port}: ")


def test_label_values_are_escaped_in_selectors() -> None:
    model, version = 'fr"aud\\x', 'v"1'
    psi = 0.02 + AMOUNT_SLOPE * ELAPSED
    with serving(FakePrometheus([stored("mlmon_feature_psi", psi, model=model,
                                        version=version, feature="f")])) as fake:
        report = _run(fake, model, version)
        queries = [r.one("query") for r in fake.requests if r.path == "/api/v1/query_range"]
    assert report.model == model and report.versions == (version,)
    assert report.drift[0].trend is not None
    assert report.drift[0].trend.slope * DAY == pytest.approx(AMOUNT_SLOPE, rel=1e-9)
    assert queries[0] == ('max by (version, feature) '
                          '(mlmon_feature_psi{model="fr\\"aud\\\\x",version=~"v\\"1"})')


def test_version_with_regex_characters() -> None:
    psi = 0.02 + AMOUNT_SLOPE * ELAPSED
    report = _analyse_series(stored("mlmon_feature_psi", psi, model="m", version="2.1.0+cu118",
                                    feature="f"), version="2.1.0+cu118")
    assert report.versions == ("2.1.0+cu118",)
