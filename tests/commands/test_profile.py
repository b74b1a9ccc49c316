"""`mlmon profile build` / `show` through the real CLI entry point."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exporter.cli import main
from exporter.profile.files import load_profile
from exporter.profile.model import NumericProfile
from tests.paths import EXAMPLES


def _copy_example(tmp_path: Path, name: str = "housing") -> Path:
    folder = tmp_path / name
    shutil.copytree(EXAMPLES / name, folder)
    return folder


def test_build_then_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _copy_example(tmp_path)
    out = tmp_path / "built.json"
    rc = main(["profile", "build", "--config", str(folder / "mlmon.yaml"), "--model", "housing",
               "--input", str(folder / "reference.csv"), "--out", str(out)])
    assert rc == 0
    assert out.read_bytes() == (folder / "profile.json").read_bytes()
    assert f"wrote {out}: housing:1, 4000 rows, 5 features" in capsys.readouterr().out
    assert main(["profile", "show", str(out)]) == 0
    text = capsys.readouterr().out
    sqft = load_profile(out).feature("sqft")
    assert isinstance(sqft, NumericProfile)
    assert "rows      4000" in text
    line = next(row for row in text.splitlines() if row.startswith("sqft"))
    assert f"mean={sqft.summary.mean:.4g}" in line and "numeric" in line
    assert any(row.startswith("neighborhood") and "categorical" in row
               for row in text.splitlines())
    assert any(row.startswith("__prediction__") for row in text.splitlines())


def test_build_errors_exit_1_with_a_reason(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = _copy_example(tmp_path)
    base = ["profile", "build", "--config", str(folder / "mlmon.yaml"),
            "--input", str(folder / "reference.csv"), "--out", str(tmp_path / "p.json")]
    assert main([*base, "--model", "nosuch"]) == 1
    assert "no model 'nosuch' (models: housing:1)" in capsys.readouterr().err
    assert main([*base, "--model", "housing", "--version", "9"]) == 1
    assert "no model 'housing' version '9'" in capsys.readouterr().err
    (folder / "reference.csv").write_text("sqft,rooms\n1,2\n", encoding="utf-8")
    assert main([*base, "--model", "housing"]) == 1
    err = capsys.readouterr().err
    assert "not found" in err and "age_years" in err
    assert not (tmp_path / "p.json").exists()
    shutil.copy(EXAMPLES / "housing" / "reference.csv", folder / "reference.csv")
    nowhere = ["--out", str(tmp_path / "missing" / "p.json")]
    assert main([*base, "--model", "housing", *nowhere]) == 1
    assert "missing/p.json: cannot write profile (No such file or directory)" in \
        capsys.readouterr().err


def test_show_rejects_a_corrupt_profile(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "p.json"
    bad.write_text('{"schema_version": 0}', encoding="utf-8")
    assert main(["profile", "show", str(bad)]) == 1
    assert "mlmon profile build" in capsys.readouterr().err
