#!/usr/bin/env bash
# Mutation testing with mutmut (a test-only dependency): the statistics core, the label join,
# the ingest accounting and the responder's admission logic, as configured in setup.cfg
# ([mutmut]). Not part of `make test`: it takes a long time and reports, it does not gate.
#   scripts/mutate.sh                                # everything in setup.cfg
#   scripts/mutate.sh 'exporter.sidecar.label_join*' # only these mutants (mutmut's names)
# mutmut works in ./mutants/ (a copy of the tree, git-ignored) and keeps its results there,
# so a second run only re-tests what changed; `mutmut show NAME` prints one mutant's diff.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
if ! "$BIN/python" -c 'import mutmut' 2>/dev/null; then
    "$BIN/python" -m pip install --quiet 'mutmut>=3.8'
fi
# One mutant at a time per core; mutmut redraws a long progress line: keep its last state.
"$BIN/mutmut" run --max-children "$(nproc)" "$@" | tr '\r' '\n' | grep -v '^$' | tail -n 1
echo
echo "mutants by result (all runs kept in mutants/; 'not checked': outside this run):"
"$BIN/mutmut" results --all true | sed 's/.*: //' | sort | uniq -c
echo "not killed (mutmut show NAME for the diff):"
"$BIN/mutmut" results | grep -v ': not checked$' || true
