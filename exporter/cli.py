"""The `mlmon` command line: one subcommand per module in `exporter.commands`.

Each command module exposes ``HELP`` (one line), ``configure(parser)`` and
``run(args) -> int``. Command modules import their heavy dependencies inside
``run`` so that ``mlmon --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol

from exporter import __version__

# (subcommand, module). Order is the order shown in `mlmon --help`.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("init", "exporter.commands.init"),
    ("serve", "exporter.commands.serve"),
    ("demo", "exporter.commands.demo"),
    ("profile", "exporter.commands.profile"),
    ("batch", "exporter.commands.batch"),
    ("respond", "exporter.commands.respond"),
    ("history", "exporter.commands.history"),
    ("rules", "exporter.commands.rules"),
    ("metrics", "exporter.commands.metrics"),
)


class CommandModule(Protocol):
    HELP: str

    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(module_name: str) -> CommandModule:
    return importlib.import_module(module_name)  # type: ignore[return-value,unused-ignore]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlmon",
        description="Prometheus-native monitoring sidecar for ML models in production.",
    )
    parser.add_argument("--version", action="version", version=f"mlmon {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, module_name in COMMANDS:
        module = _load(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    result: int = run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
