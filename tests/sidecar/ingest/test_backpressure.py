"""A burst over stream transports is counted in full: readers pause, nothing is dropped."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import numpy as np

from exporter.client import AsyncTap, Backoff, Tap
from exporter.config.model import FeatureConfig, ModelConfig, PredictionConfig
from exporter.sidecar.ingest.intake import Intake
from exporter.sidecar.ingest.queue import IngestQueue, Item
from exporter.sidecar.runtime import Sidecar
from exporter.sidecar.state import SidecarState
from tests.client.servers import wait_until
from tests.factories import config
from tests.sidecar.threaded import Running, running

BURST = 200_000
TWO = ModelConfig(name="m", version="1", prediction=PredictionConfig("regression"),
                  features=(FeatureConfig("a", "numeric"), FeatureConfig("b", "numeric")))


def _payload(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, n).round(4), rng.normal(5, 2, n).round(4)
    return b"".join(b'{"v":1,"model":"m","features":{"a":%r,"b":%r},"prediction":%r}\n'
                    % (float(x), float(y), float(x + y)) for x, y in zip(a, b, strict=True))


def _send(family: socket.AddressFamily, address: str | tuple[str, int], data: bytes) -> None:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.connect(address)
        s.sendall(data)


def _counted(r: Running, transport: str, n: int) -> tuple[int, int, int]:
    """(received, queue_full, all rejections) once ``n`` lines were read and handled."""
    store = r.sidecar.store
    wait_until(lambda: store.received[transport] >= n, 30.0, f"{n} lines read")
    with store.lock:
        dropped = store.rejected["queue_full"]
    r.settle(n - dropped, timeout=30.0)
    with store.lock:
        return store.received[transport], store.rejected["queue_full"], \
            sum(store.rejected.values())


def test_one_connection_burst_is_counted_in_full(tmp_path: Path) -> None:
    sock = tmp_path / "mlmon.sock"
    # A small queue makes the readers pause many times during the burst.
    with running(Sidecar(config(TWO, tmp=tmp_path, queue_size=2_000), {})) as r:
        _send(socket.AF_UNIX, str(sock), _payload(BURST, 1))
        assert _counted(r, "unix", BURST) == (BURST, 0, 0)
        assert r.sidecar.worker is not None and r.sidecar.worker.processed == BURST


def test_four_concurrent_tcp_connections_are_counted_in_full(tmp_path: Path) -> None:
    with running(Sidecar(config(TWO, tcp="127.0.0.1:0"), {})) as r:
        host, port = r.sidecar.addresses["tcp"].rsplit(":", 1)
        parts = [_payload(BURST // 4, seed) for seed in range(4)]
        threads = [threading.Thread(target=_send, args=(socket.AF_INET, (host, int(port)), p))
                   for p in parts]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert _counted(r, "tcp", BURST) == (BURST, 0, 0)


def test_tap_stats_reconcile_with_what_the_sidecar_counted(tmp_path: Path) -> None:
    sock = tmp_path / "mlmon.sock"
    with running(Sidecar(config(TWO, tmp=tmp_path, queue_size=2_000), {})) as r:
        tap = Tap(str(sock), queue_size=5_000, backoff=Backoff(0.01, 0.05))
        # Calls made before the writer is connected would count as dropped_disconnected.
        wait_until(lambda: tap.stats().connected, 5.0, "tap connected")
        rng = np.random.default_rng(3)
        for x in rng.normal(0, 1, BURST).round(4):
            tap.prediction(model="m", features={"a": float(x), "b": 1.0}, prediction=0.5)
        assert tap.close(30.0) is (tap.stats().dropped_queue_full == 0)
        stats = tap.stats()
        assert stats.dropped_disconnected == 0 and stats.queued == 0
        assert stats.sent + stats.dropped_queue_full == BURST
        assert _counted(r, "unix", stats.sent) == (stats.sent, 0, 0)


def test_async_tap_stats_reconcile_with_what_the_sidecar_counted(tmp_path: Path) -> None:
    sock = tmp_path / "mlmon.sock"
    with running(Sidecar(config(TWO, tmp=tmp_path, queue_size=2_000), {})) as r:
        tap = AsyncTap(str(sock), queue_size=5_000, backoff=Backoff(0.01, 0.05))
        values = np.random.default_rng(4).normal(0, 1, BURST).round(4)

        async def burst() -> bool:
            await tap.start()
            while not tap.stats().connected:  # as for Tap: burst once connected
                await asyncio.sleep(0.005)
            for i, x in enumerate(values):
                tap.prediction(model="m", features={"a": float(x), "b": 1.0}, prediction=0.5)
                if i % 1_000 == 0:
                    await asyncio.sleep(0)  # a server yields between requests
            return await tap.aclose(30.0)

        clean = asyncio.run(burst())
        stats = tap.stats()
        assert clean is (stats.dropped_queue_full == 0)
        assert stats.dropped_disconnected == 0 and stats.queued == 0
        assert stats.sent + stats.dropped_queue_full == BURST
        assert _counted(r, "unix", stats.sent) == (stats.sent, 0, 0)


class _Stream:
    """Stands in for a tap connection: records whether it is reading."""

    def __init__(self) -> None:
        self.reading = True

    def pause(self) -> None:
        self.reading = False

    def resume(self) -> None:
        self.reading = True


def test_readers_resume_even_when_a_post_refills_the_queue_before_they_wake(
        tmp_path: Path) -> None:
    """The worker's wake-up reaches the loop after an HTTP post filled the queue again: the
    readers stay paused, and the next drain must still wake them (no stall)."""
    loop = asyncio.new_event_loop()
    try:
        queue = IngestQueue(capacity=10)
        intake = Intake(SidecarState(config(TWO, tmp=tmp_path), {}), queue)
        intake._loop = loop
        stream = _Stream()
        intake.connections.add(stream)  # type: ignore[arg-type]
        queue.put(Item([b"x"] * 10))
        intake.pause_all()
        assert intake.paused and not stream.reading
        queue.get(timeout=0)  # the worker drains: the wake-up is scheduled on the loop
        queue.put(Item([b"y"] * 10))  # ... and a post fills the queue before it runs
        loop.run_until_complete(asyncio.sleep(0))
        assert intake.paused and not stream.reading  # no room: still paused
        queue.get(timeout=0)  # the next drain must wake the readers again
        loop.run_until_complete(asyncio.sleep(0))
        assert not intake.paused and stream.reading
    finally:
        loop.close()
