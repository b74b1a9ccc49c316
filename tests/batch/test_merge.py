"""Merging the collectors of a split file equals one pass over it, bit for bit (issue 16
item 2: the Spark engine's partitions compute, the driver merges; ``exporter.spark.batch``).

Oracle: the local one-pass report (``run_batch``), rendered as the JSON of ``mlmon batch
--format json``. The file's rows are cut at random boundaries (mid reader chunk
included), each piece is re-cut into reader chunks of its own random sizes (as a
partition cuts its rows), run through FRESH partial collectors, pickled and unpickled
(``exporter.spark.batch.dumps``, as Spark ships them) and merged in row order. Every
section of the report is compared: drift, performance (confusion counts, log loss,
regression sums), AUC/Brier/ECE, CBPE, the error stream, data quality, PCA, segments and
every analysis chunk. With the value cap lowered, the same holds beyond it (folded sums,
fine AUC bins, the row-keyed sample).
"""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exporter.batch import column
from exporter.batch.errors import BatchInputError
from exporter.batch.jsonout import render
from exporter.batch.perf import infer_task
from exporter.batch.report import Chunking
from exporter.batch.run import BatchOptions, prepare, run_batch
from exporter.config.load import load_config
from exporter.config.model import ModelConfig
from exporter.profile.files import load_profile, save_profile
from exporter.profile.model import Profile
from exporter.readers.chunks import Chunk, cut_rows, read_chunks
from exporter.spark.batch import dumps, loads
from exporter.stats.thresholds import Thresholds
from tests.batch import chunk_files
from tests.factories import make_profile, reference, write_config
from tests.paths import EXAMPLES

Setup = tuple[Profile, ModelConfig | None, BatchOptions, Thresholds]


def setup(profile: Path | Profile, data: Path, config: Path | None = None,
          chunking: Chunking | None = None, chunk_rows: int = 256) -> Setup:
    prof = load_profile(profile) if isinstance(profile, Path) else profile
    model = load_config(config).model(prof.model, prof.version) if config else None
    options = BatchOptions(data, model.prediction_column if model else "prediction",
                           model.label_column if model else "label", False, chunk_rows,
                           chunking)
    return prof, model, options, model.thresholds if model else Thresholds()


def as_json(report: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render(report))
    doc.pop("analysed_at")
    return doc


def one_pass(s: Setup) -> dict[str, Any]:
    return as_json(run_batch(*s))


def rechunked(chunks: list[Chunk], a: int, b: int, rng: np.random.Generator) -> list[Chunk]:
    """Rows [a, b) of the file as reader chunks of random sizes (a partition's own cut)."""
    rows = [cut_rows(c, max(a, c.start) - c.start, min(b, c.start + c.rows) - c.start)
            for c in chunks if c.start < b and c.start + c.rows > a]
    out = []
    for piece in rows:
        cuts = sorted({0, piece.rows, *rng.integers(0, piece.rows, 3).tolist()})
        out += [cut_rows(piece, x, y) for x, y in pairwise(cuts) if y > x]
    return out


def merged(s: Setup, pieces: int, seed: int) -> tuple[dict[str, Any], list[int]]:
    """The report of ``pieces`` partial collectors merged in order; the pickled sizes."""
    total = prepare(*s)
    chunks = list(read_chunks(s[2].input, total.columns(), chunk_rows=s[2].chunk_rows))
    rows = sum(c.rows for c in chunks)
    rng = np.random.default_rng(seed)
    cuts = [0, *sorted(rng.choice(np.arange(1, rows), pieces - 1, replace=False).tolist()),
            rows]
    sizes = []
    for a, b in pairwise(cuts):
        part = total.fresh(partial=True)
        for chunk in rechunked(chunks, a, b, rng):
            part.update(chunk)
        blob = dumps(part)  # as the Spark engine ships it (the profile by reference)
        sizes.append(len(blob))
        total.merge(loads(blob, total))
    return as_json(total.finish()), sizes


SECTIONS = ("performance", "estimate", "error_drift", "multivariate", "segments", "chunks")


