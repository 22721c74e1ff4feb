#!/usr/bin/env bash
# Runs every fuzz target briefly. `go test -fuzz` takes one target per run, so they run one after
# another. By default each runs a fixed number of executions: a duration (-fuzztime 4s) trips a race
# in Go 1.26's fuzz coordinator that fails a run with "context deadline exceeded" and no crasher
# (golang/go#75804, fixed in Go 1.27). FUZZTIME=2m (say) runs each for a duration instead.
#
# A crasher is written under the package's testdata/fuzz/ and from then on runs in the plain test
# suite as a regression test: commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(
  "./money FuzzParse 200000x"
  "./settlement FuzzParseStatementCSV 20000x"
  "./settlement FuzzParseStatementXLSX 3000x"
  "./settlement FuzzVerifyVoucher 50000x"
  "./certificates FuzzVerify 50000x"
  "./api FuzzRequestBodies 20000x"
  "./api FuzzFastBatch 50000x"
)
for t in "${targets[@]}"; do
  read -r pkg name count <<<"$t"
  budget="${FUZZTIME:-$count}"
  echo "fuzz: $pkg $name ($budget)"
  go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" 2>&1 | grep -v '^fuzz: elapsed' || { echo "fuzz: $name failed"; exit 1; }
done
