"""The running sidecar: runtime, HTTP endpoints, state, compute and exposition."""
