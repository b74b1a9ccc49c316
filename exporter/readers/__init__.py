"""Readers of prediction files (CSV, Parquet, JSONL) in bounded-memory chunks."""
