"""Where the sidecar listens: a Unix socket path or ``tcp://HOST:PORT``."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Address:
    """A parsed tap address; ``path`` for Unix sockets, ``host``/``port`` for TCP."""

    path: str | None = None
    host: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return self.path
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"

    def connect(self, timeout: float) -> socket.socket:
        """A connected blocking socket (raises OSError)."""
        if self.path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(self.path)
            except BaseException:
                sock.close()
                raise
            return sock
        assert self.host is not None and self.port is not None
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.path is not None:
            return await asyncio.open_unix_connection(self.path)
        return await asyncio.open_connection(self.host, self.port)


def parse_address(address: str | Path | Address) -> Address:
    """``/path/mlmon.sock``, ``unix:///path/mlmon.sock`` or ``tcp://127.0.0.1:9848``."""
    if isinstance(address, Address):
        return address
    text = str(address)
    if text.startswith("unix://"):
        text = text[len("unix://"):]
    elif text.startswith("tcp://"):
        hostport = text[len("tcp://"):]
        host, sep, port = hostport.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"bad tap address {address!r}: expected tcp://HOST:PORT")
        return Address(host=host, port=int(port))
    elif "://" in text:
        raise ValueError(f"bad tap address {address!r}: use a socket path or tcp://HOST:PORT")
    if not text:
        raise ValueError("empty tap address: give the sidecar's socket path")
    return Address(path=text)
