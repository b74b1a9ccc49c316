"""`mlmon respond`: turn Alertmanager webhooks into rollbacks and retraining runs."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

HELP = "run the responder: Alertmanager webhooks in, rollbacks and retraining out"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, metavar="FILE",
                        help="responder YAML (see docs/responder.md)")
    parser.add_argument("--listen", default=None, metavar="HOST:PORT",
                        help="address to listen on (default: the config's listen)")
    parser.add_argument("--dry-run", action="store_true",
                        help="decide and audit everything, execute nothing")


def run(args: argparse.Namespace) -> int:
    import logging

    from exporter.config.errors import ConfigError
    from exporter.responder.app import build_app
    from exporter.responder.config_load import load
    from exporter.responder.jsonfile import StateError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    try:
        config = load(args.config)
        app = build_app(config, dry_run=True if args.dry_run else None)
    except (ConfigError, StateError) as exc:
        print(f"mlmon respond: {exc}", file=sys.stderr)
        return 2
    listen = args.listen or config.listen
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        print(f"mlmon respond: --listen {listen!r} is not HOST:PORT", file=sys.stderr)
        return 2
    mode = " (dry-run)" if args.dry_run or config.dry_run else ""
    try:
        asyncio.run(_serve(app, host.strip("[]"), int(port), f"{mode}; state in "
                           f"{config.state_dir}"))
    except OSError as exc:  # e.g. the port is taken
        print(f"mlmon respond: cannot listen on {listen}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(app: web.Application, host: str, port: int, detail: str) -> None:
    """Serve ``app`` until SIGTERM/SIGINT. Once bound, announce the address on stderr
    (``listening on http://HOST:PORT``, the bound port when asked for port 0; see
    exporter/demo/programs.py)."""
    from aiohttp import web

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        shown = f"[{host}]" if ":" in host else host
        print(f"mlmon respond: listening on http://{shown}:{bound}{detail}", file=sys.stderr,
              flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()
