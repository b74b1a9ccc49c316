"""Loopback stand-ins for Slack, PagerDuty, the responder and an SMTP server.

The same receivers `mlmon demo --stack` uses (exporter/demo/receivers.py), as context
managers: ``http_sink()`` records every request (path, headers, JSON body);
``smtp_sink()`` records every message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from exporter.demo.receivers import HttpReceiver, Mail, Recorder, Request, SmtpReceiver

__all__ = ["Mail", "Recorder", "Request", "http_sink", "smtp_sink"]


@contextlib.contextmanager
def http_sink(status: int = 200) -> Iterator[HttpReceiver]:
    """An HTTP server on 127.0.0.1 answering every POST with ``status`` and ``{}``."""
    with HttpReceiver("http-sink", status) as sink:
        yield sink


@contextlib.contextmanager
def smtp_sink() -> Iterator[SmtpReceiver]:
    """A plain SMTP server (no TLS, no AUTH) on 127.0.0.1 recording every message."""
    with SmtpReceiver("smtp-sink") as sink:
        yield sink
