"""Drift and summary of a numeric column kept as a sample (``column.NumericColumn``).

Exact over every row: the bin counts and so PSI, Jensen–Shannon, Hellinger, the PSI
noise floor and upper bound (``samples`` is the column's full count), the mean, std, min
and max. From the sample: the KS statistic and p-value and the Wasserstein distance
(``numeric_drift`` on the sample), and the quantiles. The KS p-value then takes the
sample size as the batch's n: a larger n would only make the same D more significant,
so the p-value is conservative. The verdict is ``exporter.stats.drift``'s, composed here
from its public parts.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from exporter.batch.column import NumericColumn
from exporter.stats.distances import hellinger, jensen_shannon
from exporter.stats.drift import FeatureDrift, numeric_drift
from exporter.stats.psi import psi as psi_value
from exporter.stats.psi import psi_standard_error
from exporter.stats.reference import NumericReference
from exporter.stats.severity import psi_noise_floor, psi_pvalue, psi_upper_bound, verdict
from exporter.stats.summary import QUANTILES, Summary
from exporter.stats.thresholds import Thresholds


def sampled_drift(name: str, ref: NumericReference, column: NumericColumn,
                  t: Thresholds) -> FeatureDrift:
    """``numeric_drift`` with the exact counts of every row and KS on the sample."""
    counts = column.counts
    assert counts is not None, "a profiled column has bin counts"
    samples = column.count
    empty = FeatureDrift(name, "numeric", samples, None, None, None, None, None, None, None,
                         None, None, counts)
    if samples == 0 or samples < t.min_samples:
        return empty
    ref_counts = ref.counts
    ref_total = int(ref_counts.sum())
    if not ref_total:
        return empty
    psi = psi_value(ref_counts, counts)
    on_sample = numeric_drift(name, ref, column.values, replace(t, min_samples=0))
    d = FeatureDrift(name, "numeric", samples, psi, on_sample.ks_statistic,
                     on_sample.ks_pvalue, None, None, on_sample.wasserstein,
                     jensen_shannon(ref_counts, counts), hellinger(ref_counts, counts), None,
                     counts)
    buckets = int(np.count_nonzero(ref_counts + counts))
    p = d.ks_pvalue if d.ks_pvalue is not None else psi_pvalue(psi, buckets, samples,
                                                               ref_total)
    alpha = t.ks_alpha
    floor = psi_noise_floor(buckets, samples, ref_total, alpha)
    upper = psi_upper_bound(psi, psi_standard_error(ref_counts, counts))
    significant = p < alpha and psi >= floor
    sev = verdict(psi, samples, t.min_samples, significant=significant, medium=t.psi_medium,
                  high=t.psi_high, psi_upper=upper)
    return replace(d, severity=sev, pvalue=p, alpha=alpha, significant=significant,
                   psi_noise_floor=floor, psi_upper=upper)


def sampled_summary(column: NumericColumn) -> Summary:
    """``summarize`` with exact count, mean, std, min, max and the sample's quantiles."""
    qs = np.quantile(column.values, QUANTILES)
    return Summary(column.count, column.mean, column.std, column.min, column.max,
                   tuple(zip(QUANTILES, (float(v) for v in qs), strict=True)))
