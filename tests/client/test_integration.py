"""The client against the real sidecar (`mlmon serve` on the bundled fraud example)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exporter.client import AsyncTap, Tap
from exporter.demo.sidecar import sidecar_argv
from tests.paths import EXAMPLES
from tests.procs import serving

CONFIG = EXAMPLES / "fraud/mlmon.yaml"


def _status(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/status", timeout=5) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


def _wait_counts(port: int, predictions: int, labels: int,
                 timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = _status(port)
        model = status["models"][0]
        if (model["predictions_total"] >= predictions and model["labels_joined"] >= labels) \
                or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


@pytest.fixture
def sidecar(tmp_path: Path) -> Iterator[tuple[str, int, int]]:
    sock = tmp_path / "mlmon.sock"
    argv = sidecar_argv(CONFIG, sock, "127.0.0.1:0", "--tcp", "127.0.0.1:0")
    with serving(argv, tmp_path / "serve.log", "/readyz") as served:  # announces both ports
        yield str(sock), served.port, int(served.address["tcp"].rpartition(":")[2])


def _event(i: int) -> dict[str, Any]:
    return {"amount": 10.0 + i % 50, "age": 30 + i % 40, "tenure_days": 100.0 + i,
            "hour": i % 24, "distance_km": 3.5, "balance": 2500.0,
            "country": ("DE", "FR", "US")[i % 3], "channel": ("app", "web")[i % 2]}


def _check(status: dict[str, Any], predictions: int, labels: int, transport: str) -> None:
    model = status["models"][0]
    assert (model["model"], model["version"]) == ("fraud", "3")
    assert model["predictions_total"] == predictions
    assert model["labels_joined"] == labels
    assert status["events"]["received"][transport] == predictions + labels
    assert sum(status["events"]["rejected"].values()) == 0


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_tap_counts_equal_sidecar_counts(sidecar: tuple[str, int, int], transport: str) -> None:
    sock, http, tcp = sidecar
    tap = Tap(sock if transport == "unix" else f"tcp://127.0.0.1:{tcp}")
    n = 3_000
    for i in range(n):
        tap.prediction(model="fraud", version="3", features=_event(i),
                       prediction={"0": 0.9, "1": 0.1}, id=f"req-{i}")
    for i in range(0, n, 3):
        tap.label(model="fraud", id=f"req-{i}", label=str(i % 2))
    assert tap.close(10.0)
    stats = tap.stats()
    assert (stats.sent, stats.dropped_queue_full, stats.dropped_disconnected,
            stats.errors) == (n + n // 3, 0, 0, 0)
    _check(_wait_counts(http, n, n // 3), n, n // 3, transport)


def test_async_tap_counts_equal_sidecar_counts(sidecar: tuple[str, int, int]) -> None:
    sock, http, _ = sidecar

    async def main() -> AsyncTap:
        tap = AsyncTap(sock)
        for i in range(2_000):
            tap.prediction(model="fraud", features=_event(i), prediction="1", id=f"a-{i}",
                           label=str(i % 2) if i % 4 == 0 else None)
            if i % 100 == 0:
                await asyncio.sleep(0)
        assert await tap.aclose(10.0)
        return tap

    tap = asyncio.run(main())
    assert tap.stats().sent == 2_000
    status = _wait_counts(http, 2_000, 500)
    # A prediction carrying its label joins at once; received counts lines (2,000).
    model = status["models"][0]
    assert (model["predictions_total"], model["labels_joined"]) == (2_000, 500)
    assert status["events"]["received"]["unix"] == 2_000
