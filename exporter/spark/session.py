"""The SparkSession a command runs on.

Under ``spark-submit`` (or in a notebook) the active session and its master are used.
Otherwise a session is created for ``--spark-master`` (default ``local[*]`` when no
``spark.master`` is configured). With a local master the Python workers run this
interpreter (``PYSPARK_PYTHON``, unless already set), so they import the same mlmon.
"""

from __future__ import annotations

import os
import sys
from typing import Any

INSTALL = "pip install 'mlmon[spark]'"
DEFAULT_MASTER = "local[*]"


class SparkUnavailable(RuntimeError):
    """pyspark (or Java) is missing: the message says how to install it."""


def pyspark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


def get_session(master: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """An active SparkSession, or a new one on ``master``."""
    if not pyspark_available():
        raise SparkUnavailable(f"the Spark engine needs pyspark: {INSTALL}")
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    spark_conf = SparkConf()
    # spark-submit starts the JVM first, with its --master: pyspark then connects to it
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if master is not None or not (submitted or spark_conf.contains("spark.master")):
        spark_conf.setMaster(master or DEFAULT_MASTER)
    if spark_conf.get("spark.master", "").startswith("local") and not submitted:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        spark_conf.setIfMissing("spark.driver.host", "127.0.0.1")
        spark_conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1")
        spark_conf.setIfMissing("spark.ui.enabled", "false")
    spark_conf.setIfMissing("spark.app.name", "mlmon")
    for key, value in (conf or {}).items():
        spark_conf.set(key, value)
    try:
        return SparkSession.builder.config(conf=spark_conf).getOrCreate()
    except Exception as exc:  # no Java, bad master: say which
        first = str(exc).splitlines()[0] if str(exc) else repr(exc)
        raise SparkUnavailable(f"cannot start Spark ({spark_conf.get('spark.master')}): "
                               f"{first} (Spark needs Java 17: `java` on PATH, or JAVA_HOME)"
                               ) from None