def check(s: Setup, *, seeds: tuple[int, ...] = (1, 2), pieces: tuple[int, ...] = (2, 9),
          covers: tuple[str, ...] = SECTIONS) -> dict[str, Any]:
    local = one_pass(s)
    for key in covers:  # what the comparison covers: not vacuous
        assert local.get(key), key
    for seed in seeds:
        for n in pieces:
            split, sizes = merged(s, n, seed)
            assert split == local, (seed, n)
            print(f"{s[2].input.name}: {n} pieces (seed {seed}), pickled partials "
                  f"{min(sizes)}..{max(sizes)} bytes")
    return local


def test_fraud_example_scores_labels_segments_pca_and_row_chunks() -> None:
    folder = EXAMPLES / "fraud"
    check(setup(folder / "profile.json", folder / "current.csv", folder / "mlmon.yaml",
                Chunking(rows=700)), pieces=(2, 9, 40))


def test_housing_example_regression_and_row_chunks() -> None:
    folder = EXAMPLES / "housing"
    check(setup(folder / "profile.json", folder / "current.csv", folder / "mlmon.yaml",
                Chunking(rows=300)), covers=("performance", "error_drift", "chunks"))


def labelled_hours(tmp: Path, fmt: str = "csv") -> tuple[Path, Path]:
    """chunk_files' hours with 0/1 labels drawn from the score (binary scores, no config)."""
    data = chunk_files.chunked_data()
    rng = np.random.default_rng(5)
    data["label"] = [int(rng.random() < float(str(p))) for p in data["prediction"]]
    save_profile(make_profile(reference()), tmp / "profile.json")
    return tmp / "profile.json", chunk_files.write(tmp / f"hours.{fmt}", data, fmt)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_time_period_chunks_with_inferred_binary_scores(tmp_path: Path, fmt: str) -> None:
    profile, data = labelled_hours(tmp_path, fmt)
    local = check(setup(profile, data, chunking=Chunking(column="ts", period=3600)),
                  pieces=(2, 7, 30), covers=("performance", "estimate", "error_drift",
                                             "chunks"))
    assert len(local["chunks"]) == len(chunk_files.HOURS)


