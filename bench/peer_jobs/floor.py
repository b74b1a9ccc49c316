"""Floor: read one Parquet file of the workload into numpy arrays, and nothing else.

``python bench/peer_jobs/floor.py FILE.parquet``: what any job has to pay at least.
"""

from __future__ import annotations

import json
import sys

import pyarrow.parquet as pq


def main() -> int:
    table = pq.read_table(sys.argv[1])
    arrays = [table.column(i).to_numpy() for i in range(table.num_columns)]
    print(json.dumps({"flagged": None, "rows": len(arrays[0])}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
