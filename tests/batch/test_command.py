"""`mlmon batch` exit codes and input errors (exporter/commands/batch.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from exporter.cli import main
from tests.factories import (
    current,
    make_profile,
    reference,
    write_config,
    write_csv,
    write_profile,
)


def _batch(files: dict[str, Path], *extra: str) -> int:
    return main(["batch", "--profile", str(files["profile"]), "--input", str(files["input"]),
                 "--out", str(files["input"].with_suffix(".txt")), *extra])


def test_fail_on_high_exits_3_when_a_feature_is_high(files: dict[str, Path]) -> None:
    assert _batch(files, "--fail-on", "high") == 3
    assert _batch(files, "--fail-on", "medium") == 3
    assert _batch(files) == 0


def test_fail_on_passes_without_drift(tmp_path: Path) -> None:
    ref = reference()
    files = {"profile": write_profile(make_profile(ref), tmp_path / "p.json"),
             "input": write_csv(tmp_path / "same.csv", ref)}
    assert _batch(files, "--fail-on", "medium") == 0


def test_fail_on_medium_but_not_high(files: dict[str, Path], tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", "psi_medium: 0.1, psi_high: 50.0",
                       prediction="kind: regression")
    assert _batch(files, "--config", str(cfg), "--fail-on", "high") == 0
    assert _batch(files, "--config", str(cfg), "--fail-on", "medium") == 3


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["batch", *argv]) == 2
    return capsys.readouterr().err


def test_missing_column_names_file_and_column(files: dict[str, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = current()
    del data["color"]
    bad = write_csv(tmp_path / "nocolor.csv", data)
    err = _error(capsys, "--profile", str(files["profile"]), "--input", str(bad))
    assert "nocolor.csv" in err and "color" in err


def test_unknown_format(files: dict[str, Path], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "batch.xlsx"
    bad.write_text("x\n1\n")
    err = _error(capsys, "--profile", str(files["profile"]), "--input", str(bad))
    assert "batch.xlsx" in err and ".xlsx" in err


def test_missing_input_file(files: dict[str, Path], tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, "--profile", str(files["profile"]), "--input",
                 str(tmp_path / "nope.csv"))
    assert "nope.csv" in err


def test_non_numeric_value(files: dict[str, Path], tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    data = current(n=20)
    data["x"][3] = "abc"
    bad = write_csv(tmp_path / "text.csv", data)
    err = _error(capsys, "--profile", str(files["profile"]), "--input", str(bad))
    assert "text.csv" in err and "'x'" in err and "abc" in err


CORRUPT_PROFILES = [
    # (case, the reason the error must give: each case names its own, not just the file)
    ("truncate", r"not valid JSON \(Input data was truncated\)"),
    ("hash", r"content hash mismatch \(stored [0-9a-f]{12}…, computed [0-9a-f]{12}…\): "
             r"the file was edited or corrupted"),
    ("not_json", r"not valid JSON \(JSON is malformed: invalid character \(byte 0\)\)"),
]


@pytest.mark.parametrize(("mutate", "reason"), CORRUPT_PROFILES,
                         ids=[c[0] for c in CORRUPT_PROFILES])
def test_corrupt_profile(files: dict[str, Path], tmp_path: Path, mutate: str, reason: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    text = files["profile"].read_text()
    bad = tmp_path / "corrupt.json"
    if mutate == "truncate":
        bad.write_text(text[: len(text) // 2])
    elif mutate == "hash":
        doc = json.loads(text)
        doc["rows"] += 1
        bad.write_text(json.dumps(doc))
    else:
        bad.write_text("hello")
    err = _error(capsys, "--profile", str(bad), "--input", str(files["input"]))
    assert re.fullmatch(rf"mlmon batch: error: {re.escape(str(bad))}: {reason}; "
                        r"rebuild it with `mlmon profile build`\n", err), err


def test_config_without_the_profiles_model(files: dict[str, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "other.yaml"
    cfg.write_text("models:\n  - name: churn\n    version: \"1\"\n"
                   "    prediction: {kind: regression}\n    features: {x: numeric}\n")
    err = _error(capsys, "--profile", str(files["profile"]), "--input", str(files["input"]),
                 "--config", str(cfg))
    assert "other.yaml" in err and "fraud" in err


def test_unreachable_pushgateway(files: dict[str, Path], port: int,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, "--profile", str(files["profile"]), "--input", str(files["input"]),
                 "--out", str(files["input"].with_suffix(".txt")),
                 "--pushgateway", f"http://127.0.0.1:{port}")
    assert f"127.0.0.1:{port}" in err


def test_text_table_lists_every_feature(files: dict[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "--profile", str(files["profile"]),
                 "--input", str(files["input"])]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert {"x", "y", "color", "__prediction__"} <= set(rows)
    assert rows["x"][-1] == "high" and rows["y"][-1] == "low"
    assert "drift share" in out and "accuracy" in out


def test_out_is_written_atomically_without_leftovers(files: dict[str, Path],
                                                     tmp_path: Path) -> None:
    out = tmp_path / "reports" / "r.json"
    out.parent.mkdir()
    assert _batch(files, "--format", "json", "--out", str(out)) == 0
    assert json.loads(out.read_text())["model"] == "fraud"
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]


def test_label_column_that_is_a_feature(files: dict[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, "--profile", str(files["profile"]), "--input", str(files["input"]),
                 "--label-column", "color")
    assert "'color'" in err and "--label-column" in err


def test_out_in_missing_directory(files: dict[str, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, "--profile", str(files["profile"]), "--input", str(files["input"]),
                 "--out", str(tmp_path / "no" / "r.txt"))
    assert "r.txt" in err


@pytest.mark.parametrize(("extra", "message"), [
    (["--chunk-size", "0"], "--chunk-size '0': give a number of rows >= 1"),
    (["--chunk-size", "ten"], "--chunk-size 'ten': give a number of rows >= 1"),
    (["--chunk-size", "100", "--chunk-by", "ts", "--chunk-period", "1h"],
     "--chunk-size and --chunk-by/--chunk-period exclude each other"),
    (["--chunk-by", "ts"], "--chunk-by COLUMN and --chunk-period DURATION go together"),
    (["--chunk-period", "1d"], "--chunk-by COLUMN and --chunk-period DURATION go together"),
    (["--chunk-by", "ts", "--chunk-period", "1x"], "--chunk-period '1x': give a duration"),
    (["--chunk-by", "ts", "--chunk-period", "0s"], "--chunk-period '0s': give a duration"),
])
def test_bad_chunk_options_exit_2_with_the_fix(files: dict[str, Path], extra: list[str],
                                               message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, "--profile", str(files["profile"]), "--input", str(files["input"]),
                 *extra)
    assert message in err
