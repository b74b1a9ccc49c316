"""`mlmon --help` lists every subcommand with a one-line description."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from exporter.cli import COMMANDS, build_parser, main


def _help(*argv: str) -> str:
    out = subprocess.run([sys.executable, "-m", "exporter", *argv, "--help"],
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout


def test_top_level_help_lists_every_registered_command() -> None:
    text = " ".join(_help().split())  # argparse wraps descriptions
    parser = build_parser()
    for name, module_name in COMMANDS:
        help_line = importlib.import_module(module_name).HELP
        assert f" {name} {' '.join(help_line.split())}" in text, name
    assert parser.prog == "mlmon"


@pytest.mark.parametrize("name", [name for name, _ in COMMANDS])
def test_every_subcommand_has_help(name: str) -> None:
    text = _help(name)
    assert text.startswith("usage: mlmon " + name), text[:200]


def test_no_command_prints_usage_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: mlmon" in capsys.readouterr().err
