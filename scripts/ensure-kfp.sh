#!/usr/bin/env bash
# Test-only virtualenv with the Kubeflow Pipelines SDK, used to validate
# kubeflow/component.yaml and compile the example pipeline. Prints its python.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec bash "$ROOT/scripts/ensure-venv.sh" "$ROOT/.venv-kfp" "kfp==${KFP_VERSION:-2.17.3}" python
