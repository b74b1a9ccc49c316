"""The wheel carries the repository's deployment files, so that mlmon works anywhere.

``rules/``, ``alertmanager/``, ``grafana/``, ``k8s/base/prometheusrule.yaml`` and
``prometheus/`` stay where they are in the repository (the single source of truth);
building the wheel copies them to ``exporter/data/deploy/``, where
``exporter.rulegen.repository_path`` finds them when mlmon runs outside a checkout.
An editable install (``pip install -e .``) copies nothing: it runs from the checkout.
Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# Globs relative to the repository root; each must match at least one file.
DEPLOY_FILES = (
    "rules/*.yml",
    "alertmanager/alertmanager.yml",
    "alertmanager/templates/*.tmpl",
    "grafana/*.json",
    "k8s/base/prometheusrule.yaml",
    "prometheus/*.yml",
)
TARGET = ("exporter", "data", "deploy")  # exporter.rulegen.PACKAGED


class BuildPyWithDeployFiles(build_py):
    """build_py, then copy DEPLOY_FILES into the package being built."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib, *TARGET)
        shutil.rmtree(target, ignore_errors=True)  # no file removed from rules/ lingers
        for pattern in DEPLOY_FILES:
            found = sorted(p for p in ROOT.glob(pattern) if p.is_file())
            if not found:
                raise SystemExit(f"setup.py: nothing matches {pattern} in {ROOT}; the wheel "
                                 "needs the repository's rules/, alertmanager/, grafana/, "
                                 "k8s/base/ and prometheus/ (MANIFEST.in puts them in the sdist)")
            for source in found:
                dest = target / source.relative_to(ROOT)
                self.mkpath(str(dest.parent))
                self.copy_file(str(source), str(dest))


setup(cmdclass={"build_py": BuildPyWithDeployFiles})
