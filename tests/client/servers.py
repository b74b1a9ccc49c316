"""Real listeners for client tests: record every NDJSON line, or accept and never read."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable


class LineServer:
    """A Unix (or TCP loopback) stream listener in a thread that records received lines."""

    def __init__(self, path: str | None = None, *, read: bool = True) -> None:
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.read = read
        self.lines: list[bytes] = []
        self.connections = 0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    @property
    def port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    def _accept(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            if self.read:
                t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                t.start()
                self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        while True:
            try:
                chunk = conn.recv(1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            *complete, buf = buf.split(b"\n")
            with self._lock:
                self.lines.extend(complete)

    def received(self) -> list[bytes]:
        with self._lock:
            return list(self.lines)

    def wait_lines(self, n: int, timeout: float = 10.0) -> list[bytes]:
        wait_until(lambda: len(self.lines) >= n, timeout, f"{n} lines (got {len(self.lines)})")
        return self.received()

    def drop_connections(self) -> None:
        """Close every accepted connection (as a restarting sidecar would)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def close(self) -> None:
        self._stopped = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self._threads[0].join(5)  # the accept loop: no connection can be added after this
        self.sock.close()
        self.drop_connections()
        for t in self._threads:
            t.join(5)

    def __enter__(self) -> LineServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.005)
