"""`mlmon demo`: the sidecar plus a simulated model server tapping traffic, with live drift.

Pieces: ``reference`` (rows to replay), ``model`` (a fixed linear model fitted on
them), ``drift`` (what changes after ``--drift-after``), ``traffic`` (the
deterministic simulator), ``labels`` (delayed ground truth), ``sidecar`` (the
``mlmon serve`` child process), ``services`` (the list `--stack` extends),
``summary`` (terminal text from /v1/status) and ``runner`` (the loop).
"""
