from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from exporter.cli import main
from tests.factories import current, make_profile, reference, write_csv, write_profile


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A profile from the fixed-seed reference and a drifted batch with labels."""
    return {"profile": write_profile(make_profile(reference()), tmp_path / "profile.json"),
            "input": write_csv(tmp_path / "batch.csv", current())}


def run_json(profile: Path, data: Path, *extra: str) -> dict[str, Any]:
    out = data.with_name(data.stem + "-report.json")
    code = main(["batch", "--profile", str(profile), "--input", str(data),
                 "--format", "json", "--out", str(out), *extra])
    assert code == 0
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def feature(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in report["features"] if f["name"] == name)
    return found
