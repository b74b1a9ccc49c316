"""Chunk analysis (exporter/batch/chunked.py): each chunk judged alone, files of known
drift per chunk in CSV, Parquet and JSONL, the whole-file report unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as sps

from exporter.cli import main
from exporter.profile.files import load_profile
from exporter.profile.model import NumericProfile
from tests.batch.chunk_files import DAY, DRIFTED, HOURS, ROWS, TAIL, chunked_data, write
from tests.factories import make_profile, reference, write_csv, write_profile
from tests.procs import peak_rss_kib

FORMATS = ("csv", "parquet", "jsonl")
ROW_CHUNKS = ["--chunk-size", str(ROWS)]
HOUR_CHUNKS = ["--chunk-by", "ts", "--chunk-period", "1h"]


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("profile")
    return write_profile(make_profile(reference()), folder / "profile.json")


def batch(profile: Path, data: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    out = data.with_name(data.name + ".json")
    code = main(["batch", "--profile", str(profile), "--input", str(data), "--format", "json",
                 "--out", str(out), *extra])
    return code, json.loads(out.read_text()) if out.exists() else {}


def flagged(chunk: dict[str, Any]) -> set[str] | None:
    if chunk["severity"] is None:
        return None
    return {f["name"] for f in chunk["features"] if f["severity"] in ("medium", "high")}


def expected_flags() -> list[set[str] | None]:
    return [*DRIFTED, None]


@pytest.mark.parametrize("fmt", FORMATS)
def test_row_chunks_flag_exactly_the_shifted_features(profile: Path, tmp_path: Path,
                                                      fmt: str) -> None:
    code, report = batch(profile, write(tmp_path / f"b.{fmt}", chunked_data(), fmt),
                         *ROW_CHUNKS)
    assert code == 0
    chunks = report["chunks"]
    assert report["chunking"] == {"rows": ROWS}
    assert [c["index"] for c in chunks] == [0, 1, 2, 3, 4]
    assert [(c["start"], c["end"], c["rows"]) for c in chunks] == [
        (0, 600, 600), (600, 1200, 600), (1200, 1800, 600), (1800, 2400, 600),
        (2400, 2400 + TAIL, TAIL)]
    assert [flagged(c) for c in chunks] == expected_flags()
    assert [c["drift_share"] for c in chunks[:4]] == [0.0, 0.25, 0.25, 0.25]


@pytest.mark.parametrize("fmt", FORMATS)
def test_hour_chunks_start_on_the_hour_and_skip_the_empty_one(profile: Path, tmp_path: Path,
                                                              fmt: str) -> None:
    code, report = batch(profile, write(tmp_path / f"b.{fmt}", chunked_data(), fmt),
                         *HOUR_CHUNKS)
    assert code == 0
    chunks = report["chunks"]
    assert report["chunking"] == {"column": "ts", "period_seconds": 3600.0}
    assert [c["start"] for c in chunks] == [f"2024-05-01T{h:02d}:00:00Z" for h in HOURS]
    assert [c["end"] for c in chunks] == [f"2024-05-01T{h + 1:02d}:00:00Z" for h in HOURS]
    assert [c["first_row"] for c in chunks] == [0, 600, 1200, 1800, 2400]
    assert [c["rows"] for c in chunks] == [ROWS] * 4 + [TAIL]
    assert [flagged(c) for c in chunks] == expected_flags()


def test_epoch_second_times_chunk_like_iso_times(profile: Path, tmp_path: Path) -> None:
    data = chunked_data()
    _, iso = batch(profile, write(tmp_path / "iso.csv", data, "csv"), *HOUR_CHUNKS)
    _, epoch = batch(profile, write_csv(tmp_path / "epoch.csv", data), *HOUR_CHUNKS)
    assert epoch["chunks"] == iso["chunks"]


def test_one_day_period_is_one_chunk_from_midnight(profile: Path, tmp_path: Path) -> None:
    data = chunked_data()
    _, report = batch(profile, write(tmp_path / "b.csv", data, "csv"),
                      "--chunk-by", "ts", "--chunk-period", "1d")
    (chunk,) = report["chunks"]
    assert (chunk["start"], chunk["end"]) == ("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z")
    assert chunk["rows"] == report["rows"] == len(data["x"])
    assert DAY % 86400 == 0


def test_chunk_statistics_equal_scipy_on_the_chunk_rows(profile: Path, tmp_path: Path) -> None:
    data = chunked_data()
    _, report = batch(profile, write(tmp_path / "b.csv", data, "csv"), *ROW_CHUNKS)
    ref = load_profile(profile).feature("x")
    assert isinstance(ref, NumericProfile)
    sample = np.asarray(ref.sample)
    for k, chunk in enumerate(report["chunks"]):
        rows = np.asarray(data["x"][k * ROWS:k * ROWS + chunk["rows"]], dtype=float)
        x = next(f for f in chunk["features"] if f["name"] == "x")
        ks = sps.ks_2samp(sample, rows, method="asymp")
        assert x["samples"] == len(rows)
        if x["ks_statistic"] is None:  # the tail, below min_samples
            assert len(rows) < 500
            continue
        assert x["ks_statistic"] == pytest.approx(ks.statistic, abs=1e-9)
        assert x["ks_pvalue"] == pytest.approx(ks.pvalue, abs=1e-9)
        assert x["wasserstein"] == pytest.approx(sps.wasserstein_distance(sample, rows),
                                                 abs=1e-9)


def test_a_chunk_is_judged_as_a_file_of_its_rows_alone(profile: Path, tmp_path: Path) -> None:
    """Same statistics, p-values, Holm significance and severity as a run on the chunk."""
    data = chunked_data()
    _, report = batch(profile, write(tmp_path / "b.csv", data, "csv"), *ROW_CHUNKS)
    for k in (1, 2):
        part = {c: v[k * ROWS:(k + 1) * ROWS] for c, v in data.items()}
        _, alone = batch(profile, write(tmp_path / f"chunk{k}.csv", part, "csv"))
        assert report["chunks"][k]["features"] == alone["features"]
        assert report["chunks"][k]["severity"] == alone["severity"]
        assert report["chunks"][k]["drift_share"] == alone["drift_share"]


def _without_chunks(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in ("chunks", "chunking", "analysed_at")}


@pytest.mark.parametrize("extra", [ROW_CHUNKS, HOUR_CHUNKS])
def test_whole_file_fields_are_unchanged_by_chunking(profile: Path, tmp_path: Path,
                                                     extra: list[str]) -> None:
    data = write(tmp_path / "b.jsonl", chunked_data(), "jsonl")
    _, plain = batch(profile, data)
    _, chunked = batch(profile, data, *extra)
    assert "chunks" not in plain and "chunking" not in plain
    assert set(chunked) == set(plain) | {"chunks", "chunking"}
    assert _without_chunks(chunked) == _without_chunks(plain)


def test_prometheus_output_is_the_whole_files_with_or_without_chunks(
        profile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path / "b.csv", chunked_data(), "csv")

    def metrics(*extra: str) -> list[str]:
        assert main(["batch", "--profile", str(profile), "--input", str(data),
                     "--format", "prometheus", *extra]) == 0
        return [line for line in capsys.readouterr().out.splitlines()
                if not line.startswith("mlmon_batch_timestamp_seconds")]

    plain = metrics()
    assert any(line.startswith("mlmon_feature_psi") for line in plain)
    assert metrics(*ROW_CHUNKS) == plain
    assert metrics(*HOUR_CHUNKS) == plain


def test_chunks_below_min_samples_have_no_verdict_and_say_so(profile: Path,
                                                             tmp_path: Path) -> None:
    _, report = batch(profile, write(tmp_path / "b.csv", chunked_data(), "csv"), *ROW_CHUNKS)
    tail = report["chunks"][-1]
    assert tail["rows"] == TAIL
    assert tail["severity"] is None and tail["drift_share"] is None
    assert "min_samples (500)" in tail["note"]
    assert all(f["severity"] is None and f["psi"] is None for f in tail["features"])
    assert [f["samples"] for f in tail["features"]] == [TAIL] * 4
    assert all(c["note"] is None for c in report["chunks"][:-1])


def test_fail_on_is_reached_by_a_single_drifted_chunk(profile: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    rng = np.random.default_rng(5)
    n = 6000
    x = rng.normal(0.0, 1.0, n)
    x[3000:3600] += 1.0  # chunk 5 of 10
    data = {"x": x.tolist(), "y": rng.exponential(2.0, n).tolist(),
            "color": rng.choice(["blue", "green", "red"], n, p=[0.5, 0.3, 0.2]).tolist(),
            "prediction": (1 / (1 + np.exp(-rng.normal(0.0, 1.0, n)))).tolist()}
    path = write_csv(tmp_path / "one.csv", data)
    code, plain = batch(profile, path, "--fail-on", "medium")
    assert code == 0 and plain["severity"] == "low"  # the file as a whole: no alarm
    capsys.readouterr()
    code, chunked = batch(profile, path, "--fail-on", "medium", *ROW_CHUNKS)
    assert code == 3
    assert [flagged(c) for c in chunked["chunks"]] == [set()] * 5 + [{"x"}] + [set()] * 4
    assert "chunks 5" in capsys.readouterr().err


def _error(capsys: pytest.CaptureFixture[str], profile: Path, data: Path, *extra: str) -> str:
    assert main(["batch", "--profile", str(profile), "--input", str(data), *extra]) == 2
    return capsys.readouterr().err


def test_missing_time_column_names_file_and_column(profile: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path / "b.csv", chunked_data(), "csv")
    err = _error(capsys, profile, data, "--chunk-by", "when", "--chunk-period", "1h")
    assert "b.csv" in err and "'when'" in err and "--chunk-by" in err


def test_time_going_back_before_the_current_period_names_the_row(
        profile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = chunked_data()
    ts = data["ts"]
    ts[10], ts[20] = ts[20], ts[10]  # back within the first hour: allowed
    ts[700] = DAY + 30  # row 701 (1-based) goes back from hour 1 to hour 0
    code, _ = batch(profile, write(tmp_path / "ok.csv", {**data, "ts": ts[:600]} | {
        k: v[:600] for k, v in data.items() if k != "ts"}, "csv"), *HOUR_CHUNKS)
    assert code == 0
    err = _error(capsys, profile, write(tmp_path / "b.csv", data, "csv"), *HOUR_CHUNKS)
    assert "b.csv" in err and "row 701" in err and "2024-05-01T00:00:30Z" in err
    assert "sorted by time" in err


def test_bad_or_missing_time_names_the_row(profile: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = chunked_data()
    data["ts"] = [*data["ts"][:41], "yesterday", *data["ts"][42:]]
    err = _error(capsys, profile, write_csv(tmp_path / "bad.csv", data), *HOUR_CHUNKS)
    assert "bad.csv" in err and "'ts'" in err and "row 42" in err and "'yesterday'" in err
    data["ts"][41] = None
    err = _error(capsys, profile, write_csv(tmp_path / "none.csv", data), *HOUR_CHUNKS)
    assert "row 42" in err and "no timestamp" in err
    data["ts"][41] = 1.7e12  # epoch milliseconds
    err = _error(capsys, profile, write_csv(tmp_path / "ms.csv", data), *HOUR_CHUNKS)
    assert "row 42" in err and "milliseconds" in err


_MEMORY_CHILD = """
import sys
import numpy as np
from exporter.batch.chunked import ChunkAnalyzer
from exporter.batch.report import Chunking
from exporter.profile.model import SCHEMA_VERSION, Profile
from exporter.readers.chunks import Chunk
from exporter.stats.thresholds import Thresholds
from tests.factories import numeric_profile

