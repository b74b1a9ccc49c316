"""Multivariate drift of a batch file (and of each chunk): the PCA reconstruction error.

The model is the profile's ``multivariate`` section (``exporter.stats.pca``); every row of
the file counts, a missing value imputed with the reference mean as in the sidecar. The
file's error is the mean of its rows' errors; the band is computed for the file's (or the
chunk's) own row count, so chunks of different sizes get their own band. The sum of the
rows' errors is an ``ExactSum`` and the row count an integer, so ``merge`` of the
collectors of any split of the rows gives the same result (the Spark engine merges
partitions). No result below ``min_samples`` rows, as in the sidecar. The renderers of
every format live here.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from exporter.profile.model import Profile
from exporter.readers.chunks import Chunk
from exporter.stats.moments import ExactSum
from exporter.stats.pca import PcaModel, Reconstruction, judge, row_errors
from exporter.stats.thresholds import DEFAULT_SIGMAS

if TYPE_CHECKING:
    from exporter.batch.report import BatchReport

Sample = tuple[tuple[str, ...], float | None]
NAMES = ("mlmon_reconstruction_error", "mlmon_reconstruction_error_upper",
         "mlmon_reconstruction_error_lower")


class MultivariateCollector:
    """``update`` per reader chunk, ``result`` at the end, ``merge`` another's sums."""

    def __init__(self, model: PcaModel, sigmas: float, min_samples: int) -> None:
        self.model = model
        self.sigmas = sigmas
        self.min_samples = min_samples
        self.total = ExactSum()
        self.rows = 0

    @staticmethod
    def make(profile: Profile, sigmas: float | None, enabled: bool,
             min_samples: int) -> MultivariateCollector | None:
        m = profile.multivariate
        if m is None or not enabled:
            return None
        return MultivariateCollector(m, DEFAULT_SIGMAS if sigmas is None else sigmas,
                                     min_samples)

    def fresh(self) -> MultivariateCollector:
        return MultivariateCollector(self.model, self.sigmas, self.min_samples)

    def update(self, chunk: Chunk) -> None:
        if not chunk.rows:
            return
        nan = np.full(chunk.rows, np.nan)
        x = np.column_stack([chunk.numeric.get(f, nan) for f in self.model.features])
        self.total.add(row_errors(self.model, x))
        self.rows += chunk.rows

    def merge(self, other: MultivariateCollector) -> None:
        """Exact: the integer sums add exactly, the row counts are integers."""
        self.total.merge(other.total)
        self.rows += other.rows

    def result(self) -> Reconstruction | None:
        n = self.rows
        if n < max(self.min_samples, 1):
            return None
        return judge(self.model, self.total.value / n, n, self.sigmas)


def result_dict(r: Reconstruction | None) -> dict[str, Any] | None:
    """JSON: the error, its band for this many rows, and whether it is outside."""
    if r is None:
        return None
    return {"reconstruction_error": r.error, "lower": r.lower, "upper": r.upper,
            "rows": r.rows, "sigmas": r.sigmas, "components": r.components,
            "explained_variance": r.explained, "outside": r.outside}


def _line(r: Reconstruction, where: str = "") -> str:
    verdict = "OUTSIDE" if r.outside else "inside"
    return (f"multivariate drift{where}: reconstruction error {r.error:.4g} {verdict} its "
            f"band [{r.lower:.4g}, {r.upper:.4g}] for {r.rows} rows")


def text_lines(r: BatchReport) -> list[str]:
    """The file's line (with the PCA it rests on), then one line per chunk outside."""
    m = r.multivariate
    if m is None:
        return []
    lines = ["", _line(m) + f" (PCA: {m.components} components, {m.explained:.0%} of the "
             f"numeric features' variance; band ±{m.sigmas:g} standard errors)"]
    lines += [_line(c.multivariate, f" (chunk {c.index})") for c in r.chunks
              if c.multivariate is not None and c.multivariate.outside]
    return lines


def html_section(r: BatchReport) -> str:
    m = r.multivariate
    if m is None:
        return ""
    rows = [("file", m), *((f"chunk {c.index}", c.multivariate) for c in r.chunks
                           if c.multivariate is not None)]
    body = "".join(
        f'<tr class="{"sev-high" if x.outside else ""}"><td>{escape(name)}</td>'
        f"<td>{x.rows}</td><td>{x.error:.4g}</td><td>{x.lower:.4g}</td><td>{x.upper:.4g}</td>"
        f"<td>{'outside' if x.outside else 'inside'}</td></tr>" for name, x in rows)
    return ("<h2>Multivariate drift</h2><p>PCA reconstruction error of the numeric features "
            f"({m.components} components, {m.explained:.0%} of their variance) against its "
            f"band (±{m.sigmas:g} standard errors for the rows counted).</p><table><tr>"
            "<th></th><th>rows</th><th>error</th><th>lower</th><th>upper</th><th></th></tr>"
            f"{body}</table>")


def prom_samples(r: BatchReport) -> dict[str, list[Sample]]:
    """Metric name -> samples: the file's error and band (none below min_samples rows)."""
    m = r.multivariate
    labels = (r.model, r.version)
    if m is None:
        return {}
    return {NAMES[0]: [(labels, m.error)], NAMES[1]: [(labels, m.upper)],
            NAMES[2]: [(labels, m.lower)]}
