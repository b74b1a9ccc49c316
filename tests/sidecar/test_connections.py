"""Tap connections are bounded: a cap that refuses and counts, an idle timeout, HTTP bodies."""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.client import Backoff, Tap
from exporter.sidecar.ingest.queue import MAX_QUEUE_BYTES
from exporter.sidecar.runtime import Sidecar
from tests.client.servers import wait_until
from tests.factories import config, fraud_model
from tests.sidecar.threaded import ndjson, running


def _metric(http: str, name: str, **labels: str) -> float:
    with urllib.request.urlopen(http + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return next(s.value for fam in parse_text(text) for s in fam.samples
                if s.name == name and s.labels == labels)


def _connect(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(path))
    return s


def _closed_by_peer(s: socket.socket, within: float) -> bool:
    """True when the sidecar closed (or reset) the connection within ``within`` seconds."""
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_connections_over_the_cap_are_refused_and_counted(tmp_path: Path) -> None:
    cfg = config(fraud_model(), tmp=tmp_path, max_connections=3)
    with running(Sidecar(cfg, {})) as r:
        intake = r.sidecar.intake
        kept = [_connect(tmp_path / "mlmon.sock") for _ in range(3)]
        try:
            wait_until(lambda: intake.open["unix"] == 3, 5.0, "3 open connections")
            extra = _connect(tmp_path / "mlmon.sock")
            assert _closed_by_peer(extra, 5.0)
            extra.close()
            assert _metric(r.http, "mlmon_connections_refused_total", transport="unix") == 1
            assert _metric(r.http, "mlmon_connections", transport="unix") == 3
            # The open ones still work.
            kept[0].sendall(ndjson([{"v": 1, "model": "fraud", "prediction": 0.5}]))
            r.settle(1)
        finally:
            for s in kept:
                s.close()
        wait_until(lambda: intake.open["unix"] == 0, 5.0, "connections closed")
        again = _connect(tmp_path / "mlmon.sock")  # below the cap again: accepted
        again.sendall(ndjson([{"v": 1, "model": "fraud", "prediction": 0.5}]))
        again.close()
        r.settle(2)
        assert r.sidecar.store.received["unix"] == 2
        assert _metric(r.http, "mlmon_queue_capacity_bytes") == MAX_QUEUE_BYTES


def test_idle_connections_are_closed_and_busy_ones_are_not(tmp_path: Path) -> None:
    cfg = config(fraud_model(), tmp=tmp_path, idle_timeout=0.8)
    with running(Sidecar(cfg, {})) as r:
        idle = _connect(tmp_path / "mlmon.sock")
        busy = _connect(tmp_path / "mlmon.sock")
        assert not _closed_by_peer(idle, 0.3)  # not before the timeout
        for _ in range(12):  # 1.2 s of traffic, a line every 0.1 s
            busy.sendall(ndjson([{"v": 1, "model": "fraud", "prediction": 0.5}]))
            time.sleep(0.1)
        assert _closed_by_peer(idle, 3.0)
        assert not _closed_by_peer(busy, 0.05)
        busy.close()
        idle.close()
        r.settle(12)
        assert r.sidecar.intake.idle_closed["unix"] >= 1


def test_a_body_shorter_than_its_content_length_gets_408_within_the_timeout(
        tmp_path: Path) -> None:
    cfg = config(fraud_model(), tmp=tmp_path, idle_timeout=0.5)
    with running(Sidecar(cfg, {})) as r:
        host, port = r.http.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
                      b'{"v":1,"model":"fraud"')
            start = time.monotonic()
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
            elapsed = time.monotonic() - start
        assert reply.startswith(b"HTTP/1.1 408"), reply[:80]
        assert 0.4 <= elapsed < 3.0
        assert r.sidecar.store.received["http"] == 0


def test_a_tap_idled_out_by_the_sidecar_reconnects_and_loses_nothing(tmp_path: Path) -> None:
    cfg = config(fraud_model(), tmp=tmp_path, idle_timeout=0.3)
    with running(Sidecar(cfg, {})) as r:
        tap = Tap(str(tmp_path / "mlmon.sock"), backoff=Backoff(0.01, 0.05))
        tap.prediction(model="fraud", features={"amount": 1.0}, prediction=0.5)
        r.settle(1)
        intake = r.sidecar.intake
        wait_until(lambda: intake.idle_closed["unix"] == 1, 5.0, "idle close")
        tap.prediction(model="fraud", features={"amount": 2.0}, prediction=0.5)
        assert tap.close(5.0) is True
        r.settle(2)
        stats = tap.stats()
        assert (stats.sent, stats.reconnects) == (2, 1)
        assert r.sidecar.store.received["unix"] == 2
