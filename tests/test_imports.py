"""Import only what a command needs: each command, run in a fresh interpreter through
``exporter.cli.main`` (so its ``run`` imports what it really uses), must leave the
heavy packages it does not need unimported (issue 15: ``scipy.stats`` costs ~1.2 s, and
``scipy.special`` alone ~0.2 s: no command imports scipy at all)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.paths import ROOT

PROBE = """
import atexit, json, sys
def _report():
    heavy = sorted(m for m in sys.modules
                   if m.split('.')[0] in {'pyarrow', 'aiohttp', 'scipy'})
    sys.stderr.write('\\nIMPORTED ' + json.dumps(heavy) + '\\n')
atexit.register(_report)
from exporter.cli import main
sys.exit(main(json.loads(sys.argv[1])))
"""

MISSING = "/nonexistent/mlmon-import-probe"

# (argv, forbidden top-level names). The paths do not exist: each command imports its
# modules, then fails on its input, which is all the probe needs.
CASES = [
    (["--help"], {"pyarrow", "scipy"}),
    (["serve", "--config", f"{MISSING}.yaml"], {"pyarrow", "scipy"}),
    (["batch", "--profile", f"{MISSING}.json", "--input", f"{MISSING}.csv"],
     {"aiohttp", "scipy"}),
    (["profile", "build", "--config", f"{MISSING}.yaml", "--model", "m",
      "--input", f"{MISSING}.csv", "--out", f"{MISSING}.out.json"], {"scipy"}),
    (["init", "--from", f"{MISSING}.csv", "--out", f"{MISSING}.yaml"], {"aiohttp", "scipy"}),
]


def _imported(argv: list[str]) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("IMPORTED ")]
    assert lines, proc.stderr
    found: list[str] = json.loads(lines[-1].removeprefix("IMPORTED "))
    return found


@pytest.mark.parametrize(("argv", "forbidden"), CASES, ids=lambda v: "_".join(v[:2])
                         if isinstance(v, list) else None)
def test_command_imports_only_what_it_needs(argv: list[str], forbidden: set[str]) -> None:
    imported = _imported(argv)
    bad = [m for m in imported if any(m == f or m.startswith(f + ".") for f in forbidden)]
    assert bad == []


def test_probe_sees_the_heavy_imports_of_a_command_that_needs_them() -> None:
    # serve needs aiohttp: the probe must report it (guards against a probe that sees nothing)
    assert "aiohttp" in _imported(["serve", "--config", f"{MISSING}.yaml"])


def test_the_decoder_child_imports_neither_numpy_nor_scipy() -> None:
    """The decoder process decodes bytes to columns; numpy alone would add ~30 MB to it."""
    code = ("import sys, exporter.sidecar.ingest.decode_process; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy', "
            "'aiohttp', 'prometheus_client'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_module_of_the_package_imports_scipy() -> None:
    """scipy is the tests' oracle only: importing every module of ``exporter`` (the
    statistics core has its own special functions, exporter/stats/special.py) must not
    load any part of it."""
    code = ("import importlib, pkgutil, sys, exporter\n"
            "names = [m.name for m in pkgutil.walk_packages(exporter.__path__, 'exporter.')\n"
            "         if not m.name.endswith('__main__')]\n"
            "for name in names: importlib.import_module(name)\n"
            "print(len(names), sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split(maxsplit=1)
    assert int(out[0]) > 50  # the walk saw the package
    assert out[1].strip() == "[]"
