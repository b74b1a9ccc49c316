"""Evidently: a Report with DataDriftPreset (the Report API of Evidently 0.7).

Runs in .venv-peer-evidently: ``python bench/peer_jobs/evidently_job.py WORKDIR/workload.json``.
Column types are declared (DataDefinition); the preset picks each column's method and
threshold itself: at these sizes the normed Wasserstein distance (numeric) and the
Jensen-Shannon distance (categorical), both at 0.1. A feature is flagged when its value
drift test fails (``include_tests=True``).
"""

from __future__ import annotations

import pyarrow.parquet as pq
from common import done, spec
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

TEST_NAME = "Value Drift for column "


def main() -> int:
    s = spec()
    definition = DataDefinition(numerical_columns=s["numeric"],
                                categorical_columns=s["categorical"])
    reference = Dataset.from_pandas(pq.read_table(s["reference"]).to_pandas(),
                                    data_definition=definition)
    current = Dataset.from_pandas(pq.read_table(s["current"]).to_pandas(),
                                  data_definition=definition)
    snapshot = Report([DataDriftPreset()], include_tests=True).run(current, reference)
    flagged = [t["name"].removeprefix(TEST_NAME) for t in snapshot.dict()["tests"]
               if t["name"].startswith(TEST_NAME) and t["status"] == "FAIL"]
    done(flagged)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
