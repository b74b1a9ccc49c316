#!/usr/bin/env bash
# Create the test-only virtualenv .venv-mlflow with a pinned MLflow, when missing,
# and print the path of its `mlflow` executable. The responder's MLflow tests run
# this real `mlflow server` on loopback; MLflow never becomes a runtime dependency.
# (First install: about 35 s, 850 MB.)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec bash "$ROOT/scripts/ensure-venv.sh" "${MLFLOW_VENV:-$ROOT/.venv-mlflow}" \
    "mlflow==${MLFLOW_VERSION:-3.17.2}" mlflow
