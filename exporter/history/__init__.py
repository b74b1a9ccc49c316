"""Trend analysis of mlmon's history, read back from Prometheus."""
