"""The one error a configuration file can raise."""

from __future__ import annotations

from pathlib import Path


class ConfigError(ValueError):
    """An invalid configuration file: names the file, the key path and the fix."""

    def __init__(self, file: str | Path, key: str, problem: str, allowed: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = problem
        self.allowed = allowed
        super().__init__(f"{self.file}: {key}: {problem} (allowed: {allowed})")
