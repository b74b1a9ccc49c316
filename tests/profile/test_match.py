"""A profile must belong to the configured model it is given to."""

from __future__ import annotations

from dataclasses import replace

import pytest

from exporter.config.load import load_config
from exporter.config.model import FeatureConfig, SegmentConfig
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


def test_a_configured_segment_needs_its_profile_section() -> None:
    # the factory profile has no segments section: a `segment:` added to the config after
    # the profile was built would otherwise export no segment series, silently
    m = replace(fraud_model(), segment=SegmentConfig("country", max_values=3))
    assert differences(fraud_profile(m), m) == [
        "segment 'country' (max_values 3) is configured but the profile has no segments "
        "section"]


def test_a_segment_section_of_other_settings_is_a_difference() -> None:
    config = load_config(EXAMPLES / "fraud" / "mlmon.yaml")
    m = config.models[0]
    assert m.segment is not None
    profile = ProfileFiles(config)[m.key]
    assert differences(profile, m) == []
    wider = replace(m, segment=replace(m.segment, max_values=m.segment.max_values + 1))
    assert differences(profile, wider) == [
        f"segment 'country' (max_values {m.segment.max_values + 1}) is configured but the "
        f"profile has segments of 'country' (max_values {m.segment.max_values})"]


def test_a_changed_variance_share_is_a_difference() -> None:
    # the components are chosen when the profile is built: a new share needs a rebuild
    config = load_config(EXAMPLES / "fraud" / "mlmon.yaml")
    m = config.models[0]
    profile = ProfileFiles(config)[m.key]
    assert profile.multivariate is not None
    share = profile.multivariate.variance_share
    changed = replace(m, multivariate=replace(m.multivariate, variance_share=0.8))
    assert differences(profile, changed) == [
        f"multivariate.variance_share is 0.8 in the config but the profile's components were "
        f"chosen for {share}"]
    off = replace(changed, multivariate=replace(changed.multivariate, enabled=False))
    assert differences(profile, off) == []


@pytest.mark.parametrize("example", ["fraud", "housing"])
def test_shipped_examples_pass_the_start_up_check(example: str) -> None:
    config = load_config(EXAMPLES / example / "mlmon.yaml")
    files = ProfileFiles(config)
    assert [files[m.key].model for m in config.models] == [m.name for m in config.models]
