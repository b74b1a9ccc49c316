"""The ``--engine`` / ``--spark-*`` options shared by ``mlmon profile build`` and ``mlmon batch``
(importing this module does not import pyspark)."""

from __future__ import annotations

import argparse
from typing import Any

EXIT_NO_SPARK = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("local", "spark"), default="local",
                        help="read and compute locally (default) or on Spark "
                             "(pip install 'mlmon[spark]'; same results)")
    parser.add_argument("--spark-master", metavar="URL",
                        help="Spark master with --engine spark (default: spark-submit's, "
                             "else local[*])")
    parser.add_argument("--spark-partitions", metavar="N", type=int,
                        help="with --engine spark: read CSV/JSONL in at least N partitions, "
                             "Parquet in N runs of row groups (at most one per row group; "
                             "default: twice the default parallelism)")


def session(args: argparse.Namespace) -> Any:
    """The SparkSession for ``args``; ``SparkUnavailable`` names the install command."""
    from exporter.spark.session import get_session

    return get_session(args.spark_master)
