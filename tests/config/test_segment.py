"""``segment:`` in a model: a configured categorical feature and 1..50 values; every mistake
fails at start-up naming the file, the key path and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from exporter.config.errors import ConfigError
from exporter.config.load import load_config
from exporter.config.model import SegmentConfig

BASE = """\
models:
  - name: fraud
    version: "3"
    prediction: {kind: classification, classes: ["0", "1"]}
    features:
      amount: numeric
      country: categorical
      device: categorical
"""


def _load(tmp_path: Path, segment: str | None) -> SegmentConfig | None:
    text = BASE + (f"    segment: {segment}\n" if segment is not None else "")
    path = tmp_path / "mlmon.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path, env={}).models[0].segment


def test_absent_segment_is_none(tmp_path: Path) -> None:
    assert _load(tmp_path, None) is None


def test_valid_segment_and_default_max_values(tmp_path: Path) -> None:
    assert _load(tmp_path, "{feature: country}") == SegmentConfig("country", 10)
    assert _load(tmp_path, "{feature: device, max_values: 50}") == SegmentConfig("device", 50)
    assert _load(tmp_path, "{feature: device, max_values: 1}") == SegmentConfig("device", 1)
    assert _load(tmp_path, "{feature: device, min_samples: 30}") == SegmentConfig("device", 10,
                                                                                 30)


@pytest.mark.parametrize(("segment", "key", "words"), [
    ("{feature: amount}", "segment.feature", "is numeric, not categorical"),
    ("{feature: city}", "segment.feature", "'city' is not a configured feature"),
    ("{max_values: 3}", "segment.feature", "missing"),
    ("{feature: country, max_values: 0}", "segment.max_values", "too small"),
    ("{feature: country, max_values: 51}", "segment.max_values", "above the limit of 50"),
    ("{feature: country, max_values: ten}", "segment.max_values", "expected an integer"),
    ("{feature: country, max_value: 3}", "segment.max_value", "did you mean 'max_values'"),
    ("{feature: country, min_samples: 0}", "segment.min_samples", "too small"),
    ("country", "segment", "expected a mapping"),
])
def test_bad_segment_names_file_key_and_fix(tmp_path: Path, segment: str, key: str,
                                            words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, segment)
    err = info.value
    assert err.file == str(tmp_path / "mlmon.yaml")
    assert err.key == f"models[0].{key}"
    assert words in err.problem
    if key == "segment.feature":
        assert "country, device" in err.allowed  # the fix lists the categorical features
