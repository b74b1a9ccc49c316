"""A responder under test: its config and bearer token, its audit log, a loopback runner."""

from __future__ import annotations

import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

TOKEN = "s3cret-token-for-tests"


def write_config(tmp_path: Path, models: str, extra: str = "") -> Path:
    (tmp_path / "token").write_text(TOKEN + "\n")
    path = tmp_path / "responder.yaml"
    path.write_text(f"token_file: token\nstate_dir: state\nretry: {{attempts: 3, backoff: 2s}}\n"
                    f"{extra}models:\n{models}")
    return path


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def audit_lines(state_dir: Path) -> list[dict[str, Any]]:
    path = state_dir / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@contextlib.asynccontextmanager
async def serve(app: web.Application, tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Run ``app`` on a 127.0.0.1 port the kernel picks (HTTPS with ``tls``); yield its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)  # the kernel picks the port
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
