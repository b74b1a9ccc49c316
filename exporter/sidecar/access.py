"""Who may POST /v1/events: loopback peers by default, anyone with the bearer token if set."""

from __future__ import annotations

import hmac
import ipaddress
from pathlib import Path


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and IPv4-mapped loopback; anything unparsable is not loopback."""
    if not host:
        return False
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped.is_loopback
    return addr.is_loopback


def read_token(path: Path | None) -> bytes | None:
    """The token in server.ingest_token_file (stripped), or None when none is configured."""
    return None if path is None else path.read_text(encoding="utf-8").strip().encode()


def refusal(peer: str | None, token: bytes | None,
            authorization: str | None) -> tuple[int, str] | None:
    """None when the request may ingest; otherwise (HTTP status, reason)."""
    if token is not None:
        scheme, _, given = (authorization or "").partition(" ")
        # compare_digest: the time taken does not tell how much of a guess was right
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token):
            return 401, ("POST /v1/events needs 'Authorization: Bearer <token>' with the "
                         "token in server.ingest_token_file")
        return None
    if not is_loopback(peer):
        return 403, (f"POST /v1/events accepts only loopback peers, not {peer}; set "
                     "server.ingest_token_file to accept remote peers with a bearer token")
    return None
