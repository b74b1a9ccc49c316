"""Keep secrets in URLs out of the log, the audit file and webhook replies.

Webhook URLs carry their secret in the path (Slack: ``/services/T…/B…/SECRET``) or the
query (``?token=…``), and endpoints may carry ``user:password@``. Whatever the responder
logs or audits keeps a URL's scheme and host only: ``https://hooks.slack.com/…``. Free
text (backend errors, reply bodies, aiohttp messages that quote the URL) is redacted by
pattern, so a URL quoted anywhere in a message is caught as well.
"""

from __future__ import annotations

import logging
import re

ELLIPSIS = "…"
LOGGER = "mlmon.responder"

# scheme://authority, then an optional path/query/fragment up to whitespace, a quote or <>.
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#\s'\"<>\\]*)"
                  r"(?P<rest>[/?#][^\s'\"<>\\]*)?")
_TRAILING = ".,:;)]}"  # sentence punctuation after a URL stays outside it


def _host(authority: str) -> str:
    return authority.rpartition("@")[2]  # drop user:password@


def redact_url(url: str) -> str:
    """``scheme://host[:port]`` of a URL, with ``/…`` standing for any path or query
    (also for a malformed URL without a scheme: its first segment only)."""
    if _URL.fullmatch(url):
        return redact(url)
    head, *rest = re.split(r"[/?#]", url, maxsplit=1)
    return f"{_host(head)}/{ELLIPSIS}" if rest else _host(head)


def _replace(match: re.Match[str]) -> str:
    rest = match.group("rest") or ""
    stripped = rest.rstrip(_TRAILING)
    tail = rest[len(stripped):]
    base = f"{match.group('scheme')}://{_host(match.group('authority'))}"
    if stripped in ("", "/"):
        return base + stripped + tail
    return f"{base}/{ELLIPSIS}{tail}"


def redact(text: str) -> str:
    """``text`` with every URL reduced to its scheme and host."""
    return _URL.sub(_replace, text) if "://" in text else text


class RedactingFilter(logging.Filter):
    """Redacts the message and any traceback of each record on the responder's logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def responder_logger() -> logging.Logger:
    """The responder's logger, with the redacting filter installed once."""
    log = logging.getLogger(LOGGER)
    if not any(isinstance(f, RedactingFilter) for f in log.filters):
        log.addFilter(RedactingFilter())
    return log
