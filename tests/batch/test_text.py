"""The terminal report (exporter/batch/text.py): top drifted, one line per chunk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporter.cli import main
from tests.batch.chunk_files import ROWS, chunked_data, write
from tests.factories import make_profile, reference, write_csv, write_profile


def _text(capsys: pytest.CaptureFixture[str], profile: Path, data: Path, *extra: str) -> str:
    assert main(["batch", "--profile", str(profile), "--input", str(data), *extra]) == 0
    return capsys.readouterr().out


def _line(text: str, start: str) -> str:
    (line,) = [x for x in text.splitlines() if x.startswith(start)]
    return line


def test_top_drifted_lists_only_features_at_medium_or_above(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    json_out = tmp_path / "r.json"
    assert main(["batch", "--profile", str(files["profile"]), "--input", str(files["input"]),
                 "--format", "json", "--out", str(json_out)]) == 0
    features = json.loads(json_out.read_text())["features"]
    drifted = {f["name"] for f in features if f["severity"] in ("medium", "high")}
    assert drifted and len(drifted) < len(features)  # some low: the case of the issue
    top = _line(_text(capsys, files["profile"], files["input"]), "top drifted:")
    named = {f["name"] for f in features if f"{f['name']} (" in top}
    assert named == drifted


def test_top_drifted_says_none_when_every_feature_is_low(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = reference()
    profile = write_profile(make_profile(ref), tmp_path / "p.json")
    text = _text(capsys, profile, write_csv(tmp_path / "same.csv", ref))
    assert "severity low" in text
    assert _line(text, "top drifted:") == "top drifted: none (no feature at medium or above)"


def test_one_line_per_chunk_with_its_flagged_features(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = write_profile(make_profile(reference()), tmp_path / "p.json")
    data = write(tmp_path / "b.csv", chunked_data(), "csv")
    text = _text(capsys, profile, data, "--chunk-size", str(ROWS))
    lines = [x for x in text.splitlines() if x.startswith("chunk ")]
    assert len(lines) == 5
    assert "5 chunks of 600 rows:" in text
    assert lines[0].startswith("chunk 0: rows 0-600, 600 rows: severity low")
    assert lines[0].endswith("drifted: none")
    for line, name in zip(lines[1:4], ("color", "x", "y"), strict=True):
        drifted = line.split("drifted: ", 1)[1]
        assert drifted.startswith(f"{name} (high, psi ")
        assert {n for n in ("x (", "y (", "color (", "__prediction__ (") if n in drifted} == {
            f"{name} ("}
    assert lines[4] == "chunk 4: rows 2400-2600, 200 rows: n/a (too few samples, min samples 500)"


def test_time_chunks_show_their_utc_period(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    profile = write_profile(make_profile(reference()), tmp_path / "p.json")
    data = write(tmp_path / "b.jsonl", chunked_data(), "jsonl")
    text = _text(capsys, profile, data, "--chunk-by", "ts", "--chunk-period", "1h")
    assert "5 chunks by 'ts', periods of 3600 s (UTC):" in text
    assert _line(text, "chunk 2:").startswith(
        "chunk 2: 2024-05-01T03:00:00Z to 2024-05-01T04:00:00Z, 600 rows: severity high")
