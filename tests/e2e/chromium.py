"""Headless Debian Chromium driven over the DevTools protocol (aiohttp's websocket client)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp

from tests.procs import require_binary, running

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0")  # 0: Chromium picks a port and writes it to a file


@contextlib.contextmanager
def chromium(tmp: Path, width: int = 1280, height: int = 1000) -> Iterator[str]:
    """Start Chromium on about:blank; yield its DevTools HTTP base URL."""
    binary = require_binary("chromium")
    profile = tmp / "chromium-profile"  # a new, empty profile every run
    profile.mkdir()
    argv = [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
            "about:blank"]
    log = tmp / "chromium.log"
    with running(argv, log) as proc:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"chromium did not start; log:\n{log.read_text()[-4000:]}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text().split()[0]}"


class Tab:
    """One page target: commands by id, and every event kept in arrival order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._next = 0
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self._replies:
                self._replies.pop(data["id"]).set_result(data)
            else:
                self.events.append(data)
                self._arrived.set()

    async def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        self._next += 1
        reply = asyncio.get_running_loop().create_future()
        self._replies[self._next] = reply
        await self.ws.send_json({"id": self._next, "method": method, "params": params})
        data = await asyncio.wait_for(reply, timeout)
        if "error" in data:
            raise AssertionError(f"{method}: {data['error']}")
        result: dict[str, Any] = data.get("result", {})
        return result

    async def wait_for(self, method: str, after: int = 0, timeout: float = 30.0) -> None:
        """Until an event ``method`` arrived at index >= ``after``."""
        async with asyncio.timeout(timeout):
            while not any(e.get("method") == method for e in self.events[after:]):
                self._arrived.clear()
                await self._arrived.wait()

    async def evaluate(self, expression: str) -> Any:
        out = await self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                              awaitPromise=True)
        if "exceptionDetails" in out:
            raise AssertionError(f"evaluate failed: {out['exceptionDetails']}")
        return out["result"].get("value")

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (network, security...)."""
        found = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                    for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")
        return found


@contextlib.asynccontextmanager
async def tab(devtools: str) -> AsyncIterator[Tab]:
    """The first page target, with Page, Runtime and Log events enabled."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{devtools}/json/list") as resp:
            targets = await resp.json()
        page = next(t for t in targets if t["type"] == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            t = Tab(ws)
            try:
                for domain in ("Page", "Runtime", "Log"):
                    await t.call(f"{domain}.enable")
                yield t
            finally:
                t._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t._reader