def probability_file(tmp: Path, classes: tuple[str, ...], seed: int = 3) -> Path:
    """JSONL of probability objects; some rows leave a class out (probability 0), and the
    first 300 rows name the first class only (the others first appear later)."""
    rng = np.random.default_rng(seed)
    ref = reference(n=2500, seed=seed)
    with (tmp / "proba.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(2500):
            p = rng.dirichlet(np.ones(len(classes)))
            row = {c: float(v) for c, v in zip(classes, p, strict=True)}
            truth = classes[int(rng.choice(len(classes), p=p))]
            if i < 300:
                row, truth = {classes[0]: row[classes[0]]}, classes[0]
            elif i % 7 == 0 and i > 600:
                del row[classes[-1]]
            fh.write(json.dumps({"x": ref["x"][i], "y": ref["y"][i], "color": ref["color"][i],
                                 "prediction": row, "label": truth}) + "\n")
    return tmp / "proba.jsonl"


@pytest.mark.parametrize("classes", [("a", "b"), ("a", "b", "c")])
def test_probability_objects(tmp_path: Path, classes: tuple[str, ...]) -> None:
    profile = replace(make_profile(reference()), prediction=None)
    classes_yaml = ", ".join(f'"{c}"' for c in classes)
    config = write_config(tmp_path / "mlmon.yaml", "min_samples: 100",
                          f"kind: classification, classes: [{classes_yaml}]")
    local = check(setup(profile, probability_file(tmp_path, classes), config,
                        Chunking(rows=600)), covers=("performance", "estimate", "error_drift",
                                                     "chunks"))
    assert (local["performance"]["roc_auc"] is not None) == (len(classes) == 2)


def test_beyond_the_value_cap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Cap 300: samples, folded log loss / regression sums and binned AUC all merge."""
    monkeypatch.setattr(column, "SAMPLE_CAP", 300)
    folder = EXAMPLES / "fraud"
    fraud = check(setup(folder / "profile.json", folder / "current.csv",
                        folder / "mlmon.yaml"), pieces=(3, 17), covers=("performance",))
    assert fraud["performance"]["roc_auc_method"] == "binned"
    assert fraud["features"][0]["ks_sample"] == 300
    housing = EXAMPLES / "housing"
    check(setup(housing / "profile.json", housing / "current.csv", housing / "mlmon.yaml"),
          pieces=(3, 17), covers=("performance",))
    profile = replace(make_profile(reference()), prediction=None)
    config = write_config(tmp_path / "mlmon.yaml", "min_samples: 100",
                          'kind: classification, classes: ["a", "b"]')
    check(setup(profile, probability_file(tmp_path, ("a", "b")), config), pieces=(3, 17),
          covers=("performance",))


def test_time_going_back_at_a_piece_boundary_is_the_local_error(tmp_path: Path) -> None:
    data = chunk_files.chunked_data()
    at = 1_000  # inside hour 1: the row goes back to hour 0
    data["ts"][at] = data["ts"][10]
    path = chunk_files.write(tmp_path / "back.csv", data, "csv")
    save_profile(make_profile(reference()), tmp_path / "p.json")
    s = setup(tmp_path / "p.json", path, chunking=Chunking(column="ts", period=3600))
    with pytest.raises(BatchInputError) as local:
        run_batch(*s)
    assert f"row {at + 1}:" in str(local.value)
    total = prepare(*s)
    chunks = list(read_chunks(path, total.columns(), chunk_rows=256))
    parts = []
    for a, b in ((0, at), (at, len(data["ts"]))):  # the boundary right at the row
        part = total.fresh(partial=True)
        for chunk in rechunked(chunks, a, b, np.random.default_rng(0)):
            part.update(chunk)
        parts.append(part)
    total.merge(parts[0])
    with pytest.raises(BatchInputError) as split:
        total.merge(parts[1])
    assert str(split.value) == str(local.value)


def same(a: Any, b: Any) -> bool:
    """Equal, bit for bit: dataclasses field by field, arrays elementwise, NaN == NaN."""
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(same(getattr(a, k), getattr(b, k))
                                          for k in a.__dataclass_fields__)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return bool(a == b)


@pytest.mark.parametrize("example", ["fraud", "housing"])
def test_each_collector_merged_equals_one_pass(example: str) -> None:
    """Collector by collector (the snapshot's arrays, performance, quality, CBPE, data
    quality, PCA, segments, error stream, chunks), so a wrong merge names itself."""
    folder = EXAMPLES / example
    s = setup(folder / "profile.json", folder / "current.csv", folder / "mlmon.yaml",
              Chunking(rows=500))
    one = prepare(*s)
    chunks = list(read_chunks(s[2].input, one.columns(), chunk_rows=256))
    for chunk in chunks:
        one.update(chunk)
    total = prepare(*s)
    rng = np.random.default_rng(4)
    cuts = [0, 333, 1001, 1002, 1499, sum(c.rows for c in chunks)]
    for a, b in pairwise(cuts):
        part = total.fresh(partial=True)
        for chunk in rechunked(chunks, a, b, rng):
            part.update(chunk)
        total.merge(pickle.loads(pickle.dumps(part)))
    assert one.perf is not None and total.perf is not None
    task = infer_task(s[0], s[1], one.perf.facts())
    assert task == infer_task(s[0], s[1], total.perf.facts())
    results = {
        "collector": lambda c: c.collector.snapshot(),
        "performance": lambda c: c.perf.performance("f"),
        "quality": lambda c: c.perf.quality(),
        "estimate": lambda c: c.estimates.estimate() if c.estimates else None,
        "data_quality": lambda c: c.quality.result(),
        "multivariate": lambda c: c.mv.result() if c.mv else None,
        "segments": lambda c: c.segments.result(s[3], task) if c.segments else None,
        "error_stream": lambda c: c.error_stream.result(task),
        "chunks": lambda c: c.chunks.finish(),
    }
    for name, result in results.items():
        mine, theirs = result(one), result(total)
        assert same(mine, theirs), name
    assert one.error_stream is not None and one.error_stream.result(task) is not None
