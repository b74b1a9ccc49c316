"""Loopback stand-ins for Slack, PagerDuty, the responder and an SMTP server.

Reusable by any test that runs a real Alertmanager: ``http_sink()`` records every
request (path, headers, JSON body); ``smtp_sink()`` records every message.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.procs import free_port


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: Any  # decoded JSON


@dataclass
class Recorder:
    """Thread-safe list of what a sink received."""

    items: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Any) -> None:
        with self.lock:
            self.items.append(item)

    def snapshot(self) -> list[Any]:
        with self.lock:
            return list(self.items)

    def wait(self, predicate: Callable[[list[Any]], bool], timeout: float = 20.0) -> list[Any]:
        """Wait until ``predicate(items)`` holds; fail with what arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = self.snapshot()
            if predicate(items):
                return items
            time.sleep(0.05)
        raise AssertionError(f"condition not met within {timeout}s; received: {self.snapshot()}")


@dataclass
class HttpSink:
    url: str
    received: Recorder


@contextlib.contextmanager
def http_sink(status: int = 200) -> Iterator[HttpSink]:
    """An HTTP server on 127.0.0.1 answering every POST with ``status`` and ``{}``."""
    received = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            received.add(Request(self.path, {k.lower(): v for k, v in self.headers.items()},
                                 json.loads(raw or b"null")))
            body = b"{}"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpSink(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: tuple[str, ...]
    message: Message


@dataclass
class SmtpSink:
    smarthost: str
    received: Recorder


@contextlib.contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """A plain SMTP server (no TLS, no AUTH) on 127.0.0.1 recording every message."""
    received = Recorder()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.add(Mail(envelope.mail_from, tuple(envelope.rcpt_tos),
                              message_from_bytes(envelope.content, policy=policy.default)))
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink(f"127.0.0.1:{port}", received)
    finally:
        controller.stop()
