"""The thresholds a model's verdicts are judged by: drift (PSI, test alphas, minimum window)
and performance limits. One type for the config, the sidecar and ``mlmon batch``."""

from __future__ import annotations

from dataclasses import dataclass, fields

# Defaults: the one place these numbers live (config, docs and rules tests read them).
# Kept free of numpy and scipy: the config, and so the decoder process, import this module.
DEFAULT_PSI_MEDIUM = 0.1
DEFAULT_PSI_HIGH = 0.25
DEFAULT_KS_ALPHA = 0.01
DEFAULT_CHI2_ALPHA = 0.01
DEFAULT_MIN_SAMPLES = 500


@dataclass(frozen=True)
class Thresholds:
    psi_medium: float = DEFAULT_PSI_MEDIUM
    psi_high: float = DEFAULT_PSI_HIGH
    ks_alpha: float = DEFAULT_KS_ALPHA
    chi2_alpha: float = DEFAULT_CHI2_ALPHA
    min_samples: int = DEFAULT_MIN_SAMPLES
    accuracy_floor: float | None = None  # alert when accuracy falls below
    mae_ceiling: float | None = None  # alert when MAE rises above
    rmse_ceiling: float | None = None  # alert when RMSE rises above

    def items(self) -> tuple[tuple[str, float], ...]:
        """(name, value) of every threshold that is set, in declaration order."""
        pairs = ((f.name, getattr(self, f.name)) for f in fields(self))
        return tuple((name, value) for name, value in pairs if value is not None)


# Multivariate drift (exporter.stats.pca): the share of variance the kept principal
# components explain, and the band's half-width in standard errors. Here, numpy-free, so
# the configuration (and the sidecar's decoder process, which loads it) need no numpy.
DEFAULT_VARIANCE_SHARE = 0.65
DEFAULT_SIGMAS = 3.0
