"""The wheel installs anywhere (issue 16 item 3): built from the repository's files, installed
into a fresh virtualenv outside the repository, its `mlmon rules check`, `mlmon metrics` and
`mlmon demo` work from another directory, and building it prints no setuptools deprecation
warning about `project.license`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from exporter.metric_names import METRICS
from tests.paths import ROOT

pytestmark = pytest.mark.slow

# What building the wheel reads (pyproject.toml, setup.py and MANIFEST.in say the rest).
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "exporter", "rules",
                "alertmanager", "grafana", "k8s", "prometheus")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    src: Path  # the copy of the repository's files the wheel was built from
    build_output: str
    venv: Path
    elsewhere: Path  # a working directory outside the repository

    def mlmon(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return subprocess.run([str(self.venv / "bin" / "mlmon"), *args], cwd=self.elsewhere,
                              env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)


def _run(argv: list[str], cwd: Path) -> str:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy: the build writes build/ and *.egg-info beside its sources
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    started = time.monotonic()
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir",
                  "-w", str(tmp / "dist"), str(src)], tmp)
    built = time.monotonic()
    (wheel,) = (tmp / "dist").glob("mlmon-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    # pip of the test environment installs into the new one (with the configured mirror)
    install = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", f"{wheel}[files]"], tmp)
    print(f"\nwheel {wheel.stat().st_size / 1024:.0f} KiB built in {built - started:.1f} s, "
          f"installed with its dependencies in {time.monotonic() - built:.1f} s")
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return Installed(wheel, src, build + install, venv, elsewhere)


def test_the_build_prints_no_license_deprecation_and_declares_the_spdx_license(
        installed: Installed) -> None:
    assert "project.license" not in installed.build_output
    assert not re.search(r"(BuildBackend|SetuptoolsDeprecation)Warning", installed.build_output)
    with zipfile.ZipFile(installed.wheel) as whl:
        metadata = whl.read("mlmon-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata.splitlines()


def test_the_wheel_carries_the_deployment_files_unchanged(installed: Installed) -> None:
    src = installed.src
    wanted = [*sorted((src / "rules").glob("*.yml")), src / "alertmanager/alertmanager.yml",
              src / "grafana/mlmon.json", src / "k8s/base/prometheusrule.yaml"]
    with zipfile.ZipFile(installed.wheel) as whl:
        for path in wanted:
            packaged = whl.read(f"exporter/data/deploy/{path.relative_to(src).as_posix()}")
            assert packaged == path.read_bytes(), path


def test_the_installed_package_is_not_the_repository(installed: Installed) -> None:
    out = _run([str(installed.venv / "bin" / "python"), "-c",
                "import exporter; print(exporter.__file__)"], installed.elsewhere)
    assert Path(out.strip()).is_relative_to(installed.venv)


def test_rules_check_works_outside_the_repository(installed: Installed) -> None:
    proc = installed.mlmon("rules", "check")
    assert proc.returncode == 0, proc.stderr
    # the oracle: the repository's rule files (as built) read with plain YAML
    files = sorted((installed.src / "rules").glob("*.yml"))
    groups = [g for f in files for g in yaml.safe_load(f.read_text(encoding="utf-8"))["groups"]]
    rules = sum(len(g["rules"]) for g in groups)
    print(proc.stdout.strip())
    assert f"{len(files)} rule files, {len(groups)} groups, {rules} rules" in proc.stdout
    assert str(installed.venv) in proc.stdout and str(ROOT) not in proc.stdout


def test_rules_check_outside_the_repository_still_catches_a_stale_file(
        installed: Installed) -> None:
    stale = installed.elsewhere / "stale.yaml"
    stale.write_text((ROOT / "k8s/base/prometheusrule.yaml").read_text(encoding="utf-8")
                     .replace("for: ", "for: 1", 1), encoding="utf-8")
    proc = installed.mlmon("rules", "check", "--file", str(stale))
    assert proc.returncode == 1
    assert "out of date" in proc.stderr


def test_metrics_lists_every_metric_outside_the_repository(installed: Installed) -> None:
    proc = installed.mlmon("metrics")
    assert proc.returncode == 0, proc.stderr
    listed = set(re.findall(r"^\| `(mlmon_[a-z0-9_]+)`", proc.stdout, flags=re.MULTILINE))
    assert listed == {m.name for m in METRICS}


def test_demo_runs_outside_the_repository(installed: Installed) -> None:
    # labels 1-3 s late (the default, 10-30 s, would leave a 10 s run without any)
    proc = installed.mlmon("demo", "--duration", "10", "--label-delay", "2",
                           "--http", "127.0.0.1:0", timeout=90)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert re.search(r"^\s+feature\s+kind\s+samples\s+PSI", proc.stdout, flags=re.MULTILINE)
    sent = re.search(r"mlmon demo: sent (\d+) predictions and (\d+) labels", proc.stdout)
    assert sent is not None, proc.stdout[-2000:]
    print(f"demo outside the repository: {sent.group(0)}")
    assert int(sent.group(1)) > 0 and int(sent.group(2)) > 0
    assert "sidecar exit code 0" in proc.stdout


def test_an_editable_install_runs_from_its_checkout(installed: Installed,
                                                    tmp_path: Path) -> None:
    """`pip install -e .` (the Makefile's install) copies nothing: it reads the checkout."""
    venv = tmp_path / "venv-editable"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    output = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                   "install", "-e", str(installed.src)], tmp_path)
    assert "project.license" not in output
    editable = Installed(installed.wheel, installed.src, output, venv, installed.elsewhere)
    proc = editable.mlmon("rules", "check")
    assert proc.returncode == 0, proc.stderr
    assert f"{installed.src / 'k8s/base/prometheusrule.yaml'} is up to date" in proc.stdout
