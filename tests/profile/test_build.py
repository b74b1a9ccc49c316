"""Profiles: numpy oracles, determinism across formats, strict loading, bounded memory."""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from exporter.config.load import load_config
from exporter.config.model import FeatureConfig, ModelConfig, PredictionConfig
from exporter.profile.build import build_profile
from exporter.profile.files import load_profile, save_profile
from exporter.profile.model import (
    CategoricalProfile,
    NumericProfile,
    ProfileError,
    categorical_reference,
    numeric_reference,
    to_reference,
)
from exporter.profile.sample_codec import decode_sample, encode_sample
from exporter.stats.reference import CategoricalReference, NumericReference
from tests.paths import EXAMPLES
from tests.procs import IN_CI, python_lines

QS = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def model(classes: tuple[str, ...] | None = ("0", "1"), **over: Any) -> ModelConfig:
    base: dict[str, Any] = dict(
        name="m", version="1",
        prediction=(PredictionConfig("regression") if classes is None
                    else PredictionConfig("classification", classes)),
        features=(FeatureConfig("x", "numeric"), FeatureConfig("y", "numeric"),
                  FeatureConfig("c", "categorical")),
    )
    return ModelConfig(**(base | over))


def data(n: int, seed: int = 11) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(10, 3, n), 4)
    y = np.round(rng.exponential(2, n), 0)  # rounded: many ties
    c = rng.choice(np.array(["DE", "FR", "US", "GB"], dtype=object), n, p=[0.4, 0.3, 0.2, 0.1])
    xs: list[float | None] = x.tolist()
    cs: list[str | None] = c.tolist()
    for i in range(0, n, 13):
        xs[i] = None
    for i in range(5, n, 17):
        cs[i] = None
    return {"x": xs, "y": y.tolist(), "c": cs, "prediction": np.round(rng.random(n), 4).tolist()}


def write(tmp_path: Path, cols: dict[str, list[Any]], stem: str = "d") -> dict[str, Path]:
    table = pa.table(cols)
    paths = {"csv": tmp_path / f"{stem}.csv", "parquet": tmp_path / f"{stem}.parquet",
             "jsonl": tmp_path / f"{stem}.jsonl"}
    pacsv.write_csv(table, paths["csv"])
    pq.write_table(table, paths["parquet"], row_group_size=1000)
    with paths["jsonl"].open("w", encoding="utf-8") as fh:
        for row in table.to_pylist():
            fh.write(json.dumps(row) + "\n")
    return paths


