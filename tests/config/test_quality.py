"""``quality:`` in a model: limits in [0, 1] and per-feature overrides; every mistake fails at
start-up naming the file, the key path and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from exporter.config.errors import ConfigError
from exporter.config.load import load_config
from exporter.config.model import QualityConfig

BASE = """\
models:
  - name: fraud
    version: "3"
    prediction: {kind: classification, classes: ["0", "1"]}
    features:
      amount: numeric
      country: categorical
"""


def _load(tmp_path: Path, quality: str | None) -> QualityConfig:
    text = BASE + (f"    quality: {quality}\n" if quality is not None else "")
    path = tmp_path / "mlmon.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path, env={}).models[0].quality


def test_absent_quality_takes_the_documented_defaults(tmp_path: Path) -> None:
    q = _load(tmp_path, None)
    assert (q.missing_ratio_max, q.out_of_range_ratio_max, q.unseen_category_ratio_max) == \
        (0.05, 0.01, 0.01)
    assert q.for_feature("amount") == (0.05, 0.01, 0.01)


def test_model_limits_and_per_feature_overrides(tmp_path: Path) -> None:
    q = _load(tmp_path, "{missing_ratio_max: 0.1, out_of_range_ratio_max: 0, features: "
                        "{amount: {missing_ratio_max: 0.3}, country: "
                        "{unseen_category_ratio_max: 1}}}")
    # an override replaces only the keys it gives; the rest come from the model level
    assert q.for_feature("amount") == (0.3, 0.0, 0.01)
    assert q.for_feature("country") == (0.1, 0.0, 1.0)


@pytest.mark.parametrize(("quality", "key", "words"), [
    ("{missing_ratio_max: 1.5}", "quality.missing_ratio_max", "out of range"),
    ("{out_of_range_ratio_max: -0.1}", "quality.out_of_range_ratio_max", "out of range"),
    ("{unseen_category_ratio_max: lots}", "quality.unseen_category_ratio_max",
     "expected a number"),
    ("{missing_ratio: 0.1}", "quality.missing_ratio", "did you mean 'missing_ratio_max'"),
    ("{features: {amout: {missing_ratio_max: 0.1}}}", "quality.features.amout",
     "did you mean 'amount'"),
    ("{features: {amount: {unseen_category_ratio_max: 0.1}}}",
     "quality.features.amount.unseen_category_ratio_max", "unknown key"),
    ("{features: {country: {out_of_range_ratio_max: 0.1}}}",
     "quality.features.country.out_of_range_ratio_max", "unknown key"),
    ("{features: {amount: {missing_ratio_max: 2}}}",
     "quality.features.amount.missing_ratio_max", "out of range"),
    ("{features: {amount: 0.1}}", "quality.features.amount", "expected a mapping"),
    # the overrides must be a mapping (a list or a number was silently ignored)
    ("{features: []}", "quality.features", "expected a mapping"),
    ("{features: 0}", "quality.features", "expected a mapping"),
    ("0.05", "quality", "expected a mapping"),
])
def test_bad_quality_names_file_key_and_fix(tmp_path: Path, quality: str, key: str,
                                            words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, quality)
    err = info.value
    assert err.file == str(tmp_path / "mlmon.yaml")
    assert err.key == f"models[0].{key}"
    assert words in err.problem
    if key == "quality.features.amout":
        assert err.allowed == "amount, country"  # the fix lists the model's features
    if key.endswith("amount.unseen_category_ratio_max"):
        assert "unseen" not in err.allowed  # a numeric feature has no categories
        assert "applies to categorical features only" in err.problem
    if key.endswith("country.out_of_range_ratio_max"):
        assert "applies to numeric features only" in err.problem
