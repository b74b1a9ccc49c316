"""close() / aclose() return True only when no event was lost since the tap was created."""

from __future__ import annotations

import asyncio
from pathlib import Path

from exporter.client import AsyncTap, Backoff, Tap
from tests.client.servers import LineServer, wait_until

FAST = Backoff(initial=0.01, cap=0.05)


def test_tap_close_is_false_after_drops_to_a_wrong_path(tmp_path: Path) -> None:
    tap = Tap(str(tmp_path / "nobody-listens.sock"), backoff=FAST)
    for i in range(100):
        tap.prediction(model="m", features={"x": float(i)}, prediction=0.5)
    wait_until(lambda: tap.stats().dropped_disconnected == 100, 5.0, "100 drops")
    assert tap.close(1.0) is False
    stats = tap.stats()
    assert (stats.sent, stats.dropped_disconnected, stats.queued) == (0, 100, 0)


def test_tap_close_is_true_when_a_listener_got_everything(tmp_path: Path) -> None:
    path = str(tmp_path / "mlmon.sock")
    with LineServer(path) as server:
        tap = Tap(path, backoff=FAST)
        for i in range(100):
            tap.prediction(model="m", features={"x": float(i)}, prediction=0.5)
        assert tap.close(5.0) is True
        assert len(server.wait_lines(100)) == 100
    assert tap.stats().sent == 100


def test_async_tap_close_is_false_after_drops_to_a_wrong_path(tmp_path: Path) -> None:
    tap = AsyncTap(str(tmp_path / "nobody-listens.sock"), backoff=FAST)

    async def main() -> bool:
        await tap.start()
        for i in range(100):
            tap.prediction(model="m", features={"x": float(i)}, prediction=0.5)
        while tap.stats().dropped_disconnected < 100:
            await asyncio.sleep(0.005)
        return await tap.aclose(1.0)

    assert asyncio.run(asyncio.wait_for(main(), 10.0)) is False
    stats = tap.stats()
    assert (stats.sent, stats.dropped_disconnected, stats.queued) == (0, 100, 0)


def test_async_tap_close_is_true_when_a_listener_got_everything(tmp_path: Path) -> None:
    path = str(tmp_path / "mlmon.sock")
    with LineServer(path) as server:
        tap = AsyncTap(path, backoff=FAST)

        async def main() -> bool:
            await tap.start()
            for i in range(100):
                tap.prediction(model="m", features={"x": float(i)}, prediction=0.5)
            return await tap.aclose(5.0)

        assert asyncio.run(main()) is True
        assert len(server.wait_lines(100)) == 100
    assert tap.stats().sent == 100