def finite(values: list[Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.array([v for v in values if v is not None], dtype=np.float64)


def oracle_counts(values: np.ndarray[Any, Any], edges: tuple[float, ...]) -> list[int]:
    bounds = [-np.inf, *edges, np.inf]
    return [int(((values >= lo) & (values < hi)).sum()) for lo, hi in pairwise(bounds)]


def test_small_file_profile_equals_numpy(tmp_path: Path) -> None:
    cols = data(3000)
    paths = write(tmp_path, cols)
    p = build_profile(model(), paths["csv"], chunk_rows=512)
    assert (p.model, p.version, p.rows) == ("m", "1", 3000)
    for name in ("x", "y"):
        f = p.feature(name)
        assert isinstance(f, NumericProfile)
        v = finite(cols[name])
        # Whole column fits the sample: quantiles are numpy's on all the data.
        assert f.sample == tuple(np.sort(v))
        if name == "x":  # continuous: the edges are the deciles
            assert f.edges == tuple(np.quantile(v, np.arange(1, 10) / 10))
        assert list(f.counts) == oracle_counts(v, f.edges)
        s = f.summary
        assert (s.count, s.missing) == (v.size, 3000 - v.size)
        assert s.mean == pytest.approx(v.mean(), rel=1e-12)
        assert s.std == pytest.approx(v.std(), rel=1e-12)
        assert (s.min, s.max) == (v.min(), v.max())
        assert s.quantiles == tuple((q, float(np.quantile(v, q))) for q in QS)
    y = p.feature("y")  # rounded exponential: 0, 1, 2, ... each hold > 1/10 of the data
    assert isinstance(y, NumericProfile) and len(y.counts) == 10
    yv = finite(cols["y"])
    values, counts = np.unique(yv, return_counts=True)
    heavy = values[counts >= yv.size / 10]
    assert heavy.size >= 3
    for v in heavy:  # a bin of their own, bounded by the midpoints to their neighbours
        assert v - 0.5 in y.edges or v == values[0]
        assert v + 0.5 in y.edges
        assert y.counts[int(np.searchsorted(y.edges, v, side="right"))] == np.sum(yv == v)
    assert max(y.counts) / yv.size <= max(counts.max() / yv.size, 2 / 10)
    c = p.feature("c")
    assert isinstance(c, CategoricalProfile)
    counts = Counter(v for v in cols["c"] if v is not None)
    assert c.categories == ("DE", "FR", "GB", "US")
    assert c.counts == (counts["DE"], counts["FR"], counts["GB"], counts["US"], 0)
    assert c.missing == sum(1 for v in cols["c"] if v is None)
    pred = p.prediction
    assert isinstance(pred, NumericProfile) and pred.name == "__prediction__"
    assert list(pred.counts) == oracle_counts(np.array(cols["prediction"]), pred.edges)


def test_large_file_sample_is_bounded_exact_bins_and_moments(tmp_path: Path) -> None:
    cols = data(25_000)
    paths = write(tmp_path, cols)
    p = build_profile(model(sample_size=2000), paths["csv"], chunk_rows=4096)
    f = p.feature("x")
    assert isinstance(f, NumericProfile)
    v = finite(cols["x"])
    assert len(f.sample) == 2000 and list(f.sample) == sorted(f.sample)
    assert not Counter(f.sample) - Counter(v.tolist())  # a sub-multiset of the data
    assert f.edges == tuple(np.quantile(np.array(f.sample), np.arange(1, 10) / 10))
    assert list(f.counts) == oracle_counts(v, f.edges)  # pass 2 counts every row
    assert f.summary.mean == pytest.approx(v.mean(), rel=1e-12)
    assert f.summary.std == pytest.approx(v.std(), rel=1e-12)
    assert f.summary.quantiles == tuple((q, float(np.quantile(f.sample, q))) for q in QS)
    # A uniform sample: its median is close to the data's (sd of the estimate ~ 0.08 here).
    assert abs(np.median(f.sample) - np.median(v)) < 0.4


def test_build_is_deterministic_and_identical_across_formats(tmp_path: Path) -> None:
    paths = write(tmp_path, data(12_000))
    cfg = model(sample_size=1500)
    outs = []
    for i, fmt in enumerate(("csv", "csv", "parquet", "jsonl")):
        out = tmp_path / f"p{i}.json"
        save_profile(build_profile(cfg, paths[fmt], chunk_rows=2048), out)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2] == outs[3]
    assert b"\n" not in outs[0][:-1] and b"timestamp" not in outs[0]


def test_sample_and_bins_do_not_depend_on_chunking(tmp_path: Path) -> None:
    paths = write(tmp_path, data(9000))
    a = build_profile(model(sample_size=700), paths["csv"], chunk_rows=500)
    b = build_profile(model(sample_size=700), paths["jsonl"], chunk_rows=3001)
    for fa, fb in zip(a.features, b.features, strict=True):
        if isinstance(fa, NumericProfile) and isinstance(fb, NumericProfile):
            assert (fa.sample, fa.edges, fa.counts) == (fb.sample, fb.edges, fb.counts)
            assert fa.summary.mean == pytest.approx(fb.summary.mean, rel=1e-13)
        else:
            assert fa == fb


def test_categories_beyond_max_fold_into_other_with_ties_by_name(tmp_path: Path) -> None:
    values = ["b"] * 5 + ["a"] * 5 + ["c"] * 5 + ["d"] * 9 + ["e"] * 2 + [None] * 3
    path = tmp_path / "c.csv"
    pacsv.write_csv(pa.table({"c": values, "n": list(range(len(values)))}), path)
    cfg = model(features=(FeatureConfig("c", "categorical"),), max_categories=3)
    c = build_profile(cfg, path).feature("c")
    assert isinstance(c, CategoricalProfile)
    # d (9) then a, b (5 each, chosen over c by name); c and e go to __other__.
    assert c.categories == ("a", "b", "d")
    assert c.counts == (5, 5, 9, 5 + 2)
    assert c.missing == 3


def test_many_distinct_categories_are_recounted_exactly(tmp_path: Path) -> None:
    # More distinct values than the pass-1 table keeps: pass 2 recounts the chosen ones.
    values = [f"u{i:05d}" for i in range(30_000)] + ["hot"] * 50 + ["warm"] * 40
    path = tmp_path / "c.csv"
    pacsv.write_csv(pa.table({"c": values}), path)
    cfg = model(features=(FeatureConfig("c", "categorical"),), max_categories=2)
    c = build_profile(cfg, path, chunk_rows=1000).feature("c")
    assert isinstance(c, CategoricalProfile)
    assert c.categories == ("hot", "warm") and c.counts == (50, 40, 30_000)


def test_prediction_profiles(tmp_path: Path) -> None:
    cfg = model(classes=("cat", "dog"), features=(FeatureConfig("x", "numeric"),))
    names = tmp_path / "names.csv"
    pacsv.write_csv(pa.table({"x": [1.0, 2, 3, 4, 5],
                              "prediction": ["dog", "cat", "dog", "emu", None]}), names)
    pred = build_profile(cfg, names).prediction
    assert isinstance(pred, CategoricalProfile)
    assert (pred.categories, pred.counts, pred.missing) == (("cat", "dog"), (1, 2, 1), 1)
    probs = tmp_path / "probs.jsonl"
    rows = [{"x": 1, "prediction": {"cat": 0.9, "dog": 0.1}},
            {"x": 2, "prediction": {"cat": 0.3, "dog": 0.7}},
            {"x": 3, "prediction": {"cat": 0.2, "dog": 0.8}}]
    probs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pred = build_profile(cfg, probs).prediction
    assert isinstance(pred, CategoricalProfile) and pred.counts == (1, 2, 0)
    reg = model(classes=None, features=(FeatureConfig("x", "numeric"),))
    with pytest.raises(ProfileError, match=r"holds class names .* regression"):
        build_profile(reg, names)
    nopred = tmp_path / "nopred.csv"
    pacsv.write_csv(pa.table({"x": [1.0, 2.0]}), nopred)
    assert build_profile(reg, nopred).prediction is None
    scores = tmp_path / "scores.csv"
    pacsv.write_csv(pa.table({"x": [1.0, 2.0, 3.0], "prediction": [0.5, 2.5, 1.0]}), scores)
    for cfg_ in (reg, cfg):  # numbers are a numeric profile for either kind
        pred_n = build_profile(cfg_, scores).prediction
        assert isinstance(pred_n, NumericProfile)
        assert pred_n.sample == (0.5, 1.0, 2.5) and sum(pred_n.counts) == 3


def test_save_load_roundtrip_and_references(tmp_path: Path) -> None:
    paths = write(tmp_path, data(2000))
    built = build_profile(model(), paths["csv"])
    out = tmp_path / "p.json"
    save_profile(built, out)
    loaded = load_profile(out)
    assert loaded == built
    x = loaded.feature("x")
    ref = to_reference(x)
    assert isinstance(ref, NumericReference) and isinstance(x, NumericProfile)
    np.testing.assert_array_equal(ref.edges, x.edges)
    np.testing.assert_array_equal(ref.counts, x.counts)
    np.testing.assert_array_equal(ref.sample_sorted, x.sample)
    cref = to_reference(loaded.feature("c"))
    assert isinstance(cref, CategoricalReference)
    assert cref.counts.tolist() == list(loaded.feature("c").counts)
    with pytest.raises(TypeError, match="not categorical"):
        categorical_reference(x)
    with pytest.raises(TypeError, match="not numeric"):
        numeric_reference(loaded.feature("c"))


def _oracle_canonical(doc: dict[str, Any]) -> bytes:
    """docs/profiles.md: one JSON document, sorted keys, no whitespace, ASCII."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def test_content_hash_is_the_sha256_of_the_whole_canonical_text(tmp_path: Path) -> None:
    import hashlib
    from dataclasses import replace

    built = build_profile(model(), write(tmp_path, data(500))["csv"])
    # the pieces cover null and nested values the same way: with and without a prediction
    for i, profile in enumerate((built, replace(built, prediction=None))):
        path = tmp_path / f"p{i}.json"
        save_profile(profile, path)
        raw = path.read_bytes()
        doc = json.loads(raw)
        assert (doc["prediction"] is None) == (i == 1)
        # the file is the canonical text of its own document (the hash included)
        assert raw == _oracle_canonical(doc) + b"\n"
        # docs/profiles.md: sha256 of the canonical document without content_hash
        body = {k: v for k, v in doc.items() if k != "content_hash"}
        assert doc["content_hash"] == hashlib.sha256(_oracle_canonical(body)).hexdigest()
        assert load_profile(path).content_hash == doc["content_hash"]


def test_saved_profile_is_readable_like_any_file(tmp_path: Path) -> None:
    # A profile is shipped to the sidecar (often another user): umask permissions, not 0600.
    old = os.umask(0o022)
    try:
        save_profile(load_profile(EXAMPLES / "housing" / "profile.json"), tmp_path / "p.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "p.json").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


def test_proportions_and_bucket_labels() -> None:
    c = CategoricalProfile("c", ("DE", "FR"), (3, 1, 0), missing=2)
    assert c.proportions == (0.75, 0.25, 0.0)
    assert c.bucket_labels == ("DE", "FR", "__other__")
    assert CategoricalProfile("e", ("DE",), (0, 0), missing=5).proportions == (0.0, 0.0)


def _corrupt(tmp_path: Path, edit: Any) -> Path:
    src = EXAMPLES / "housing" / "profile.json"
    doc = json.loads(src.read_text(encoding="utf-8"))
    edit(doc)
    out = tmp_path / "bad.json"
    out.write_text(json.dumps(doc), encoding="utf-8")
    return out


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def edit(doc: Any) -> None:
        for key in path[:-1]:
            doc = doc[key]
        doc[path[-1]] = value
    return edit


def _swap_first_edges(doc: Any) -> None:
    e = doc["features"][0]["edges"]
    e[0], e[1] = e[1], e[0]


def _reverse_sample(doc: Any) -> None:
    s = doc["features"][1]["sample"]
    values = decode_sample(s["codec"], s["count"], s.get("scale"), s["data"])
    s.clear()
    s.update(encode_sample(values[::-1].copy()))


CORRUPTIONS = [
    ("schema version", _set(("schema_version",), 99),
     r"schema_version 99 is not supported .*rebuild it with `mlmon profile build`"),
    ("missing field", lambda d: d.pop("rows"), r"missing required field 'rows'"),
    ("wrong type", _set(("model",), 7), r"top level\.model: expected a non-empty string"),
    ("counts length", lambda d: d["features"][0]["counts"].pop(),
     r"features\[0\]: 9 counts for 9 edges \(expected len\(edges\) \+ 1 = 10\)"),
    ("edges order", _swap_first_edges, r"features\[0\]\.edges: bin edges are not strictly"),
    ("negative count", _set(("features", 4, "counts", 0), -3),
     r"features\[4\]\.counts\[0\]: negative count -3"),
    ("unsorted sample", _reverse_sample,
     r"features\[1\]\.sample: reference sample is not sorted"),
    ("edited value", _set(("features", 0, "summary", "mean"), 1.0),
     r"content hash mismatch .*edited or corrupted"),
    ("unknown kind", _set(("features", 2, "kind"), "ordinal"),
     r"features\[2\]\.kind: unknown kind 'ordinal'"),
]


@pytest.mark.parametrize(("edit", "message"), [c[1:] for c in CORRUPTIONS],
                         ids=[c[0] for c in CORRUPTIONS])
def test_load_rejects_corruption(tmp_path: Path, edit: Any, message: str) -> None:
    path = _corrupt(tmp_path, edit)
    with pytest.raises(ProfileError, match=message) as info:
        load_profile(path)
    assert str(info.value).startswith(f"{path}: ")


def test_build_rejects_a_file_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("x,y,c\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=rf"{path}: no data rows"):
        build_profile(model(), path)


def test_load_rejects_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"cannot read profile .*mlmon profile build"):
        load_profile(tmp_path / "missing.json")
    truncated = tmp_path / "t.json"
    truncated.write_bytes((EXAMPLES / "housing" / "profile.json").read_bytes()[:500])
    with pytest.raises(ProfileError, match=rf"{truncated}: not valid JSON"):
        load_profile(truncated)


@pytest.mark.parametrize("example", ["fraud", "housing"])
def test_shipped_profile_equals_fresh_build(tmp_path: Path, example: str) -> None:
    cfg = load_config(EXAMPLES / example / "mlmon.yaml", env={}).models[0]
    out = tmp_path / "fresh.json"
    save_profile(build_profile(cfg, EXAMPLES / example / "reference.csv"), out)
    assert cfg.profile is not None
    assert out.read_bytes() == cfg.profile.read_bytes()


# A fresh child builds the profile and prints pyarrow's pool peak, then its own peak RSS
# (VmHWM): tracemalloc sees neither the CSV reader's buffers nor anything else pyarrow
# allocates. pyarrow's read-ahead grows with its CPU count, not the rows: pinned to 2 so the
# small input already fills it on any machine.
_MEMORY_CHILD = """
import sys
import pyarrow as pa
pa.set_cpu_count(2)
from exporter.config.model import FeatureConfig, ModelConfig, PredictionConfig
from exporter.profile.build import build_profile

path, rows, features = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cfg = ModelConfig(name="m", version="1", prediction=PredictionConfig("regression"),
                  sample_size=2000,
                  features=tuple(FeatureConfig(f"f{i}", "numeric") for i in range(features)))
profile = build_profile(cfg, path, chunk_rows=4096)
assert profile.rows == rows, (profile.rows, rows)
assert all(len(f.sample) == 2000 for f in profile.features)
print(pa.default_memory_pool().max_memory())
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""
_FEATURES = 20
_BLOCK_ROWS = 60_000


def _peaks(tmp_path: Path, blocks: int) -> tuple[int, int]:
    """(pyarrow pool peak, peak RSS) in bytes of building a profile of a CSV of
    ``blocks`` copies of one 60,000-row block of 20 numeric columns."""
    rng = np.random.default_rng(7)
    table = pa.table({f"f{i}": np.round(rng.normal(i, 1, _BLOCK_ROWS), 3)
                      for i in range(_FEATURES)})
    buf = pa.BufferOutputStream()
    pacsv.write_csv(table, buf)
    header, body = buf.getvalue().to_pybytes().split(b"\n", 1)
    path = tmp_path / "wide.csv"
    with path.open("wb") as fh:  # copies: quick to write, as costly to read as distinct rows
        fh.write(header + b"\n")
        for _ in range(blocks):
            fh.write(body)
    try:
        *_, pool, rss_kib = python_lines(_MEMORY_CHILD, str(path), str(blocks * _BLOCK_ROWS),
                                         str(_FEATURES))
    finally:
        path.unlink()
    return int(pool), int(rss_kib) * 1024


def test_memory_is_bounded_by_chunks_and_sample(tmp_path: Path) -> None:
    """8x the rows (240,000 to 1,920,000: 38 to 307 MB as float64 columns) peak about the
    same: chunks, read-ahead and the 2,000-value samples, never the rows."""
    if not Path("/proc/self/status").exists():
        (pytest.fail if IN_CI else pytest.skip)("reads Linux's VmHWM from /proc/self/status")
    small_pool, small_rss = _peaks(tmp_path, 4)
    large_pool, large_rss = _peaks(tmp_path, 32)
    grown = (32 - 4) * _BLOCK_ROWS * _FEATURES * 8  # 269 MB more values
    assert large_pool - small_pool < grown / 8, (small_pool, large_pool)
    assert large_rss - small_rss < grown / 4, (small_rss, large_rss)
