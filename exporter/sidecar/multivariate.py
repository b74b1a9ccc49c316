"""Multivariate drift in the sidecar: the PCA reconstruction error of the prediction window.

The model comes from the profile's ``multivariate`` section (``exporter.profile.pca``);
each compute cycle takes the window's rows of the model's numeric features (NaN where an
event left a feature out: imputed with the reference mean, as NannyML does), and once the
window holds ``thresholds.min_samples`` events exports the mean error and the band for
that many rows (``exporter.stats.pca``): ``mlmon_reconstruction_error`` and
``mlmon_reconstruction_error_upper`` / ``_lower``. ``note`` says why a model has none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import ModelConfig
from exporter.profile.model import Profile
from exporter.stats.pca import PcaModel, Reconstruction, judge, window_error


@dataclass(frozen=True)
class MultivariateSpec:
    model: PcaModel
    columns: tuple[int, ...]  # the numeric ring's column of each of model.features


def spec_for(config: ModelConfig, profile: Profile | None) -> tuple[MultivariateSpec | None, str]:
    """The model with its window columns, or None and why (for /v1/status)."""
    numeric = [f.name for f in config.features if f.kind == "numeric"]
    if not config.multivariate.enabled:
        return None, "turned off (multivariate.enabled: false)"
    if len(numeric) < 2:
        return None, f"needs at least two numeric features (the model has {len(numeric)})"
    m = profile.multivariate if profile is not None else None
    if m is None:
        return None, ("no profile" if profile is None else "the profile has no multivariate "
                      "section: rebuild it with `mlmon profile build`")
    if not set(m.features) <= set(numeric):
        return None, "the profile's multivariate features are not this model's numeric ones"
    return MultivariateSpec(m, tuple(numeric.index(f) for f in m.features)), "ok"


def compute_multivariate(spec: MultivariateSpec | None, numeric: NDArray[np.float64],
                         min_samples: int, sigmas: float) -> Reconstruction | None:
    """The window's error and band; None without a model or below min_samples rows."""
    n = int(numeric.shape[0])
    if spec is None or n < max(min_samples, 1):
        return None
    return judge(spec.model, window_error(spec.model, numeric[:, list(spec.columns)]), n,
                 sigmas)


def add_metrics(mv: list[str], result: Reconstruction | None,
                add: Callable[[str, list[str], float | None], None]) -> None:
    if result is None:
        return
    add("mlmon_reconstruction_error", mv, result.error)
    add("mlmon_reconstruction_error_upper", mv, result.upper)
    add("mlmon_reconstruction_error_lower", mv, result.lower)


def status(note: str, result: Reconstruction | None) -> dict[str, Any]:
    """``/v1/status``'s ``multivariate``: the error and band, or why there is none."""
    if result is None:
        return {"note": note if note != "ok" else "fewer than min_samples events in the window"}
    return {"note": note, "error": result.error, "lower": result.lower,
            "upper": result.upper, "samples": result.rows, "sigmas": result.sigmas,
            "components": result.components, "explained": result.explained,
            "outside": result.outside}


def render(m: Mapping[str, Any], esc: Callable[[Any], str],
           fmt: Callable[[Any], str]) -> str:
    """The status page's "Multivariate drift" block."""
    mv = m.get("multivariate")
    if not isinstance(mv, Mapping):
        return ""
    if "error" not in mv:
        return f'<h3>Multivariate drift</h3><p class="note">{esc(mv.get("note", ""))}</p>'
    rows: Sequence[tuple[str, Any]] = (
        ("reconstruction error", mv["error"]), ("band lower", mv["lower"]),
        ("band upper", mv["upper"]), ("rows", mv["samples"]),
        ("components", mv["components"]), ("variance explained", mv["explained"]),
        ("outside the band", "yes" if mv["outside"] else "no"))
    body = "".join(f'<tr data-metric="{esc(k)}"><th>{esc(k)}</th>'
                   f'<td class="num">{esc(v if isinstance(v, str) else fmt(v))}</td></tr>'
                   for k, v in rows)
    return f'<h3>Multivariate drift</h3><table class="multivariate"><tbody>{body}</tbody></table>'
