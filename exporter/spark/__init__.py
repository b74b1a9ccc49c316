"""The Spark engine: ``mlmon profile build --engine spark`` and ``mlmon batch --engine spark``.

An optional extra (``pip install 'mlmon[spark]'``): nothing outside this package imports
pyspark, and this package imports it only when a command runs on Spark. Partitions read
their rows with the project's own readers (``source``), so values parse exactly as in a
local run; the profile's accumulators merge exactly (``exporter.profile.build``), so the
Spark profile has the local one's content hash (``build``); batch analysis streams the
partitions' chunks to the driver in file order (``batch``), so its report equals the
local one. ``python -m exporter.spark`` is the ``mlmon`` CLI; ``spark-submit`` runs the file
``exporter.spark.submit.PATH`` (the same CLI).
"""
