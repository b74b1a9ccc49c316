"""A sidecar served on its own event loop in a background thread, and ways to feed it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from exporter.sidecar.ingest.decode import BatchDecoder
from exporter.sidecar.runtime import Sidecar, serve
from exporter.sidecar.state import SidecarState


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
