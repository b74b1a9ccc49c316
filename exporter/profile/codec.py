"""Canonical JSON encoding of profiles and strict validation on decode.

Canonical form: sorted keys, compact separators, ``repr`` floats, ASCII, no
timestamps, NaN written as ``null``. The content hash is the sha256 of the
canonical body without the ``content_hash`` field, so the same input always
gives byte-identical files and any edit is detected on load. Schema 2 stores
each reference sample in binary (``exporter.profile.sample_codec``); schema 1
(a JSON list of numbers) is still read, and written for a profile loaded from one.
The optional ``calibration`` object (classifiers built with reference labels) is
written only when present, so profiles without it keep their bytes and hash.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise
from typing import Any

import msgspec
import numpy as np

from exporter.metric_names import OTHER_BUCKET
from exporter.profile.model import (
    SCHEMA_VERSION,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    NumericSummary,
    Profile,
    ProfileError,
)
from exporter.profile.pca import decode_pca, pca_body
from exporter.profile.sample_codec import SampleError, decode_sample, encode_sample
from exporter.profile.segments import decode_segments, segments_body
from exporter.stats.calibration import MAX_POINTS, Calibration, CalibrationMap

JsonObj = dict[str, Any]
READABLE = (1, SCHEMA_VERSION)
REBUILD = "rebuild it with `mlmon profile build`"


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _feature_body(f: FeatureProfile, schema: int) -> JsonObj:
    if isinstance(f, NumericProfile):
        s = f.summary
        return {
            "name": f.name, "kind": "numeric",
            "edges": [float(e) for e in f.edges],
            "counts": [int(c) for c in f.counts],
            "sample": [float(v) for v in f.sample] if schema == 1 else encode_sample(f.sample),
            "summary": {
                "count": int(s.count), "missing": int(s.missing),
                "mean": _num(s.mean), "std": _num(s.std), "min": _num(s.min), "max": _num(s.max),
                "quantiles": [[float(q), _num(v)] for q, v in s.quantiles],
            },
        }
    return {
        "name": f.name, "kind": "categorical",
        "categories": list(f.categories),
        "counts": [int(c) for c in f.counts],
        "missing": int(f.missing),
    }


def _calibration_body(c: Calibration) -> JsonObj:
    return {
        "method": c.method, "rows": int(c.rows), "classes": list(c.classes),
        "maps": [{"x": [float(v) for v in m.x], "y": [float(v) for v in m.y]} for m in c.maps],
    }


def profile_body(p: Profile) -> JsonObj:
    """The JSON object of a profile without its content hash, in its schema version."""
    if p.schema_version not in READABLE:
        raise ProfileError(f"cannot write schema_version {p.schema_version} (known: {READABLE})")
    body: JsonObj = {
        "schema_version": p.schema_version,
        "model": p.model,
        "version": p.version,
        "rows": int(p.rows),
        "features": [_feature_body(f, p.schema_version) for f in p.features],
        "prediction": None if p.prediction is None else _feature_body(p.prediction,
                                                                      p.schema_version),
    }
    if p.calibration is not None:
        body["calibration"] = _calibration_body(p.calibration)
    if p.segments is not None:  # only when the model has `segment:` (old hashes unchanged)
        body["segments"] = segments_body(p.segments)
    if p.multivariate is not None:  # PCA reconstruction error (exporter.profile.pca)
        body["multivariate"] = pca_body(p.multivariate)
    return body


def canonical(obj: JsonObj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def _canonical_pieces(obj: Any) -> Iterator[bytes]:
    """``canonical(obj)`` in pieces: dicts split by key, lists by item (each item whole),
    so hashing a large profile never holds its whole JSON text in memory."""
    if isinstance(obj, dict):
        yield b"{"
        for i, key in enumerate(sorted(obj)):
            yield (b"," if i else b"") + canonical(key) + b":"
            yield from _canonical_pieces(obj[key])
        yield b"}"
    elif isinstance(obj, list):
        yield b"["
        for i, item in enumerate(obj):
            yield (b"," if i else b"") + canonical(item)
        yield b"]"
    else:
        yield canonical(obj)


def content_hash(body: JsonObj) -> str:
    digest = hashlib.sha256()
    for piece in _canonical_pieces(body):
        digest.update(piece)
    return digest.hexdigest()


def encode(p: Profile) -> bytes:
    """Canonical bytes of the whole file (body plus the hash it was built with)."""
    body = profile_body(p)
    body["content_hash"] = content_hash(body)
    return canonical(body) + b"\n"


class _Checker:
    """Typed accessors that raise ProfileError with the file and JSON path."""

    def __init__(self, file: str, schema: int = SCHEMA_VERSION) -> None:
        self.file = file
        self.schema = schema

    def fail(self, where: str, problem: str) -> ProfileError:
        return ProfileError(f"{self.file}: {where}: {problem}")

    def get(self, obj: JsonObj, key: str, where: str) -> Any:
        if key not in obj:
            raise self.fail(where, f"missing required field {key!r}; {REBUILD}")
        return obj[key]

    def int_(self, obj: JsonObj, key: str, where: str) -> int:
        v = self.get(obj, key, where)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise self.fail(f"{where}.{key}", f"expected a non-negative integer, got {v!r}")
        return v

    def str_(self, obj: JsonObj, key: str, where: str) -> str:
        v = self.get(obj, key, where)
        if not isinstance(v, str) or not v:
            raise self.fail(f"{where}.{key}", f"expected a non-empty string, got {v!r}")
        return v

    def obj(self, v: Any, where: str) -> JsonObj:
        if not isinstance(v, dict):
            raise self.fail(where, f"expected an object, got {type(v).__name__}")
        return v

    def list_(self, obj: JsonObj, key: str, where: str) -> list[Any]:
        v = self.get(obj, key, where)
        if not isinstance(v, list):
            raise self.fail(f"{where}.{key}", f"expected a list, got {type(v).__name__}")
        return v

    def floats(self, obj: JsonObj, key: str, where: str) -> tuple[float, ...]:
        out = []
        for i, v in enumerate(self.list_(obj, key, where)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise self.fail(f"{where}.{key}[{i}]", f"expected a finite number, got {v!r}")
            out.append(float(v))
        return tuple(out)

    def counts(self, obj: JsonObj, key: str, where: str) -> tuple[int, ...]:
        out = []
        for i, v in enumerate(self.list_(obj, key, where)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise self.fail(f"{where}.{key}[{i}]", f"expected an integer count, got {v!r}")
            if v < 0:
                raise self.fail(f"{where}.{key}[{i}]", f"negative count {v}")
            out.append(v)
        return tuple(out)

    def sample(self, obj: JsonObj, where: str) -> tuple[float, ...]:
        """The sorted reference sample: a list of numbers (schema 1) or binary (schema 2)."""
        if self.schema == 1:
            values = np.array(self.floats(obj, "sample", where), dtype=np.float64)
        else:
            sw = f"{where}.sample"
            enc = self.obj(self.get(obj, "sample", where), sw)
            codec, count = self.str_(enc, "codec", sw), self.int_(enc, "count", sw)
            scale = self.int_(enc, "scale", sw) if "scale" in enc else None
            unknown = sorted(set(enc) - {"codec", "count", "scale", "data"})
            if unknown:
                raise self.fail(sw, f"unknown fields {unknown}; {REBUILD}")
            data = self.get(enc, "data", sw)
            if not isinstance(data, str):
                raise self.fail(f"{sw}.data", f"expected a base64 string, got {data!r}")
            try:
                values = decode_sample(codec, count, scale, data)
            except SampleError as exc:
                raise self.fail(sw, str(exc)) from None
        if np.any(values[1:] < values[:-1]):
            raise self.fail(f"{where}.sample", "reference sample is not sorted")
        return tuple(values.tolist())

    def opt_float(self, obj: JsonObj, key: str, where: str) -> float:
        v = self.get(obj, key, where)
        if v is None:
            return math.nan
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(f"{where}.{key}", f"expected a number or null, got {v!r}")
        return float(v)


def _numeric(c: _Checker, d: JsonObj, where: str, name: str) -> NumericProfile:
    edges = c.floats(d, "edges", where)
    counts = c.counts(d, "counts", where)
    sample = c.sample(d, where)
    if len(counts) != len(edges) + 1:
        raise c.fail(where, f"{len(counts)} counts for {len(edges)} edges "
                     f"(expected len(edges) + 1 = {len(edges) + 1})")
    if any(b <= a for a, b in pairwise(edges)):
        raise c.fail(f"{where}.edges", "bin edges are not strictly increasing")
    s = c.obj(c.get(d, "summary", where), f"{where}.summary")
    sw = f"{where}.summary"
    quantiles = []
    for i, q in enumerate(c.list_(s, "quantiles", sw)):
        if (not isinstance(q, list) or len(q) != 2 or not isinstance(q[0], int | float)
                or not (q[1] is None or isinstance(q[1], int | float))):
            raise c.fail(f"{sw}.quantiles[{i}]", f"expected [q, value], got {q!r}")
        quantiles.append((float(q[0]), math.nan if q[1] is None else float(q[1])))
    summary = NumericSummary(
        count=c.int_(s, "count", sw), missing=c.int_(s, "missing", sw),
        mean=c.opt_float(s, "mean", sw), std=c.opt_float(s, "std", sw),
        min=c.opt_float(s, "min", sw), max=c.opt_float(s, "max", sw),
        quantiles=tuple(quantiles),
    )
    if sum(counts) != summary.count:
        raise c.fail(where, f"bin counts sum to {sum(counts)} but summary.count is "
                     f"{summary.count}")
    if len(sample) > summary.count:
        raise c.fail(f"{where}.sample", f"{len(sample)} sample values exceed the "
                     f"{summary.count} values counted")
    return NumericProfile(name, edges, counts, summary, sample)


def _categorical(c: _Checker, d: JsonObj, where: str, name: str) -> CategoricalProfile:
    cats = c.list_(d, "categories", where)
    for i, v in enumerate(cats):
        if not isinstance(v, str):
            raise c.fail(f"{where}.categories[{i}]", f"expected a string, got {v!r}")
    if OTHER_BUCKET in cats:
        raise c.fail(f"{where}.categories", f"{OTHER_BUCKET!r} is implicit and must not be "
                     "listed")
    if any(b <= a for a, b in pairwise(cats)):
        raise c.fail(f"{where}.categories", "categories are not sorted and unique")
    counts = c.counts(d, "counts", where)
    if len(counts) != len(cats) + 1:
        raise c.fail(where, f"{len(counts)} counts for {len(cats)} categories "
                     f"(expected len(categories) + 1 = {len(cats) + 1}, __other__ last)")
    return CategoricalProfile(name, tuple(cats), counts, c.int_(d, "missing", where))


def _calibration(c: _Checker, v: Any) -> Calibration:
    where = "calibration"
    d = c.obj(v, where)
    unknown = sorted(set(d) - {"method", "rows", "classes", "maps"})
    if unknown:
        raise c.fail(where, f"unknown fields {unknown}; {REBUILD}")
    method = c.str_(d, "method", where)
    if method != "isotonic":
        raise c.fail(f"{where}.method", f"unknown method {method!r} (allowed: isotonic)")
    classes = c.list_(d, "classes", where)
    if len(classes) < 2 or not all(isinstance(x, str) and x for x in classes):
        raise c.fail(f"{where}.classes", f"expected at least two class names, got {classes!r}")
    raw_maps = c.list_(d, "maps", where)
    expected = 1 if len(classes) == 2 else len(classes)
    if len(raw_maps) != expected:
        raise c.fail(f"{where}.maps", f"{len(raw_maps)} maps for {len(classes)} classes "
                     f"(expected {expected}: one for a binary score, else one per class)")
    maps = []
    for i, m in enumerate(raw_maps):
        mw = f"{where}.maps[{i}]"
        md = c.obj(m, mw)
        x, y = c.floats(md, "x", mw), c.floats(md, "y", mw)
        if len(x) > MAX_POINTS:
            raise c.fail(mw, f"{len(x)} points exceed the limit of {MAX_POINTS}")
        try:
            maps.append(CalibrationMap(x, y))
        except ValueError as exc:
            raise c.fail(mw, str(exc)) from None
    return Calibration(c.int_(d, "rows", where), tuple(classes), tuple(maps), method)


def _feature(c: _Checker, v: Any, where: str) -> FeatureProfile:
    d = c.obj(v, where)
    name = c.str_(d, "name", where)
    kind = c.get(d, "kind", where)
    if kind == "numeric":
        return _numeric(c, d, where, name)
    if kind == "categorical":
        return _categorical(c, d, where, name)
    raise c.fail(f"{where}.kind", f"unknown kind {kind!r} (allowed: numeric, categorical)")


def decode(data: bytes, file: str) -> Profile:
    """Parse and validate a profile file's bytes; raises ProfileError."""
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise ProfileError(f"{file}: not valid JSON ({exc}); {REBUILD}") from None
    d = _Checker(file).obj(raw, "top level")
    version = _Checker(file).get(d, "schema_version", "top level")
    if isinstance(version, bool) or version not in READABLE:
        raise ProfileError(
            f"{file}: schema_version {version!r} is not supported (this mlmon reads "
            f"versions {', '.join(map(str, READABLE))}); {REBUILD} from the training data")
    c = _Checker(file, version)
    stored = c.str_(d, "content_hash", "top level")
    body = {k: v for k, v in d.items() if k != "content_hash"}
    feats = [_feature(c, f, f"features[{i}]")
             for i, f in enumerate(c.list_(d, "features", "top level"))]
    names = [f.name for f in feats]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise c.fail("features", f"duplicate feature names {dup}")
    pred_raw = c.get(d, "prediction", "top level")
    pred = None if pred_raw is None else _feature(c, pred_raw, "prediction")
    cal_raw = d.get("calibration")
    profile = Profile(
        schema_version=version,
        model=c.str_(d, "model", "top level"),
        version=c.str_(d, "version", "top level"),
        rows=c.int_(d, "rows", "top level"),
        features=tuple(feats), prediction=pred, content_hash=stored,
        calibration=None if cal_raw is None else _calibration(c, cal_raw),
    )
    if d.get("segments") is not None:
        profile = replace(profile, segments=decode_segments(
            d["segments"], file, profile.features, profile.prediction, profile.rows))
    if d.get("multivariate") is not None:
        profile = replace(profile, multivariate=decode_pca(d["multivariate"], file,
                                                           profile.features))
    unknown = sorted(set(body) - {"schema_version", "model", "version", "rows", "features",
                                  "prediction", "calibration", "segments",
                                  "multivariate"})
    if unknown:
        raise c.fail("top level", f"unknown fields {unknown}; {REBUILD}")
    actual = content_hash(body)
    if actual != stored:
        raise ProfileError(f"{file}: content hash mismatch (stored {stored[:12]}…, computed "
                           f"{actual[:12]}…): the file was edited or corrupted; {REBUILD}")
    return profile
