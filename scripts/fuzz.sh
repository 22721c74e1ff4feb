#!/usr/bin/env bash
# Runs every fuzz target for a short while (FUZZTIME, default 4s each). `go test -fuzz` takes one
# target per run, so they run one after another. A crasher is written under the package's
# testdata/fuzz/ and from then on runs in the plain test suite as a regression test: commit it with
# the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-4s}"
targets=(
  "./money FuzzParse"
  "./settlement FuzzParseStatementCSV"
  "./settlement FuzzParseStatementXLSX"
  "./settlement FuzzVerifyVoucher"
  "./certificates FuzzVerify"
  "./api FuzzRequestBodies"
)
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "fuzz: $pkg $name for $FUZZTIME"
  go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" 2>&1 | grep -v '^fuzz: elapsed' || { echo "fuzz: $name failed"; exit 1; }
done
