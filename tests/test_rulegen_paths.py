"""`repository_path`: the repository's deployment files from any working directory (issue 16
item 3); tests/deploy/test_wheel.py checks the same through an installed wheel."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exporter import rulegen
from exporter.cli import main
from exporter.rulegen import DEFAULT_OUT, DEFAULT_RULES_DIR, repository_path
from tests.paths import ROOT


def test_the_working_directory_copy_comes_first(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rules").mkdir()
    monkeypatch.chdir(tmp_path)
    assert repository_path("rules") == Path("rules")
    assert repository_path("rules").resolve() == tmp_path / "rules"


def test_outside_a_checkout_the_packaged_copy(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "exporter"
    packaged = package.joinpath(*rulegen.PACKAGED, "rules")
    packaged.mkdir(parents=True)
    monkeypatch.setattr(rulegen, "_package_dir", lambda: package)
    monkeypatch.chdir(tmp_path)
    assert repository_path("rules") == packaged
    # nothing anywhere: the relative path, so the error names what was looked for
    assert repository_path("grafana/mlmon.json") == Path("grafana/mlmon.json")


def test_an_editable_install_falls_back_to_its_checkout(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # the tests run from the checkout's editable install: no packaged copy, the checkout's
    monkeypatch.chdir(tmp_path)
    assert repository_path(DEFAULT_RULES_DIR) == ROOT / "rules"
    assert repository_path(DEFAULT_OUT) == ROOT / DEFAULT_OUT


def test_rules_commands_from_another_directory_use_the_checkout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no rules/ here: before issue 16, "rules: no *.yml rule files"
    assert main(["rules", "k8s"]) == 0
    generated = capsys.readouterr().out
    monkeypatch.chdir(ROOT)
    assert main(["rules", "k8s"]) == 0
    assert capsys.readouterr().out == generated
    # check compares with the checkout's committed file (which other work may leave stale)
    code = main(["rules", "check"])
    here = capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main(["rules", "check"]) == code
    there = capsys.readouterr()
    assert str(ROOT / DEFAULT_OUT) in there.out + there.err
    assert (there.out + there.err).replace(f"{ROOT}/", "") == here.out + here.err


def test_rules_check_in_a_directory_with_its_own_rules_reads_those(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules").mkdir()
    shutil.copy(ROOT / "rules" / "mlmon-recording.yml", tmp_path / "rules" / "only.yml")
    monkeypatch.chdir(tmp_path)
    assert main(["rules", "k8s", "--out", "k8s/base/prometheusrule.yaml"]) == 0
    assert main(["rules", "check"]) == 0
    assert "is up to date: 1 rule files" in capsys.readouterr().out
    assert (tmp_path / DEFAULT_OUT).is_file()
