"""The configuration example in docs/responder.md is a valid responder config."""

from __future__ import annotations

import re
from pathlib import Path

from exporter.responder.config_load import load

DOC = Path(__file__).resolve().parents[2] / "docs" / "responder.md"


def test_documented_example_loads(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    example = next(b for b in blocks if b.startswith("listen:"))
    path = tmp_path / "responder.yaml"
    path.write_text(example)
    config = load(path)
    assert sorted(config.models) == ["fraud", "housing"]
    fraud = config.models["fraud"]
    assert fraud.rollback is not None and fraud.rollback.cooldown == 1800.0
    assert config.retry.delay(1) == 1.0 and config.retry.delay(3) == 4.0
