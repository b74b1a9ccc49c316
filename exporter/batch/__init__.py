"""Batch analysis: drift and performance of a file of predictions against a profile.

The pipeline is: ``collect`` (stream the file in chunks into per-feature values
and bucket counts) → ``analyze`` (statistics from ``exporter.stats``) → one of
the renderers (``text``, ``jsonout``, ``html``, ``prom``).
"""
