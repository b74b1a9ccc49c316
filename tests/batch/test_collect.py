"""Streaming: the report does not depend on the file format or the chunk size."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from exporter.batch.collect import Collector
from exporter.batch.jsonout import report_dict
from exporter.batch.perf import PerfCollector
from exporter.batch.run import BatchOptions, run_batch
from exporter.cli import main
from exporter.profile.files import load_profile
from exporter.profile.model import SCHEMA_VERSION, Profile
from exporter.readers.chunks import read_chunks
from exporter.stats.performance import ClassificationMetrics
from exporter.stats.thresholds import Thresholds
from tests.batch.conftest import run_json
from tests.factories import categorical_profile, current, numeric_profile, write_profile


def _write(path: Path, data: dict[str, list[Any]]) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(pa.table(data), path)
    else:
        with path.open("w") as fh:
            for row in zip(*data.values(), strict=True):
                fh.write(json.dumps(dict(zip(data, row, strict=True))) + "\n")
    return path


def _stats(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "analysed_at"}


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_same_report_for_csv_parquet_jsonl(files: dict[str, Path], tmp_path: Path,
                                           suffix: str) -> None:
    other = _write(tmp_path / f"batch{suffix}", current())
    assert _stats(run_json(files["profile"], other)) == \
        _stats(run_json(files["profile"], files["input"]))


def test_chunk_size_does_not_change_the_report(files: dict[str, Path]) -> None:
    profile = load_profile(files["profile"])
    reports = [report_dict(run_batch(profile, None, BatchOptions(
        files["input"], "prediction", "label", False, chunk_rows=rows), Thresholds()))
        for rows in (7, 1000, 100_000)]
    for r in reports:
        del r["analysed_at"]
    assert reports[0] == reports[1] == reports[2]
    assert reports[0]["rows"] == 1500


def test_missing_values_are_counted_not_analysed(files: dict[str, Path],
                                                 tmp_path: Path) -> None:
    data = current()
    for i in range(0, 1500, 10):
        data["x"][i] = None
        data["color"][i] = None
    report = run_json(files["profile"], _write(tmp_path / "gaps.jsonl", data))
    by_name = {f["name"]: f for f in report["features"]}
    assert by_name["x"]["samples"] == 1350 and by_name["x"]["missing"] == 150
    assert by_name["color"]["samples"] == 1350 and by_name["color"]["missing"] == 150
    assert by_name["y"]["missing"] == 0


def test_probability_objects_give_classes_and_log_loss(tmp_path: Path) -> None:
    prof = Profile(SCHEMA_VERSION, "m", "1", 30, (numeric_profile("x", np.linspace(0, 1, 30)),),
                   categorical_profile("__prediction__", ["a", "b"] * 15, ["a", "b"]), "")
    profile = write_profile(prof, tmp_path / "p.json")
    data = _write(tmp_path / "p.jsonl", {
        "x": [0.1, 0.2, 0.3, 0.4],
        "prediction": [{"a": 0.8, "b": 0.2}, {"a": 0.4, "b": 0.6},
                       {"a": 0.3, "b": 0.7}, {"a": 0.9, "b": 0.1}],
        "label": ["a", "a", "b", "b"],
    })
    perf = run_json(profile, data)["performance"]
    # argmax classes a b b a: hits rows 0 and 2
    assert perf["accuracy"] == pytest.approx(0.5)
    assert perf["log_loss"] == pytest.approx(
        -(np.log(0.8) + np.log(0.4) + np.log(0.7) + np.log(0.1)) / 4)


def test_header_only_file_is_an_input_error(files: dict[str, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("x,y,color,prediction\n")
    assert main(["batch", "--profile", str(files["profile"]), "--input", str(empty)]) == 2
    assert "empty.csv" in capsys.readouterr().err


def test_probabilities_line_up_with_rows_across_chunks_with_and_without_them(
        tmp_path: Path) -> None:
    prof = Profile(SCHEMA_VERSION, "m", "1", 30, (numeric_profile("x", np.linspace(0, 1, 30)),),
                   categorical_profile("__prediction__", ["a", "b"] * 15, ["a", "b"]), "")
    predictions: list[Any] = ["a", "b", "b", {"a": 0.3, "b": 0.7}, "a", {"a": 0.9, "b": 0.1}]
    # only the rows with probabilities have a label: the log loss is theirs alone
    data = _write(tmp_path / "mixed.jsonl", {"x": [0.1] * 6, "prediction": predictions,
                                             "label": [None, None, None, "a", None, "a"]})
    collector = Collector(prof, str(data), "prediction", "label")
    perf = PerfCollector(prof, None, "prediction", "label")
    for chunk in read_chunks(data, collector.columns(), chunk_rows=2):  # 1st chunk: none
        perf.update(chunk)
    metrics = perf.performance(str(data))
    assert isinstance(metrics, ClassificationMetrics)
    assert metrics.samples == 2
    assert metrics.log_loss == pytest.approx(-(np.log(0.3) + np.log(0.9)) / 2, rel=1e-15)
