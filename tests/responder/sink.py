"""A loopback HTTP sink that records requests and answers with scripted statuses."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Sink:
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    received: list[Received] = field(default_factory=list)
    gate: asyncio.Event | None = None  # when set, replies wait until the event is set

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.received.append(Received(request.method, request.path, dict(request.headers),
                                      json.loads(raw) if raw else None))
        if self.gate is not None:
            await self.gate.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        if status in REDIRECTS:  # back to the same path and query: a loop while scripted
            return web.Response(status=status, headers={"Location": str(request.rel_url)})
        return web.json_response({"accepted": status < 400}, status=status)
