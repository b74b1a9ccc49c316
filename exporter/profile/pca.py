"""The profile's multivariate section: a PCA reconstruction-error model of the numeric rows.

The accumulator keeps a deterministic sample of WHOLE rows of the model's numeric
features: the ``sample_size`` rows whose key ``splitmix64(row index ^ salt("__rows__"))``
is smallest (a bottom-k over the global row index, so the same rows are kept however the
file is chunked or split into partitions; ``merge`` of the accumulators of any split of the
rows gives the same sample). Missing values stay NaN in the kept rows. ``finish`` sorts the
sample by key and splits it in two: rows at even positions fit the imputation,
standardisation and components, rows at odd positions give the reference error's mean and
standard deviation (held out: in-sample rows reconstruct slightly better than fresh rows).
The fit is ``exporter.stats.pca.fit``, on the driver, from the sample only.

``pca_body`` / ``decode_pca`` are the section's canonical JSON (``multivariate`` in the
profile, written only when present, so profiles without it keep their bytes and hash).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from exporter.config.model import ModelConfig
from exporter.profile.bottomk import U64, salt, splitmix64
from exporter.profile.model import FeatureProfile, ProfileError
from exporter.readers.chunks import Chunk
from exporter.stats.pca import PcaModel, fit

SALT = salt("__rows__")


def multivariate_features(config: ModelConfig) -> tuple[str, ...]:
    """The numeric features the section covers (config order); empty when turned off or
    when fewer than two numeric features exist."""
    names = tuple(f.name for f in config.features if f.kind == "numeric")
    return names if config.multivariate.enabled and len(names) >= 2 else ()


class RowSampleAcc:
    """Bottom-k of whole numeric rows keyed by the hash of the global row index."""

    def __init__(self, features: tuple[str, ...], k: int) -> None:
        self.features = features
        self.k = k
        self.keys = np.empty(0, dtype=np.uint64)
        self.rows = np.empty((0, len(features)), dtype=np.float64)

    def _add(self, keys: NDArray[np.uint64], rows: NDArray[np.float64]) -> None:
        self.keys = np.concatenate((self.keys, keys))
        self.rows = np.concatenate((self.rows, rows))
        if self.keys.size >= 2 * self.k:
            self._select()

    def _select(self) -> None:
        if self.keys.size > self.k:
            keep = np.argpartition(self.keys, self.k - 1)[: self.k]
            self.keys, self.rows = self.keys[keep], self.rows[keep]

    def update(self, chunk: Chunk) -> None:
        if not self.features or not chunk.rows:
            return
        rows = np.column_stack([chunk.numeric[f] for f in self.features])
        index = np.arange(chunk.rows, dtype=np.uint64) + U64(chunk.start)
        self._add(splitmix64(index ^ SALT), rows)

    def merge(self, other: RowSampleAcc) -> None:
        """Exact: keys are distinct row hashes, so the kept set is the bottom-k of the
        union whatever the split."""
        self._add(other.keys, other.rows)

    def sample(self) -> NDArray[np.float64]:
        """The kept rows, ordered by key."""
        self._select()
        out: NDArray[np.float64] = self.rows[np.argsort(self.keys, kind="stable")]
        return out

    def finish(self, variance_share: float) -> PcaModel | None:
        if not self.features:
            return None
        rows = self.sample()
        return fit(self.features, rows[0::2], rows[1::2], variance_share)


def pca_body(m: PcaModel) -> dict[str, Any]:
    return {
        "features": list(m.features), "impute": list(m.impute), "center": list(m.center),
        "scale": list(m.scale), "components": [list(c) for c in m.components],
        "variance_share": m.variance_share, "explained": m.explained,
        "fit_rows": m.fit_rows, "error_rows": m.error_rows,
        "error_mean": m.error_mean, "error_std": m.error_std,
    }


def _fail(file: str, where: str, problem: str) -> ProfileError:
    return ProfileError(f"{file}: multivariate{where}: {problem}; rebuild it with "
                        "`mlmon profile build`")


def _floats(file: str, d: dict[str, Any], key: str, n: int) -> tuple[float, ...]:
    v = d.get(key)
    if not isinstance(v, list) or len(v) != n or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            for x in v):
        raise _fail(file, f".{key}", f"expected {n} finite numbers, got {v!r}")
    return tuple(float(x) for x in v)


def decode_pca(raw: Any, file: str, features: tuple[FeatureProfile, ...]) -> PcaModel:
    """Validate the section against the profile's numeric features."""
    keys = set(pca_body(PcaModel((), (), (), (), (), 0, 0, 0, 0, 0, 0)))
    if not isinstance(raw, dict):
        raise _fail(file, "", f"expected an object, got {type(raw).__name__}")
    if set(raw) != keys:
        raise _fail(file, "", f"fields {sorted(raw)} (expected {sorted(keys)})")
    names = raw["features"]
    numeric = {f.name for f in features if f.kind == "numeric"}
    if (not isinstance(names, list) or len(names) < 2 or len(set(names)) != len(names)
            or not all(isinstance(x, str) and x in numeric for x in names)):
        raise _fail(file, ".features", f"expected two or more distinct numeric features of "
                    f"the profile, got {names!r}")
    d = len(names)
    comps = raw["components"]
    if not isinstance(comps, list) or not 1 <= len(comps) <= d:
        raise _fail(file, ".components", f"expected 1 to {d} components")
    scale = _floats(file, raw, "scale", d)
    if min(scale) <= 0:
        raise _fail(file, ".scale", "expected positive numbers")
    single = [_floats(file, {k: [raw[k]]}, k, 1)[0]
              for k in ("variance_share", "explained", "error_mean", "error_std")]
    share, explained, mean, std = single
    counts = [raw["fit_rows"], raw["error_rows"]]
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 2 for c in counts):
        raise _fail(file, ".fit_rows", f"expected row counts >= 2, got {counts!r}")
    if not (0 < share < 1 and 0 <= explained <= 1 and mean >= 0 and std >= 0):
        raise _fail(file, "", "variance_share, explained, error_mean or error_std out of "
                    "range")
    return PcaModel(
        tuple(names), _floats(file, raw, "impute", d), _floats(file, raw, "center", d),
        scale, tuple(_floats(file, {"components": c}, "components", d) for c in comps),
        share, explained, counts[0], counts[1], mean, std)
