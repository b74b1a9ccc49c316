"""`mlmon respond`: turn Alertmanager webhooks into rollbacks and retraining runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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

    from aiohttp import web

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
    print(f"mlmon respond: listening on {listen}{mode}; state in {config.state_dir}",
          file=sys.stderr, flush=True)
    web.run_app(app, host=host.strip("[]"), port=int(port), print=None,
                access_log=None)
    return 0
