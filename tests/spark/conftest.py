"""One SparkSession (local[2]) for all of tests/spark: a JVM start costs seconds.

Under CI=true a missing pyspark or Java fails the run (``make test`` installs both:
the ``spark`` extra and scripts/ensure-tools.sh); elsewhere the Spark tests skip.
"""

from __future__ import annotations

import gc
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.procs import IN_CI

# small partitions, so every file here is really split and merged
MIN_PARTITIONS = 4


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """pyspark leaves result sockets to be closed by the garbage collector (a ResourceWarning,
    an error under this suite's filterwarnings): ignored in these tests only."""
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.filterwarnings("ignore::ResourceWarning"))
            item.add_marker(pytest.mark.filterwarnings(
                "ignore::pytest.PytestUnraisableExceptionWarning"))


@pytest.fixture(autouse=True)
def _collect_pyspark_sockets() -> Iterator[None]:
    """pyspark leaves its result sockets to the garbage collector (a ResourceWarning, an
    error under this suite's filterwarnings): collect them here, where they are expected,
    not in whichever later test the collector happens to run."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def missing(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from exporter.spark.session import get_session, pyspark_available

    if not pyspark_available():
        missing("pyspark not installed (make test installs the `spark` extra)")
    if shutil.which("java") is None:
        missing("java not installed (make test installs openjdk-17-jre-headless as root: "
                 "scripts/ensure-tools.sh)")
    session = get_session("local[2]", {"spark.ui.showConsoleProgress": "false",
                                       "spark.default.parallelism": "2"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
