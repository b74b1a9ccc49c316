"""Type aliases shared across the package."""

from __future__ import annotations

ModelKey = tuple[str, str]  # (model name, model version)
