"""``mlmon batch --engine spark`` writes the local engine's JSON report (issue 16 item 2):
both bundled examples, and with --chunk-size / --chunk-by + --chunk-period on files with
known per-chunk drift (tests/batch/chunk_files.py) in CSV, Parquet and JSONL; the partitions
compute (one bounded partial each, merged by the driver) and errors read as locally.
The exactness of every merge is also checked without Spark: tests/batch/test_merge.py."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from exporter.batch.jsonout import render
from exporter.batch.report import Chunking
from exporter.batch.run import BatchOptions, run_batch
from exporter.cli import main
from exporter.profile.files import save_profile
from exporter.readers.chunks import read_chunks
from exporter.spark.batch import run_batch_spark
from exporter.spark.source import SparkSource
from exporter.stats.thresholds import Thresholds
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


def _options(data: Path, chunking: Chunking | None = None) -> BatchOptions:
    return BatchOptions(data, "prediction", "label", False, chunking=chunking)


def test_partitions_return_summaries_that_do_not_grow_with_the_rows(
        spark: Any, tmp_path: Path) -> None:
    """The work happens on the executors: one partial per partition (more than one), and
    for counts-only collectors (a categorical feature, no labels) a partial's pickled size
    stays the same when the file is 4x longer, while the partition's parsed rows (what
    the driver received before) grow 4x."""
    base = make_profile(reference())
    profile = replace(base, features=base.features[2:], prediction=None)  # color only
    data = {k: v for k, v in chunk_files.chunked_data().items() if k != "prediction"}
    sizes: dict[int, list[tuple[int, int]]] = {}
    shipped: dict[int, int] = {}
    for times in (1, 4):
        path = chunk_files.write(tmp_path / f"x{times}.csv",
                                 {k: v * times for k, v in data.items()}, "csv")
        got: list[tuple[int, int]] = []
        report = run_batch_spark(profile, None, _options(path), Thresholds(), spark,
                                 min_partitions=MIN_PARTITIONS,
                                 on_partial=lambda i, n, got=got: got.append((i, n)))
        local = run_batch(profile, None, _options(path), Thresholds())
        assert render(replace(report, analysed_at=0)) == render(replace(local, analysed_at=0))
        partitions = SparkSource(spark, path, MIN_PARTITIONS).partitions
        assert partitions > 1
        assert [i for i, _ in got] == list(range(partitions))
        sizes[times] = got
        chunks = list(read_chunks(path, {"color": "categorical"}))
        shipped[times] = len(pickle.dumps(chunks)) // partitions
    small, large = max(n for _, n in sizes[1]), max(n for _, n in sizes[4])
    print(f"pickled partial per partition: {small} B (x1), {large} B (x4); "
          f"parsed rows per partition: {shipped[1]} B (x1), {shipped[4]} B (x4)")
    assert large <= small * 1.1
    assert shipped[4] >= 3 * shipped[1]  # what would grow: the rows themselves
    assert large < shipped[4] / 5


def test_time_going_back_at_a_partition_boundary_is_the_local_error(
        spark: Any, chunk_profile: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = chunk_files.chunked_data()
    path = chunk_files.write(tmp_path / "back.csv", data, "csv")
    parts = SparkSource(spark, path, MIN_PARTITIONS).parts()
    at = parts[2].start  # a partition's first row: the check spans the boundary
    assert data["ts"][at] != data["ts"][0]
    data["ts"][at] = data["ts"][0]  # the same text length: the same partitions
    chunk_files.write(path, data, "csv")
    assert [p.start for p in SparkSource(spark, path, MIN_PARTITIONS).parts()] == \
        [p.start for p in parts]
    errors = []
    for extra in ([], SPARK):
        code = main(["batch", "--profile", str(chunk_profile), "--input", str(path),
                     "--chunk-by", "ts", "--chunk-period", "1h", *extra])
        assert code == 2
        errors.append(capsys.readouterr().err.splitlines()[-1])
    assert f"row {at + 1}:" in errors[0]
    assert errors[1] == errors[0]


def test_partitions_of_a_wave_run_at_the_same_time(spark: Any, tmp_path: Path) -> None:
    """The partials come back in partition order, and the partitions of one wave (as many
    as the session's task slots) run concurrently: each waits until every partition of
    its wave has started, which one-partition-at-a-time fetching (toLocalIterator) never
    lets happen."""
    import time

    from exporter.spark.batch import _in_waves

    sc = spark.sparkContext
    wave = int(sc.defaultParallelism)
    assert wave >= 2
    marks = tmp_path  # local mode: the executors share this machine's file system

    def task(index: int, rows: Any) -> Any:
        (marks / str(index)).touch()
        first = index - index % wave
        mates = [marks / str(i) for i in range(first, first + wave)]
        deadline = time.monotonic() + 20
        while not all(m.exists() for m in mates):
            if time.monotonic() > deadline:
                return [(index, False)]
            time.sleep(0.01)
        return [(index, True)]

    rdd = sc.parallelize(range(2 * wave), 2 * wave).mapPartitionsWithIndex(task)
    got = list(_in_waves(sc, rdd))
    assert got == [(i, True) for i in range(2 * wave)]
