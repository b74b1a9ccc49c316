"""A profile must belong to the configured model it is given to."""

from __future__ import annotations

from dataclasses import replace

import pytest

from exporter.config.load import load_config
from exporter.config.model import FeatureConfig
from exporter.profile.match import differences
from exporter.sidecar.runtime import ProfileFiles
from tests.factories import fraud_model, fraud_profile
from tests.paths import EXAMPLES


def test_a_profile_built_for_the_model_matches() -> None:
    m = fraud_model()
    assert differences(fraud_profile(m), m) == []


def test_each_difference_is_named() -> None:
    m = fraud_model()
    profile = fraud_profile(m)
    changed = replace(m, version="2", features=(
        FeatureConfig("amount", "categorical"), FeatureConfig("age", "numeric"),
        FeatureConfig("country", "categorical"), FeatureConfig("tenure", "numeric")))
    assert differences(profile, changed) == [
        "model fraud:1 in the profile but fraud:2 in the config",
        "feature 'amount' is numeric in the profile but categorical in the config",
        "feature 'tenure' is not in the profile",
    ]


@pytest.mark.parametrize("example", ["fraud", "housing"])
def test_shipped_examples_pass_the_start_up_check(example: str) -> None:
    config = load_config(EXAMPLES / example / "mlmon.yaml")
    files = ProfileFiles(config)
    assert [files[m.key].model for m in config.models] == [m.name for m in config.models]
