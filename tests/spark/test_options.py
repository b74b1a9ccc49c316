"""The Spark engine stays optional: nothing imports pyspark unless --engine spark runs, and
without pyspark --engine spark exits 2 naming the extra to install. Each case runs the
real CLI in a fresh interpreter (no JVM is started here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from exporter.spark.session import pyspark_available
from tests.paths import EXAMPLES, ROOT
from tests.spark.conftest import missing

PROBE = """
import json, sys
if sys.argv[2] == "hide":
    sys.modules["pyspark"] = None  # as if not installed: `import pyspark` raises ImportError
from exporter.cli import main
code = main(json.loads(sys.argv[1]))
sys.stderr.write("\\nPYSPARK " + json.dumps(any(m.split(".")[0] == "pyspark"
                                              for m in sys.modules if sys.modules[m])) + "\\n")
sys.exit(code)
"""

FRAUD = EXAMPLES / "fraud"
BATCH = ["batch", "--profile", str(FRAUD / "profile.json"), "--input",
         str(FRAUD / "current.csv"), "--format", "json"]
BUILD = ["profile", "build", "--config", str(FRAUD / "mlmon.yaml"), "--model", "fraud",
         "--input", str(FRAUD / "reference.csv"), "--out", "/nonexistent/dir/p.json"]


def _run(argv: list[str], hide: bool, **env: str) -> tuple[int, str, bool]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv),
                           "hide" if hide else "keep"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False, env={**os.environ, **env})
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("PYSPARK ")][-1]
    return proc.returncode, proc.stderr, json.loads(line.removeprefix("PYSPARK "))


@pytest.mark.parametrize("argv", [BATCH, BUILD], ids=["batch", "profile-build"])
def test_without_pyspark_engine_spark_exits_2_naming_the_extra(argv: list[str]) -> None:
    code, err, _ = _run([*argv, "--engine", "spark"], hide=True)
    assert code == 2, err
    assert "pip install 'mlmon[spark]'" in err


@pytest.mark.parametrize("argv", [BATCH, ["serve", "--config", "/nonexistent/mlmon.yaml"]],
                         ids=["batch", "serve"])
def test_local_commands_never_import_pyspark(argv: list[str]) -> None:
    code, err, imported = _run(argv, hide=False)
    assert imported is False, err
    assert code in (0, 1, 2)


def test_without_java_engine_spark_exits_2_saying_so() -> None:
    if not pyspark_available():
        missing("pyspark not installed (make test installs the `spark` extra)")
    code, err, _ = _run([*BATCH, "--engine", "spark"], hide=False, JAVA_HOME="/nonexistent")
    assert code == 2, err
    assert "cannot start Spark (local[*])" in err and "Java 17" in err
