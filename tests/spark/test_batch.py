"""``mlmon batch --engine spark`` writes the local engine's JSON report (issue 16 item 2):
both bundled examples, and with --chunk-size / --chunk-by + --chunk-period on files with
known per-chunk drift (tests/batch/chunk_files.py) in CSV, Parquet and JSONL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from exporter.cli import main
from exporter.profile.files import save_profile
from exporter.spark.source import SparkSource
from tests.batch import chunk_files
from tests.factories import make_profile, reference
from tests.paths import EXAMPLES
from tests.spark.conftest import MIN_PARTITIONS

SPARK = ["--engine", "spark", "--spark-master", "local[2]",
         "--spark-partitions", str(MIN_PARTITIONS)]


def report(profile: Path, data: Path, out: Path, *extra: str) -> dict[str, Any]:
    code = main(["batch", "--profile", str(profile), "--input", str(data), "--format", "json",
                 "--out", str(out), *extra])
    assert code == 0
    doc: dict[str, Any] = json.loads(out.read_text())
    assert doc.pop("analysed_at")
    return doc


@pytest.mark.parametrize("example", ["fraud", "housing"])
def test_bundled_example_report_equals_the_local_one(spark: Any, tmp_path: Path,
                                                     example: str) -> None:
    folder = EXAMPLES / example
    data = folder / "current.csv"
    assert SparkSource(spark, data, MIN_PARTITIONS).partitions > 1
    args = (folder / "profile.json", data)
    config = ("--config", str(folder / "mlmon.yaml"))
    local = report(*args, tmp_path / "local.json", *config)
    on_spark = report(*args, tmp_path / "spark.json", *config, *SPARK)
    assert on_spark == local
    assert local["rows"] == (5_000 if example == "fraud" else 1_500)
    # what the comparison covers: labels (performance, the sequential error stream) too
    assert local["features"] and local["performance"] and local["error_drift"]


@pytest.fixture(scope="module")
def chunk_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spark-batch") / "profile.json"
    save_profile(make_profile(reference()), path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_time_and_row_chunks_equal_the_local_ones(spark: Any, chunk_profile: Path,
                                                 tmp_path: Path, fmt: str) -> None:
    data = chunk_files.write(tmp_path / f"b.{fmt}", chunk_files.chunked_data(), fmt)
    hours = ("--chunk-by", "ts", "--chunk-period", "1h")
    local = report(chunk_profile, data, tmp_path / "l.json", *hours)
    on_spark = report(chunk_profile, data, tmp_path / "s.json", *hours, *SPARK)
    assert on_spark == local
    assert len(local["chunks"]) == len(chunk_files.HOURS)
    rows = ("--chunk-size", "700")
    assert report(chunk_profile, data, tmp_path / "s2.json", *rows, *SPARK) == \
        report(chunk_profile, data, tmp_path / "l2.json", *rows)


def test_input_errors_read_as_locally(spark: Any, chunk_profile: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = chunk_files.chunked_data()
    data["x"][2_100] = "n/a?"
    path = chunk_files.write(tmp_path / "bad.jsonl", data, "jsonl")
    errors = []
    for extra in ([], SPARK):
        code = main(["batch", "--profile", str(chunk_profile), "--input", str(path), *extra])
        assert code == 2
        errors.append(capsys.readouterr().err.splitlines()[-1])
    assert "row 2101" in errors[0] and "'n/a?'" in errors[0]
    assert errors[1] == errors[0]
