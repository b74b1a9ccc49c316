"""Tap: the thread-based client for synchronous model servers."""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import socket
import threading
import time
import weakref
from pathlib import Path

from exporter.client.address import Address
from exporter.client.backoff import Backoff
from exporter.client.core import DEFAULT_QUEUE_SIZE, TapCore, frame

_SEND_FLAGS = getattr(socket, "MSG_NOSIGNAL", 0)  # EPIPE as an exception, never SIGPIPE
_POLL = 0.25  # seconds a blocked send or an idle writer waits before re-checking for close
_LIVE: weakref.WeakSet[Tap] = weakref.WeakSet()


class _Aborted(Exception):
    pass


class Tap(TapCore):
    """Sends tap events to the sidecar from a daemon thread.

    ``tap = Tap("/var/run/mlmon/mlmon.sock")`` then ``tap.prediction(...)`` /
    ``tap.label(...)`` from any thread. Calls encode the event and append it to a
    bounded queue; one background thread writes batches, reconnecting with backoff.
    """

    def __init__(self, address: str | Path | Address, *, queue_size: int = DEFAULT_QUEUE_SIZE,
                 backoff: Backoff | None = None, connect_timeout: float = 1.0,
                 log_interval: float = 60.0) -> None:
        super().__init__(address, queue_size=queue_size, backoff=backoff,
                         connect_timeout=connect_timeout, log_interval=log_interval)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = False
        self._abort = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        _LIVE.add(self)
        self._start()

    def close(self, timeout: float = 2.0) -> bool:
        """Flush what can be sent within ``timeout`` seconds; True when nothing was lost."""
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                self._abort = True  # unblock a send stuck on a sidecar that stopped reading
                thread.join(_POLL * 2)
        self._drain_as_dropped()
        return self._nothing_lost()

    def __enter__(self) -> Tap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writer thread ---------------------------------------------------------------
    def _start(self) -> None:
        with self._start_lock:
            self._thread = threading.Thread(target=self._run, name="mlmon-tap", daemon=True)
            self._thread.start()

    def _wake_writer(self) -> None:
        if self._idle:
            self._idle = False
            self._wake.set()

    def _run(self) -> None:
        sock: socket.socket | None = None
        try:
            while not self._abort:
                if sock is None:
                    if self._stop.is_set() and not self._queue:
                        break
                    sock = self._connect()
                    if sock is None:
                        if self._stop.is_set():
                            break  # close() counts what is left as dropped
                        self._drain_as_dropped()
                        self._stop.wait(self.backoff.next())
                        continue
                batch = self._take_batch()
                if not batch:
                    if self._stop.is_set():
                        break
                    self._wait_for_work()
                    continue
                if _peer_closed(sock):
                    # The sidecar went away while we were idle (e.g. it restarted): nothing
                    # of this batch was written, so it goes to the next connection.
                    self._queue.extendleft(reversed(batch))
                    self._disconnect(sock, ConnectionResetError("sidecar closed the connection"))
                    sock = None
                    continue
                try:
                    self._send(sock, frame(batch))
                except (OSError, _Aborted) as exc:
                    self._count_disconnected(len(batch))
                    self._disconnect(sock, exc)
                    sock = None
                    continue
                self._count_sent(len(batch))
        finally:
            if sock is not None:
                self._disconnect(sock, None)

    def _wait_for_work(self) -> None:
        # Ordering matters: clear, announce idle, re-check; a caller appends then checks idle.
        self._wake.clear()
        self._idle = True
        if not self._queue and not self._stop.is_set():
            self._wake.wait(_POLL)
        self._idle = False

    def _connect(self) -> socket.socket | None:
        try:
            sock = self.address.connect(self.connect_timeout)
        except OSError as exc:
            self._warn("connect", f"cannot connect to {self.address}: {exc}")
            return None
        sock.settimeout(_POLL)
        self.backoff.reset()
        self._set_connected(True)
        return sock

    def _disconnect(self, sock: socket.socket, exc: BaseException | None) -> None:
        self._set_connected(False)
        if exc is not None:
            self._warn("write", f"connection to {self.address} lost: {exc!r}")
        with contextlib.suppress(OSError):
            sock.close()

    def _send(self, sock: socket.socket, data: bytes) -> None:
        view = memoryview(data)
        sent = 0
        while sent < len(data):
            try:
                sent += sock.send(view[sent:], _SEND_FLAGS)
            except TimeoutError:
                if self._abort:
                    raise _Aborted("close() timed out while the sidecar was not reading") from None

    def _after_fork(self) -> None:
        # The writer thread does not survive fork(); each child gets its own.
        self._queue.clear()
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = False
        self._connected = False
        # Counters describe this process; the parent's stay with the parent.
        self._sent = self._dropped_full = self._dropped_disconnected = self._errors = 0
        self._connections = self._reconnects = 0
        if not self._closed:
            self._start()


def _peer_closed(sock: socket.socket) -> bool:
    """The sidecar never writes on this socket: readable means it closed (or reset) it."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and not sock.recv(4096)
    except OSError:
        return True


def _close_all() -> None:
    deadline = time.monotonic() + 1.0
    for tap in list(_LIVE):
        tap.close(max(0.0, deadline - time.monotonic()))


def _reinit_after_fork() -> None:
    for tap in list(_LIVE):
        tap._after_fork()


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
