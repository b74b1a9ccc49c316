"""``multivariate:`` of a model: PCA reconstruction-error drift (exporter.stats.pca).

Keys: ``enabled`` (default true), ``variance_share`` in (0, 1) (default 0.65; used when
the profile is built), ``sigmas`` > 0 (default 3). Left at its default, a model with fewer
than two numeric features simply has no multivariate measure; ``enabled: true`` written
out for such a model fails at start-up.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from exporter.config.fields import Fields, join
from exporter.config.model import FeatureConfig, MultivariateConfig

KEYS = {f.name: "" for f in dataclasses.fields(MultivariateConfig)}


def parse_multivariate(f: Fields, raw: Any, p: str,
                       features: tuple[FeatureConfig, ...]) -> MultivariateConfig:
    d = f.mapping({} if raw is None else raw, p, KEYS)
    dflt = MultivariateConfig()
    enabled = f.boolean(d.get("enabled", dflt.enabled), join(p, "enabled"))
    numeric = [x.name for x in features if x.kind == "numeric"]
    if d.get("enabled") is True and len(numeric) < 2:
        raise f.error(join(p, "enabled"),
                      f"multivariate drift needs at least two numeric features, this model "
                      f"has {len(numeric)}", "false, or declare more numeric features")
    return MultivariateConfig(
        enabled=enabled,
        variance_share=f.number(d.get("variance_share", dflt.variance_share),
                                join(p, "variance_share"), 0, 1),
        sigmas=f.number(d.get("sigmas", dflt.sigmas), join(p, "sigmas"), 0, 1e6))
