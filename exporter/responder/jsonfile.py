"""Small JSON state files written atomically (write, fsync, rename)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


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
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, sort_keys=True, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
