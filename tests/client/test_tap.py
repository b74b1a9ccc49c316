from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from exporter.client import Backoff, Tap
from tests.client.protocol import parse_line
from tests.client.servers import LineServer, wait_until

FAST = Backoff(initial=0.01, cap=0.05)


@pytest.fixture
def sock_path(tmp_path: Path) -> str:
    return str(tmp_path / "mlmon.sock")


def _features(i: int) -> dict[str, object]:
    return {"amount": i * 0.5, "country": ("DE", "FR")[i % 2], "n": i}


def test_every_call_arrives_as_v1_ndjson_with_its_fields(sock_path: str) -> None:
    with LineServer(sock_path) as server:
        tap = Tap(sock_path, backoff=FAST)
        for i in range(500):
            tap.prediction(model="fraud", version="3", features=_features(i),
                           prediction={"0": 1 - i / 1000, "1": i / 1000}, id=f"req-{i}",
                           ts=1764140000.0 + i)
        for i in range(0, 500, 5):
            tap.label(model="fraud", id=f"req-{i}", label=i % 2)
        assert tap.close(5.0)
        lines = server.wait_lines(600)
    events = [parse_line(line) for line in lines]
    preds = [e for e in events if "features" in e]
    labels = [e for e in events if "features" not in e]
    assert len(preds) == 500 and len(labels) == 100
    # One connection keeps the callers' order.
    for i, e in enumerate(preds):
        assert e == {"v": 1, "model": "fraud", "version": "3", "id": f"req-{i}",
                     "ts": 1764140000.0 + i, "features": _features(i),
                     "prediction": {"0": 1 - i / 1000, "1": i / 1000}}
    assert [e["id"] for e in labels] == [f"req-{i}" for i in range(0, 500, 5)]
    assert [e["label"] for e in labels] == [i % 2 for i in range(0, 500, 5)]
    stats = tap.stats()
    assert (stats.sent, stats.dropped_queue_full, stats.dropped_disconnected,
            stats.errors) == (600, 0, 0, 0)


def test_tcp_address(sock_path: str) -> None:
    with LineServer() as server:
        tap = Tap(f"tcp://127.0.0.1:{server.port}", backoff=FAST)
        for i in range(50):
            tap.prediction(model="m", features={"x": float(i)}, prediction=float(i))
        tap.close(5.0)
        lines = server.wait_lines(50)
    assert [parse_line(x)["features"]["x"] for x in lines] == [float(i) for i in range(50)]


def test_bad_arguments_are_counted_never_raised(sock_path: str) -> None:
    with LineServer(sock_path) as server:
        tap = Tap(sock_path, backoff=FAST)
        tap.prediction(model="", features={}, prediction=1.0)
        tap.prediction(model="m", features=[1, 2], prediction=1.0)  # type: ignore[arg-type]
        tap.prediction(model="m", features={"x": object()}, prediction=1.0)
        tap.label(model="m", id=None, label=1)
        tap.prediction(model="m")  # forgotten features
        tap.label(model="m", label=1)  # forgotten id
        tap.prediction(model="m", features={"x": np.float32(2.5)}, prediction=1.0)
        tap.close(5.0)
        lines = server.wait_lines(1)
    assert [parse_line(x)["features"] for x in lines] == [{"x": 2.5}]
    assert tap.stats().errors == 6
    assert tap.stats().sent == 1


def test_no_sidecar_calls_return_and_drops_are_counted(sock_path: str) -> None:
    tap = Tap(sock_path, queue_size=100, backoff=FAST)
    n = 20_000
    start = time.monotonic()
    for i in range(n):
        tap.prediction(model="m", features={"x": float(i)}, prediction=0.5, id=str(i))
    elapsed = time.monotonic() - start
    assert elapsed < 10.0  # generous: a blocking client would hang on connect
    wait_until(lambda: tap.stats().queued == 0, 5.0, "queue drained as dropped")
    stats = tap.stats()
    assert stats.sent == 0 and not stats.connected
    assert stats.dropped_disconnected == n
    tap.close(1.0)


def test_sidecar_appearing_later_gets_the_events_after_reconnect(sock_path: str) -> None:
    tap = Tap(sock_path, backoff=FAST)
    for i in range(10):
        tap.prediction(model="m", features={"x": 1.0}, prediction=0.5, id=f"early-{i}")
    wait_until(lambda: tap.stats().dropped_disconnected == 10, 5.0, "early drops")
    with LineServer(sock_path) as server:
        wait_until(lambda: tap.stats().connected, 5.0, "connection")
        for i in range(100):
            tap.prediction(model="m", features={"x": 1.0}, prediction=0.5, id=f"late-{i}")
        assert tap.close(5.0) is False  # the 10 early events were lost
        lines = server.wait_lines(100)
    assert [parse_line(x)["id"] for x in lines] == [f"late-{i}" for i in range(100)]
    assert tap.stats().sent == 100


def test_sidecar_restart_reconnects_and_delivery_resumes(sock_path: str) -> None:
    first = LineServer(sock_path)
    tap = Tap(sock_path, backoff=FAST)
    tap.label(model="m", id="a", label=1)
    first.wait_lines(1)
    first.close()
    Path(sock_path).unlink()
    with LineServer(sock_path) as second:
        # The writer notices the closed connection before writing, so the next event
        # goes to the restarted sidecar instead of being lost.
        tap.label(model="m", id="b", label=0)
        lines = second.wait_lines(1)
        assert tap.close(5.0)
    assert parse_line(lines[0]) == {"v": 1, "model": "m", "id": "b", "label": 0}
    stats = tap.stats()
    assert (stats.sent, stats.dropped_disconnected, stats.reconnects) == (2, 0, 1)


def test_sidecar_not_reading_fills_queue_and_drops_without_blocking(sock_path: str) -> None:
    with LineServer(sock_path, read=False) as server:
        tap = Tap(sock_path, queue_size=200, backoff=FAST)
        wait_until(lambda: tap.stats().connected, 5.0, "connection")
        big = {f"f{i}": float(i) for i in range(30)}
        n = 30_000
        start = time.monotonic()
        for i in range(n):
            tap.prediction(model="m", features=big, prediction=0.5, id=str(i))
        elapsed = time.monotonic() - start
        assert elapsed < 20.0
        stats = tap.stats()
        assert stats.dropped_queue_full > 0
        start = time.monotonic()
        assert tap.close(0.3) is False
        assert time.monotonic() - start < 5.0
        assert server.connections == 1
    final = tap.stats()
    assert final.queued == 0
    assert final.sent + final.dropped_queue_full + final.dropped_disconnected == n


def test_calls_after_close_are_dropped_and_counted(sock_path: str) -> None:
    with LineServer(sock_path):
        tap = Tap(sock_path, backoff=FAST)
        assert tap.close(2.0)
        tap.prediction(model="m", features={}, prediction=1.0)
        assert tap.stats().dropped_disconnected == 1


def test_forked_worker_gets_its_own_writer(sock_path: str) -> None:
    import os
    import warnings

    with LineServer(sock_path) as server:
        tap = Tap(sock_path, backoff=FAST)
        tap.label(model="m", id="parent", label=1)
        server.wait_lines(1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12: fork with threads
            pid = os.fork()
        if pid == 0:  # the child: a pre-forked server worker
            code = 1
            try:
                tap.label(model="m", id="child", label=0)
                code = 0 if tap.close(5.0) and tap.stats().sent == 1 else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        lines = server.wait_lines(2)
        assert tap.close(5.0)
    assert sorted(parse_line(x)["id"] for x in lines) == ["child", "parent"]
    assert server.connections == 2
