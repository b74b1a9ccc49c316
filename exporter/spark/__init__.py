"""The Spark engine: ``mlmon profile build --engine spark`` and ``mlmon batch --engine spark``.

An optional extra (``pip install 'mlmon[spark]'``): nothing outside this package imports
pyspark, and this package imports it only when a command runs on Spark. Partitions read
their rows with the project's own readers (``source``), so values parse exactly as in a
local run; the profile's accumulators merge exactly (``exporter.profile.build``), so the
Spark profile has the local one's content hash (``build``); in batch analysis each
partition runs fresh collectors over its rows and the driver merges them in partition
order, exactly (``batch``), so its report equals the local one. ``python -m
exporter.spark`` is the ``mlmon`` CLI; ``spark-submit`` runs the file
``exporter.spark.submit.PATH`` (the same CLI).
"""
