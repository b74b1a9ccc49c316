#!/usr/bin/env bash
# Make a test-only virtualenv holding one pinned package, when it is missing or holds
# another version, and print the path of one of its programs.
# Usage: scripts/ensure-venv.sh VENV PACKAGE==VERSION PROGRAM
# (ensure-mlflow.sh and ensure-kfp.sh call it; the package never becomes a dependency.)
set -euo pipefail
venv="$1" spec="$2" program="$3"
stamp="$venv/.installed-$spec"
if [ ! -f "$stamp" ]; then
    echo "ensure-venv: installing $spec into $venv" >&2
    [ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >&2
    rm -f "$venv"/.installed-*
    touch "$stamp"
fi
echo "$venv/bin/$program"
