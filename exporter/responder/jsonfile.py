"""Small JSON state files, written atomically (the project's write_atomic)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exporter.atomic import write_atomic


class StateError(RuntimeError):
    """A state file that exists but cannot be read back."""


def read(path: Path, default: Any) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"{path}: not valid JSON ({exc}); move it away to start with an "
                         f"empty state (already-handled alerts may then be acted on again)"
                         ) from None


def write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Alert fingerprints, models and times: for the responder's eyes only.
    write_atomic(path, json.dumps(data, sort_keys=True, separators=(",", ":")), mode=0o600)
