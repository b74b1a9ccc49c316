"""`mlmon metrics`: the listed metrics against what the components really export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.cli import main
from tests.paths import EXAMPLES, ROOT


def _batch_families(tmp_path: Path) -> dict[str, str]:
    """Family name -> type from `mlmon batch --format prometheus` on both examples."""
    found: dict[str, str] = {}
    for name in ("fraud", "housing"):
        out = tmp_path / f"{name}.prom"
        folder = EXAMPLES / name
        assert main(["batch", "--profile", str(folder / "profile.json"),
                     "--input", str(folder / "current.csv"), "--config",
                     str(folder / "mlmon.yaml"), "--format", "prometheus",
                     "--out", str(out)]) == 0
        for family in text_string_to_metric_families(out.read_text()):
            # the parser drops a counter's _total from its family name; the list keeps it
            suffix = "_total" if family.type == "counter" else ""
            found[family.name + suffix] = family.type
    return found


def test_batch_listing_matches_the_batch_exposition(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exported = _batch_families(tmp_path)
    assert main(["metrics", "--format", "json", "--source", "batch"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert set(exported) <= set(listed)
    # class shares need class-name predictions, which neither example has
    assert set(listed) - set(exported) == {"mlmon_prediction_class_ratio"}
    assert all(exported[n] == listed[n]["type"] for n in exported)
    assert all("batch" in m["sources"] for m in listed.values())
    assert main(["metrics", "--format", "names", "--source", "batch"]) == 0
    assert capsys.readouterr().out.split() == list(listed)


def test_check_readme(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = ROOT / "docs" / "metrics.md"
    assert main(["metrics", "--check-readme", str(page)]) == 0
    stale = tmp_path / "metrics.md"
    stale.write_text(page.read_text(encoding="utf-8").replace(
        "`mlmon_feature_psi`", "`mlmon_feature_psy`"), encoding="utf-8")
    assert main(["metrics", "--check-readme", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err


def test_unknown_source_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["metrics", "--source", "grafana"])
    assert exit_.value.code == 2
    assert "invalid choice: 'grafana'" in capsys.readouterr().err
