"""The real sidecar (aiohttp + asyncio listeners + ingest worker) on real sockets."""

from __future__ import annotations

import json
import os
import socket
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text
from scipy import stats as sps

from exporter.metric_names import REJECT_REASONS
from exporter.sidecar.runtime import Sidecar
from tests.factories import (
    COUNTRIES,
    config,
    fraud_events,
    fraud_model,
    fraud_profile,
    price_model,
)
from tests.oracle import hand_psi, pooled_chi2_pvalue
from tests.procs import post_events
from tests.sidecar.threaded import Running, ndjson, running, send_unix


def _get(url: str, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in parse_text(text) for s in fam.samples}


@pytest.fixture(params=[1, 0], ids=["decoder-process", "in-process"])
def sidecar(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Running]:
    m = fraud_model(window=400, min_samples=100)
    cfg = config(m, price_model(), tmp=tmp_path, tcp="127.0.0.1:0",
                 max_line_bytes=2048, max_body_bytes=4096, decode_processes=request.param)
    with running(Sidecar(cfg, {m.key: fraud_profile(m)})) as r:
        yield r


def test_bad_lines_counted_by_reason_and_good_lines_all_accounted(sidecar: Running) -> None:
    good = fraud_events(300)
    bad = ["{oops", "x" * 5000, json.dumps({**good[0], "features": {"amount": "big"}}),
           json.dumps({"v": 1, "model": "nope", "prediction": 1}),
           json.dumps({"v": 7, "model": "fraud", "version": "1", "prediction": 1})]
    lines: list[str] = []
    for i, e in enumerate(good):
        lines.append(json.dumps(e))
        if i % 60 == 0:
            lines.append(bad[(i // 60) % len(bad)])
    sock_path = sidecar.sidecar.config.server.socket
    assert sock_path is not None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(sock_path))
        data = ndjson(lines)
        for i in range(0, len(data), 7777):  # lines cut across writes
            s.sendall(data[i:i + 7777])
        s.sendall(ndjson(fraud_events(20, seed=9, start=1000)))  # still working after bad lines
    sidecar.settle(len(lines) - 1 + 20)  # the over-long line never reaches the queue
    _, _, body = _get(sidecar.http + "/metrics")
    values = _samples(body.decode())
    rej = {r: values[("mlmon_events_rejected_total", frozenset({("reason", r)}))]
           for r in REJECT_REASONS}
    assert rej == {**dict.fromkeys(REJECT_REASONS, 0.0), "malformed_json": 1.0,
                   "line_too_long": 1.0, "bad_type": 1.0, "unknown_model": 1.0,
                   "unsupported_version": 1.0}
    mv = frozenset({("model", "fraud"), ("version", "1")})
    assert values[("mlmon_predictions_total", mv)] == 320
    assert values[("mlmon_events_received_total", frozenset({("transport", "unix")}))] == \
        len(lines) + 20


def test_tcp_transport_and_label_join(sidecar: Running) -> None:
    tcp = sidecar.sidecar.addresses["tcp"]  # configured as port 0: the port it bound
    host, port = tcp.rsplit(":", 1)
    preds = [{"v": 1, "model": "fraud", "version": "1", "id": f"t{i}", "prediction": p}
             for i, p in enumerate([0.9, 0.1, 0.8, 0.3])]
    labels = [{"v": 1, "model": "fraud", "version": "1", "id": f"t{i}", "label": y}
              for i, y in enumerate([1, 1, 0, 0])]
    with socket.create_connection((host, int(port))) as s:
        s.sendall(ndjson(preds))
    sidecar.settle(4)
    with socket.create_connection((host, int(port))) as s:
        s.sendall(ndjson([*labels, {"v": 1, "model": "fraud", "version": "1", "id": "zz",
                                    "label": 1}]))
    sidecar.settle(9)
    sidecar.compute()
    _, _, body = _get(sidecar.http + "/v1/status")
    status = json.loads(body)
    fraud = next(m for m in status["models"] if m["model"] == "fraud")
    assert fraud["labels_joined"] == 4
    assert fraud["performance"]["accuracy"] == pytest.approx(2 / 4)  # 1,0,1,0 vs 1,1,0,0
    assert status["events"]["received"]["tcp"] == 9
    values = _samples(_get(sidecar.http + "/metrics")[2].decode())
    unmatched = frozenset({("model", "fraud"), ("version", "1"), ("reason", "unmatched")})
    assert values[("mlmon_labels_unjoined_total", unmatched)] == 0  # zz: held, may come first
    early = frozenset({("model", "fraud"), ("version", "1")})
    assert values[("mlmon_labels_early_pending", early)] == 1


def test_exported_drift_equals_statistics_core(sidecar: Running) -> None:
    events = fraud_events(600, seed=5, shift=0.2)
    send_unix(sidecar.sidecar.config.server.socket, ndjson(events))  # type: ignore[arg-type]
    sidecar.settle(600)
    sidecar.compute()
    values = _samples(_get(sidecar.http + "/metrics")[2].decode())
    window = events[-400:]
    profile = fraud_profile(fraud_model())
    ref = profile.feature("amount")
    amount = np.array([e["features"]["amount"] for e in window])
    fv = frozenset({("model", "fraud"), ("version", "1"), ("feature", "amount")})
    ks = sps.ks_2samp(amount, np.asarray(ref.sample), method="asymp")  # type: ignore[union-attr]
    assert values[("mlmon_feature_ks_statistic", fv)] == pytest.approx(ks.statistic, abs=1e-12)
    assert values[("mlmon_feature_ks_pvalue", fv)] == pytest.approx(ks.pvalue, rel=1e-6, abs=0)
    edges = np.asarray(ref.edges)  # type: ignore[union-attr]
    cur = np.bincount(np.searchsorted(edges, amount, side="right"), minlength=len(edges) + 1)
    # PSI by hand (tests/oracle.py: floored, renormalised proportions), not exporter.stats
    assert values[("mlmon_feature_psi", fv)] == pytest.approx(
        hand_psi(np.asarray(ref.counts), cur), rel=1e-9)
    cref = profile.feature("country")
    country = [e["features"]["country"] for e in window]
    counts = np.array([country.count(c) for c in COUNTRIES] + [0])
    cv = frozenset({("model", "fraud"), ("version", "1"), ("feature", "country")})
    # chi-square: scipy on the 2×k table with the all-zero __other__ column dropped;
    # 3 dof, so scipy's default Yates correction does not apply (docs: only at dof 1)
    table = np.array([cref.counts, counts])
    table = table[:, table.sum(axis=0) > 0]
    assert table.shape == (2, 4)
    chi = sps.chi2_contingency(table)
    assert 0 < chi.pvalue < 1e-12  # tiny: compared relatively (abs=0), not to within 1e-12
    assert values[("mlmon_feature_chi2_pvalue", cv)] == pytest.approx(chi.pvalue, rel=1e-9, abs=0)
    assert values[("mlmon_feature_chi2_statistic", cv)] == pytest.approx(chi.statistic, rel=1e-9)
    assert values[("mlmon_feature_psi", cv)] == pytest.approx(
        hand_psi(np.asarray(cref.counts), counts), rel=1e-9)
    # the p-value the verdict rests on: scipy after Cochran pooling (none needed here)
    assert values[("mlmon_feature_drift_pvalue", cv)] == pytest.approx(
        pooled_chi2_pvalue(cref.counts, counts), rel=1e-9, abs=0)


def test_http_events_202_400_413(sidecar: Running) -> None:
    url = sidecar.http + "/v1/events"
    good = fraud_events(3)
    code, body = post_events(url, ndjson([*good, "{bad", json.dumps({"v": 1, "model": "x"})]))
    assert code == 202
    assert body == {"accepted": 3, "rejected": {"malformed_json": 1, "unknown_model": 1}}
    code, body = post_events(url, b"this is not json\nneither is this\n")
    assert code == 400 and body["rejected"] == {"malformed_json": 2}
    assert "NDJSON" in body["error"]
    code, body = post_events(url, b"")
    assert code == 400
    code, body = post_events(url, ndjson(fraud_events(40)))  # > 4096 bytes
    assert code == 413 and "max_body_bytes" in body["error"]
    status = json.loads(_get(sidecar.http + "/v1/status")[2])
    assert status["events"]["received"]["http"] == 7
    fraud = next(m for m in status["models"] if m["model"] == "fraud")
    assert fraud["predictions_total"] == 3


def test_status_shape_and_health(sidecar: Running) -> None:
    assert _get(sidecar.http + "/healthz")[0] == 200
    assert _get(sidecar.http + "/readyz")[0] == 200
    status = json.loads(_get(sidecar.http + "/v1/status")[2])
    assert set(status) == {"version", "uptime_seconds", "models", "events"}
    assert set(status["events"]) == {"received", "rejected", "last_rejection"}
    assert status["events"]["last_rejection"] == {}  # nothing rejected yet
    assert set(status["events"]["rejected"]) == set(REJECT_REASONS)
    m = status["models"][0]
    assert set(m) == {"model", "version", "window_size", "window_samples", "window_fill",
                      "last_compute", "predictions_total", "labels_joined", "severity",
                      "drift_share", "features", "prediction", "top_drifted", "performance",
                      "estimate", "estimate_basis",  # CBPE (exporter.sidecar.http)
                      "error_drift",  # the error stream's Page-Hinkley test
                      "multivariate",  # PCA reconstruction error (exporter.sidecar.multivariate)
                      "data_quality"}  # exporter.stats.quality
    assert m["error_drift"] == {"detector": "page_hinkley", "detections": 0, "errors": 0,
                                "statistic": 0.0, "threshold": 18.0}
    send_unix(sidecar.sidecar.config.server.socket,  # type: ignore[arg-type]
              ndjson(fraud_events(200, shift=1.0)))
    sidecar.settle(200)
    sidecar.compute()
    m = json.loads(_get(sidecar.http + "/v1/status")[2])["models"][0]
    assert m["window_fill"] == 200 / 400 and m["severity"] == "high"
    drift_keys = {"name", "kind", "samples", "psi", "ks_pvalue", "chi2_pvalue", "pvalue",
                  "alpha", "psi_upper_bound", "psi_noise_floor", "significant", "severity"}
    assert set(m["features"][0]) == set(m["prediction"]) == drift_keys
    assert m["prediction"]["name"] == "__prediction__"
    assert m["top_drifted"][0] == max(m["features"], key=lambda f: f["psi"])["name"]
    assert isinstance(m["last_compute"], float)


def test_content_negotiation(sidecar: Running) -> None:
    code, headers, body = _get(sidecar.http + "/metrics",
                               accept="application/openmetrics-text; version=1.0.0")
    assert code == 200 and headers["Content-Type"].startswith("application/openmetrics-text")
    names = {f.name for f in parse_om(body.decode())}
    assert "mlmon_events_rejected" in names and "process_start_time_seconds" in names
    code, headers, body = _get(sidecar.http + "/metrics")
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")


def test_socket_mode_and_stale_socket_replaced(tmp_path: Path) -> None:
    path = tmp_path / "mlmon.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays: a socket nobody listens on
    m = fraud_model()
    cfg = config(m, tmp=tmp_path, socket_mode=0o600)
    with running(Sidecar(cfg, {})) as r:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        send_unix(path, ndjson(fraud_events(5)))
        r.settle(5)
    assert not path.exists()  # removed on shutdown


def test_a_small_queue_pauses_the_readers_and_nothing_goes_missing(tmp_path: Path) -> None:
    m = fraud_model()
    cfg = config(m, tmp=tmp_path, queue_size=50)
    sidecar = Sidecar(cfg, {})
    with running(sidecar) as r:
        sock = cfg.server.socket
        assert sock is not None
        total = 0
        for seed in range(20):
            send_unix(sock, ndjson(fraud_events(200, seed=seed)))
            total += 200
        r.call(_wait_received(sidecar, total))
        r.settle(0)
        r.settle(total)
        assert sidecar.store.rejected["queue_full"] == 0  # readers paused instead of dropping
        assert sidecar.store.models[("fraud", "1")].predictions_total == total


async def _wait_received(sidecar: Sidecar, total: int) -> None:
    import asyncio
    for _ in range(2000):
        if sidecar.store.received["unix"] >= total:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"received {sidecar.store.received['unix']} of {total}")


def test_state_written_periodically(tmp_path: Path) -> None:
    import time

    from exporter.sidecar.persist import restore
    from exporter.sidecar.state import SidecarState

    m = fraud_model()
    state = tmp_path / "state.bin"
    cfg = config(m, tmp=tmp_path, state_file=state, state_interval=0.2)
    sidecar = Sidecar(cfg, {})
    with running(sidecar) as r:
        send_unix(cfg.server.socket, ndjson(fraud_events(7)))  # type: ignore[arg-type]
        r.settle(7)
        after = sidecar.stats.saves["ok"] + 1  # a write that starts after the events applied
        deadline = time.monotonic() + 10
        while sidecar.stats.saves["ok"] <= after:
            assert time.monotonic() < deadline, "no periodic state write"
            time.sleep(0.05)
        copy = SidecarState(cfg, {})
        assert restore(copy, state)
        assert copy.models[("fraud", "1")].predictions_total == 7
    values = _samples(_get_metrics_text(sidecar))
    assert values[("mlmon_state_saves_total", frozenset({("result", "error")}))] == 0


def _get_metrics_text(sidecar: Sidecar) -> str:
    return sidecar.exposition.render(False).decode()
