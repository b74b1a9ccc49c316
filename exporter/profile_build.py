"""Two-pass, bounded-memory profile builder."""

from __future__ import annotations

from pathlib import Path

from exporter.config import ModelConfig
from exporter.profile import Profile


def build(config: ModelConfig, path: Path, *, chunk_rows: int = 65_536) -> Profile:
    raise NotImplementedError
