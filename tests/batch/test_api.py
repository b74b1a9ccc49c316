"""`exporter.analyze` (issue 16 item 4): the report `mlmon batch` prints, from paths, pyarrow
tables or pandas DataFrames, without making `import exporter` heavier."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pyarrow.csv as pacsv
import pytest

import exporter
from exporter.batch.report import BatchReport
from tests.paths import EXAMPLES, ROOT

EXAMPLE_NAMES = ("fraud", "housing")


def _cli_json(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "exporter", "batch", "--format", "json", *args],
                         capture_output=True, text=True, timeout=120, check=True, cwd=ROOT)
    return _comparable(out.stdout)


def _comparable(text: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(text)
    report.pop("analysed_at")  # the only field that depends on when
    return report


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_analyze_of_paths_is_what_mlmon_batch_prints(name: str) -> None:
    d = EXAMPLES / name
    report = exporter.analyze(d / "profile.json", d / "current.csv")
    assert isinstance(report, BatchReport)
    assert _comparable(report.to_json()) == _cli_json("--profile", str(d / "profile.json"),
                                                      "--input", str(d / "current.csv"))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_a_profile_built_in_memory_from_the_reference_gives_the_same_report(name: str) -> None:
    """The bundled profile.json is `mlmon profile build` of reference.csv with mlmon.yaml."""
    d = EXAMPLES / name
    in_memory = exporter.analyze(d / "reference.csv", d / "current.csv",
                                 config=d / "mlmon.yaml")
    assert _comparable(in_memory.to_json()) == _cli_json(
        "--profile", str(d / "profile.json"), "--input", str(d / "current.csv"),
        "--config", str(d / "mlmon.yaml"))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_a_pyarrow_table_gives_the_same_report_as_its_file(name: str) -> None:
    d = EXAMPLES / name
    table = pacsv.read_csv(d / "current.csv")
    from_table = exporter.analyze(d / "profile.json", table, config=d / "mlmon.yaml")
    from_file = exporter.analyze(d / "profile.json", d / "current.csv", config=d / "mlmon.yaml")
    assert _comparable(from_table.to_json()) == _comparable(from_file.to_json())
    reference = pacsv.read_csv(d / "reference.csv")
    both_tables = exporter.analyze(reference, table, config=d / "mlmon.yaml")
    assert _comparable(both_tables.to_json()) == _comparable(from_file.to_json())


def test_a_pandas_dataframe_gives_the_same_report_as_its_file() -> None:
    import pandas as pd  # optional for users; in the test extra, so CI never skips this
    d = EXAMPLES / "fraud"
    frame = pd.read_csv(d / "current.csv")
    from_frame = exporter.analyze(d / "profile.json", frame)
    from_file = exporter.analyze(d / "profile.json", d / "current.csv")
    assert _comparable(from_frame.to_json()) == _comparable(from_file.to_json())


def test_html_and_text_are_the_batch_renderers() -> None:
    from exporter.batch import html, text

    d = EXAMPLES / "fraud"
    report = exporter.analyze(d / "profile.json", d / "current.csv")
    assert report.to_html() == html.render(report)
    assert report.to_html().startswith("<!DOCTYPE html>")
    assert report.to_text() == text.render(report)
    rows = len((d / "current.csv").read_text(encoding="utf-8").splitlines()) - 1  # header
    assert report.to_dict()["rows"] == rows


def test_reference_data_without_a_config_says_what_is_missing() -> None:
    d = EXAMPLES / "fraud"
    with pytest.raises(TypeError, match="config="):
        exporter.analyze(d / "reference.csv", d / "current.csv")
    with pytest.raises(TypeError, match="pyarrow Table or a pandas DataFrame"):
        exporter.analyze(d / "profile.json", [1, 2, 3])


def test_import_exporter_stays_light_and_analyze_loads_on_use() -> None:
    code = ("import sys, exporter\n"
            "before = sorted(m for m in sys.modules if m.startswith(('exporter.', 'pyarrow',"
            " 'numpy')))\n"
            "exporter.analyze\n"
            "print(before, 'exporter.batch.api' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "[] True"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        exporter.nothing  # noqa: B018


def test_analyze_is_the_batch_api() -> None:
    assert callable(exporter.analyze)
    assert exporter.analyze.__module__ == "exporter.batch.api"
