"""Readers: the same data gives the same chunks from CSV, Parquet and JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from exporter.readers import formats as readers_formats
from exporter.readers.chunks import (
    ColumnKind,
    ReadError,
    available_columns,
    class_name,
    read_chunks,
)

COLUMNS: dict[str, ColumnKind] = {"x": "numeric", "color": "categorical", "code": "categorical",
                                  "prediction": "prediction"}


def _rows(n: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(3)
    rows: list[dict[str, object]] = []
    for i in range(n):
        x: float | None = round(float(rng.normal()), 6)
        if i % 7 == 3:
            x = None
        rows.append({"x": x, "color": ["red", "blue", None][i % 3], "code": i % 4,
                     "prediction": round(float(rng.random()), 4)})
    return rows


def _write_all(tmp_path: Path, rows: list[dict[str, object]]) -> list[Path]:
    table = pa.Table.from_pylist(rows)
    csv, parquet, jsonl = tmp_path / "d.csv", tmp_path / "d.parquet", tmp_path / "d.jsonl"
    pacsv.write_csv(table, csv)
    pq.write_table(table, parquet, row_group_size=97)
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return [csv, parquet, jsonl]


def test_formats_agree_and_chunks_have_exact_size(tmp_path: Path) -> None:
    rows = _rows(1000)
    expected_x = np.array([np.nan if r["x"] is None else r["x"] for r in rows], dtype=float)
    for path in _write_all(tmp_path, rows):
        chunks = list(read_chunks(path, COLUMNS, chunk_rows=128))
        assert [c.rows for c in chunks] == [128] * 7 + [104], path
        assert [c.start for c in chunks] == [128 * i for i in range(8)]
        x = np.concatenate([c.numeric["x"] for c in chunks])
        np.testing.assert_array_equal(x, expected_x)
        colors = np.concatenate([c.categorical["color"] for c in chunks]).tolist()
        assert colors == [r["color"] for r in rows], path
        codes = np.concatenate([c.categorical["code"] for c in chunks]).tolist()
        assert codes == [str(r["code"]) for r in rows], path  # numbers become "1", not 1
        preds = np.concatenate([c.predictions["prediction"].numbers for c in chunks])
        np.testing.assert_array_equal(preds, [r["prediction"] for r in rows])


@pytest.mark.parametrize("block_bytes", [1 << 20, 1024])
def test_non_numeric_value_names_file_column_and_row(tmp_path: Path, block_bytes: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Small CSV blocks make the bad value fail in a later block, after good ones.
    monkeypatch.setattr(readers_formats, "CSV_BLOCK_BYTES", block_bytes)
    path = tmp_path / "bad.csv"
    lines = ["x,y"] + [f"{i},{i}" for i in range(5000)]
    lines[4001] = "oops,4000"  # data row 4001
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen: list[int] = []
    with pytest.raises(ReadError) as info:
        for chunk in read_chunks(path, {"x": "numeric"}, chunk_rows=100):
            seen.extend(chunk.numeric["x"].astype(int).tolist())
    # Rows before the bad one come once each, in order: the slow path does not repeat them.
    assert seen == list(range(len(seen)))
    assert len(seen) >= 3000
    assert str(info.value).startswith(f"{path}: column 'x', row 4001: 'oops' is not a number")
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"x": 1}\n{"x": 2}\n{"x": {"a": 1}}\n', encoding="utf-8")
    with pytest.raises(ReadError, match=r"column 'x', row 3: .* is not a number"):
        list(read_chunks(jsonl, {"x": "numeric"}))


def test_missing_column_and_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ReadError, match=r"column\(s\) \['zz'\] not found \(file has: a, b\)"):
        list(read_chunks(path, {"zz": "numeric"}))
    other = tmp_path / "d.xlsx"
    other.write_text("", encoding="utf-8")
    with pytest.raises(ReadError, match=r"unknown input format '\.xlsx'"):
        list(read_chunks(other, {"a": "numeric"}))
    assert available_columns(path) == ["a", "b"]


def test_prediction_numbers_classes_and_probability_objects(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    records = [{"prediction": 0.25}, {"prediction": "cat"}, {"prediction": None},
               {"prediction": {"cat": 0.2, "dog": 0.7, "eel": 0.1}},
               {"prediction": {"cat": 0.5, "dog": 0.5}}, {}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (chunk,) = read_chunks(path, {"prediction": "prediction"})
    p = chunk.predictions["prediction"]
    np.testing.assert_array_equal(p.numbers, [0.25, np.nan, np.nan, np.nan, np.nan, np.nan])
    assert p.classes.tolist() == [None, "cat", None, "dog", "cat", None]  # ties -> first name
    assert p.probabilities is not None
    assert p.probabilities[3] == {"cat": 0.2, "dog": 0.7, "eel": 0.1}
    assert p.probabilities[0] is None


def test_jsonl_nested_features_like_the_tap_protocol(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"features": {"x": 1.5, "c": "DE"}, "prediction": 1}\n\n'
                    '{"features": {"x": 2}, "c": "FR"}\n', encoding="utf-8")
    (chunk,) = read_chunks(path, {"x": "numeric", "c": "categorical"})
    assert chunk.rows == 2
    assert chunk.numeric["x"].tolist() == [1.5, 2.0]
    assert chunk.categorical["c"].tolist() == ["DE", "FR"]


def test_class_name_of_numbers() -> None:
    assert [class_name(x) for x in (1, 1.0, 0.0, -2.0, 2.5)] == ["1", "1", "0", "-2", "2.5"]


@pytest.mark.parametrize("dictionary", [False, True])
def test_parquet_strings_keep_values_nulls_and_empties(tmp_path: Path, dictionary: bool) -> None:
    """Oracle: the Python list written. Strings come through a dictionary encoding (one
    str per distinct value): the values, None for null and for "", in row order."""
    values = ["b", None, "a", "", "b", "ümlaut", None, "a"] * 3
    arr = pa.array(values, type=pa.string())
    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"s": arr.dictionary_encode() if dictionary else arr}), path)
    got = [v for c in read_chunks(path, {"s": "categorical"}, chunk_rows=5)
           for v in c.categorical["s"].tolist()]
    assert got == [None if v == "" else v for v in values]
