#!/usr/bin/env bash
# Create the test-only virtualenv .venv-mlflow with a pinned MLflow, when missing,
# and print the path of its `mlflow` executable. The responder's MLflow tests run
# this real `mlflow server` on loopback; MLflow never becomes a runtime dependency.
set -euo pipefail

MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MLFLOW_VENV:-$ROOT/.venv-mlflow}"
PYTHON="${PYTHON:-python3}"
BIN="$VENV/bin/mlflow"
STAMP="$VENV/.installed-$MLFLOW_VERSION"

if [ -x "$BIN" ] && [ -f "$STAMP" ]; then
    echo "$BIN"
    exit 0
fi
echo "ensure-mlflow: installing mlflow==$MLFLOW_VERSION into $VENV (about 35 s, 850 MB)" >&2
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION" >&2
"$BIN" --version >&2
touch "$STAMP"
echo "$BIN"
