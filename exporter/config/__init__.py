"""Configuration: the typed model of mlmon.yaml and its strict loader."""
