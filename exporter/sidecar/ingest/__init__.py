"""Tap ingestion: line splitting, the bounded queue, intake, decoding and the worker."""
