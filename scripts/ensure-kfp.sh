#!/usr/bin/env bash
# Test-only virtualenv with the Kubeflow Pipelines SDK, used to validate
# kubeflow/component.yaml and compile the example pipeline. Prints its python.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-kfp
KFP_VERSION="${KFP_VERSION:-2.17.3}"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import kfp" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet "kfp==${KFP_VERSION}" >&2
fi
echo "$PWD/$VENV/bin/python"
