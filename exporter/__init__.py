"""mlmon: a Prometheus-native monitoring sidecar for ML models in production."""

__version__ = "0.1.0"
