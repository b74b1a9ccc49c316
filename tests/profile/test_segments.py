"""The profile's segments section: exact per-segment counts on the global buckets, split/merge
exactness of its accumulator, top values with ties, the content hash, old profiles."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exporter.config.model import SegmentConfig
from exporter.metric_names import OTHER_BUCKET
from exporter.profile.build import build_profile
from exporter.profile.files import load_profile, save_profile
from exporter.profile.model import CategoricalProfile, NumericProfile, ProfileError
from exporter.profile.segments import SegmentAcc
from exporter.readers.chunks import Chunk, Predictions
from tests.profile.test_build import _oracle_canonical, data, model, oracle_counts, write


def seg_model(max_values: int = 2, classes: tuple[str, ...] | None = ("0", "1")) -> Any:
    return model(classes=classes, segment=SegmentConfig("c", max_values))


def test_segment_counts_equal_numpy_on_the_global_buckets(tmp_path: Path) -> None:
    cols = data(4000)
    built = build_profile(seg_model(2), write(tmp_path, cols)["csv"])
    s = built.segments
    assert s is not None and s.feature == "c" and s.max_values == 2
    # DE (40 %) and FR (30 %) are the top two; US, GB and the missing rows are __other__
    assert [p.value for p in s.segments] == ["DE", "FR", OTHER_BUCKET]
    c = np.array(cols["c"], dtype=object)
    x = np.array([np.nan if v is None else v for v in cols["x"]], dtype=np.float64)
    y = np.array(cols["y"], dtype=np.float64)
    pred = np.array(cols["prediction"], dtype=np.float64)
    masks = {"DE": c == "DE", "FR": c == "FR"}
    masks[OTHER_BUCKET] = ~(masks["DE"] | masks["FR"])
    fx, fy, fc = built.features
    assert isinstance(fx, NumericProfile) and isinstance(fy, NumericProfile)
    assert isinstance(fc, CategoricalProfile) and built.prediction is not None
    assert isinstance(built.prediction, NumericProfile)
    for p in s.segments:
        m = masks[p.value]
        assert p.rows == int(m.sum())
        assert list(p.features[0]) == oracle_counts(x[m][~np.isnan(x[m])], fx.edges)
        assert list(p.features[1]) == oracle_counts(y[m], fy.edges)
        cats = [v for v in c[m].tolist() if v is not None]
        expected = [cats.count(k) for k in fc.categories]
        assert list(p.features[2]) == [*expected, len(cats) - sum(expected)]
        assert p.prediction is not None
        assert list(p.prediction) == oracle_counts(pred[m], built.prediction.edges)
    print(f"\nsegment rows: {[(p.value, p.rows) for p in s.segments]} of {built.rows}")
    # formats and chunking do not change a count
    paths = write(tmp_path, cols, "again")
    for path in paths.values():
        assert build_profile(seg_model(2), path, chunk_rows=333).segments == s


def test_class_predictions_and_missing_segment_values(tmp_path: Path) -> None:
    cols = data(1200)
    cols["prediction"] = ["1" if v > 0.5 else "0" for v in cols["prediction"]]
    cols["prediction"][:7] = ["2"] * 7  # a class the model does not know: __other__ bucket
    built = build_profile(seg_model(10), write(tmp_path, cols)["csv"])
    s = built.segments
    assert s is not None and [p.value for p in s.segments] == ["DE", "FR", "GB", "US",
                                                               OTHER_BUCKET]
    other = s.segments[-1]
    # only the rows whose segment value is missing are __other__ here
    assert other.rows == sum(1 for v in cols["c"] if v is None)
    for p in s.segments:
        rows = [i for i, v in enumerate(cols["c"]) if (v if v is not None else OTHER_BUCKET)
                == p.value]
        preds = [cols["prediction"][i] for i in rows]
        assert p.prediction == (preds.count("0"), preds.count("1"), preds.count("2"))


def _chunks(n: int, seed: int, cut: list[int]) -> list[Chunk]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    x[rng.random(n) < 0.05] = np.nan
    c = rng.choice(np.array(["a", "b", "c", "d", "e", None], dtype=object), n,
                   p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1])
    p = rng.random(n)
    bounds = [0, *cut, n]
    out = []
    for lo, hi in itertools.pairwise(bounds):
        out.append(Chunk(lo, hi - lo, {"x": x[lo:hi], "y": x[lo:hi] * 2},
                         {"c": c[lo:hi]},
                         {"prediction": Predictions(p[lo:hi], np.full(hi - lo, None,
                                                                      dtype=object), None)}))
    return out


def test_merge_of_any_split_equals_one_pass() -> None:
    config = seg_model(3)
    edges = {"x": np.array([-1.0, 0.0, 1.0]), "y": np.array([-0.5, 0.5])}
    cats = {"c": ("a", "b", "c", "d")}  # "e" is beyond the feature's categories
    pred_edges = np.array([0.25, 0.5, 0.75])

    def acc() -> SegmentAcc:
        return SegmentAcc(config, edges, cats, pred_edges)

    n = 5000
    whole = acc()
    for ch in _chunks(n, 4, []):
        whole.update(ch)
    rng = np.random.default_rng(8)
    for trial in range(5):
        cut = sorted(rng.choice(np.arange(1, n), size=trial + 1, replace=False).tolist())
        parts = []
        for ch in _chunks(n, 4, cut):  # one accumulator per partition, merged in order
            a = whole.fresh()
            a.update(ch)
            parts.append(a)
        merged = parts[0]
        for a in parts[1:]:
            merged.merge(a)
        assert np.array_equal(merged.rows, whole.rows)
        assert all(np.array_equal(merged.counts[k], whole.counts[k]) for k in whole.counts)
        assert merged.pred is not None and whole.pred is not None
        assert np.array_equal(merged.pred, whole.pred)
    assert int(whole.rows.sum()) == n


def test_top_values_break_ties_by_name(tmp_path: Path) -> None:
    cols = data(600)
    # counts: b 200, a 150, c 150, d 100 -> top 2 = b and a (a before c by name)
    cols["c"] = ["b"] * 200 + ["c"] * 150 + ["a"] * 150 + ["d"] * 100
    s = build_profile(seg_model(2), write(tmp_path, cols)["csv"]).segments
    assert s is not None and [(p.value, p.rows) for p in s.segments] == [
        ("a", 150), ("b", 200), (OTHER_BUCKET, 250)]


def test_pruned_segment_feature_uses_exact_counts(tmp_path: Path) -> None:
    # 12,000 distinct rare values prune the categorical accumulator in pass 1 (capacity
    # 10,000 keeps the heaviest half); "hot" values are recounted exactly in pass 2
    n = 30_000
    rng = np.random.default_rng(5)
    vals = [f"r{i}" for i in range(12_000)] + [f"hot{i % 3}" for i in range(n - 12_000)]
    order = rng.permutation(n)
    cols = data(n)
    cols["c"] = [vals[i] for i in order]
    built = build_profile(seg_model(3), write(tmp_path, cols)["csv"])
    assert built.segments is not None
    truth = {f"hot{k}": sum(1 for v in cols["c"] if v == f"hot{k}") for k in range(3)}
    assert [(p.value, p.rows) for p in built.segments.segments[:-1]] == sorted(truth.items())
    assert built.segments.segments[-1].rows == 12_000


def test_content_hash_covers_the_section_and_old_profiles_keep_theirs(tmp_path: Path) -> None:
    csv = write(tmp_path, data(800))["csv"]
    plain = build_profile(model(), csv)
    built = build_profile(seg_model(2), csv)
    assert plain.segments is None and built.segments is not None
    # without `segment:` the profile is byte-for-byte what it was (no "segments" key)
    assert replace(built, segments=None, content_hash=plain.content_hash) == plain
    path = tmp_path / "p.json"
    save_profile(built, path)
    raw = path.read_bytes()
    doc = json.loads(raw)
    assert raw == _oracle_canonical(doc) + b"\n"
    body = {k: v for k, v in doc.items() if k != "content_hash"}
    assert doc["content_hash"] == hashlib.sha256(_oracle_canonical(body)).hexdigest()
    assert doc["content_hash"] != plain.content_hash
    assert load_profile(path) == built
    plain_path = tmp_path / "plain.json"
    save_profile(plain, plain_path)
    assert "segments" not in json.loads(plain_path.read_bytes())
    assert load_profile(plain_path).segments is None
    # one edited count is caught by the hash
    doc["segments"]["values"][0]["rows"] += 1
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ProfileError, match="segments"):
        load_profile(path)


def _rehash(doc: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in doc.items() if k != "content_hash"}
    return body | {"content_hash": hashlib.sha256(_oracle_canonical(body)).hexdigest()}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.update(feature="x"), r"segments\.feature: 'x' is not a categorical"),
    (lambda s: s["values"][0]["features"][0].append(1), r"segments\.values\[0\]\.features\[0\]"),
    (lambda s: s["values"].reverse(), r"segments\.values: values"),
    (lambda s: s["values"][0].update(rows=s["values"][0]["rows"] + 1), "rows add up to"),
])
def test_load_rejects_a_bad_section_even_with_a_valid_hash(tmp_path: Path, edit: Any,
                                                           message: str) -> None:
    path = tmp_path / "p.json"
    save_profile(build_profile(seg_model(2), write(tmp_path, data(500))["csv"]), path)
    doc = json.loads(path.read_bytes())
    edit(doc["segments"])
    path.write_text(json.dumps(_rehash(doc)), encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        load_profile(path)
