"""The ``mlmon`` command line for ``spark-submit`` (which runs a Python file, not a console
script)::

    spark-submit --master yarn "$(python -c 'import exporter.spark.submit as s; print(s.PATH)')" \\
        profile build --engine spark --config mlmon.yaml --model fraud \\
        --input /shared/train.parquet --out profile.json

``python -m exporter.spark ARGS`` is ``mlmon ARGS``. Without ``--spark-master`` the
commands use spark-submit's master.
"""

from exporter.cli import main

raise SystemExit(main())
