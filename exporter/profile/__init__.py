"""Reference profiles: the model, the builder and the canonical JSON codec."""
