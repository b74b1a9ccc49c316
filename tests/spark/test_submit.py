"""``spark-submit`` (the one pyspark ships) runs the mlmon CLI file (``exporter.spark.submit``):
the command uses spark-submit's master and writes the bundled example's profile byte for
byte. A separate JVM: the test's own session is not involved."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from exporter.spark.submit import PATH
from tests.paths import EXAMPLES


def test_spark_submit_builds_the_example_profile_on_its_master(spark: Any,
                                                               tmp_path: Path) -> None:
    submit = Path(sys.executable).with_name("spark-submit")
    assert submit.is_file(), "pyspark installs spark-submit next to the interpreter"
    folder = EXAMPLES / "housing"
    out = tmp_path / "profile.json"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable}
    proc = subprocess.run(
        [str(submit), "--master", "local[1]", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.driver.host=127.0.0.1", PATH,
         "profile", "build", "--engine", "spark", "--config", str(folder / "mlmon.yaml"),
         "--model", "housing", "--input", str(folder / "reference.csv"), "--out", str(out)],
        capture_output=True, text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # spark-submit passes the Python driver's stderr on to its stdout
    assert "mlmon profile: on Spark, master local[1]" in proc.stdout + proc.stderr
    assert out.read_bytes() == (folder / "profile.json").read_bytes()
