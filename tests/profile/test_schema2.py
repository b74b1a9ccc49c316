"""Profile schema 2: the binary sample against a numpy oracle, schema 1 still loads."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exporter.profile.codec import encode
from exporter.profile.files import load_profile, save_profile
from exporter.profile.model import SCHEMA_VERSION, NumericProfile, Profile, ProfileError
from exporter.profile.sample_codec import decode_sample, encode_sample
from tests.paths import EXAMPLES

SCHEMA1_HOUSING = Path(__file__).parent / "data" / "housing-schema1.json"  # mlmon 0.1 output
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def oracle_unpack(obj: dict[str, Any]) -> FloatArray:
    """The documented format, decoded independently: base64, zlib, unshuffle, cumsum."""
    raw = zlib.decompress(base64.b64decode(obj["data"]))
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(8, obj["count"])
    deltas = [int.from_bytes(bytes(planes[:, i]), "little") for i in range(obj["count"])]
    keys, acc = [], 0
    for d in deltas:
        acc = (acc + d) % 2**64
        keys.append(acc)
    if obj["codec"] == "decimal":
        ints = [k - 2**64 if k >= 2**63 else k for k in keys]
        return np.array(ints, dtype=np.float64) / 10.0 ** obj["scale"]
    bits = [k - 2**63 if k >= 2**63 else (~k) % 2**64 for k in keys]
    return np.array(bits, dtype=np.uint64).view(np.float64)


def same_bits(a: FloatArray, b: FloatArray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.view(np.uint64), b.view(np.uint64)))


SAMPLES = {
    "full precision": np.sort(np.random.default_rng(1).normal(3, 2, 3000)),
    "4 decimals": np.sort(np.round(np.random.default_rng(2).normal(-5, 2, 3000), 4)),
    "integers with ties": np.sort(np.round(np.random.default_rng(3).exponential(700, 3000))),
    "signs, zeros, extremes": np.array([-1.7e308, -2.5, -5e-324, -0.0, 0.0, 5e-324, 0.1,
                                        1e15 + 0.5, 1.7e308]),
    "empty": np.empty(0),
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_sample_roundtrip_is_bit_identical_to_an_independent_decoder(name: str) -> None:
    values = SAMPLES[name]
    obj = encode_sample(values)
    assert set(obj) <= {"codec", "count", "scale", "data"} and obj["count"] == values.size
    assert same_bits(oracle_unpack(obj), values)
    assert same_bits(decode_sample(obj["codec"], obj["count"], obj.get("scale"),
                                 obj["data"]), values)


def test_codec_choice_is_the_smaller_one() -> None:
    assert encode_sample(SAMPLES["4 decimals"])["codec"] == "decimal"
    assert encode_sample(SAMPLES["4 decimals"])["scale"] == 4
    assert encode_sample(SAMPLES["integers with ties"])["scale"] == 0
    assert encode_sample(SAMPLES["full precision"])["codec"] == "float"
    # Compressed bytes vs raw float64: rounded data shrinks ~6x, random data ~1.4x.
    def size(name: str) -> int:
        return len(base64.b64decode(encode_sample(SAMPLES[name])["data"]))

    assert size("4 decimals") < 0.2 * 3000 * 8
    assert size("full precision") < 0.75 * 3000 * 8


def _schema1_doc(p: Profile) -> bytes:
    """A schema-1 file written independently of the codec: samples as JSON numbers."""
    doc = json.loads(encode(p))
    doc.pop("content_hash")
    doc["schema_version"] = 1
    for f, d in zip((*p.features, p.prediction), (*doc["features"], doc["prediction"]),
                    strict=True):
        if isinstance(f, NumericProfile):
            d["sample"] = list(f.sample)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    doc["content_hash"] = hashlib.sha256(text.encode()).hexdigest()
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def test_schema1_file_loads_equal_to_the_schema2_example(tmp_path: Path) -> None:
    old = load_profile(SCHEMA1_HOUSING)
    new = load_profile(EXAMPLES / "housing" / "profile.json")
    assert (old.schema_version, new.schema_version, SCHEMA_VERSION) == (1, 2, 2)
    # mlmon 0.1 binned the integer `rooms` by collapsed deciles; it now has a bin per value
    # (exporter.stats.binning). The old file keeps its own edges: nothing else differs.
    i = [f.name for f in new.features].index("rooms")
    old_rooms, new_rooms = old.features[i], new.features[i]
    assert isinstance(old_rooms, NumericProfile) and isinstance(new_rooms, NumericProfile)
    assert old_rooms.edges == (2.0, 3.0, 4.0, 5.0, 6.0)
    assert new_rooms.edges == (1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5)
    assert replace(old_rooms, edges=new_rooms.edges, counts=new_rooms.counts) == new_rooms
    features = (*old.features[:i], new_rooms, *old.features[i + 1:])
    assert replace(old, schema_version=2, content_hash=new.content_hash,
                   features=features, multivariate=new.multivariate,
                   segments=new.segments) == new
    # An independently written schema-1 file of the same profile loads to the same values.
    path = tmp_path / "v1.json"
    path.write_bytes(_schema1_doc(new))
    assert replace(load_profile(path), schema_version=2, content_hash=new.content_hash) == new


def test_schema1_profile_is_rewritten_byte_identically(tmp_path: Path) -> None:
    save_profile(load_profile(SCHEMA1_HOUSING), tmp_path / "p.json")
    assert (tmp_path / "p.json").read_bytes() == SCHEMA1_HOUSING.read_bytes()


def test_schema2_document_fields() -> None:
    doc = json.loads((EXAMPLES / "fraud" / "profile.json").read_bytes())
    profile = load_profile(EXAMPLES / "fraud" / "profile.json")
    assert doc["schema_version"] == 2
    for f, d in zip((*profile.features, profile.prediction),
                    (*doc["features"], doc["prediction"]), strict=True):
        if isinstance(f, NumericProfile):
            assert isinstance(d["edges"], list) and isinstance(d["counts"], list)
            assert same_bits(oracle_unpack(d["sample"]), np.array(f.sample))
    body = {k: v for k, v in doc.items() if k != "content_hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert hashlib.sha256(text.encode()).hexdigest() == doc["content_hash"]


def _rewrite(tmp_path: Path, edit: Any) -> Path:
    doc = json.loads((EXAMPLES / "housing" / "profile.json").read_bytes())
    edit(doc["features"][0]["sample"])
    out = tmp_path / "bad.json"
    out.write_text(json.dumps(doc), encoding="utf-8")
    return out


def _reencode(values: FloatArray) -> Any:
    def edit(sample: dict[str, Any]) -> None:
        sample.clear()
        sample.update(encode_sample(values))
    return edit


def _flip_data(sample: dict[str, Any]) -> None:
    raw = bytearray(zlib.decompress(base64.b64decode(sample["data"])))
    raw[0] ^= 1  # a valid encoding of other values: only the hash can tell
    sample["data"] = base64.b64encode(zlib.compress(bytes(raw))).decode()


BAD_SAMPLES = [
    ("unsorted", _reencode(np.array([3.0, 1.0, 2.0])),
     r"features\[0\]\.sample: reference sample is not sorted"),
    ("edited data", _flip_data, r"content hash mismatch .*edited or corrupted"),
    ("not base64", lambda s: s.update(data="%%%"),
     r"features\[0\]\.sample: data is not base64 of zlib-compressed bytes"),
    ("wrong count", lambda s: s.update(count=s["count"] + 1),
     r"features\[0\]\.sample: data holds \d+ bytes, expected 8 x count"),
    ("unknown codec", lambda s: s.update(codec="f16"),
     r"features\[0\]\.sample: unknown codec 'f16'"),
    ("missing scale", lambda s: s.update(codec="decimal", scale=None) or s.pop("scale"),
     r"features\[0\]\.sample: 'scale' is required with codec 'decimal'"),
    ("list in schema 2", lambda s: s.clear(),
     r"features\[0\]\.sample: missing required field 'codec'"),
    ("too long", _reencode(np.arange(5000.0)),
     r"features\[0\]\.sample: 5000 sample values exceed"),
]


@pytest.mark.parametrize(("edit", "message"), [c[1:] for c in BAD_SAMPLES],
                         ids=[c[0] for c in BAD_SAMPLES])
def test_load_rejects_a_bad_sample(tmp_path: Path, edit: Any, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(_rewrite(tmp_path, edit))
