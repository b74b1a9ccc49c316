"""NannyML: UnivariateDriftCalculator with Kolmogorov-Smirnov and chi2.

Runs in .venv-peer-nannyml: ``python bench/peer_jobs/nannyml_job.py WORKDIR/workload.json``.
Chunks of 10,000 rows, the size of the current batch (which is then one chunk): NannyML
sets its KS alert threshold from the reference's own chunks (mean + 3 sd of their KS
statistic, its default) and alerts chi2 at p < 0.05. A feature is flagged when the
current chunk raises an alert.
"""

from __future__ import annotations

import nannyml as nml
import pyarrow.parquet as pq
from common import done, spec


def main() -> int:
    s = spec()
    names = s["numeric"] + s["categorical"]
    reference = pq.read_table(s["reference"]).to_pandas()
    current = pq.read_table(s["current"]).to_pandas()
    calc = nml.UnivariateDriftCalculator(
        column_names=names, treat_as_categorical=s["categorical"],
        continuous_methods=["kolmogorov_smirnov"], categorical_methods=["chi2"],
        chunk_size=len(current))
    calc.fit(reference)
    result = calc.calculate(current).filter(period="analysis").to_df()
    flagged = [n for n in names for method in ("kolmogorov_smirnov", "chi2")
               if (n, method, "alert") in result.columns and result[(n, method, "alert")].any()]
    done(flagged)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
