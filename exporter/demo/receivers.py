"""Loopback stand-ins for Slack, PagerDuty and an SMTP server (demo and end-to-end tests).

``HttpReceiver`` answers every POST with a status and ``{}`` and records the path,
headers and JSON body; ``SmtpReceiver`` speaks just enough SMTP (no TLS, no AUTH) for
Alertmanager's email notifier and records each message. Both call an optional
``on_receive`` callback (the demo prints what arrives) and implement the demo's
Service seam (``start``/``stop``/``urls``/``alive``).
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any  # decoded JSON (None when the body was not JSON)


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: tuple[str, ...]
    message: Message


class Recorder:
    """A thread-safe list of what a receiver got, with a wait for a condition."""

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._lock = threading.Lock()

    def add(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[Any]:
        with self._lock:
            return list(self._items)

    def wait(self, predicate: Callable[[list[Any]], bool], timeout: float = 30.0) -> list[Any]:
        """Wait until ``predicate(items)`` holds; fail with what arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = self.snapshot()
            if predicate(items):
                return items
            time.sleep(0.05)
        raise AssertionError(f"condition not met within {timeout}s; received: {self.snapshot()}")


class _Threaded:
    """A socketserver running in a daemon thread; the Service seam around it."""

    name = "receiver"

    def __init__(self) -> None:
        self.received = Recorder()
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> socketserver.TCPServer:
        raise NotImplementedError

    @property
    def port(self) -> int:
        server = self._server
        if not isinstance(server, socketserver.TCPServer):
            raise RuntimeError(f"{self.name} is not started")
        port: int = server.server_address[1]
        return port

    def start(self) -> None:
        server = self._make_server()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=self.name,
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> int | None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        return 0

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def urls(self) -> dict[str, str]:
        return {}

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HttpReceiver(_Threaded):
    """An HTTP server on 127.0.0.1 recording every POST (a Slack or PagerDuty stand-in)."""

    def __init__(self, name: str, status: int = 200,
                 on_receive: Callable[[Request], None] | None = None) -> None:
        super().__init__()
        self.name = name
        self.status = status
        self.on_receive = on_receive

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _make_server(self) -> socketserver.TCPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    body: Any = json.loads(raw or b"null")
                except ValueError:
                    body = None
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()},
                                  body)
                receiver.received.add(request)
                answer = b"{}"
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                if receiver.on_receive is not None:
                    receiver.on_receive(request)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpReceiver(_Threaded):
    """A plain SMTP server on 127.0.0.1 (RFC 5321 subset: EHLO, MAIL, RCPT, DATA, QUIT)."""

    def __init__(self, name: str = "smtp",
                 on_receive: Callable[[Mail], None] | None = None) -> None:
        super().__init__()
        self.name = name
        self.on_receive = on_receive

    @property
    def smarthost(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _make_server(self) -> socketserver.TCPServer:
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self) -> None:
                self.reply("220 mlmon-demo ESMTP")
                sender, recipients = "", list[str]()
                while line := self.rfile.readline(65536):
                    verb = line[:4].decode(errors="replace").upper()
                    arg = line[line.find(b":") + 1:].strip().decode(errors="replace")
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 mlmon-demo")
                    elif verb == "MAIL":
                        sender, recipients = arg.strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(arg.strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        self._message(sender, recipients)
                        self.reply("250 OK")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

            def _message(self, sender: str, recipients: list[str]) -> None:
                lines: list[bytes] = []
                while (line := self.rfile.readline(1 << 20)) and line.rstrip(b"\r\n") != b".":
                    line = line[1:] if line.startswith(b"..") else line  # dot-unstuffing
                    lines.append(line.rstrip(b"\r\n") + b"\n")  # CRLF on the wire
                mail = Mail(sender, tuple(recipients),
                            message_from_bytes(b"".join(lines), policy=policy.default))
                receiver.received.add(mail)
                if receiver.on_receive is not None:
                    receiver.on_receive(mail)

        return _SmtpServer(("127.0.0.1", 0), Handler)
