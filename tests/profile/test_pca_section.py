"""The profile's multivariate (PCA) section: the row sample equals an independent bottom-k
over a hand-written SplitMix64, merge of any split equals one pass, chunking and formats do
not matter, the content hash covers the section, bad sections are rejected."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exporter.config.model import MultivariateConfig
from exporter.profile.build import build_profile
from exporter.profile.files import load_profile, save_profile
from exporter.profile.model import ProfileError
from exporter.profile.pca import RowSampleAcc
from exporter.readers.chunks import Chunk
from exporter.stats.pca import fit
from tests.profile.test_build import _oracle_canonical, data, model, write

MASK = (1 << 64) - 1


def splitmix64_py(x: int) -> int:
    """Steele et al.'s finalizer in Python integers (the oracle)."""
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


SALT = int.from_bytes(hashlib.sha256(b"__rows__").digest()[:8], "little")


def oracle_sample(rows: np.ndarray[Any, Any], k: int) -> np.ndarray[Any, Any]:
    keys = [splitmix64_py(i ^ SALT) for i in range(len(rows))]
    order = sorted(range(len(rows)), key=lambda i: keys[i])[:k]
    return rows[order]


def test_build_fits_on_the_oracle_row_sample(tmp_path: Path) -> None:
    cols = data(3_000)
    k = 1_000
    paths = write(tmp_path, cols)
    built = {fmt: build_profile(model(sample_size=k), p, chunk_rows=chunk)
             for fmt, p in paths.items() for chunk in (97,)}
    built["csv-big"] = build_profile(model(sample_size=k), paths["csv"], chunk_rows=4_096)
    m = built["csv"].multivariate
    assert m is not None
    assert all(b.multivariate == m for b in built.values())
    rows = np.array([[np.nan if v is None else v for v in cols[f]] for f in ("x", "y")]).T
    sample = oracle_sample(rows, k)
    assert m == fit(("x", "y"), sample[0::2], sample[1::2], 0.65)
    assert (m.fit_rows, m.error_rows) == (500, 500)


def _chunks(x: np.ndarray[Any, Any], cut: list[int]) -> list[Chunk]:
    bounds = [0, *cut, len(x)]
    return [Chunk(lo, hi - lo, {"a": x[lo:hi, 0], "b": x[lo:hi, 1], "c": x[lo:hi, 2]}, {}, {})
            for lo, hi in pairwise(bounds)]


def test_merge_of_any_split_equals_one_pass() -> None:
    rng = np.random.default_rng(5)
    n, k = 6_000, 700
    x = rng.multivariate_normal(np.zeros(3), np.array([[1, .7, 0], [.7, 1, 0], [0, 0, 1.]]), n)
    x[rng.random((n, 3)) < 0.03] = np.nan
    whole = RowSampleAcc(("a", "b", "c"), k)
    for ch in _chunks(x, list(range(512, n, 512))):
        whole.update(ch)
    expected = whole.finish(0.65)
    assert expected is not None
    np.testing.assert_array_equal(whole.sample(), oracle_sample(x, k))
    for trial in range(6):
        cut = sorted(rng.choice(np.arange(1, n), size=trial + 1, replace=False).tolist())
        parts = []
        for ch in _chunks(x, cut):  # one accumulator per partition, merged in order
            a = RowSampleAcc(("a", "b", "c"), k)
            a.update(ch)
            parts.append(a)
        merged = parts[0]
        for a in parts[1:]:
            merged.merge(a)
        assert merged.finish(0.65) == expected  # every float bit-equal


def test_content_hash_covers_the_section_and_disabled_profiles_lack_it(
        tmp_path: Path) -> None:
    csv = write(tmp_path, data(800))["csv"]
    built = build_profile(model(), csv)
    plain = build_profile(model(multivariate=MultivariateConfig(enabled=False)), csv)
    assert built.multivariate is not None and plain.multivariate is None
    assert replace(built, multivariate=None, content_hash=plain.content_hash) == plain
    path = tmp_path / "p.json"
    save_profile(built, path)
    raw = path.read_bytes()
    doc = json.loads(raw)
    assert raw == _oracle_canonical(doc) + b"\n"
    body = {k: v for k, v in doc.items() if k != "content_hash"}
    assert doc["content_hash"] == hashlib.sha256(_oracle_canonical(body)).hexdigest()
    assert load_profile(path) == built
    plain_path = tmp_path / "plain.json"
    save_profile(plain, plain_path)
    assert "multivariate" not in json.loads(plain_path.read_bytes())
    doc["multivariate"]["error_mean"] += 0.5
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ProfileError, match="content hash mismatch"):
        load_profile(path)


def test_one_numeric_feature_or_a_categorical_one_has_no_section(tmp_path: Path) -> None:
    from exporter.config.model import FeatureConfig
    csv = write(tmp_path, data(300))["csv"]
    one = model(features=(FeatureConfig("x", "numeric"), FeatureConfig("c", "categorical")))
    assert build_profile(one, csv).multivariate is None


def _rehash(doc: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in doc.items() if k != "content_hash"}
    return body | {"content_hash": hashlib.sha256(_oracle_canonical(body)).hexdigest()}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.update(features=["x", "c"]), r"multivariate\.features"),
    (lambda s: s.update(scale=[1.0]), r"multivariate\.scale: expected 2 finite"),
    (lambda s: s.update(scale=[0.0, 1.0]), r"multivariate\.scale: expected positive"),
    (lambda s: s.update(components=[]), r"multivariate\.components"),
    (lambda s: s["components"][0].append(0.5), r"multivariate\.components"),
    (lambda s: s.update(error_std=-1.0), "out of range"),
    (lambda s: s.update(extra=1), r"multivariate: fields"),
    (lambda s: s.update(error_rows=1), r"multivariate\.fit_rows"),
])
def test_load_rejects_a_bad_section_even_with_a_valid_hash(tmp_path: Path, edit: Any,
                                                           message: str) -> None:
    path = tmp_path / "p.json"
    save_profile(build_profile(model(), write(tmp_path, data(500))["csv"]), path)
    doc = json.loads(path.read_bytes())
    edit(doc["multivariate"])
    path.write_text(json.dumps(_rehash(doc)), encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        load_profile(path)
