"""Builders shared by the sidecar tests: configs, profiles, events and a sidecar in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from exporter.config.model import (
    Config,
    FeatureConfig,
    LabelConfig,
    ModelConfig,
    PredictionConfig,
    ServerConfig,
    WindowConfig,
)
from exporter.profile.model import (
    SCHEMA_VERSION,
    CategoricalProfile,
    NumericProfile,
    NumericSummary,
    Profile,
)
from exporter.sidecar.ingest.decode import BatchDecoder
from exporter.sidecar.runtime import Sidecar, serve
from exporter.sidecar.state import SidecarState
from exporter.stats.binning import bin_counts, quantile_edges
from exporter.stats.thresholds import Thresholds

COUNTRIES = ("DE", "FR", "GB", "US")


def numeric_profile(name: str, values: np.ndarray[Any, Any], bins: int = 10) -> NumericProfile:
    edges = quantile_edges(values, bins)
    counts = bin_counts(values, edges)
    summary = NumericSummary(len(values), 0, float(values.mean()), float(values.std()),
                             float(values.min()), float(values.max()), ())
    return NumericProfile(name, tuple(float(e) for e in edges), tuple(int(c) for c in counts),
                          summary, tuple(float(v) for v in np.sort(values)))


def categorical_profile(name: str, values: list[str]) -> CategoricalProfile:
    cats = tuple(sorted(set(values)))
    counts = (*(values.count(c) for c in cats), 0)
    return CategoricalProfile(name, cats, counts, 0)


def fraud_model(version: str = "1", window: int = 1000, min_samples: int = 100,
                max_pending: int = 1000, ttl: float = 3600.0) -> ModelConfig:
    return ModelConfig(
        name="fraud", version=version,
        prediction=PredictionConfig("classification", ("0", "1")),
        features=(FeatureConfig("amount", "numeric"), FeatureConfig("age", "numeric"),
                  FeatureConfig("country", "categorical")),
        window=WindowConfig(size=window),
        thresholds=Thresholds(min_samples=min_samples, accuracy_floor=0.8),
        labels=LabelConfig(ttl=ttl, max_pending=max_pending, window=window),
    )


def price_model(window: int = 1000) -> ModelConfig:
    return ModelConfig(
        name="price", version="7", prediction=PredictionConfig("regression"),
        features=(FeatureConfig("rooms", "numeric"),), window=WindowConfig(size=window),
        thresholds=Thresholds(min_samples=10),
    )


def fraud_profile(model: ModelConfig, n: int = 2000, seed: int = 1) -> Profile:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.0, 0.8, n)
    age = rng.normal(40, 10, n).round()
    country = list(rng.choice(COUNTRIES, n, p=[0.4, 0.2, 0.1, 0.3]))
    score = rng.beta(2, 5, n)
    return Profile(SCHEMA_VERSION, model.name, model.version, n,
                   (numeric_profile("amount", amount), numeric_profile("age", age),
                    categorical_profile("country", [str(c) for c in country])),
                   numeric_profile("__prediction__", score), f"test-{seed}-{model.version}")


def config(*models: ModelConfig, tmp: Path | None = None, **server: Any) -> Config:
    srv = ServerConfig(socket=(tmp / "mlmon.sock") if tmp else None, http="127.0.0.1:0",
                       state_file=None, state_interval=3600.0)
    return Config(Path("test.yaml"), tuple(models), compute_interval=3600.0,
                  server=replace(srv, **server))


def fraud_events(n: int, seed: int = 2, shift: float = 0.0, start: int = 0,
                 version: str = "1") -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        out.append({"v": 1, "model": "fraud", "version": version, "id": f"r{start + i}",
                    "features": {"amount": round(float(rng.lognormal(3.0 + shift, 0.8)), 3),
                                 "age": float(round(rng.normal(40, 10))),
                                 "country": str(rng.choice(COUNTRIES))},
                    "prediction": round(float(rng.beta(2, 5)), 4)})
    return out


def apply(store: SidecarState, events: Sequence[bytes | Mapping[str, Any]],
          now: float = 1000.0) -> Counter[str]:
    """Decode and apply lines (or event objects) as the ingest worker does; the rejections."""
    lines = [e if isinstance(e, bytes) else json.dumps(e).encode() for e in events]
    out = BatchDecoder(store.config).decode(lines)
    rejected = out.rejected
    for key, batch in out.models.items():
        store.models[key].update(batch, now, rejected)
    return rejected


def ndjson(events: list[dict[str, Any]] | list[str]) -> bytes:
    lines = [e if isinstance(e, str) else json.dumps(e) for e in events]
    return ("\n".join(lines) + "\n").encode()


def send_unix(path: Path, data: bytes) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(path))
        s.sendall(data)


class Running:
    """A Sidecar served on its own event loop in a background thread."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.exit_code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> int:
            self.stop_event = asyncio.Event()
            return await serve(self.sidecar, self.stop_event)

        self.exit_code = self.loop.run_until_complete(main())
        self.loop.close()

    @property
    def http(self) -> str:
        return self.sidecar.addresses["http"]

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def compute(self) -> Any:
        return self.call(self.sidecar.compute_now())

    def settle(self, processed: int, timeout: float = 20.0) -> None:
        """Wait until the ingest worker has handled ``processed`` lines in total and
        everything it took from the queue (none still in a decoder process)."""
        deadline = time.monotonic() + timeout
        worker = self.sidecar.worker
        while time.monotonic() < deadline:
            queue = self.sidecar.queue
            if worker is not None and worker.processed >= processed and queue.size == 0 \
                    and worker.processed == queue.taken:
                return
            time.sleep(0.01)
        raise AssertionError(f"ingest stalled at {worker.processed if worker else 0} lines")

    def stop(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)


@contextlib.contextmanager
def running(sidecar: Sidecar) -> Iterator[Running]:
    r = Running(sidecar)
    r.thread.start()
    deadline = time.monotonic() + 20
    while not sidecar.ready:
        if time.monotonic() > deadline or not r.thread.is_alive():
            raise AssertionError("sidecar did not start")
        time.sleep(0.01)
    try:
        yield r
    finally:
        r.stop()