rows, size = int(sys.argv[1]), 20_000
rng = np.random.default_rng(1)
names = ("a", "b", "c", "d")
profile = Profile(SCHEMA_VERSION, "m", "1", 5000,
                  tuple(numeric_profile(n, rng.normal(0, 1, 5000)) for n in names), None, "")
analyzer = ChunkAnalyzer(Chunking(rows=size), profile, Thresholds(), "generated", None)
for start in range(0, rows, 16_384):
    n = min(16_384, rows - start)
    analyzer.update(Chunk(start, n, {k: rng.normal(0, 1, n) for k in names}, {}, {}))
chunks = analyzer.finish()
assert len(chunks) == -(-rows // size)
# VmHWM: this process's peak RSS in KiB (ru_maxrss would include the forking parent's)
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


def _peak_rss_kib(rows: int) -> int:
    return peak_rss_kib(_MEMORY_CHILD, str(rows))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's VmHWM")
def test_chunk_analysis_memory_does_not_grow_with_the_rows() -> None:
    """4 million rows (128 MB of values over 4 features) analysed in 200 chunks of 20,000
    rows peak within 25 MB of 40,000 rows: the chunks' rows are not kept."""
    small = _peak_rss_kib(40_000)
    large = _peak_rss_kib(4_000_000)
    assert large - small < 25 * 1024, (small, large)


@pytest.mark.parametrize("unit_tz", [("ns", None), ("ns", "Europe/Berlin"), ("s", None)])
def test_parquet_timestamps_of_any_unit_and_zone(profile: Path, tmp_path: Path,
                                                 unit_tz: tuple[str, str | None]) -> None:
    unit, tz = unit_tz
    data = chunked_data()
    scale = {"s": 1, "ns": 10**9}[unit]
    ts = pa.array([int(float(str(s))) * scale for s in data["ts"]], pa.timestamp(unit, tz=tz))
    columns = {k: pa.array(v) for k, v in data.items() if k != "ts"}
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({**columns, "ts": ts}), path)
    _, report = batch(profile, path, *HOUR_CHUNKS)
    assert [c["start"] for c in report["chunks"]] == [f"2024-05-01T{h:02d}:00:00Z"
                                                      for h in HOURS]
