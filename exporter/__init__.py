"""mlmon: a Prometheus-native monitoring sidecar for ML models in production."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``exporter.analyze`` (``exporter.batch.api.analyze``), imported on first use: the
    batch code (and pyarrow) stays out of ``import exporter``, which the sidecar runs."""
    if name == "analyze":
        return importlib.import_module("exporter.batch.api").analyze
    raise AttributeError(f"module 'exporter' has no attribute {name!r}")
