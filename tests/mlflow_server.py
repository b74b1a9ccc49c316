"""A real `mlflow server` on loopback for tests (from scripts/ensure-mlflow.sh's venv)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.paths import ROOT
from tests.procs import IN_CI, serving


def mlflow_bin() -> str:
    path = os.environ.get("MLMON_MLFLOW_BIN") or str(ROOT / ".venv-mlflow/bin/mlflow")
    if not os.access(path, os.X_OK):
        message = f"mlflow not installed at {path} (run: bash scripts/ensure-mlflow.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextlib.contextmanager
def mlflow_server(work: Path) -> Iterator[str]:
    """Start `mlflow server` (sqlite backend, artifact proxy) and yield its base URL."""
    argv = [mlflow_bin(), "server", "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
            "--artifacts-destination", str(work / "artifacts"), "--serve-artifacts",
            "--host", "127.0.0.1", "--port", "0", "--workers", "1"]  # uvicorn announces it
    env = {**os.environ, "MLFLOW_TRACKING_URI": "", "HOME": str(work)}
    with serving(argv, work / "mlflow.log", "/health", timeout=90, env=env,
                 cwd=work) as server:
        yield server.url
