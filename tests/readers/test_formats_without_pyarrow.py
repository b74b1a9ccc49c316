"""pyarrow is optional (``mlmon[files]``, left out of the sidecar image): without it, CSV
and Parquet input fails with exit 2 and a message saying what to install, while JSONL
input and `mlmon serve` work. Each case runs a fresh interpreter in which a meta-path
finder (a ``sitecustomize`` on PYTHONPATH, so child processes get it too) hides pyarrow."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.paths import EXAMPLES
from tests.procs import serving

FRAUD = EXAMPLES / "fraud"
MLMON = [sys.executable, "-m", "exporter"]
HINT = "pip install 'mlmon[files]'"
BLOCKER = '''
import sys

class _NoPyarrow:
    """Behaves as if pyarrow were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoPyarrow())
'''


@pytest.fixture(scope="module")
def no_pyarrow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process that cannot import pyarrow."""
    site = tmp_path_factory.mktemp("no-pyarrow")
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH")) if p)
    return env


def _mlmon(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MLMON, *argv], capture_output=True, text=True, timeout=120,
                          env=env, check=False)


def _batch(path: Path) -> list[str]:
    return ["batch", "--profile", str(FRAUD / "profile.json"), "--config",
            str(FRAUD / "mlmon.yaml"), "--input", str(path), "--format", "json"]


def _profile_build(path: Path, out: Path) -> list[str]:
    return ["profile", "build", "--config", str(FRAUD / "mlmon.yaml"), "--model", "fraud",
            "--input", str(path), "--out", str(out)]


def _number(text: str) -> float | None:
    """A CSV cell as JSON: a number, or null where missing ("", "nan")."""
    value = float(text) if text else math.nan
    return None if math.isnan(value) else value


def test_the_blocker_hides_pyarrow(no_pyarrow: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-c", "import pyarrow.csv"], capture_output=True,
                          text=True, env=no_pyarrow, check=False)
    assert proc.returncode == 1 and "No module named 'pyarrow" in proc.stderr


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_batch_of_csv_or_parquet_says_what_to_install(
        fmt: str, tmp_path: Path, no_pyarrow: dict[str, str]) -> None:
    path = FRAUD / "current.csv"
    if fmt == "parquet":
        path = tmp_path / "current.parquet"
        pq.write_table(pacsv.read_csv(FRAUD / "current.csv"), path)
    # The same command with pyarrow works: the file and profile are fine.
    assert _mlmon(_batch(path)).returncode == 0
    proc = _mlmon(_batch(path), no_pyarrow)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert f"reading {fmt.upper()} needs pyarrow" in proc.stderr and HINT in proc.stderr
    assert str(path) in proc.stderr


def test_profile_build_of_csv_says_what_to_install(
        tmp_path: Path, no_pyarrow: dict[str, str]) -> None:
    out = tmp_path / "profile.json"
    proc = _mlmon(_profile_build(FRAUD / "reference.csv", out), no_pyarrow)
    assert proc.returncode == 1, proc.stderr  # `mlmon profile`'s exit status for bad input
    assert "Traceback" not in proc.stderr
    assert "reading CSV needs pyarrow" in proc.stderr and HINT in proc.stderr
    assert not out.exists()


def test_jsonl_needs_no_pyarrow_and_gives_the_csv_report(
        tmp_path: Path, no_pyarrow: dict[str, str]) -> None:
    jsonl = tmp_path / "current.jsonl"
    with (FRAUD / "current.csv").open(newline="") as fh, jsonl.open("w") as out:
        for row in csv.DictReader(fh):
            out.write(json.dumps({k: _number(v) if k not in ("id", "country", "channel")
                                  else v for k, v in row.items()}) + "\n")
    from_csv = _mlmon(_batch(FRAUD / "current.csv"))
    from_jsonl = _mlmon(_batch(jsonl), no_pyarrow)
    assert from_csv.returncode == 0, from_csv.stderr
    assert from_jsonl.returncode == 0, from_jsonl.stderr
    csv_report, jsonl_report = json.loads(from_csv.stdout), json.loads(from_jsonl.stdout)
    for report in (csv_report, jsonl_report):
        report.pop("input", None)
        report.pop("analysed_at")
    assert jsonl_report == csv_report


def test_serve_runs_without_pyarrow(tmp_path: Path, no_pyarrow: dict[str, str]) -> None:
    assert _mlmon(["serve", "--help"], no_pyarrow).returncode == 0
    argv = [*MLMON, "serve", "--config", str(FRAUD / "mlmon.yaml"), "--socket",
            str(tmp_path / "mlmon.sock"), "--http", "127.0.0.1:0", "--state-file",
            str(tmp_path / "state.bin")]
    with serving(argv, tmp_path / "serve.log", "/readyz", env=no_pyarrow) as sidecar:
        url = sidecar.url
        with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
            metrics = resp.read().decode()
        assert 'model="fraud"' in metrics
