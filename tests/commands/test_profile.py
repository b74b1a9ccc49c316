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
    assert "rows      4000" in text and "schema 2" in text
    line = next(row for row in text.splitlines() if row.startswith("sqft"))
    assert f"mean={sqft.summary.mean:.4g}" in line and "numeric" in line
    assert any(row.startswith("neighborhood") and "categorical" in row
               for row in text.splitlines())
    assert any(row.startswith("__prediction__") for row in text.splitlines())
    # the optional sections: segment row counts and the PCA reference, from the file
    built = load_profile(out)
    assert built.segments is not None and built.multivariate is not None
    counts = "  ".join(f"{s.value}={s.rows}" for s in built.segments.segments)
    assert sum(s.rows for s in built.segments.segments) == 4000
    assert f"segments  neighborhood (max_values 4): {counts}" in text
    pca = built.multivariate
    assert (f"pca       {len(pca.components)} component(s) of {len(pca.features)} numeric "
            f"features explain {pca.explained:.1%}") in text


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


def test_build_without_the_prediction_column_says_so(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder = _copy_example(tmp_path)
    reference = folder / "reference.csv"
    with reference.open(encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split(",") for line in fh]
    drop = rows[0].index('"prediction"')
    reference.write_text("".join(",".join(r[:drop] + r[drop + 1:]) + "\n" for r in rows),
                         encoding="utf-8")
    out = tmp_path / "p.json"
    rc = main(["profile", "build", "--config", str(folder / "mlmon.yaml"), "--model", "housing",
               "--input", str(reference), "--out", str(out)])
    assert rc == 0
    assert load_profile(out).prediction is None
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"mlmon profile: {reference}: no column 'prediction' (the model's "
                   "prediction_column): the prediction's reference distribution is not built, "
                   "so prediction drift is off for housing:1"]


def test_build_with_the_prediction_column_is_quiet(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = _copy_example(tmp_path)
    assert main(["profile", "build", "--config", str(folder / "mlmon.yaml"), "--model",
                 "housing", "--input", str(folder / "reference.csv"),
                 "--out", str(tmp_path / "p.json")]) == 0
    assert capsys.readouterr().err == ""
