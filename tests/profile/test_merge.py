"""Split/merge exactness of the profile builder's accumulators (the Spark engine's basis).

The rows of a generated file are split at random points into "partitions"; each runs
its own ``Pass1``/``Pass2`` accumulators and they are merged in row order. The profile
must be bit-identical (same canonical body, same content hash) to ``build_profile``'s
one pass over the file. Moments are checked against exact rational arithmetic
(``statistics.mean``, ``fractions``).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.config.model import ModelConfig
from exporter.profile.build import Pass1, Pass2, Plan, assemble, build_profile
from exporter.profile.categorical import CategoricalAcc
from exporter.profile.codec import profile_body
from exporter.profile.model import CategoricalProfile
from exporter.readers.chunks import Chunk, available_columns, cut_rows, read_chunks
from exporter.stats.moments import Moments
from tests.profile import merge_data


def _pieces(chunks: list[Chunk], cuts: list[int]) -> Iterator[list[Chunk]]:
    """The rows of ``chunks`` as partitions ending at each cut (global row indexes)."""
    bounds = [0, *cuts, sum(c.rows for c in chunks)]
    for a, b in itertools.pairwise(bounds):
        part = []
        for c in chunks:
            lo, hi = max(a, c.start), min(b, c.start + c.rows)
            if lo < hi:
                part.append(cut_rows(c, lo - c.start, hi - c.start))
        yield part


def merged_profile(config: ModelConfig, path: Path, cuts: list[int], chunk_rows: int = 1000):
    plan = Plan.of(config, set(available_columns(path)))
    chunks = list(read_chunks(path, plan.columns, chunk_rows=chunk_rows))
    first = Pass1(plan)
    for part in _pieces(chunks, cuts):
        acc = Pass1(plan)
        for c in part:
            acc.update(c)
        first.merge(acc)
    second = Pass2(plan, first)
    chunks2 = list(read_chunks(path, second.columns(), chunk_rows=chunk_rows))
    total = second.fresh()
    for part in _pieces(chunks2, cuts):
        acc2 = second.fresh()
        for c in part:
            acc2.update(c)
        total.merge(acc2)
    return assemble(plan, first, total, str(path))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    d = tmp_path_factory.mktemp("merge")
    return {"classifier": merge_data.write(d, merge_data.table(30_000, 1), "cls"),
            "regressor": merge_data.write(d, merge_data.table(12_000, 2, regression=True),
                                          "reg")}


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_merged_partitions_give_the_one_pass_profile_bit_for_bit(
        files: dict[str, dict[str, Path]], kind: str) -> None:
    config = merge_data.classifier() if kind == "classifier" else merge_data.regressor()
    path = files[kind]["parquet"]
    whole = build_profile(config, path)
    n = whole.rows
    rng = np.random.default_rng(7)
    splits = [[], [1], [n - 1], sorted(rng.choice(n, 9, replace=False).tolist())]
    for cuts in splits:
        merged = merged_profile(config, path, cuts, chunk_rows=int(rng.integers(97, 5000)))
        assert profile_body(merged) == profile_body(whole), cuts
        assert merged.content_hash == whole.content_hash
    ids = next(f for f in whole.features if f.name == "ids")
    assert isinstance(ids, CategoricalProfile) and len(ids.categories) == 20
    if kind == "classifier":  # the optional sections are covered too
        assert whole.calibration is not None and whole.segments is not None
    assert whole.multivariate is not None
    print(f"{kind}: {n} rows, {len(splits)} splits, hash {whole.content_hash[:12]}")


def test_formats_agree_and_chunk_size_does_not_matter(files: dict[str, dict[str, Path]]) -> None:
    config = merge_data.classifier()
    hashes = {fmt: build_profile(config, p, chunk_rows=3_001).content_hash
              for fmt, p in files["classifier"].items()}
    assert len(set(hashes.values())) == 1, hashes
    assert build_profile(config, files["classifier"]["csv"], chunk_rows=777).content_hash \
        == hashes["csv"]


def test_pruned_categories_do_not_depend_on_the_order_rows_arrive_in() -> None:
    # A column with far more distinct values than the capacity: the kept categories come
    # from a row sample keyed by the global row index, not from counts pruned as they come.
    rng = np.random.default_rng(3)
    n = 60_000
    values = np.array([f"h{int(v) % 50}" if rng.random() < 0.5 else f"u{i}"
                       for i, v in enumerate(rng.zipf(1.3, n))], dtype=object)
    whole = CategoricalAcc("ids", 10, np.uint64(12345))
    whole.update(values, 0)
    assert whole.pruned
    for cuts in ([30_000], [5, 17_000, 59_999], sorted(rng.choice(n, 20, replace=False))):
        merged = CategoricalAcc("ids", 10, np.uint64(12345))
        bounds = [0, *cuts, n]
        for a, b in itertools.pairwise(bounds):
            part = CategoricalAcc("ids", 10, np.uint64(12345))
            part.update(values[a:b], a)
            merged.merge(part)
        assert merged.pruned and merged.categories() == whole.categories()
        assert merged.missing == whole.missing
    # the heaviest values (independent count over the whole column) are the ones kept
    true_top = [k for k, _ in sorted(
        ((k, int(np.sum(values == k))) for k in {f"h{i}" for i in range(50)}),
        key=lambda kv: (-kv[1], kv[0]))[:5]]
    assert set(true_top) <= set(whole.categories())


@pytest.mark.parametrize("offset", [0.0, 1e6, 1e12])
def test_moments_are_exact_and_split_invariant(offset: float) -> None:
    rng = np.random.default_rng(5)
    x = offset + rng.normal(0, 3, 5_003)
    exact_mean = sum((Fraction(v) for v in x.tolist()), Fraction(0)) / x.size
    exact_m2 = sum(((Fraction(v) - exact_mean) ** 2 for v in x.tolist()), Fraction(0))
    results = set()
    for cuts in ([], [1], [2_500], sorted(rng.choice(x.size, 30, replace=False).tolist())):
        parts = np.split(x, cuts)
        m = Moments()
        m.add(parts[0])
        for p in parts[1:]:  # half added, half merged from separate accumulators
            if p.size % 2:
                m.add(p)
            else:
                other = Moments()
                other.add(p)
                m.merge(other)
        results.add((m.n, m.mean, m.m2, m.std, m.min, m.max))
    assert len(results) == 1
    n, mean, m2, _, lo, hi = results.pop()
    assert mean == statistics.mean(x.tolist()) == float(exact_mean)
    assert m2 == float(exact_m2)
    assert (n, lo, hi) == (x.size, float(x.min()), float(x.max()))


def test_moments_signed_zero_and_overflow() -> None:
    a, b = Moments(), Moments()
    a.add(np.array([-0.0, 0.0]))
    b.add(np.array([0.0, -0.0]))
    assert str(a.min) == str(b.min) == "0.0" and str(a.max) == "0.0"
    big = Moments()
    big.add(np.array([1e200, -1e200]))
    assert big.mean == 0.0 and big.m2 == float("inf")


def test_exact_sum_over_the_whole_float_range_against_fractions() -> None:
    rng = np.random.default_rng(9)
    x = rng.choice([-1.0, 1.0], 4_000) * 10.0 ** rng.uniform(-320, 300, 4_000)
    x[:3] = [5e-324, -5e-324, 1.7976931348623157e308]  # subnormal extremes and the largest
    m = Moments()
    for part in np.array_split(x, 7):
        m.add(part)
    exact = sum((Fraction(v) for v in x.tolist()), Fraction(0))
    assert m.mean == float(exact / x.size)
    assert m.m2 == float("inf")  # x² overflows: said, not wrapped


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=-1e150, max_value=1e150, allow_nan=False), min_size=1,
                max_size=60),
       st.lists(st.integers(0, 60), max_size=5))
def test_moments_equal_exact_rationals_under_any_split(values: list[float],
                                                       cuts: list[int]) -> None:
    x = np.array(values)
    m = Moments()
    for part in np.split(x, sorted(c for c in cuts if c <= x.size)):
        other = Moments()
        other.add(part)
        m.merge(other)
    mean = sum((Fraction(v) for v in values), Fraction(0)) / len(values)
    m2 = sum(((Fraction(v) - mean) ** 2 for v in values), Fraction(0))
    assert (m.n, m.mean, m.m2) == (len(values), float(mean), float(m2))
