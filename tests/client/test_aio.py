from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from exporter.client import AsyncTap, Backoff
from tests.client.protocol import parse_line
from tests.client.servers import LineServer

FAST = Backoff(initial=0.01, cap=0.05)


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro())  # type: ignore[arg-type]


@pytest.fixture
def sock_path(tmp_path: Path) -> str:
    return str(tmp_path / "mlmon.sock")


def test_every_call_arrives_as_v1_ndjson(sock_path: str) -> None:
    async def main() -> None:
        with LineServer(sock_path) as server:
            tap = AsyncTap(sock_path, backoff=FAST)
            for i in range(300):
                tap.prediction(model="fraud", version="3", features={"amount": float(i)},
                               prediction=i / 300, id=f"r{i}", label=i % 2)
                if i % 50 == 0:
                    await asyncio.sleep(0)  # let the writer run between request handlers
            for i in range(300):
                tap.label(model="fraud", id=f"r{i}", label="1")
            assert await tap.aclose(5.0)
            await until(lambda: len(server.lines) == 600)
            events = [parse_line(x) for x in server.lines]
        assert events[:300] == [
            {"v": 1, "model": "fraud", "version": "3", "id": f"r{i}",
             "features": {"amount": float(i)}, "prediction": i / 300, "label": i % 2}
            for i in range(300)]
        assert events[300:] == [{"v": 1, "model": "fraud", "id": f"r{i}", "label": "1"}
                                for i in range(300)]
        assert tap.stats().sent == 600
    run(main)


def test_no_sidecar_drops_counted_then_reconnect(sock_path: str) -> None:
    async def main() -> None:
        tap = AsyncTap(sock_path, queue_size=50, backoff=FAST)
        for i in range(5_000):
            tap.prediction(model="m", features={"x": 1.0}, prediction=0.5, id=str(i))
        await until(lambda: tap.stats().queued == 0)
        s = tap.stats()
        assert s.sent == 0 and s.dropped_disconnected == 5_000
        with LineServer(sock_path) as server:
            await until(lambda: tap.stats().connected)
            for i in range(40):
                tap.label(model="m", id=f"late-{i}", label=1)
            assert await tap.aclose(5.0) is False  # the 5,000 early events were lost
            await until(lambda: len(server.lines) == 40)
            assert [parse_line(x)["id"] for x in server.lines] == [f"late-{i}" for i in range(40)]
    run(main)


def test_sidecar_not_reading_drops_and_aclose_is_bounded(sock_path: str) -> None:
    async def main() -> None:
        with LineServer(sock_path, read=False):
            tap = AsyncTap(sock_path, queue_size=100, backoff=FAST)
            await tap.start()
            await until(lambda: tap.stats().connected)
            big = {f"f{i}": float(i) for i in range(30)}
            n = 20_000
            for i in range(n):
                tap.prediction(model="m", features=big, prediction=0.5, id=str(i))
                if i % 100 == 0:
                    await asyncio.sleep(0)
            assert tap.stats().dropped_queue_full > 0
            start = time.monotonic()
            assert await tap.aclose(0.3) is False
            assert time.monotonic() - start < 5.0
            s = tap.stats()
            assert s.queued == 0
            assert s.sent + s.dropped_queue_full + s.dropped_disconnected == n
    run(main)


def test_bad_arguments_counted(sock_path: str) -> None:
    async def main() -> None:
        with LineServer(sock_path) as server:
            tap = AsyncTap(sock_path, backoff=FAST)
            tap.prediction(model="m", features="x=1", prediction=1)  # type: ignore[arg-type]
            tap.label(model="m", id="a", label=None)
            tap.label(model="m", id="a", label=0)
            await tap.aclose(5.0)
            await until(lambda: len(server.lines) == 1)
        assert tap.stats().errors == 2
    run(main)


def test_sidecar_restart_reconnects_without_loss(sock_path: str) -> None:
    async def main() -> None:
        tap = AsyncTap(sock_path, backoff=FAST)
        with LineServer(sock_path) as first:
            tap.label(model="m", id="a", label=1)
            await until(lambda: len(first.lines) == 1)
        Path(sock_path).unlink()
        with LineServer(sock_path) as second:
            await asyncio.sleep(0.05)  # the old connection's EOF reaches the tap's reader
            tap.label(model="m", id="b", label=0)
            await until(lambda: len(second.lines) == 1)
            assert await tap.aclose(5.0)
            assert parse_line(second.lines[0])["id"] == "b"
        s = tap.stats()
        assert (s.sent, s.dropped_disconnected, s.reconnects) == (2, 0, 1)
    run(main)


def test_aclose_without_a_writer_task(sock_path: str) -> None:
    unused = AsyncTap(sock_path, backoff=FAST)
    queued = AsyncTap(sock_path, backoff=FAST)
    queued.prediction(model="m", features={"x": 1.0}, prediction=0.5)  # outside a loop

    async def main() -> None:
        assert await unused.aclose() is True  # nothing was ever sent or lost
        assert await queued.aclose() is False  # the queued event had no writer
    run(main)
    assert (unused.stats().dropped_disconnected, queued.stats().dropped_disconnected) == (0, 1)
