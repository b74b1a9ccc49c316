"""The Spark engine's profile equals the local one, content hash included (issue 16 item 2).

Generated data (tests/profile/merge_data.py): missing values, ties, a value-binned
feature, a categorical feature with more distinct values than the builder keeps exact
counts for, a classifier with labels (calibration section) and a regressor; each in
CSV, Parquet and JSONL, read in several partitions (asserted)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from exporter.cli import main
from exporter.profile.build import build_profile
from exporter.profile.codec import profile_body
from exporter.profile.files import load_profile
from exporter.profile.model import ProfileError
from exporter.spark.build import build_profile_spark
from exporter.spark.source import SparkSource
from tests.paths import EXAMPLES
from tests.profile import merge_data
from tests.spark.conftest import MIN_PARTITIONS


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    d = tmp_path_factory.mktemp("spark-profile")
    return {"classifier": merge_data.write(d, merge_data.table(24_000, 1), "cls"),
            "regressor": merge_data.write(d, merge_data.table(8_000, 2, regression=True),
                                          "reg", row_group_size=1000)}


@pytest.mark.parametrize(("kind", "fmt"), [("classifier", "csv"), ("classifier", "parquet"),
                                         ("classifier", "jsonl"), ("regressor", "jsonl")])
def test_spark_profile_has_the_local_content_hash(spark: Any, files: dict[str, dict[str, Path]],
                                                  kind: str, fmt: str) -> None:
    config = merge_data.classifier() if kind == "classifier" else merge_data.regressor()
    path = files[kind][fmt]
    assert SparkSource(spark, path, MIN_PARTITIONS).partitions > 1
    local = build_profile(config, path)
    t = time.perf_counter()
    on_spark = build_profile_spark(config, path, spark, min_partitions=MIN_PARTITIONS)
    print(f"{kind} {fmt}: {local.rows} rows on Spark in {time.perf_counter() - t:.1f} s, "
          f"hash {on_spark.content_hash[:12]}")
    assert on_spark.content_hash == local.content_hash
    assert profile_body(on_spark) == profile_body(local)
    assert (on_spark.calibration is not None) == (kind == "classifier")
    assert (on_spark.segments is not None) == (kind == "classifier")
    assert on_spark.multivariate is not None


def test_cli_builds_the_bundled_example_profile_byte_identically(spark: Any,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "profile.json"
    code = main(["profile", "build", "--engine", "spark", "--spark-partitions", "3",
                 "--config", str(EXAMPLES / "fraud" / "mlmon.yaml"), "--model", "fraud",
                 "--input", str(EXAMPLES / "fraud" / "reference.csv"), "--out", str(out)])
    assert code == 0
    assert out.read_bytes() == (EXAMPLES / "fraud" / "profile.json").read_bytes()
    assert load_profile(out).rows == 20_000


def test_a_bad_value_in_a_later_partition_is_reported_as_locally(spark: Any,
                                                                 tmp_path: Path) -> None:
    cols = merge_data.table(6_000, 3)
    cols["x"][5_432] = "oops"  # type: ignore[call-overload]
    path = tmp_path / "bad.csv"
    path.write_text("x,y,z,c,ids,prediction,label\n" + "".join(
        ",".join("" if v is None else str(v) for v in row) + "\n"
        for row in zip(*(cols[k] for k in ("x", "y", "z", "c", "ids", "prediction", "label")),
                       strict=True)))
    config = merge_data.classifier()
    with pytest.raises(ProfileError) as local:
        build_profile(config, path)
    with pytest.raises(ProfileError) as on_spark:
        build_profile_spark(config, path, spark, min_partitions=MIN_PARTITIONS)
    assert "row 5433" in str(local.value) and "'oops'" in str(local.value)
    assert str(on_spark.value) == str(local.value)


def test_csv_value_spanning_lines_is_refused_with_the_way_out(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "multiline.csv"
    path.write_text('x,y,z,c,ids,prediction\n4,5,6,DE,b,0.1\n\n1,2,3,"two\nlines",a,0.5\n')
    config = merge_data.regressor()
    assert build_profile(config, path).rows == 2  # the local reader reads it
    with pytest.raises(ProfileError, match=r"row 2: .*spans lines.*Parquet or JSONL.*--engine "
                                           r"local"):
        build_profile_spark(config, path, spark)


def test_a_broken_jsonl_line_is_named_by_its_file_line(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    src = merge_data.write(tmp_path, merge_data.table(4_000, 5), "ok")["jsonl"]
    lines = src.read_text().splitlines()
    lines[100:100] = ["", ""]  # blank lines count as lines, not rows
    lines[3_000] = lines[3_000][:-5]  # cut short: invalid JSON
    path.write_text("\n".join(lines) + "\n")
    config = merge_data.classifier()
    with pytest.raises(ProfileError) as local:
        build_profile(config, path)
    with pytest.raises(ProfileError) as on_spark:
        build_profile_spark(config, path, spark, min_partitions=MIN_PARTITIONS)
    assert "line 3001: invalid JSON" in str(local.value)
    assert str(on_spark.value) == str(local.value)
