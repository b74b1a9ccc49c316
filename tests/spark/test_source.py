"""The partition reader without a JVM: a file's lines (or row groups) cut at random points,
each piece parsed as a Spark partition would parse it (``source._part_chunks`` with the
piece's global start), re-cut with ``rechunk``, give exactly ``read_chunks``' chunks."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from exporter.readers.chunks import Chunk, read_chunks, rechunk
from exporter.readers.formats import parquet_row_groups
from exporter.spark.source import Part, _part_chunks
from tests.profile import merge_data

COLUMNS = {"x": "numeric", "y": "numeric", "c": "categorical", "ids": "categorical",
           "prediction": "prediction", "label": "prediction"}


def _same(a: list[Chunk], b: list[Chunk]) -> None:
    assert [(c.start, c.rows) for c in a] == [(c.start, c.rows) for c in b]
    for p, q in zip(a, b, strict=True):
        for k in p.numeric:
            np.testing.assert_array_equal(p.numeric[k], q.numeric[k])
        for k in p.categorical:
            assert p.categorical[k].tolist() == q.categorical[k].tolist()
        for k in p.predictions:
            np.testing.assert_array_equal(p.predictions[k].numbers, q.predictions[k].numbers)
            assert p.predictions[k].classes.tolist() == q.predictions[k].classes.tolist()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    cols = merge_data.table(3_000, 4)
    cols["label"] = ["yes" if v else "no" for v in cols["label"]]  # class names
    return merge_data.write(tmp_path_factory.mktemp("source"), cols, "s", row_group_size=400)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_line_partitions_parse_to_the_file_chunks(files: dict[str, Path], fmt: str) -> None:
    path = files[fmt]
    lines = path.read_text().splitlines()
    if fmt == "jsonl":  # blank lines are lines, not rows
        lines[10:10] = ["", "  "]
    path2 = path.with_name(f"blank.{fmt}")
    path2.write_text("\n".join(lines) + "\n")
    expected = list(read_chunks(path2, COLUMNS, chunk_rows=256))
    header = lines[0] if fmt == "csv" else ""
    rng = np.random.default_rng(1)
    cuts = [0, *sorted(rng.choice(np.arange(1, len(lines)), 5, replace=False).tolist()),
            len(lines)]
    got: list[Chunk] = []
    start = 0
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        piece = lines[a:b]
        got += _part_chunks(fmt, path2, header, Part(start, a), i, piece, COLUMNS, 256)
        rows = [ln for ln in piece[1 if i == 0 and fmt == "csv" else 0:] if ln.strip()]
        start += len(rows)
    _same(list(rechunk(got, 256)), expected)


def test_row_group_partitions_parse_to_the_file_chunks(files: dict[str, Path]) -> None:
    path = files["parquet"]
    sizes = parquet_row_groups(path)
    assert len(sizes) > 3
    got: list[Chunk] = []
    start = 0
    for i, groups in enumerate(((0,), (1, 2), tuple(range(3, len(sizes))))):
        got += _part_chunks("parquet", path, "", Part(start, 0, groups), i, [], COLUMNS, 333)
        start += sum(sizes[g] for g in groups)
    _same(list(rechunk(got, 333)), list(read_chunks(path, COLUMNS, chunk_rows=333)))
