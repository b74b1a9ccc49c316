"""NannyML CBPE on the files of ``bench/cbpe_nannyml.py`` (runs in .venv-peer-nannyml).

``python bench/peer_jobs/nannyml_cbpe_job.py REFERENCE.parquet ANALYSIS.parquet CHUNK``:
fits ``nml.CBPE`` (binary; its own calibration of ``score`` on the reference labels) and
prints a JSON list of the estimated accuracy per analysis chunk of CHUNK rows.
"""

from __future__ import annotations

import json
import sys

import nannyml as nml
import pyarrow.parquet as pq


def main() -> int:
    reference = pq.read_table(sys.argv[1]).to_pandas()
    analysis = pq.read_table(sys.argv[2]).to_pandas()
    estimator = nml.CBPE(y_pred_proba="score", y_pred="pred", y_true="label",
                         metrics=["accuracy"], chunk_size=int(sys.argv[3]),
                         problem_type="classification_binary")
    estimator.fit(reference)
    result = estimator.estimate(analysis).filter(period="analysis").to_df()
    print(json.dumps([float(v) for v in result[("accuracy", "value")]]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
