"""A thin JSON-over-HTTP client shared by the backends (aiohttp, no vendor SDKs)."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp

from exporter.responder.backend_protocol import BackendError
from exporter.responder.redact import redact, redact_url

_RETRYABLE_4XX = frozenset({408, 425, 429})  # timeout, too early, too many requests


def bearer(token_file: Path | None) -> dict[str, str]:
    """Authorization header from a token file, read on every call (tokens rotate)."""
    if token_file is None:
        return {}
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise BackendError(f"cannot read token file {token_file}: {exc.strerror}",
                           retryable=False) from None
    return {"Authorization": f"Bearer {token}"}


def ssl_context(ca_file: Path | None) -> ssl.SSLContext | None:
    if ca_file is None or not ca_file.exists():
        return None
    return ssl.create_default_context(cafile=str(ca_file))


class HttpClient:
    def __init__(self, timeout: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, url: str, *, body: Any = None,
                   params: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                   content_type: str = "application/json", tls: ssl.SSLContext | None = None,
                   expect_json: bool = True) -> Any:
        """Send one request; parse a JSON reply; raise BackendError on any failure."""
        all_headers = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = content_type
        what = f"{method} {redact_url(url)}"  # the path or query may hold the secret
        try:
            async with self._get().request(method, url, data=data, params=params,
                                           headers=all_headers,
                                           ssl=tls if tls is not None else True) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    retry = resp.status >= 500 or resp.status in _RETRYABLE_4XX
                    raise BackendError(f"{what}: HTTP {resp.status}: {redact(text[:300])}",
                                       retry)
        except aiohttp.ClientError as exc:  # some messages quote the whole URL
            raise BackendError(f"{what}: {type(exc).__name__}: {redact(str(exc))}") from None
        except TimeoutError:
            raise BackendError(f"{what}: timed out") from None
        if not expect_json:
            return text
        try:
            return json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            raise BackendError(f"{what}: reply is not JSON: {redact(text[:200])!r}",
                               retryable=False) from None
