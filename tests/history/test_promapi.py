"""PrometheusAPI against a real HTTP server on loopback answering Prometheus's JSON."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from exporter.history.promapi import PrometheusAPI, PrometheusError
from tests.history.dataset import END, START, STEP, Fraud, T, stored
from tests.history.promfake import Canned, FakePrometheus, error_body, serving

PSI = 'max by (version, feature) (mlmon_feature_psi{model="fraud"})'


def test_query_range_returns_the_stored_samples(prom: FakePrometheus, data: Fraud) -> None:
    series = PrometheusAPI(prom.url).query_range(PSI, START, END, STEP)
    got = {(s.labels["version"], s.labels["feature"]): s for s in series}
    assert set(got) == set(data.psi)
    for key, values in data.psi.items():
        s = got[key]
        assert s.labels == {"version": key[0], "feature": key[1]}
        assert s.t.dtype == np.float64 and s.y.dtype == np.float64
        np.testing.assert_array_equal(s.t, T)
        np.testing.assert_array_equal(s.y, values)  # repr() round trip: exact
    sent = prom.requests[-1]
    assert sent.path == "/api/v1/query_range"
    assert sent.one("query") == PSI
    assert (float(sent.one("start")), float(sent.one("end")), float(sent.one("step"))) == (
        START, END, STEP)


def test_query_range_keeps_nan_samples() -> None:
    y = np.linspace(0.0, 1.0, T.size)
    y[[3, 10]] = np.nan
    with serving(FakePrometheus([stored("m", y, model="x")])) as fake:
        (s,) = PrometheusAPI(fake.url).query_range("max by (model) (m{})", START, END, STEP)
    assert s.labels == {"model": "x"}
    assert np.isnan(s.y[3]) and np.isnan(s.y[10])
    keep = ~np.isnan(y)
    np.testing.assert_array_equal(s.y[keep], y[keep])


def test_query_range_with_no_match_is_empty(prom: FakePrometheus) -> None:
    api = PrometheusAPI(prom.url)
    assert api.query_range('max by (version) (mlmon_feature_psi{model="nope"})',
                           START, END, STEP) == []


def test_instant_query_reads_a_vector_at_a_time(prom: FakePrometheus) -> None:
    api = PrometheusAPI(prom.url)
    at = START + 10 * STEP
    got = api.query('max by (version) (mlmon_accuracy_ratio{model="fraud"})', at)
    # version 3 falls linearly from 0.92 by 0.01 per day: after 50 minutes
    expected_3 = 0.92 - 0.01 * (10 * STEP / 86_400.0)
    assert [labels for labels, _ in got] == [{"version": "3"}, {"version": "4"}]
    assert got[0][1] == pytest.approx(expected_3, abs=1e-12)
    assert got[1][1] == 0.95
    assert float(prom.requests[-1].one("time")) == at
    api.query('max by (version) (mlmon_accuracy_ratio{model="fraud"})')
    assert "time" not in prom.requests[-1].params


def test_instant_query_of_a_non_vector_is_empty(prom: FakePrometheus) -> None:
    prom.canned["scalar(1)"] = Canned(200, json.dumps(
        {"status": "success", "data": {"resultType": "scalar", "result": [START, "1"]}}).encode())
    assert PrometheusAPI(prom.url).query("scalar(1)", START) == []


def test_label_values_sorted_and_limited_to_the_range(prom: FakePrometheus) -> None:
    api = PrometheusAPI(prom.url + "/")  # a trailing slash is ignored
    assert api.base_url == prom.url
    match = '{__name__=~"mlmon_.+"}'
    assert api.label_values("model", match, START, END) == ["fraud"]  # churn is 30 days old
    assert (float(prom.requests[-1].one("start")), float(prom.requests[-1].one("end"))) == (
        START, END)
    assert api.label_values("model", match, None, None) == ["churn", "fraud"]  # not "up"'s
    assert set(prom.requests[-1].params) == {"match[]"}
    assert prom.requests[-1].path == "/api/v1/label/model/values"
    assert api.label_values("version", match, None, None) == ["1", "3", "4"]


def test_bad_data_answer_is_reported_with_prometheus_message(prom: FakePrometheus) -> None:
    api = PrometheusAPI(prom.url)
    # 2 days at a 1 s step is 172,800 points: over Prometheus's 11,000
    with pytest.raises(PrometheusError) as err:
        api.query_range(PSI, START, END, 1.0)
    assert str(err.value) == (
        f"Prometheus at {prom.url} answered HTTP 400: bad_data: exceeded maximum resolution "
        "of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
    with pytest.raises(PrometheusError, match=r"answered HTTP 400: bad_data: parse error"):
        api.query("rate(x[5m]", START)


def test_execution_error_and_error_status_with_200(prom: FakePrometheus) -> None:
    api = PrometheusAPI(prom.url)
    prom.canned["slow"] = Canned(422, error_body("execution", "query timed out in expression"))
    with pytest.raises(PrometheusError) as err:
        api.query("slow", START)
    assert str(err.value) == (
        f"Prometheus at {prom.url} answered HTTP 422: execution: query timed out in expression")
    prom.canned["odd"] = Canned(200, error_body("internal", "something broke"))
    with pytest.raises(PrometheusError) as err:
        api.query("odd", START)
    assert str(err.value) == (
        f"Prometheus at {prom.url} answered HTTP 200: internal: something broke")


def test_non_json_error_body_is_quoted(prom: FakePrometheus) -> None:
    prom.canned["/api/v1/query"] = Canned(503, b"Service Unavailable: TSDB not ready",
                                          "text/plain")
    with pytest.raises(PrometheusError) as err:
        PrometheusAPI(prom.url).query("up", START)
    assert str(err.value) == (
        f"Prometheus at {prom.url} answered HTTP 503: Service Unavailable: TSDB not ready")


def test_wrong_path_gives_the_404(prom: FakePrometheus) -> None:
    api = PrometheusAPI(prom.url + "/prometheus")  # a prefix this server does not have
    with pytest.raises(PrometheusError) as err:
        api.query("up", START)
    assert str(err.value) == (
        f"Prometheus at {prom.url}/prometheus answered HTTP 404: 404 page not found\n")


def test_something_else_than_prometheus(prom: FakePrometheus) -> None:
    prom.canned["/api/v1/query"] = Canned(200, b"<html>Grafana</html>", "text/html")
    with pytest.raises(PrometheusError) as err:
        PrometheusAPI(prom.url).query("up", START)
    assert str(err.value) == (
        f"{prom.url} did not answer with Prometheus API JSON; is it Prometheus?")


def test_unreachable_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once closed
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(PrometheusError) as err:
        PrometheusAPI(url, timeout=5).query("up")
    message = str(err.value)
    assert message.startswith(f"cannot reach Prometheus at {url}: ")
    assert "refused" in message.lower()


def test_timeout(prom: FakePrometheus) -> None:
    prom.canned["/api/v1/query"] = Canned(200, b"{}", delay=0.6)
    api = PrometheusAPI(prom.url, timeout=0.2)
    with pytest.raises(PrometheusError) as err:
        api.query("up")
    assert str(err.value) == f"cannot reach Prometheus at {prom.url}: timed out"
