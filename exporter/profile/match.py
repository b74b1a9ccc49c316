"""Does a profile belong to the configured model it is given to? Checked at start-up."""

from __future__ import annotations

from pathlib import Path

from exporter.config.model import ModelConfig
from exporter.profile.model import Profile, ProfileError


def differences(profile: Profile, model: ModelConfig) -> list[str]:
    """What differs between a profile and its model's configuration (empty: they match)."""
    out = []
    if (profile.model, profile.version) != model.key:
        out.append(f"model {profile.model}:{profile.version} in the profile but "
                   f"{model.name}:{model.version} in the config")
    built = {f.name: f.kind for f in profile.features}
    for f in model.features:
        kind = built.get(f.name)
        if kind is None:
            out.append(f"feature {f.name!r} is not in the profile")
        elif kind != f.kind:
            out.append(f"feature {f.name!r} is {kind} in the profile but {f.kind} in the config")
    configured = {f.name for f in model.features}
    out += [f"feature {name!r} is in the profile but not in the config"
            for name in built if name not in configured]
    seg, section = model.segment, profile.segments
    if seg is not None and (section is None or (section.feature, section.max_values)
                            != (seg.feature, seg.max_values)):
        built_as = ("no segments section" if section is None else
                    f"segments of {section.feature!r} (max_values {section.max_values})")
        out.append(f"segment {seg.feature!r} (max_values {seg.max_values}) is configured but "
                   f"the profile has {built_as}")
    mv, pca = model.multivariate, profile.multivariate
    if mv.enabled and pca is not None and pca.variance_share != mv.variance_share:
        out.append(f"multivariate.variance_share is {mv.variance_share} in the config but the "
                   f"profile's components were chosen for {pca.variance_share}")
    return out


def check_profile(profile: Profile, profile_path: Path, model: ModelConfig, index: int,
                  config_path: Path) -> Profile:
    """The profile, or ProfileError naming both files, every difference and the fix.

    A profile of another model would give no verdict per feature yet a confident
    model-level drift page, so a mismatch stops start-up instead.
    """
    found = differences(profile, model)
    if found:
        raise ProfileError(
            f"{profile_path}: does not match {config_path} models[{index}] "
            f"({model.name}:{model.version}): {'; '.join(found)}; rebuild it with "
            f"`mlmon profile build --config {config_path} --model {model.name} "
            f"--version {model.version} --input TRAINING_DATA --out {profile_path}`")
    return profile
