"""``PATH``: the file to give ``spark-submit`` (``exporter/spark/__main__.py``, the ``mlmon``
command line)."""

from __future__ import annotations

from pathlib import Path

PATH = str(Path(__file__).with_name("__main__.py"))
