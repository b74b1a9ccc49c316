"""`mlmon serve`: run the sidecar."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exporter.config.model import Config

HELP = "run the sidecar: receive the tap, export drift and accuracy on /metrics"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, metavar="FILE",
                        help="mlmon YAML configuration")
    parser.add_argument("--socket", metavar="PATH",
                        help="Unix socket of the tap (overrides server.socket; 'none' disables)")
    parser.add_argument("--http", metavar="HOST:PORT",
                        help="address of /metrics, /v1/events, /healthz (overrides server.http)")
    parser.add_argument("--state-file", metavar="PATH",
                        help="where windows and counters survive restarts "
                             "(overrides server.state_file)")
    parser.add_argument("--tcp", metavar="127.0.0.1:PORT",
                        help="also accept the tap over TCP on loopback (overrides server.tcp)")
    parser.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    # Benchmark only: decode every event but skip the state update (bench/ingest.py).
    parser.add_argument("--decode-only", action="store_true", help=argparse.SUPPRESS)


def override(config: Config, args: argparse.Namespace) -> Config:
    """Command-line flags win over the configuration file (addresses checked like the file's)."""
    from exporter.config.fields import Fields

    check = Fields(Path("command line")).host_port
    srv = config.server
    if args.socket is not None:
        srv = dataclasses.replace(
            srv, socket=None if args.socket.lower() == "none" else Path(args.socket))
    if args.http is not None:
        srv = dataclasses.replace(srv, http=check(args.http, "--http", loopback=False))
    if args.state_file is not None:
        srv = dataclasses.replace(srv, state_file=Path(args.state_file))
    if args.tcp is not None:
        srv = dataclasses.replace(srv, tcp=check(args.tcp, "--tcp", loopback=True))
    return dataclasses.replace(config, server=srv)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from exporter.config.errors import ConfigError
    from exporter.config.load import load_config
    from exporter.profile.model import ProfileError
    from exporter.sidecar.runtime import ProfileFiles, Sidecar, serve

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = override(load_config(args.config), args)
        # profiles are read one by one into the state (numpy references only)
        sidecar = Sidecar(config, ProfileFiles(config), decode_only=args.decode_only)
    except (ConfigError, ProfileError, ValueError) as exc:
        print(f"mlmon serve: {exc}", file=sys.stderr)
        return 2
    for i, m in enumerate(config.models):
        if m.profile is None:  # legitimate (accuracy only), but a silent lack of drift is not
            logging.getLogger("mlmon.serve").warning(
                "model %s:%s has no profile (%s models[%d]): drift is off for it; build one "
                "with `mlmon profile build` and set its profile", m.name, m.version,
                config.path, i)

    from exporter.sidecar.runtime import SWITCH_INTERVAL

    # Readers and the ingest worker share the GIL: a short switch interval lets the
    # reader drain the socket promptly instead of waiting up to 5 ms behind a batch.
    sys.setswitchinterval(SWITCH_INTERVAL)
    tune_process()

    async def main() -> int:
        return await serve(sidecar)

    try:
        return asyncio.run(main())
    except OSError as exc:
        print(f"mlmon serve: {exc}", file=sys.stderr)
        return 1


MALLOC_ARENAS = 2  # glibc M_ARENA_MAX: the sidecar's threads share two malloc arenas


def tune_process() -> None:
    """Process-wide settings for a long-running sidecar, applied once at start-up.

    - ``gc.freeze()``: the objects made so far (modules, config, the state's numpy
      references) are never scanned again, so a full collection takes microseconds,
      not the ~25 ms that would stall the socket readers.
    - glibc keeps one malloc arena per thread that ever allocated, and freed memory
      stays in its arena; capping the arenas keeps RSS from creeping up across
      the reader, sender, receiver, applier and compute threads.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    gc.freeze()
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    try:
        libc = ctypes.CDLL(libc_name)
        libc.mallopt(-8, MALLOC_ARENAS)  # M_ARENA_MAX; not glibc: no such option, ignored
    except (OSError, AttributeError):
        return
