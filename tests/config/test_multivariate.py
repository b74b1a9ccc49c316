"""``multivariate:`` in a model: defaults, and every mistake fails at start-up naming the
file, the key path and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from exporter.config.errors import ConfigError
from exporter.config.load import load_config
from exporter.config.model import MultivariateConfig

BASE = """\
models:
  - name: fraud
    version: "3"
    prediction: {kind: classification, classes: ["0", "1"]}
    features:
      amount: numeric
      age: numeric
      country: categorical
"""
ONE_NUMERIC = BASE.replace("      age: numeric\n", "")


def _load(tmp_path: Path, block: str | None, base: str = BASE) -> MultivariateConfig:
    text = base + (f"    multivariate: {block}\n" if block is not None else "")
    path = tmp_path / "mlmon.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path, env={}).models[0].multivariate


def test_defaults(tmp_path: Path) -> None:
    assert _load(tmp_path, None) == MultivariateConfig(True, 0.65, 3.0)
    assert _load(tmp_path, "{variance_share: 0.9, sigmas: 4}") == \
        MultivariateConfig(True, 0.9, 4.0)
    assert _load(tmp_path, "{enabled: false}").enabled is False
    # left at the default, one numeric feature is fine (no measure, a status note)
    assert _load(tmp_path, None, ONE_NUMERIC).enabled is True


@pytest.mark.parametrize(("block", "key", "words"), [
    ("{variance_share: 1}", "multivariate.variance_share", "out of range"),
    ("{variance_share: 0}", "multivariate.variance_share", "out of range"),
    ("{sigmas: -1}", "multivariate.sigmas", "out of range"),
    ("{sigmas: many}", "multivariate.sigmas", "expected a number"),
    ("{enabled: yes please}", "multivariate.enabled", ""),
    ("{sigma: 3}", "multivariate.sigma", "did you mean 'sigmas'"),
    ("on", "multivariate", "expected a mapping"),
])
def test_bad_values_name_file_key_and_fix(tmp_path: Path, block: str, key: str,
                                          words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, block)
    err = info.value
    assert err.file == str(tmp_path / "mlmon.yaml")
    assert err.key == f"models[0].{key}"
    assert words in err.problem
    assert err.allowed


def test_explicitly_enabled_needs_two_numeric_features(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, "{enabled: true}", ONE_NUMERIC)
    assert info.value.key == "models[0].multivariate.enabled"
    assert "at least two numeric features" in info.value.problem
    assert "declare more numeric features" in info.value.allowed
