"""What Tap and AsyncTap share: encoding, the bounded queue and the counters."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from exporter.client.address import Address, parse_address
from exporter.client.backoff import Backoff
from exporter.client.encode import EventEncoder
from exporter.ratelog import KeyedRateLimitedLog

log = logging.getLogger("mlmon.client")

DEFAULT_QUEUE_SIZE = 10_000
MAX_BATCH_LINES = 4_096
MAX_BATCH_BYTES = 1 << 20


@dataclass(frozen=True)
class TapStats:
    """Counters since the tap was created.

    ``sent``: events written to the socket. ``dropped_queue_full``: dropped because the
    sidecar was slower than the caller. ``dropped_disconnected``: dropped because no
    sidecar was connected (or a write failed). ``errors``: calls with arguments that
    could not be encoded. ``queued``: waiting now. ``reconnects``: successful connections
    after the first.
    """

    sent: int
    dropped_queue_full: int
    dropped_disconnected: int
    errors: int
    queued: int
    connected: bool
    reconnects: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TapCore:
    """Encodes on the caller's thread and appends to a bounded deque; never raises."""

    def __init__(self, address: str | Path | Address, *, queue_size: int = DEFAULT_QUEUE_SIZE,
                 backoff: Backoff | None = None, connect_timeout: float = 1.0,
                 log_interval: float = 60.0) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        self.address = parse_address(address)
        self.queue_size = queue_size
        self.connect_timeout = connect_timeout
        self.backoff = backoff if backoff is not None else Backoff()
        self._queue: deque[bytes] = deque()
        self._encoder = EventEncoder()
        self._lock = threading.Lock()  # counters only; never held around I/O
        # At most one warning per kind of trouble per ``log_interval`` seconds.
        self._log = KeyedRateLimitedLog(log, per_second=1.0 / log_interval, burst=1)
        self._sent = 0
        self._dropped_full = 0
        self._dropped_disconnected = 0
        self._errors = 0
        self._reconnects = 0
        self._connections = 0
        self._connected = False
        self._closed = False

    # --- the two calls model servers make ------------------------------------------
    # Every argument has a default so that a forgotten one is counted as an error, not
    # raised as a TypeError into the model server; ``model`` and ``features`` are required.
    def prediction(self, *, model: str = "", features: dict[str, Any] | None = None,
                   prediction: Any = None, version: str | None = None, id: str | None = None,
                   label: Any = None, ts: float | None = None) -> None:
        """Tap one prediction (with its label, when already known). Never raises, never blocks."""
        try:
            line = self._encoder.prediction(model, version, features, prediction, id, label, ts)
        except Exception as exc:  # BadArgument, or a bug: neither may reach the model server
            self._bad_argument(exc)
            return
        self._put(line)

    def label(self, *, model: str = "", id: str | None = None, label: Any = None,
              version: str | None = None) -> None:
        """Tap the ground truth of an earlier prediction (joined on ``id`` by the sidecar)."""
        try:
            line = self._encoder.label(model, id, label, version)
        except Exception as exc:
            self._bad_argument(exc)
            return
        self._put(line)

    def stats(self) -> TapStats:
        with self._lock:
            return TapStats(sent=self._sent, dropped_queue_full=self._dropped_full,
                            dropped_disconnected=self._dropped_disconnected,
                            errors=self._errors, queued=len(self._queue),
                            connected=self._connected, reconnects=self._reconnects)

    # --- internals -------------------------------------------------------------------
    def _put(self, line: bytes) -> None:
        queue = self._queue
        if len(queue) >= self.queue_size or self._closed:
            self._drop_one()
            return
        queue.append(line)
        self._wake_writer()

    def _wake_writer(self) -> None:
        raise NotImplementedError

    def _drop_one(self) -> None:
        with self._lock:
            if self._connected and not self._closed:
                self._dropped_full += 1
                kind, message = "full", "queue full, dropping events (sidecar too slow)"
            else:
                self._dropped_disconnected += 1
                kind, message = "down", f"sidecar not connected at {self.address}, dropping events"
        self._warn(kind, message)

    def _warn(self, kind: str, message: str) -> None:
        self._log.warning(kind, "mlmon tap: %s", message)

    def _bad_argument(self, exc: Exception) -> None:
        with self._lock:
            self._errors += 1
        self._warn("bad", f"event dropped: {exc}")

    def _take_batch(self) -> list[bytes]:
        queue = self._queue
        batch: list[bytes] = []
        size = 0
        while queue and len(batch) < MAX_BATCH_LINES and size < MAX_BATCH_BYTES:
            line = queue.popleft()
            batch.append(line)
            size += len(line) + 1
        return batch

    def _drain_as_dropped(self) -> int:
        """Drop everything queued (no sidecar to send it to); returns how many."""
        n = 0
        queue = self._queue
        while queue:
            queue.popleft()
            n += 1
        if n:
            self._count_disconnected(n)
        return n

    def _nothing_lost(self) -> bool:
        """No event dropped (queue full or disconnected) since the tap was created."""
        with self._lock:
            return self._dropped_full == 0 and self._dropped_disconnected == 0 \
                and not self._queue

    def _count_disconnected(self, n: int) -> None:
        with self._lock:
            self._dropped_disconnected += n
        self._warn("down", f"sidecar not reachable at {self.address}, dropping events")

    def _count_sent(self, n: int) -> None:
        with self._lock:
            self._sent += n

    def _set_connected(self, connected: bool) -> None:
        with self._lock:
            self._connected = connected
            if connected:
                self._connections += 1
                if self._connections > 1:
                    self._reconnects += 1


def frame(batch: list[bytes]) -> bytes:
    """One NDJSON chunk: every line terminated by a newline."""
    return b"\n".join(batch) + b"\n"
